"""The change feed (ListClassificationChanges) on a real server, SQLite and PostgreSQL:
a page of changes whose menus hold long service descriptions stays under the message
limit (4 MB by default), cut short however large the page size asked for, and the pages
after it give every change once, in id order."""

from retailcare.classification.v1 import classification_pb2 as pb
from retailcare.classification.v1 import classification_pb2_grpc

from services.composition import service_definition
from tests.e2e.classification.conftest import customer
from tests.support.services import channel_to, running, settings_for

STEP = "检查" * 500  # 1,000 characters, 3 bytes each in UTF-8: the longest step allowed
CUSTOMERS = 40


def _long_menus(stub, step: str, customers: int) -> None:
    """Every service the menu gives described with 50 steps of ``step``; ``customers``
    more customers, a change each."""
    stub.CreateCustomer(pb.CreateCustomerRequest(customer=customer("110101199999")), timeout=10)
    menu = stub.GetServiceMenu(pb.GetServiceMenuRequest(licence_number="110101199999"), timeout=10)
    assert menu.items
    for item in menu.items:  # every service the menu gives: 50 steps of 3,000 bytes each
        description = pb.ServiceDescription()
        description.CopyFrom(item.description)
        description.procedure_steps[:] = [step] * 50
        stub.UpdateServiceDescription(pb.UpdateServiceDescriptionRequest(description=description), timeout=10)
    for n in range(customers):
        stub.CreateCustomer(pb.CreateCustomerRequest(customer=customer(f"1101011{n:05d}")), timeout=10)


def _all_pages(stub, limit: int) -> list[int]:
    """Every change id, page after page; each page under ``limit`` bytes."""
    seen, after, pages = [], 0, 0
    while True:
        request = pb.ListClassificationChangesRequest(after_change_id=after, page_size=500)
        reply = stub.ListClassificationChanges(request, timeout=30)  # at the channel's 4 MB limit
        if not reply.changes:
            break
        assert reply.ByteSize() < limit
        pages += 1
        seen.extend(c.change_id for c in reply.changes)
        after = reply.changes[-1].change_id
    assert pages > 1  # more than one page's worth of bytes
    assert seen == sorted(set(seen))
    return seen


def test_a_page_of_changes_with_large_menus_stays_under_the_message_limit(stub):
    _long_menus(stub, STEP, CUSTOMERS)
    assert len(_all_pages(stub, 4 * 1024 * 1024)) == CUSTOMERS + 1


def test_pages_stay_under_a_smaller_configured_message_limit(tmp_path, db_url):
    limit = 1024 * 1024
    settings = settings_for(tmp_path, classification_database_url=db_url, max_message_bytes=limit)
    with running(service_definition("classification"), settings) as service, channel_to(service) as channel:
        stub = classification_pb2_grpc.ClassificationServiceStub(channel)
        _long_menus(stub, "x" * 1000, 10)  # about 450 kB a change
        assert len(_all_pages(stub, limit)) == 11


def test_a_cursor_beyond_every_change_or_the_largest_page_size_is_an_empty_page(stub):
    stub.CreateCustomer(pb.CreateCustomerRequest(customer=customer("110101199999")), timeout=10)
    for after in (2**31, 2**63 - 1):
        request = pb.ListClassificationChangesRequest(after_change_id=after, page_size=2**31 - 1)
        assert list(stub.ListClassificationChanges(request, timeout=10).changes) == []
    request = pb.ListClassificationChangesRequest(page_size=2**31 - 1)
    assert len(stub.ListClassificationChanges(request, timeout=10).changes) == 1
