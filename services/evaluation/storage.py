"""The evaluation service's tables and the SQL side of its ports (the only module that
knows the tables)."""

from __future__ import annotations

import datetime
from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel, col, delete, func, select

from services.common.database import unit_of_work
from services.common.times import utc
from services.evaluation.domain.people import Membership, Staff, Team
from services.evaluation.domain.periods import PUBLISHED, Period
from services.evaluation.domain.plans import ImprovementPlan, PlanEvent
from services.evaluation.domain.ratings import Rating
from services.evaluation.domain.results import PeriodResult
from services.evaluation.domain.return_visits import Discrepancy, ReturnVisitTask
from services.evaluation.domain.supervision import CommitmentCard, CommitmentItem, Finding
from services.evaluation.domain.visits import Omission, VisitCard, VisitItem, VisitTotals
from services.evaluation.ports import Conflict


def _time(**kwargs):
    return Field(sa_column=sa.Column(sa.DateTime(timezone=True), **kwargs))


def _json():
    return Field(sa_column=sa.Column(sa.JSON, nullable=False))


class StaffRow(SQLModel, table=True):
    __tablename__ = "staff"
    id: str = Field(primary_key=True)
    name: str
    role: str
    line: str
    level: str
    active: bool


class TeamRow(SQLModel, table=True):
    __tablename__ = "teams"
    id: str = Field(primary_key=True)
    name: str


class MembershipRow(SQLModel, table=True):
    __tablename__ = "memberships"
    id: int | None = Field(default=None, primary_key=True)
    staff_id: str
    team_id: str
    specialty: str
    from_date: datetime.date
    to_date: datetime.date | None = None


class PeriodRow(SQLModel, table=True):
    __tablename__ = "periods"
    id: str = Field(primary_key=True)
    kind: str
    starts_on: datetime.date
    ends_on: datetime.date
    state: str
    runs: int
    last_run_at: datetime.datetime | None = _time(nullable=True)
    published_at: datetime.datetime | None = _time(nullable=True)
    published_by: str


class VisitCardRow(SQLModel, table=True):
    __tablename__ = "visit_cards"
    id: str = Field(primary_key=True)
    staff_id: str
    licence_number: str
    visited_at: datetime.datetime = _time(nullable=False)
    recorded_at: datetime.datetime = _time(nullable=False)
    items: list = _json()
    notes: str
    checked: bool
    entitlements_version: int
    visits_per_month_due: int
    items_due: int
    omission_count: int
    omissions: list = _json()
    supersedes_card_id: str
    superseded_by_card_id: str
    corrected_by: str
    correction_reason: str


class CustomerMenuRow(SQLModel, table=True):
    __tablename__ = "customer_menus"
    licence_number: str = Field(primary_key=True)
    visits_per_month: int
    entitlements_version: int
    fetched_at: datetime.datetime = _time(nullable=False)


class RatingRow(SQLModel, table=True):
    __tablename__ = "ratings"
    id: int | None = Field(default=None, primary_key=True)
    period_id: str
    mode: str
    rater_id: str
    subject_id: str
    score: float
    answers: list = _json()
    comment: str
    revision: int
    recorded_at: datetime.datetime = _time(nullable=False)


class ActualRow(SQLModel, table=True):
    __tablename__ = "actuals"
    period_id: str = Field(primary_key=True)
    subject_kind: str = Field(primary_key=True)
    subject_id: str = Field(primary_key=True)
    sales_actual: float | None = None
    sales_target: float | None = None


class ResultRow(SQLModel, table=True):
    __tablename__ = "results"
    period_id: str = Field(primary_key=True)
    subject_kind: str = Field(primary_key=True)
    subject_id: str = Field(primary_key=True)
    team_id: str
    role: str
    total_score: float
    grade: str
    pay_coefficient: float
    explanation: dict = _json()
    rule_set: str
    rule_set_version: int
    run: int
    opened_plan_id: str
    follows_up_plan_ids: list = _json()


