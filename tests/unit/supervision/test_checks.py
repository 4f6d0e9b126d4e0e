"""Return-visit answers checked against the card and the visit cards, the score they feed,
improvement plans opened by broken commitments, and the period's supervision report
(figures and PDF): the domain and the use cases over in-memory ports."""

import datetime
import io

import pypdf
import pytest

from services.common.errors import FailedPrecondition, InvalidArgument, NotFound
from services.evaluation import report_pdf
from services.evaluation.domain import supervision_report
from services.evaluation.domain.errors import Invalid, Missing, Refused
from services.evaluation.domain.people import Staff
from services.evaluation.domain.periods import Period
from services.evaluation.domain.plans import ImprovementPlan
from services.evaluation.domain.return_visits import (
    DELIVERED_NOT_RECORDED,
    RECORDED_NOT_DELIVERED,
    Discrepancy,
    ReturnVisitTask,
    discrepancies,
    undelivered_commitments,
)
from services.evaluation.domain.supervision import CommitmentCard, CommitmentItem, Finding
from services.evaluation.domain.visits import VisitCard, VisitItem
from services.evaluation.return_visits import ReturnVisitPlanning
from services.evaluation.supervision import Supervision
from tests.unit.evaluation.fakes import DefaultRuleSets, FakeUnitOfWork

NOW = datetime.datetime(2026, 11, 24, 9, 0, tzinfo=datetime.UTC)
HOUR = datetime.timedelta(hours=1)


def item(service):
    return CommitmentItem(service, service, "standard", (), "", "", {})


CARD = CommitmentCard(
    "L-1",
    (item("customer_manager_visit"), item("free_phone_ordering"), item("business_guidance")),
    4,
    "cm-1",
    "team-1",
    version=3,
)
PERIOD = Period("2026-11", "month", datetime.date(2026, 11, 1), datetime.date(2026, 11, 30))
START = datetime.datetime(2026, 11, 1, tzinfo=datetime.UTC)


def task(**values):
    defaults = {
        "id": "t-1",
        "period_id": "2026-11",
        "licence_number": "L-1",
        "star_level": 5,
        "zone": "Z1",
        "assignee_id": "lg-1",
        "due_on": datetime.date(2026, 11, 28),
    }
    return ReturnVisitTask(**{**defaults, **values})


# ---- what the customer says against the visit cards ----------------------------------


def test_discrepancies_compare_each_answer_with_the_cards_that_record_it():
    recorded = {"customer_manager_visit": ("c-1", "c-2"), "business_guidance": ("c-2",)}
    found = discrepancies(
        [
            ("customer_manager_visit", False),  # on two cards, not delivered says the customer
            ("business_guidance", True),  # on a card and delivered: agrees
            ("free_phone_ordering", True),  # not a visit service: no card expected
            ("retail_price_upkeep", True),  # due at every visit, on no card
            ("storefront_image_upkeep", False),  # not delivered and on no card: agrees
        ],
        recorded,
    )
    assert found == (
        Discrepancy(
            "customer_manager_visit",
            RECORDED_NOT_DELIVERED,
            ("c-1", "c-2"),
            "the customer says customer_manager_visit was not delivered; 2 visit card(s) record it",
        ),
        Discrepancy(
            "retail_price_upkeep",
            DELIVERED_NOT_RECORDED,
            (),
            "the customer says retail_price_upkeep was delivered; no visit card of the period records it",
        ),
    )
    assert discrepancies([], recorded) == ()


def test_an_answer_names_only_items_of_the_card_and_keeps_who_answers_for_them():
    with pytest.raises(Invalid) as error:
        task().answered(
            "lg-1",
            [4],
            "",
            [("customer_manager_visit", True), ("scarce_brand_supply", False), ("personal_care", True)],
            NOW,
            CARD,
            {},
        )
    listed = "on it: customer_manager_visit, free_phone_ordering, business_guidance"
    assert error.value.violations == [
        ("delivered[1].service", f"scarce_brand_supply is not on the customer's card ({listed})"),
        ("delivered[2].service", f"personal_care is not on the customer's card ({listed})"),
    ]
    empty = CommitmentCard("L-1", (), 4, "cm-1", "team-1")
    with pytest.raises(Invalid) as error:
        task().answered("lg-1", [4], "", [("personal_care", True)], NOW, empty, {})
    assert error.value.violations == [
        ("delivered[0].service", "personal_care is not on the customer's card (on it: none)")
    ]

    done = task().answered(
        "lg-1",
        [4, 2],
        "the manager never comes",
        [("customer_manager_visit", False), ("free_phone_ordering", True)],
        NOW,
        CARD,
        {"customer_manager_visit": ("c-9",)},
    )
    assert (done.state, done.staff_id, done.card_version, done.undelivered) == ("closed", "cm-1", 3, 1)
    assert [(d.service, d.kind, d.card_ids) for d in done.discrepancies] == [
        ("customer_manager_visit", RECORDED_NOT_DELIVERED, ("c-9",))
    ]


