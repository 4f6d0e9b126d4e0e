"""Periodic return visits through the gateway, every service a real server, evaluation on
SQLite and PostgreSQL: the plan samples as the return-visit-sampling rule set says,
tasks are answered once, overdue tasks are listed; bad input names the fields."""

import datetime

import grpc
import pytest
from retailcare.classification.v1 import classification_pb2 as cpb
from retailcare.evaluation.v1 import evaluation_pb2 as epb

from services.common import times
from services.common.errors import field_violations
from tests.e2e.gateway.conftest import BACKENDS, GatewayPack, customer
from tests.e2e.supervision.test_supervision import refused

# customer-grading's default: these facts make a five-star and a one-star customer.
FIVE_STARS = dict(
    business_format="supermarket",
    market_type="urban",
    zone_type="city_centre",
    monthly_sales_cartons=400,
    credit_rating="A",
    cooperation_score=95,
    compliance_violations_12m=0,
)


@pytest.fixture
def admin(tmp_path, db_url):
    pack = GatewayPack(tmp_path, evaluation_database_url=db_url, downstream_timeout_seconds=10)
    try:
        for name in (*BACKENDS, "gateway"):
            pack.start(name)
        stubs = pack.stubs("admin")
        stubs(
            stubs.classification.UpsertMarketZone,
            cpb.UpsertMarketZoneRequest(zone=cpb.MarketZone(code="Z1", name="Old town", team_id="team-1")),
        )
        yield stubs
    finally:
        pack.close()