class PlanRow(SQLModel, table=True):
    __tablename__ = "improvement_plans"
    id: str = Field(primary_key=True)
    subject_id: str
    subject_kind: str
    period_id: str
    trigger_score: float
    threshold: float
    owner_id: str
    due_on: datetime.date
    state: str
    actions: list = _json()
    evidence: list = _json()
    events: list = _json()
    follow_up_period_id: str
    follow_up_score: float
    finding_id: str = ""


class CommitmentCardRow(SQLModel, table=True):
    __tablename__ = "commitment_cards"
    licence_number: str = Field(primary_key=True)
    version: int = Field(primary_key=True)
    issued_at: datetime.datetime = _time(nullable=False)
    entitlements_version: int
    responsible_person: str
    team_id: str
    items: list = _json()


class FindingRow(SQLModel, table=True):
    __tablename__ = "findings"
    id: str = Field(primary_key=True)
    inspector_id: str
    licence_number: str
    service: str
    kind: str
    evidence: list = _json()
    found_at: datetime.datetime = _time(nullable=False)
    staff_id: str
    team_id: str
    card_version: int
    state: str
    response: str
    heard_at: datetime.datetime | None = _time(nullable=True)
    decided_by: str
    decision_note: str
    decided_at: datetime.datetime | None = _time(nullable=True)


class ReturnVisitTaskRow(SQLModel, table=True):
    __tablename__ = "return_visit_tasks"
    id: str = Field(primary_key=True)
    period_id: str
    licence_number: str
    star_level: int
    zone: str
    assignee_id: str
    due_on: datetime.date
    state: str
    satisfaction: list = _json()
    opinion: str
    delivered: list = _json()
    answered_by: str
    answered_at: datetime.datetime | None = _time(nullable=True)
    staff_id: str = ""
    card_version: int = 0
    discrepancies: list = _json()


# ---- conversions ---------------------------------------------------------------------


def _staff(row: StaffRow) -> Staff:
    return Staff(row.id, row.name, row.role, row.line, row.level, row.active)


def _membership(row: MembershipRow) -> Membership:
    return Membership(row.staff_id, row.team_id, row.specialty, row.from_date, row.to_date)


def _period(row: PeriodRow) -> Period:
    return Period(
        row.id,
        row.kind,
        row.starts_on,
        row.ends_on,
        row.state,
        row.runs,
        utc(row.last_run_at),
        utc(row.published_at),
        row.published_by,
    )


def _card(row: VisitCardRow) -> VisitCard:
    return VisitCard(
        id=row.id,
        staff_id=row.staff_id,
        licence_number=row.licence_number,
        visited_at=utc(row.visited_at),
        items=tuple(VisitItem(i["service"], tuple(i["steps_done"]), i["note"]) for i in row.items),
        notes=row.notes,
        recorded_at=utc(row.recorded_at),
        checked=row.checked,
        entitlements_version=row.entitlements_version,
        visits_per_month_due=row.visits_per_month_due,
        items_due=row.items_due,
        omissions=tuple(Omission(o["service"], o["step"], o["description"]) for o in row.omissions),
        supersedes_card_id=row.supersedes_card_id,
        superseded_by_card_id=row.superseded_by_card_id,
        corrected_by=row.corrected_by,
        correction_reason=row.correction_reason,
    )


def _card_values(card: VisitCard) -> dict:
    return {
        "id": card.id,
        "staff_id": card.staff_id,
        "licence_number": card.licence_number,
        "visited_at": card.visited_at,
        "recorded_at": card.recorded_at,
        "items": [
            {"service": i.service, "steps_done": list(i.steps_done), "note": i.note} for i in card.items
        ],
        "notes": card.notes,
        "checked": card.checked,
        "entitlements_version": card.entitlements_version,
        "visits_per_month_due": card.visits_per_month_due,
        "items_due": card.items_due,
        "omission_count": len(card.omissions),
        "omissions": [
            {"service": o.service, "step": o.step, "description": o.description} for o in card.omissions
        ],
        "supersedes_card_id": card.supersedes_card_id,
        "superseded_by_card_id": card.superseded_by_card_id,
        "corrected_by": card.corrected_by,
        "correction_reason": card.correction_reason,
    }