def test_undelivered_items_count_against_the_responsible_person_in_the_window():
    window = (NOW, NOW + 24 * HOUR)
    said = [("customer_manager_visit", False), ("free_phone_ordering", False), ("business_guidance", True)]

    def answered(task_id, at, delivered=said, card=CARD):
        return task(id=task_id).answered("lg-1", [3], "", delivered, at, card, {})

    other = CommitmentCard("L-2", CARD.items, 4, "cm-2", "team-1")
    nobody = CommitmentCard("L-3", CARD.items, 4, "", "team-1")
    tasks = [
        answered("a", NOW),  # the first moment counts: 2
        answered("b", NOW + 24 * HOUR - datetime.timedelta(microseconds=1)),  # the last: 2
        answered("c", NOW + 24 * HOUR),  # the next window
        answered("d", NOW - datetime.timedelta(microseconds=1)),  # the last window
        answered("e", NOW, [("customer_manager_visit", True)], other),  # all delivered: 0
        answered("f", NOW, said, nobody),  # no responsible person: nobody's
        task(id="g"),  # not answered
    ]
    assert undelivered_commitments(tasks, window) == {"cm-1": 4, "cm-2": 0}


def test_the_task_keeps_its_answer_overdue_rules_unchanged():
    open_task = task()
    assert open_task.undelivered == 0 and open_task.discrepancies == () and open_task.staff_id == ""
    assert open_task.overdue(datetime.date(2026, 11, 29)) and not open_task.overdue(
        datetime.date(2026, 11, 28)
    )


# ---- plans opened by a broken commitment ---------------------------------------------


def decided_finding(upheld=True, **values):
    finding = Finding(
        "f-1",
        "in-1",
        "L-1",
        "customer_manager_visit",
        "not_delivered",
        ("nobody came",),
        NOW,
        **values,
    ).against(CARD)
    heard = finding.heard("I was ill", NOW)
    return heard if upheld is None else heard.decided(upheld, "tl-1", "", NOW)


def test_an_upheld_finding_opens_a_plan_for_the_responsible_person():
    plan = ImprovementPlan.for_breach("p-1", decided_finding(), "2026-11", datetime.date(2026, 12, 24), NOW)
    assert (plan.id, plan.subject_id, plan.subject_kind, plan.owner_id, plan.period_id) == (
        "p-1",
        "cm-1",
        "staff",
        "cm-1",
        "2026-11",
    )
    assert (plan.state, plan.finding_id, plan.trigger, plan.due_on) == (
        "plan",
        "f-1",
        "breach",
        datetime.date(2026, 12, 24),
    )
    assert (plan.trigger_score, plan.threshold) == (0, 0)
    (event,) = plan.events
    assert (event.at, event.by, event.from_state, event.to_state) == (NOW, "tl-1", "", "plan")
    assert event.note == (
        "broken commitment: finding f-1 (not_delivered of customer_manager_visit for L-1) upheld in period 2026-11"
    )
    score_plan = ImprovementPlan.open("p-2", "cm-1", "staff", "2026-11", 50, 60, "cm-1", NOW.date(), NOW)
    assert score_plan.trigger == "score" and score_plan.finding_id == ""
    for not_upheld in (decided_finding(False), decided_finding(None)):
        with pytest.raises(Refused, match="only an upheld finding opens a plan"):
            ImprovementPlan.for_breach("p-3", not_upheld, "2026-11", NOW.date(), NOW)


# ---- the report ------------------------------------------------------------------------


def answered_task(task_id, zone, satisfaction, delivered, recorded=None, licence="L-1"):
    return task(id=task_id, zone=zone, licence_number=licence).answered(
        "lg-1", satisfaction, "", delivered, NOW, CARD, recorded or {}
    )


