"""The change feed (ListClassificationChanges) on a real server, SQLite and PostgreSQL:
a page of changes whose menus hold long service descriptions stays under the message
limit (4 MB by default), cut short however large the page size asked for, and the pages
after it give every change once, in id order."""

from retailcare.classification.v1 import classification_pb2 as pb

from tests.e2e.classification.conftest import customer

STEP = "检查" * 500  # 1,000 characters, 3 bytes each in UTF-8: the longest step allowed
CUSTOMERS = 40


def test_a_page_of_changes_with_large_menus_stays_under_the_message_limit(stub):
    stub.CreateCustomer(pb.CreateCustomerRequest(customer=customer("110101199999")), timeout=10)
    menu = stub.GetServiceMenu(pb.GetServiceMenuRequest(licence_number="110101199999"), timeout=10)
    assert menu.items
    for item in menu.items:  # every service the menu gives: 50 steps of 3,000 bytes each
        description = pb.ServiceDescription()
        description.CopyFrom(item.description)
        description.procedure_steps[:] = [STEP] * 50
        stub.UpdateServiceDescription(pb.UpdateServiceDescriptionRequest(description=description), timeout=10)
    for n in range(CUSTOMERS):
        stub.CreateCustomer(pb.CreateCustomerRequest(customer=customer(f"1101011{n:05d}")), timeout=10)

    seen, after, pages = [], 0, 0
    while True:
        request = pb.ListClassificationChangesRequest(after_change_id=after, page_size=500)
        reply = stub.ListClassificationChanges(request, timeout=30)  # at the channel's 4 MB limit
        if not reply.changes:
            break
        assert reply.ByteSize() < 4 * 1024 * 1024
        pages += 1
        seen.extend(c.change_id for c in reply.changes)
        after = reply.changes[-1].change_id
    assert pages > 1  # more than one page's worth of bytes
    assert seen == sorted(set(seen)) and len(seen) == CUSTOMERS + 1


def test_a_cursor_beyond_every_change_or_the_largest_page_size_is_an_empty_page(stub):
    stub.CreateCustomer(pb.CreateCustomerRequest(customer=customer("110101199999")), timeout=10)
    for after in (2**31, 2**63 - 1):
        request = pb.ListClassificationChangesRequest(after_change_id=after, page_size=2**31 - 1)
        assert list(stub.ListClassificationChanges(request, timeout=10).changes) == []
    request = pb.ListClassificationChangesRequest(page_size=2**31 - 1)
    assert len(stub.ListClassificationChanges(request, timeout=10).changes) == 1