def _rating(row: RatingRow) -> Rating:
    return Rating(
        row.period_id,
        row.mode,
        row.rater_id,
        row.subject_id,
        row.score,
        tuple(row.answers),
        row.comment,
        row.revision,
        utc(row.recorded_at),
    )


def _result(row: ResultRow) -> PeriodResult:
    return PeriodResult(
        row.period_id,
        row.subject_kind,
        row.subject_id,
        row.team_id,
        row.role,
        row.total_score,
        row.grade,
        row.pay_coefficient,
        tuple(row.explanation["indicators"]),
        tuple(row.explanation["modes"]),
        row.rule_set,
        row.rule_set_version,
        row.run,
        row.explanation["graded"],
        row.opened_plan_id,
        tuple(row.follows_up_plan_ids),
    )


def _plan(row: PlanRow) -> ImprovementPlan:
    return ImprovementPlan(
        id=row.id,
        subject_id=row.subject_id,
        subject_kind=row.subject_kind,
        period_id=row.period_id,
        trigger_score=row.trigger_score,
        threshold=row.threshold,
        owner_id=row.owner_id,
        due_on=row.due_on,
        state=row.state,
        actions=tuple(row.actions),
        evidence=tuple(row.evidence),
        events=tuple(
            PlanEvent(utc(datetime.datetime.fromisoformat(e["at"])), e["by"], e["from"], e["to"], e["note"])
            for e in row.events
        ),
        follow_up_period_id=row.follow_up_period_id,
        follow_up_score=row.follow_up_score,
        finding_id=row.finding_id,
    )


def _plan_row(plan: ImprovementPlan) -> PlanRow:
    return PlanRow(
        id=plan.id,
        subject_id=plan.subject_id,
        subject_kind=plan.subject_kind,
        period_id=plan.period_id,
        trigger_score=plan.trigger_score,
        threshold=plan.threshold,
        owner_id=plan.owner_id,
        due_on=plan.due_on,
        state=plan.state,
        actions=list(plan.actions),
        evidence=list(plan.evidence),
        events=[
            {"at": e.at.isoformat(), "by": e.by, "from": e.from_state, "to": e.to_state, "note": e.note}
            for e in plan.events
        ],
        follow_up_period_id=plan.follow_up_period_id,
        follow_up_score=plan.follow_up_score,
        finding_id=plan.finding_id,
    )


def _commitment_card(row: CommitmentCardRow) -> CommitmentCard:
    return CommitmentCard(
        row.licence_number,
        tuple(
            CommitmentItem(
                i["service"],
                i["name"],
                i["kind"],
                tuple(i["procedure_steps"]),
                i["standard"],
                i["commitment"],
                i["parameters"],
            )
            for i in row.items
        ),
        row.entitlements_version,
        row.responsible_person,
        row.team_id,
        row.version,
        utc(row.issued_at),
    )


def _finding(row: FindingRow) -> Finding:
    return Finding(
        id=row.id,
        inspector_id=row.inspector_id,
        licence_number=row.licence_number,
        service=row.service,
        kind=row.kind,
        evidence=tuple(row.evidence),
        found_at=utc(row.found_at),
        staff_id=row.staff_id,
        team_id=row.team_id,
        card_version=row.card_version,
        state=row.state,
        response=row.response,
        heard_at=utc(row.heard_at),
        decided_by=row.decided_by,
        decision_note=row.decision_note,
        decided_at=utc(row.decided_at),
    )


def _finding_row(finding: Finding) -> FindingRow:
    return FindingRow(**{**finding.__dict__, "evidence": list(finding.evidence)})