def test_the_report_counts_coverage_items_teams_and_discrepancies():
    tasks = [
        answered_task(
            "a", "Z1", [5, 3], [("customer_manager_visit", False)], {"customer_manager_visit": ("c-1",)}
        ),
        answered_task("b", "Z1", [2], [("customer_manager_visit", True), ("business_guidance", False)]),
        task(id="c", zone="Z1"),
        task(id="d", zone="Z0"),
    ]
    upheld = decided_finding()
    findings = [
        upheld,
        decided_finding(False),
        Finding("f-9", "in-1", "L-1", "business_guidance", "standard_not_met", ("x",), NOW, team_id="team-2"),
        # At the first moment of the period, about an item no return visit asked about.
        Finding("f-7", "in-1", "L-1", "personal_care", "not_delivered", ("x",), START, team_id="team-3"),
        Finding(
            "f-8",
            "in-1",
            "L-1",
            "business_guidance",
            "not_delivered",
            ("x",),
            datetime.datetime(2026, 12, 1, tzinfo=datetime.UTC),
        ),
    ]
    report = supervision_report.build(PERIOD, tasks, findings)
    assert (report.period_id, report.starts_on, report.ends_on) == (
        "2026-11",
        datetime.date(2026, 11, 1),
        datetime.date(2026, 11, 30),
    )
    assert (report.planned, report.answered) == (4, 2)
    z0, z1 = report.zones
    assert (z0.zone, z0.planned, z0.answered, z0.satisfaction, z0.discrepancies, z0.coverage) == (
        "Z0",
        1,
        0,
        0,
        0,
        0,
    )
    assert (z1.zone, z1.planned, z1.answered, z1.discrepancies) == ("Z1", 3, 2, 2)
    assert z1.satisfaction == pytest.approx(10 / 3) and z1.coverage == pytest.approx(2 / 3)
    assert [(i.service, i.asked, i.undelivered, i.findings, i.upheld) for i in report.items] == [
        ("business_guidance", 1, 1, 1, 0),
        ("customer_manager_visit", 2, 1, 2, 1),
        ("personal_care", 0, 0, 1, 0),
    ]
    assert [(t.team_id, t.findings, t.upheld) for t in report.teams] == [
        ("team-1", 2, 1),
        ("team-2", 1, 0),
        ("team-3", 1, 0),
    ]
    assert [
        (d.task_id, d.licence_number, d.zone, d.staff_id, d.service, d.kind, d.card_ids)
        for d in report.discrepancies
    ] == [
        ("a", "L-1", "Z1", "cm-1", "customer_manager_visit", RECORDED_NOT_DELIVERED, ("c-1",)),
        ("b", "L-1", "Z1", "cm-1", "customer_manager_visit", DELIVERED_NOT_RECORDED, ()),
    ]
    assert "not delivered" in report.discrepancies[0].description
    empty = supervision_report.build(PERIOD, [], [])
    assert (empty.planned, empty.answered, empty.zones, empty.items, empty.teams) == (0, 0, (), (), ())


def pdf_text(content: bytes) -> str:
    reader = pypdf.PdfReader(io.BytesIO(content))
    return "\n".join(page.extract_text() for page in reader.pages)


def test_the_pdf_prints_the_figures_in_chinese_or_english_and_escapes_the_data():
    tasks = [
        answered_task(
            "a", "城区<b>", [5], [("customer_manager_visit", False)], {"customer_manager_visit": ("c-1",)}
        ),
        task(id="c", zone="郊区"),
    ]
    report = supervision_report.build(PERIOD, tasks, [decided_finding()])
    zh = report_pdf.render(report, "zh")
    assert zh.startswith(b"%PDF-")
    text = pdf_text(zh)
    for expected in (
        "服务监督报告",
        "回访覆盖率与满意度",
        "城区<b>",
        "郊区",
        "customer_manager_visit",
        "违诺",
        "拜访记录卡有记载，客户称未兑现",
        "c-1",
        "2026-11-01",
        "team-1",
    ):
        assert expected in text, expected
    en = pdf_text(report_pdf.render(report, "en"))
    for expected in (
        "Service supervision report",
        "2 return visits planned, 1 answered",
        "城区<b>",
        "recorded on visit cards c-1; the customer says not delivered",
        "100%",
        "5.00",
    ):
        assert expected in en, expected
    assert "服务监督报告" not in en
    nothing = pdf_text(report_pdf.render(supervision_report.build(PERIOD, [], []), "en"))
    assert nothing.count("none") == 4