def test_a_plan_samples_by_star_level_and_tasks_are_answered_once(admin):
    ev = admin.evaluation
    stars = {}
    for index in range(3):
        licence = f"11010110000{index}"
        reply = admin(
            admin.classification.CreateCustomer,
            cpb.CreateCustomerRequest(customer=customer(licence, **FIVE_STARS)),
        )
        stars[licence] = reply.customer.classification.star_level
    for index in range(10):
        licence = f"11010120000{index}"
        reply = admin(
            admin.classification.CreateCustomer,
            cpb.CreateCustomerRequest(customer=customer(licence, monthly_sales_cartons=5)),
        )
        stars[licence] = reply.customer.classification.star_level
    by_star = {}
    for licence, level in stars.items():
        by_star.setdefault(level, []).append(licence)
    assert len(by_star[5]) == 3 and len(by_star) > 1
    for staff in (
        epb.Staff(id="lg-1", name="Sun", role="phone_order_clerk", line="logistics", active=True),
        epb.Staff(id="in-1", name="Wu", role="inspector", line="logistics", level="county", active=True),
        epb.Staff(id="cm-1", name="Li", role="customer_manager", line="customer_service", active=True),
    ):
        admin(ev.UpsertStaff, epb.UpsertStaffRequest(staff=staff))
    today = times.now().date()
    admin(
        ev.CreatePeriod,
        epb.CreatePeriodRequest(
            period=epb.Period(
                id="Y", kind="year", starts_on=f"{today.year}-01-01", ends_on=f"{today.year}-12-31"
            )
        ),
    )

    # Bad input: fields named, nothing planned.
    error = refused(
        lambda: admin(
            ev.PlanReturnVisits, epb.PlanReturnVisitsRequest(period_id="Y", assignee_ids=[], due_on="soon")
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
    )
    assert set(field_violations(error)) == {"assignee_ids", "due_on"}
    error = refused(
        lambda: admin(
            ev.PlanReturnVisits,
            epb.PlanReturnVisitsRequest(
                period_id="Y", assignee_ids=["lg-1", "cm-1"], due_on=today.isoformat()
            ),
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
    )
    assert set(field_violations(error)) == {"assignee_ids[1]"}
    assert not admin(ev.ListReturnVisitTasks, epb.ListReturnVisitTasksRequest(period_id="Y")).tasks

    yesterday = (today - datetime.timedelta(days=1)).isoformat()
    plan = admin(
        ev.PlanReturnVisits,
        epb.PlanReturnVisitsRequest(period_id="Y", assignee_ids=["lg-1", "in-1"], due_on=yesterday),
    )
    assert plan.customers == 13 and plan.rule_set_version == 1
    sampled = {}
    for task in plan.tasks:
        sampled.setdefault(task.star_level, []).append(task.licence_number)
        assert task.zone == "Z1" and task.due_on == yesterday and not task.closed
    # The default: every five-star customer, one in ten (rounded up) of one- and two-star ones.
    shares = {5: 1, 4: 0.5, 3: 0.34}
    for level, licences in by_star.items():
        expected = -(-int(len(licences) * shares.get(level, 0.1) * 100) // 100)
        assert len(sampled.get(level, [])) == expected, (level, licences, sampled)
        assert set(sampled.get(level, [])) <= set(licences)
    assert {t.assignee_id for t in plan.tasks} == ({"lg-1", "in-1"} if len(plan.tasks) > 1 else {"lg-1"})
    refused(
        lambda: admin(
            ev.PlanReturnVisits,
            epb.PlanReturnVisitsRequest(period_id="Y", assignee_ids=["lg-1"], due_on=yesterday),
        ),
        grpc.StatusCode.ALREADY_EXISTS,
    )

    # Due yesterday: every task overdue until answered.
    overdue = admin(
        ev.ListReturnVisitTasks, epb.ListReturnVisitTasksRequest(period_id="Y", overdue_only=True)
    )
    assert len(overdue.tasks) == len(plan.tasks) and all(t.overdue for t in overdue.tasks)
    task = plan.tasks[0]
    answer = epb.RecordReturnVisitAnswerRequest(
        task_id=task.id,
        answered_by=task.assignee_id,
        satisfaction=[5, 4],
        opinion="deliveries on time",
        delivered=[epb.DeliveredItem(service="customer_manager_visit", delivered=False)],
    )
    bad = epb.RecordReturnVisitAnswerRequest(task_id=task.id, answered_by="", satisfaction=[6])
    error = refused(lambda: admin(ev.RecordReturnVisitAnswer, bad), grpc.StatusCode.INVALID_ARGUMENT)
    assert set(field_violations(error)) == {"answered_by", "satisfaction"}
    done = admin(ev.RecordReturnVisitAnswer, answer).task
    assert done.closed and not done.overdue and list(done.satisfaction) == [5, 4]
    assert [(d.service, d.delivered) for d in done.delivered] == [("customer_manager_visit", False)]
    refused(lambda: admin(ev.RecordReturnVisitAnswer, answer), grpc.StatusCode.FAILED_PRECONDITION)
    overdue = admin(
        ev.ListReturnVisitTasks, epb.ListReturnVisitTasksRequest(period_id="Y", overdue_only=True)
    )
    assert len(overdue.tasks) == len(plan.tasks) - 1 and task.id not in {t.id for t in overdue.tasks}


def test_two_plans_of_one_period_at_once_make_one_plan(admin):
    """Replicas asked at the same moment: one plan is made, the other is ALREADY_EXISTS,
    never both (the period's row is held while the plan is written)."""
    import concurrent.futures

    ev = admin.evaluation
    for index in range(3):
        shop = customer(f"11010130000{index}", **FIVE_STARS)
        admin(admin.classification.CreateCustomer, cpb.CreateCustomerRequest(customer=shop))
    clerk = epb.Staff(id="lg-1", name="Sun", role="phone_order_clerk", line="logistics", active=True)
    admin(ev.UpsertStaff, epb.UpsertStaffRequest(staff=clerk))
    today = times.now().date()
    due = (today + datetime.timedelta(days=7)).isoformat()

    def plan(period_id):
        try:
            request = epb.PlanReturnVisitsRequest(period_id=period_id, assignee_ids=["lg-1"], due_on=due)
            return len(admin(ev.PlanReturnVisits, request).tasks)
        except grpc.RpcError as error:
            return error.code()

    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        for round_ in range(6):
            period_id = f"M{round_}"
            period = epb.Period(
                id=period_id, kind="year", starts_on=f"{today.year}-01-01", ends_on=f"{today.year}-12-31"
            )
            admin(ev.CreatePeriod, epb.CreatePeriodRequest(period=period))
            outcomes = sorted(map(str, pool.map(plan, [period_id, period_id])))
            assert outcomes == ["3", str(grpc.StatusCode.ALREADY_EXISTS)], outcomes
            tasks = admin(ev.ListReturnVisitTasks, epb.ListReturnVisitTasksRequest(period_id=period_id)).tasks
            assert len(tasks) == 3