def _task(row: ReturnVisitTaskRow) -> ReturnVisitTask:
    return ReturnVisitTask(
        id=row.id,
        period_id=row.period_id,
        licence_number=row.licence_number,
        star_level=row.star_level,
        zone=row.zone,
        assignee_id=row.assignee_id,
        due_on=row.due_on,
        state=row.state,
        satisfaction=tuple(row.satisfaction),
        opinion=row.opinion,
        delivered=tuple((service, bool(done)) for service, done in row.delivered),
        answered_by=row.answered_by,
        answered_at=utc(row.answered_at),
        staff_id=row.staff_id,
        card_version=row.card_version,
        discrepancies=tuple(
            Discrepancy(d["service"], d["kind"], tuple(d["card_ids"]), d["description"])
            for d in row.discrepancies
        ),
    )


def _task_row(task: ReturnVisitTask) -> ReturnVisitTaskRow:
    return ReturnVisitTaskRow(
        **{
            **task.__dict__,
            "satisfaction": list(task.satisfaction),
            "delivered": [[service, done] for service, done in task.delivered],
            "discrepancies": [{**d.__dict__, "card_ids": list(d.card_ids)} for d in task.discrepancies],
        }
    )


# ---- repositories --------------------------------------------------------------------


class _Repository:
    def __init__(self, session: Session):
        self.session = session


class SqlPeople(_Repository):
    def staff(self, staff_id: str) -> Staff | None:
        row = self.session.get(StaffRow, staff_id)
        return _staff(row) if row else None

    def all_staff(self) -> list[Staff]:
        return [_staff(row) for row in self.session.exec(select(StaffRow).order_by(StaffRow.id))]

    def save_staff(self, staff: Staff) -> None:
        self.session.merge(StaffRow(**staff.__dict__))

    def team(self, team_id: str) -> Team | None:
        row = self.session.get(TeamRow, team_id)
        return Team(row.id, row.name) if row else None

    def all_teams(self) -> list[Team]:
        return [Team(row.id, row.name) for row in self.session.exec(select(TeamRow).order_by(TeamRow.id))]

    def save_team(self, team: Team) -> None:
        self.session.merge(TeamRow(id=team.id, name=team.name))

    def memberships_of(self, staff_id: str) -> list[Membership]:
        query = (
            select(MembershipRow).where(MembershipRow.staff_id == staff_id).order_by(MembershipRow.from_date)
        )
        return [_membership(row) for row in self.session.exec(query)]

    def memberships_on(self, day: datetime.date, team_id: str = "") -> list[Membership]:
        query = select(MembershipRow).where(
            MembershipRow.from_date <= day,
            sa.or_(col(MembershipRow.to_date).is_(None), col(MembershipRow.to_date) > day),
        )
        if team_id:
            query = query.where(MembershipRow.team_id == team_id)
        return [_membership(row) for row in self.session.exec(query.order_by(MembershipRow.staff_id))]

    def save_move(self, ended: Membership | None, started: Membership) -> None:
        if ended is not None:
            row = self.session.exec(
                select(MembershipRow).where(
                    MembershipRow.staff_id == ended.staff_id, col(MembershipRow.to_date).is_(None)
                )
            ).one()
            row.to_date = ended.to_date
            self.session.add(row)
        self.session.add(MembershipRow(**started.__dict__))