def test_the_pdf_lists_so_many_discrepancies_and_says_how_many_more(monkeypatch):
    monkeypatch.setattr(report_pdf, "LISTED_DISCREPANCIES", 2)
    visits = {"customer_manager_visit": ("c-1",)}
    tasks = [
        answered_task(f"t{n}", "Z1", [4], [("customer_manager_visit", False)], visits, licence=f"L-{n}")
        for n in range(5)
    ]
    report = supervision_report.build(PERIOD, tasks, [])
    assert len(report.discrepancies) == 5
    en = pdf_text(report_pdf.render(report, "en"))
    assert "L-0" in en and "L-1" in en and "L-2" not in en and "3 more not listed" in en
    zh = pdf_text(report_pdf.render(report, "zh"))
    assert "另有 3 条未列出" in zh
    two = supervision_report.build(PERIOD, tasks[:2], [])
    assert "more not listed" not in pdf_text(report_pdf.render(two, "en"))


# ---- use cases over in-memory ports ----------------------------------------------------


class Directory:
    def __init__(self):
        self.cards = {"L-1": CARD}

    def commitment_card(self, licence_number):
        if licence_number not in self.cards:
            raise Missing("customer", licence_number)
        return self.cards[licence_number]


@pytest.fixture
def world(monkeypatch):
    monkeypatch.setattr("services.common.times.now", lambda: NOW)
    uow = FakeUnitOfWork()
    with uow:
        for staff in (
            Staff("in-1", "Wu", "inspector", "logistics", "county", True),
            Staff("cm-1", "Li", "customer_manager", "customer_service", "", True),
            Staff("lg-1", "Ma", "phone_order_clerk", "customer_service", "", True),
        ):
            uow.people.save_staff(staff)
        uow.periods.save(PERIOD)
        uow.periods.save(
            Period("2026-Q4", "quarter", datetime.date(2026, 10, 1), datetime.date(2026, 12, 31))
        )
        uow.return_visits.add_all([task(), task(id="t-2", licence_number="L-2")])
        items = (VisitItem("customer_manager_visit", (1,)),)
        uow.cards.add(VisitCard("c-1", "cm-1", "L-1", NOW - 48 * HOUR, items))
        uow.cards.add(
            VisitCard("c-0", "cm-1", "L-1", datetime.datetime(2026, 10, 30, tzinfo=datetime.UTC), items)
        )
    rule_sets = DefaultRuleSets()
    supervision = Supervision(uow, Directory(), rule_sets)
    planning = ReturnVisitPlanning(uow, None, supervision.directory, supervision.commitment_card)
    yield supervision, planning, uow
    rule_sets.close()


def test_an_answer_is_checked_against_the_current_card_and_the_periods_visit_cards(world):
    supervision, planning, uow = world
    with pytest.raises(InvalidArgument) as error:
        planning.answer("t-1", "lg-1", [4], "", [("scarce_brand_supply", False)])
    assert [field for field, _ in error.value.violations] == ["delivered[0].service"]
    assert planning.tasks("2026-11", "", False)[0].state == "open"  # nothing written

    done = planning.answer(
        "t-1", "lg-1", [4], "", [("customer_manager_visit", False), ("free_phone_ordering", True)]
    )
    assert (done.staff_id, done.card_version) == ("cm-1", 1)  # the card issued now
    # The card of October is another period's: only c-1 records the visit.
    assert [(d.service, d.kind, d.card_ids) for d in done.discrepancies] == [
        ("customer_manager_visit", RECORDED_NOT_DELIVERED, ("c-1",))
    ]
    with pytest.raises(FailedPrecondition):
        planning.answer("t-1", "lg-1", [4], "", [])
    with pytest.raises(NotFound):
        planning.answer("t-404", "lg-1", [4], "", [])
    with pytest.raises(NotFound, match="L-2"):  # the customer is gone from classification
        planning.answer("t-2", "lg-1", [4], "", [])
    # Bad input is refused before classification is asked: the fields, not the customer.
    with pytest.raises(InvalidArgument) as error:
        planning.answer("t-2", "", [9], "", [("a b", True)])
    assert [field for field, _ in error.value.violations] == ["answered_by", "satisfaction", "delivered"]
    with pytest.raises(InvalidArgument):
        planning.answer(" ", "lg-1", [4], "", [])


