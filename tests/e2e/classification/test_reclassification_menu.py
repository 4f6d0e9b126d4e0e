"""Until the reclassification job reaches a customer, reads of its service menu (and of the
customer) say on which rule-set versions it was decided and that a newer one is active:
through a real classification server on SQLite and PostgreSQL."""

import time

import pytest
import sqlalchemy as sa
from retailcare.classification.v1 import classification_pb2 as pb
from retailcare.rules.v1 import rule_sets_pb2 as rules_pb

from services.classification.job_store import JobStore
from services.common.database import create_database_engine
from tests.e2e.classification.conftest import customer
from tests.e2e.classification.test_reclassification_job import Server
from tests.support.rule_samples import default_source

ENTITLEMENTS = "service-entitlements"
LICENCES = [f"M-{n}" for n in range(5)]
DEADLINE = 60


@pytest.fixture
def servers(tmp_path, db_url):
    opened = []

    def start(batch_size: int) -> Server:
        opened.append(Server(tmp_path, db_url, batch_size))
        return opened[-1]

    yield start
    for started in opened:
        started.close()


@pytest.fixture
def store(db_url):
    engine = create_database_engine(sa.engine.make_url(db_url))
    yield JobStore(engine)
    engine.dispose()


def _menu(server: Server, licence: str) -> pb.GetServiceMenuResponse:
    return server.stub.GetServiceMenu(pb.GetServiceMenuRequest(licence_number=licence), timeout=10)


def _visits(menu: pb.GetServiceMenuResponse) -> float:
    (visit,) = [item for item in menu.items if item.description.service == "customer_manager_visit"]
    return visit.parameters["visits_per_month"]


def _versions(decided_on: pb.DecidedOn) -> tuple:
    return (
        decided_on.grading_version,
        decided_on.entitlements_version,
        decided_on.active_grading_version,
        decided_on.active_entitlements_version,
        decided_on.newer_version_active,
    )


def _wait(condition, what: str):
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"not within {DEADLINE} s: {what}")


def test_a_menu_says_a_newer_version_is_active_until_the_job_reaches_the_customer(servers, store):
    before = servers(batch_size=0)  # no automatic jobs: nothing reaches the customers
    for licence in LICENCES:
        before.stub.CreateCustomer(pb.CreateCustomerRequest(customer=customer(licence)), timeout=10)
    assert _versions(_menu(before, "M-0").decided_on) == (1, 1, 1, 1, False)
    assert _visits(_menu(before, "M-0")) == 2

    source = default_source(ENTITLEMENTS).replace("visits_per_month: 2}", "visits_per_month: 3}")
    published = before.admin.PublishRuleSet(
        rules_pb.PublishRuleSetRequest(source=source, author="analyst", comment="three visits"), timeout=10
    )
    assert published.version.version == 2
    _wait(lambda: _menu(before, "M-0").decided_on.active_entitlements_version == 2, "version 2 loaded")

    for licence in LICENCES:
        menu = _menu(before, licence)
        assert _versions(menu.decided_on) == (1, 1, 1, 2, True)
        assert (menu.entitlements_version, _visits(menu)) == (1, 2)  # still what version 1 granted
        got = before.stub.GetCustomer(pb.GetCustomerRequest(licence_number=licence), timeout=10)
        assert _versions(got.customer.decided_on) == (1, 1, 1, 2, True)
    listed = before.stub.ListCustomers(pb.ListCustomersRequest(), timeout=10).customers
    assert {c.decided_on.newer_version_active for c in listed} == {True}
    # A customer decided now is on the active versions.
    created = before.stub.CreateCustomer(pb.CreateCustomerRequest(customer=customer("M-NEW")), timeout=10)
    assert _versions(created.customer.decided_on) == (1, 2, 1, 2, False)
    before.close()

    after = servers(batch_size=2)  # its job thread starts the job of version 2 and runs it

    _wait(
        lambda: (job := store.latest(ENTITLEMENTS)) and (job.version, job.state) == (2, "completed"),
        "the job of version 2 completed",
    )
    for licence in LICENCES:
        menu = _menu(after, licence)
        assert _versions(menu.decided_on) == (1, 2, 1, 2, False)
        assert (menu.entitlements_version, _visits(menu)) == (2, 3)
        got = after.stub.GetCustomer(pb.GetCustomerRequest(licence_number=licence), timeout=10)
        assert _versions(got.customer.decided_on) == (1, 2, 1, 2, False)
    # The job decided only the entitlements, keeping each stored grading with its reasons:
    # the explanation is what deciding both rule sets afresh gives.
    for licence in LICENCES:
        request = pb.ExplainClassificationRequest(licence_number=licence)
        kept = after.stub.ExplainClassification(request, timeout=10)
        after.stub.ClassifyCustomer(pb.ClassifyCustomerRequest(licence_number=licence), timeout=10)
        afresh = after.stub.ExplainClassification(request, timeout=10)
        assert {r.output for r in kept.reasons} >= {"grade", "star_level", "services.customer_manager_visit"}
        assert kept.reasons == afresh.reasons
        assert kept.grading_fired_rules == afresh.grading_fired_rules
        assert kept.entitlement_fired_rules == afresh.entitlement_fired_rules