class SqlPeriods(_Repository):
    def get(self, period_id: str, lock: bool = False) -> Period | None:
        """``lock``: hold the period's row until the transaction ends (PostgreSQL), so two
        runs of one period take turns; SQLite has one writer at a time anyway."""
        row = self.session.get(PeriodRow, period_id, with_for_update=lock or None)
        return _period(row) if row else None

    def add(self, period: Period) -> None:
        """A new period: an insert, so an id written meanwhile clashes (Conflict) instead of
        being overwritten."""
        self.session.add(PeriodRow(**period.__dict__))

    def save(self, period: Period) -> None:
        self.session.merge(PeriodRow(**period.__dict__))

    def containing(self, day: datetime.date) -> list[Period]:
        query = select(PeriodRow).where(PeriodRow.starts_on <= day, PeriodRow.ends_on >= day)
        return [_period(row) for row in self.session.exec(query.order_by(PeriodRow.id))]

    def open_with_results_after(self, after: str, limit: int) -> list[Period]:
        """Open periods that have been run, by id, after ``after`` (from the first when empty)."""
        query = self._open_with_results_after(select(PeriodRow), after)
        return [_period(row) for row in self.session.exec(query.order_by(PeriodRow.id).limit(limit))]

    def count_open_with_results_after(self, after: str) -> int:
        return self.session.exec(
            self._open_with_results_after(select(func.count()).select_from(PeriodRow), after)
        ).one()

    def open_off_version_after(self, after: str, version: int, limit: int) -> list[Period]:
        """Open periods, by id, after ``after``, with a result on another version than ``version``."""
        off_version = select(ResultRow.period_id).where(
            ResultRow.period_id == PeriodRow.id, ResultRow.rule_set_version != version
        )
        query = self._open_with_results_after(select(PeriodRow), after).where(off_version.exists())
        return [_period(row) for row in self.session.exec(query.order_by(PeriodRow.id).limit(limit))]

    @staticmethod
    def _open_with_results_after(query, after: str):
        return query.where(PeriodRow.state != PUBLISHED, PeriodRow.runs > 0, PeriodRow.id > after)

    def unpublished_ended_before(self, day: datetime.date) -> int:
        """How many periods ended before ``day`` and are not published."""
        return self.session.exec(
            select(func.count())
            .select_from(PeriodRow)
            .where(PeriodRow.ends_on < day, PeriodRow.state != PUBLISHED)
        ).one()


class SqlCards(_Repository):
    def get(self, card_id: str) -> VisitCard | None:
        row = self.session.get(VisitCardRow, card_id)
        return _card(row) if row else None

    def add(self, card: VisitCard) -> None:
        self.session.add(VisitCardRow(**_card_values(card)))

    def update(self, card: VisitCard) -> None:
        self.session.merge(VisitCardRow(**_card_values(card)))

    def unchecked(self, limit: int) -> list[VisitCard]:
        query = (
            select(VisitCardRow)
            .where(col(VisitCardRow.checked).is_(False))
            .order_by(VisitCardRow.recorded_at)
        )
        return [_card(row) for row in self.session.exec(query.limit(limit))]

    def count_unchecked(self) -> int:
        query = select(func.count()).select_from(VisitCardRow).where(col(VisitCardRow.checked).is_(False))
        return self.session.exec(query).one()

    def find(
        self, staff_id: str, licence_number: str, window: tuple | None, include_superseded: bool
    ) -> list[VisitCard]:
        query = select(VisitCardRow)
        if staff_id:
            query = query.where(VisitCardRow.staff_id == staff_id)
        if licence_number:
            query = query.where(VisitCardRow.licence_number == licence_number)
        if window:
            query = query.where(VisitCardRow.visited_at >= window[0], VisitCardRow.visited_at < window[1])
        if not include_superseded:
            query = query.where(VisitCardRow.superseded_by_card_id == "")
        query = query.order_by(VisitCardRow.visited_at, VisitCardRow.recorded_at).limit(10_000)
        return [_card(row) for row in self.session.exec(query)]

    def totals(self, window: tuple) -> dict[str, VisitTotals]:
        """Per staff member, the current (not superseded) cards visited in the window."""
        c = VisitCardRow
        query = (
            select(
                c.staff_id,
                c.licence_number,
                func.count(),
                func.sum(sa.case((col(c.checked).is_(True), 1), else_=0)),
                func.sum(c.items_due),
                func.sum(c.omission_count),
            )
            .where(c.visited_at >= window[0], c.visited_at < window[1], c.superseded_by_card_id == "")
            .group_by(c.staff_id, c.licence_number)
        )
        parts: dict[str, list] = {}
        for staff_id, licence, cards, checked, due, omissions in self.session.exec(query):
            parts.setdefault(staff_id, []).append((licence, cards, checked or 0, due or 0, omissions or 0))
        return {
            staff_id: VisitTotals(
                cards=sum(p[1] for p in rows),
                checked_cards=sum(p[2] for p in rows),
                items_due=sum(p[3] for p in rows),
                omissions=sum(p[4] for p in rows),
                visits_by_customer={p[0]: p[1] for p in rows},
            )
            for staff_id, rows in parts.items()
        }

    def save_menu(
        self, licence_number: str, visits_per_month: int, version: int, at: datetime.datetime
    ) -> None:
        self.session.merge(
            CustomerMenuRow(
                licence_number=licence_number,
                visits_per_month=visits_per_month,
                entitlements_version=version,
                fetched_at=at,
            )
        )

    def visits_per_month(self) -> dict[str, int]:
        """The visit frequency each customer's last known menu grants."""
        query = select(CustomerMenuRow.licence_number, CustomerMenuRow.visits_per_month)
        return dict(self.session.exec(query).all())