def test_a_decision_can_open_a_plan_in_the_shortest_period_of_the_finding(world):
    supervision, _, uow = world
    first = supervision.record_finding(
        Finding("", "in-1", "L-1", "customer_manager_visit", "not_delivered", ("x",), None)
    )
    supervision.record_hearing(first.id, "I was ill")
    with pytest.raises(InvalidArgument) as error:
        supervision.decide_finding(first.id, False, "tl-1", "", open_plan=True)
    assert [field for field, _ in error.value.violations] == ["open_plan"]
    decided, plan = supervision.decide_finding(first.id, True, "tl-1", "", open_plan=True)
    assert decided.state == "upheld"
    assert (plan.subject_id, plan.period_id, plan.finding_id, plan.owner_id) == (
        "cm-1",
        "2026-11",
        first.id,
        "cm-1",
    )
    assert plan.due_on == NOW.date() + datetime.timedelta(days=30)  # kpi-scoring's open_plan_below
    assert supervision.findings("cm-1", "", "") == [decided]
    with uow:
        assert uow.plans.find("cm-1") == [plan]

    # No period holds the finding's day: refused, nothing decided.
    late = supervision.record_finding(
        Finding(
            "",
            "in-1",
            "L-1",
            "customer_manager_visit",
            "not_delivered",
            ("x",),
            datetime.datetime(2025, 5, 1, tzinfo=datetime.UTC),
        )
    )
    supervision.record_hearing(late.id, "no")
    with pytest.raises(InvalidArgument, match="no evaluation period contains 2025-05-01"):
        supervision.decide_finding(late.id, True, "tl-1", "", open_plan=True)
    assert supervision.findings("", "", "team-1")[0].state == "heard"
    # Without open_plan no plan is opened.
    assert supervision.decide_finding(late.id, True, "tl-1", "")[1] is None


def test_the_report_use_case_checks_its_arguments(world):
    supervision, planning, _ = world
    planning.answer("t-1", "lg-1", [2], "", [("customer_manager_visit", True)])
    report = supervision.report("2026-11", "zh")
    assert (report.planned, report.answered) == (2, 1)
    with pytest.raises(InvalidArgument) as error:
        supervision.report("", "fr")
    assert {field for field, _ in error.value.violations} == {"period_id", "language"}
    with pytest.raises(NotFound):
        supervision.report("2030-01")


# ---- in the period's score --------------------------------------------------------------


def test_the_run_scores_undelivered_items_and_a_breach_plan_does_not_stand_for_a_low_score(monkeypatch):
    from services.evaluation.domain.visits import Menu, MenuItem
    from services.evaluation.service_layer import Evaluation
    from tests.unit.evaluation.fakes import FakeDirectory, FakeStatistics

    monkeypatch.setattr("services.common.times.now", lambda: NOW)
    uow = FakeUnitOfWork()
    menu = Menu("L-1", (MenuItem("customer_manager_visit", 1, visits_per_month=2),), 5)
    rule_sets = DefaultRuleSets()
    use_cases = Evaluation(uow, rule_sets, FakeDirectory({"L-1": menu}, {"cm-1": ["L-1"]}), FakeStatistics())
    use_cases.upsert_staff(Staff("cm-1", "Li", "customer_manager", "customer_service"))
    use_cases.upsert_staff(Staff("cm-2", "Xu", "customer_manager", "customer_service"))
    use_cases.create_period("2026-11", "month", "2026-11-01", "2026-11-30")
    breach = ImprovementPlan.for_breach("p-breach", decided_finding(), "2026-11", NOW.date(), NOW)
    said = [("customer_manager_visit", False), ("free_phone_ordering", False), ("business_guidance", True)]
    with uow:
        uow.plans.save(breach)
        uow.return_visits.add_all([task().answered("lg-1", [3], "", said, NOW, CARD, {})])
    _, results, opened, _ = use_cases.run_period("2026-11", "hr")
    by_subject = {r.subject_id: r for r in results}
    values = {i["indicator"]: i["value"] for i in by_subject["cm-1"].indicators}
    assert (values["undelivered_commitments"], values["broken_commitments"]) == (2, 0)
    # cm-2 is responsible for no customer and nobody said anything about them: no data.
    assert not {i["indicator"]: i["has_value"] for i in by_subject["cm-2"].indicators}[
        "undelivered_commitments"
    ]
    cm1 = by_subject["cm-1"]
    assert cm1.total_score < 60 and cm1.opened_plan_id not in ("", "p-breach") and opened == 1
    rule_sets.close()


def test_the_reply_lists_so_many_discrepancies_and_counts_them_all(monkeypatch):
    from services.evaluation import mapping

    monkeypatch.setattr(mapping, "LISTED_DISCREPANCIES", 2)
    visits = {"customer_manager_visit": ("c-1",)}
    tasks = [
        answered_task(f"t{n}", "Z1", [4], [("customer_manager_visit", False)], visits, licence=f"L-{n}")
        for n in range(5)
    ]
    reply = mapping.report_message(supervision_report.build(PERIOD, tasks, []))
    assert [d.licence_number for d in reply.discrepancies] == ["L-0", "L-1"]
    assert reply.discrepancies_total == 5