class SqlRatings(_Repository):
    def _row(self, key: tuple) -> RatingRow | None:
        period_id, mode, rater_id, subject_id = key
        query = select(RatingRow).where(
            RatingRow.period_id == period_id,
            RatingRow.mode == mode,
            RatingRow.rater_id == rater_id,
            RatingRow.subject_id == subject_id,
        )
        return self.session.exec(query).first()

    def get(self, key: tuple) -> Rating | None:
        row = self._row(key)
        return _rating(row) if row else None

    def save(self, rating: Rating) -> None:
        row = self._row(rating.key) or RatingRow(
            period_id=rating.period_id,
            mode=rating.mode,
            rater_id=rating.rater_id,
            subject_id=rating.subject_id,
        )
        row.score = rating.score
        row.answers = list(rating.answers)
        row.comment = rating.comment
        row.revision = rating.revision
        row.recorded_at = rating.recorded_at
        self.session.add(row)

    def of_period(self, period_id: str, subject_id: str = "", mode: str = "") -> list[Rating]:
        # Plain column rows, not ORM objects: a county's period has tens of thousands.
        table = RatingRow.__table__.c
        query = sa.select(
            table.period_id,
            table.mode,
            table.rater_id,
            table.subject_id,
            table.score,
            table.answers,
            table.comment,
            table.revision,
            table.recorded_at,
        ).where(table.period_id == period_id)
        if subject_id:
            query = query.where(table.subject_id == subject_id)
        if mode:
            query = query.where(table.mode == mode)
        query = query.order_by(table.subject_id, table.mode, table.rater_id)
        return [
            Rating(p, m, rater, subject, score, tuple(answers), comment, revision, utc(at))
            for p, m, rater, subject, score, answers, comment, revision, at in self.session.execute(query)
        ]


class SqlActuals(_Repository):
    def of_period(self, period_id: str) -> dict[tuple[str, str], tuple[float | None, float | None]]:
        query = select(ActualRow).where(ActualRow.period_id == period_id)
        return {
            (row.subject_kind, row.subject_id): (row.sales_actual, row.sales_target)
            for row in self.session.exec(query)
        }

    def upsert(self, period_id: str, rows: Iterable[tuple[str, str, float | None, float | None]]) -> None:
        """(kind, id, actual, target); None keeps what is stored."""
        for kind, subject_id, actual, target in rows:
            row = self.session.get(ActualRow, (period_id, kind, subject_id)) or ActualRow(
                period_id=period_id, subject_kind=kind, subject_id=subject_id
            )
            if actual is not None:
                row.sales_actual = actual
            if target is not None:
                row.sales_target = target
            self.session.add(row)


class SqlResults(_Repository):
    def replace(self, period_id: str, results: Iterable[PeriodResult]) -> None:
        self.session.exec(delete(ResultRow).where(ResultRow.period_id == period_id))
        self.session.add_all(
            ResultRow(
                period_id=r.period_id,
                subject_kind=r.subject_kind,
                subject_id=r.subject_id,
                team_id=r.team_id,
                role=r.role,
                total_score=r.total_score,
                grade=r.grade,
                pay_coefficient=r.pay_coefficient,
                explanation={"indicators": list(r.indicators), "modes": list(r.modes), "graded": r.graded},
                rule_set=r.rule_set,
                rule_set_version=r.rule_set_version,
                run=r.run,
                opened_plan_id=r.opened_plan_id,
                follows_up_plan_ids=list(r.follows_up_plan_ids),
            )
            for r in results
        )

    def of_period(self, period_id: str, subject_kind: str = "", team_id: str = "") -> list[PeriodResult]:
        query = select(ResultRow).where(ResultRow.period_id == period_id)
        if subject_kind:
            query = query.where(ResultRow.subject_kind == subject_kind)
        if team_id:
            query = query.where(ResultRow.team_id == team_id)
        query = query.order_by(ResultRow.subject_kind, ResultRow.subject_id)
        return [_result(row) for row in self.session.exec(query)]

    def versions(self, period_id: str) -> list[int]:
        query = (
            select(ResultRow.rule_set_version)
            .where(ResultRow.period_id == period_id)
            .distinct()
            .order_by(ResultRow.rule_set_version)
        )
        return list(self.session.exec(query))


class SqlPlans(_Repository):
    def get(self, plan_id: str) -> ImprovementPlan | None:
        row = self.session.get(PlanRow, plan_id)
        return _plan(row) if row else None

    def save(self, plan: ImprovementPlan) -> None:
        self.session.merge(_plan_row(plan))

    def find(self, subject_id: str = "", state: str = "", not_closed: bool = False) -> list[ImprovementPlan]:
        query = select(PlanRow)
        if subject_id:
            query = query.where(PlanRow.subject_id == subject_id)
        if state:
            query = query.where(PlanRow.state == state)
        if not_closed:
            query = query.where(PlanRow.state != "closed")
        return [_plan(row) for row in self.session.exec(query.order_by(PlanRow.due_on, PlanRow.id))]


class SqlCommitmentCards(_Repository):
    def latest(self, licence_number: str, at: datetime.datetime | None = None) -> CommitmentCard | None:
        query = select(CommitmentCardRow).where(CommitmentCardRow.licence_number == licence_number)
        if at is not None:
            query = query.where(CommitmentCardRow.issued_at <= at)
        row = self.session.exec(query.order_by(col(CommitmentCardRow.version).desc()).limit(1)).first()
        return _commitment_card(row) if row else None

    def latest_each(self, licence_numbers: Iterable[str]) -> dict[str, CommitmentCard]:
        """One statement for a batch (the card follower's page), not one a customer."""
        wanted = sorted(set(licence_numbers))
        if not wanted:
            return {}
        newest = (
            select(CommitmentCardRow.licence_number, func.max(CommitmentCardRow.version).label("version"))
            .where(col(CommitmentCardRow.licence_number).in_(wanted))
            .group_by(CommitmentCardRow.licence_number)
            .subquery()
        )
        query = select(CommitmentCardRow).join(
            newest,
            (CommitmentCardRow.licence_number == newest.c.licence_number)
            & (CommitmentCardRow.version == newest.c.version),
        )
        return {row.licence_number: _commitment_card(row) for row in self.session.exec(query)}

    def add(self, card: CommitmentCard) -> None:
        self.session.add(
            CommitmentCardRow(
                licence_number=card.licence_number,
                version=card.version,
                issued_at=card.issued_at,
                entitlements_version=card.entitlements_version,
                responsible_person=card.responsible_person,
                team_id=card.team_id,
                items=[
                    {**item.__dict__, "procedure_steps": list(item.procedure_steps)} for item in card.items
                ],
            )
        )


class SqlFindings(_Repository):
    def get(self, finding_id: str, lock: bool = False) -> Finding | None:
        row = self.session.get(FindingRow, finding_id, with_for_update=lock or None)
        return _finding(row) if row else None

    def add(self, finding: Finding) -> None:
        self.session.add(_finding_row(finding))

    def update(self, finding: Finding) -> None:
        self.session.merge(_finding_row(finding))

    def find(self, staff_id: str = "", licence_number: str = "", team_id: str = "") -> list[Finding]:
        query = select(FindingRow)
        if staff_id:
            query = query.where(FindingRow.staff_id == staff_id)
        if licence_number:
            query = query.where(FindingRow.licence_number == licence_number)
        if team_id:
            query = query.where(FindingRow.team_id == team_id)
        query = query.order_by(FindingRow.found_at, FindingRow.id).limit(10_000)
        return [_finding(row) for row in self.session.exec(query)]

    def found_in(self, window) -> list[Finding]:
        query = select(FindingRow).where(FindingRow.found_at >= window[0], FindingRow.found_at < window[1])
        return [
            _finding(row) for row in self.session.exec(query.order_by(FindingRow.found_at).limit(100_000))
        ]

    def upheld_in(self, window) -> list[Finding]:
        query = select(FindingRow).where(
            FindingRow.state == "upheld", FindingRow.found_at >= window[0], FindingRow.found_at < window[1]
        )
        return [_finding(row) for row in self.session.exec(query)]


class SqlReturnVisits(_Repository):
    def get(self, task_id: str, lock: bool = False) -> ReturnVisitTask | None:
        row = self.session.get(ReturnVisitTaskRow, task_id, with_for_update=lock or None)
        return _task(row) if row else None

    def add_all(self, tasks: list[ReturnVisitTask]) -> None:
        self.session.add_all(_task_row(task) for task in tasks)

    def update(self, task: ReturnVisitTask) -> None:
        self.session.merge(_task_row(task))

    def planned(self, period_id: str) -> bool:
        query = select(ReturnVisitTaskRow.id).where(ReturnVisitTaskRow.period_id == period_id)
        return self.session.exec(query.limit(1)).first() is not None

    def of_period(self, period_id: str, assignee_id: str = "") -> list[ReturnVisitTask]:
        query = select(ReturnVisitTaskRow).where(ReturnVisitTaskRow.period_id == period_id)
        if assignee_id:
            query = query.where(ReturnVisitTaskRow.assignee_id == assignee_id)
        query = query.order_by(ReturnVisitTaskRow.due_on, ReturnVisitTaskRow.licence_number).limit(10_000)
        return [_task(row) for row in self.session.exec(query)]

    def answered_in(self, window) -> list[ReturnVisitTask]:
        query = select(ReturnVisitTaskRow).where(
            ReturnVisitTaskRow.state == "closed",
            ReturnVisitTaskRow.answered_at >= window[0],
            ReturnVisitTaskRow.answered_at < window[1],
        )
        return [_task(row) for row in self.session.exec(query)]


class SqlUnitOfWork:
    """One transaction over every repository: committed when the block ends."""

    def __init__(self, engine: Engine):
        self.engine = engine

    def __enter__(self) -> SqlUnitOfWork:
        self._context = unit_of_work(self.engine)
        session = self._context.__enter__()
        self.people = SqlPeople(session)
        self.periods = SqlPeriods(session)
        self.cards = SqlCards(session)
        self.ratings = SqlRatings(session)
        self.actuals = SqlActuals(session)
        self.results = SqlResults(session)
        self.plans = SqlPlans(session)
        self.commitment_cards = SqlCommitmentCards(session)
        self.findings = SqlFindings(session)
        self.return_visits = SqlReturnVisits(session)
        return self

    def __exit__(self, exc_type, exc, traceback) -> None:
        try:
            self._context.__exit__(exc_type, exc, traceback)
        except IntegrityError as error:  # at commit
            raise Conflict() from error
        if isinstance(exc, IntegrityError):  # at a flush inside the block
            raise Conflict() from exc
