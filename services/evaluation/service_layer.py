"""Evaluation use cases: load, call the domain, save, commit; one transaction each."""

from __future__ import annotations

import contextlib
import datetime
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace

from services.common import times
from services.common.errors import AlreadyExists, FailedPrecondition, InvalidArgument, NotFound
from services.evaluation import metrics
from services.evaluation.domain import goals, scoring
from services.evaluation.domain.errors import Invalid, Missing, Refused
from services.evaluation.domain.people import (
    Membership,
    Staff,
    Team,
    check_id,
    move,
    parse_date,
)
from services.evaluation.domain.periods import Period, ScoredOn
from services.evaluation.domain.plans import STATES as PLAN_STATES
from services.evaluation.domain.plans import ImprovementPlan
from services.evaluation.domain.ratings import CUSTOMER_SURVEY, Rating, aggregate, check_rater
from services.evaluation.domain.results import PeriodResult
from services.evaluation.domain.return_visits import undelivered_commitments
from services.evaluation.domain.supervision import broken_commitments
from services.evaluation.domain.visits import VisitCard, coverage
from services.evaluation.ports import (
    ComplaintStatistics,
    Conflict,
    CustomerDirectory,
    UnitOfWork,
    Unreachable,
)
from services.evaluation.rules import subject_facts

RULE_SET = "kpi-scoring"
RESCORING_ACTOR = "rescoring job"
SUBJECT_KINDS = ("staff", "team")
CHECK_BATCH = 500
RUN_ATTEMPTS = 3  # a version activated in the middle of a run's scoring: score it all again


@dataclass(frozen=True)
class Rescored:
    """One step of a re-scoring job: the period looked at ("" when none is left after the
    last one), whether its scores changed or its run was refused, how many open periods
    with results come after it, and ``stale`` when this process no longer scores with the
    job's version (nothing was looked at: a newer job takes over)."""

    period_id: str = ""
    changed: bool = False
    failed: bool = False
    remaining: int = 0
    stale: bool = False


class _VersionSwapped(Exception):
    """A run's policies came from two kpi-scoring versions (one was activated meanwhile)."""


@contextlib.contextmanager
def domain_errors() -> Iterator[None]:
    """The domain's refusals in their gRPC form."""
    try:
        yield
    except Invalid as error:
        raise InvalidArgument(error.violations) from None
    except Missing as error:
        raise NotFound(error.kind, error.name) from None
    except Refused as error:
        raise FailedPrecondition(error.message, subject=error.subject) from None


class Evaluation:
    def __init__(
        self,
        unit_of_work: Callable[[], UnitOfWork],
        rule_sets,
        directory: CustomerDirectory,
        statistics: ComplaintStatistics,
    ):
        self.unit_of_work = unit_of_work
        self.rule_sets = rule_sets
        self.directory = directory
        self.statistics = statistics

    # ---- staff and teams ---------------------------------------------------------------
    def upsert_staff(self, staff: Staff) -> Staff:
        with domain_errors():
            staff.validate()
        with self.unit_of_work() as uow:
            uow.people.save_staff(staff)
        return staff

    def get_staff(self, staff_id: str) -> tuple[Staff, list[Membership]]:
        with self.unit_of_work() as uow:
            return self._staff(uow, staff_id, "id"), uow.people.memberships_of(staff_id)

    def upsert_team(self, team: Team) -> Team:
        with domain_errors():
            team.validate()
        with self.unit_of_work() as uow:
            uow.people.save_team(team)
        return team

    def assign_member(self, staff_id: str, team_id: str, specialty: str, from_date: str) -> Membership:
        with domain_errors(), self.unit_of_work() as uow:
            day = parse_date("from_date", from_date)
            self._staff(uow, staff_id, "staff_id")
            self._team(uow, team_id)
            ended, started = move(uow.people.memberships_of(staff_id), staff_id, team_id, specialty, day)
            uow.people.save_move(ended, started)
            return started

    def get_team(self, team_id: str, on_date: str) -> tuple[Team, list[Membership], list[str] | None]:
        """The team, its members on the date, and the market zones classification keeps
        for it (None when classification cannot be asked)."""
        with domain_errors(), self.unit_of_work() as uow:
            day = parse_date("on_date", on_date) if on_date else times.now().date()
            team, members = self._team(uow, team_id), uow.people.memberships_on(day, team_id)
        try:
            zones = self.directory.zones_of(team_id)
        except Unreachable:
            zones = None
        return team, members, zones

    # ---- periods -----------------------------------------------------------------------
    def create_period(self, period_id: str, kind: str, starts_on: str, ends_on: str) -> Period:
        with domain_errors():
            problems = []
            try:
                start = parse_date("period.starts_on", starts_on)
            except Invalid as error:
                problems += error.violations
            try:
                end = parse_date("period.ends_on", ends_on)
            except Invalid as error:
                problems += error.violations
            if problems:
                raise Invalid(problems)
            period = Period(period_id, kind, start, end).validate()
        try:
            with self.unit_of_work() as uow:
                if uow.periods.get(period_id) is not None:
                    raise AlreadyExists("period", period_id)
                uow.periods.add(period)
        except Conflict:
            # Created by a concurrent call between the read and the write: its key clashed.
            raise AlreadyExists("period", period_id) from None
        return period

    def get_period(self, period_id: str) -> Period:
        with self.unit_of_work() as uow:
            return self._period(uow, period_id)

    def scored_on(self, period: Period, results: list[PeriodResult] | None = None) -> ScoredOn:
        """Which kpi-scoring version the period's stored results were decided on, against
        the version this process scores with now; ``results`` when the caller has them all."""
        if results is not None:
            versions = tuple(sorted({r.rule_set_version for r in results}))
        else:
            with self.unit_of_work() as uow:
                versions = self._versions(uow, period)
        return ScoredOn(versions, self.rule_sets.serving_version(RULE_SET), period.published)

    @staticmethod
    def _versions(uow, period: Period) -> tuple[int, ...]:
        return tuple(uow.results.versions(period.id)) if period.runs else ()

    def publish_period(self, period_id: str, by: str) -> Period:
        with domain_errors(), self.unit_of_work() as uow:
            period = self._period(uow, period_id, lock=True).publish(by.strip(), times.now())
            uow.periods.save(period)
            return period

    # ---- visit record cards ------------------------------------------------------------
    def record_card(self, card: VisitCard) -> VisitCard:
        """Reads, asks classification outside any transaction, then writes in one: no
        database transaction waits on another service."""
        moment = times.now()
        card = replace(card, id=uuid.uuid4().hex, recorded_at=moment)
        with domain_errors():
            card.validate(moment)
        with self.unit_of_work() as uow:
            self._staff(uow, card.staff_id, "staff_id")
            if card.supersedes_card_id:
                earlier = uow.cards.get(card.supersedes_card_id)
                if earlier is None:
                    raise NotFound("visit card", card.supersedes_card_id)
                with domain_errors():
                    card.superseding(earlier)
        try:
            menu = self.directory.menu(card.licence_number)
        except Missing:
            raise NotFound("customer", card.licence_number) from None
        except Unreachable:
            menu = None  # recorded unchecked; checked by CheckVisitCards or the next run
        if menu is not None:
            card = card.checked_against(menu)
        with self.unit_of_work() as uow:
            if card.supersedes_card_id:
                earlier = uow.cards.get(card.supersedes_card_id)
                with domain_errors():
                    card.superseding(earlier)  # again, inside the transaction that writes
                uow.cards.update(replace(earlier, superseded_by_card_id=card.id))
            uow.cards.add(card)
            if menu is not None:
                uow.cards.save_menu(
                    card.licence_number, menu.visits_per_month, menu.entitlements_version, moment
                )
        metrics.VISIT_CARDS.labels(str(card.checked).lower()).inc()
        for omission in card.omissions:
            metrics.OMISSIONS.labels(omission.service).inc()
        return card

    def list_cards(
        self, staff_id: str, licence_number: str, period_id: str, include_superseded: bool
    ) -> list[VisitCard]:
        if not staff_id and not licence_number:
            raise InvalidArgument([("staff_id", "give a staff id or a licence number")])
        with self.unit_of_work() as uow:
            window = self._period(uow, period_id).window() if period_id else None
            return uow.cards.find(staff_id, licence_number, window, include_superseded)

    def check_cards(self, fail_when_unreachable: bool = False) -> tuple[int, int]:
        """Checks cards recorded while classification was unreachable: (checked, left)."""
        checked = 0
        while True:
            with self.unit_of_work() as uow:
                cards = uow.cards.unchecked(CHECK_BATCH)
            if not cards:
                break
            menus = {}
            try:
                for licence in {card.licence_number for card in cards}:
                    try:
                        menus[licence] = self.directory.menu(licence)
                    except Missing:
                        menus[licence] = None  # the customer was removed: nothing to check against
            except Unreachable:
                if fail_when_unreachable:
                    raise
                break
            moment = times.now()
            with self.unit_of_work() as uow:
                for card in cards:
                    menu = menus[card.licence_number]
                    done = card.checked_against(menu) if menu else replace(card, checked=True)
                    uow.cards.update(done)
                    for omission in done.omissions:
                        metrics.OMISSIONS.labels(omission.service).inc()
                for licence, menu in menus.items():
                    if menu:
                        uow.cards.save_menu(licence, menu.visits_per_month, menu.entitlements_version, moment)
            checked += len(cards)
        with self.unit_of_work() as uow:
            return checked, uow.cards.count_unchecked()

    # ---- ratings -----------------------------------------------------------------------
    def submit_rating(self, rating: Rating) -> tuple[Rating, bool]:
        with domain_errors():
            rating.validate()
        if rating.mode == CUSTOMER_SURVEY:
            try:
                self.directory.check_customer(rating.rater_id)
            except Missing:
                raise NotFound("customer", rating.rater_id) from None
        with domain_errors(), self.unit_of_work() as uow:
            # Locked: ratings of a period take turns with each other and with publishing.
            period = self._period(uow, rating.period_id, "rating.period_id", lock=True)
            period.ensure_open("rating")
            subject = self._staff(uow, rating.subject_id, "rating.subject_id")
            rater = (
                None
                if rating.mode == CUSTOMER_SURVEY
                else self._staff(uow, rating.rater_id, "rating.rater_id")
            )
            check_rater(rating, period, subject, rater)
            earlier = uow.ratings.get(rating.key)
            rating = replace(rating, revision=earlier.revision + 1 if earlier else 1, recorded_at=times.now())
            uow.ratings.save(rating)
        metrics.RATINGS.labels(rating.mode).inc()
        return rating, earlier is not None

    def list_ratings(self, period_id: str, subject_id: str, mode: str) -> list[Rating]:
        with self.unit_of_work() as uow:
            self._period(uow, period_id)
            return uow.ratings.of_period(period_id, subject_id, mode)

    # ---- actuals and goals -------------------------------------------------------------
    def record_actuals(self, period_id: str, rows: list[tuple[str, str, float | None, float | None]]) -> int:
        problems = []
        for index, (kind, subject_id, actual, target) in enumerate(rows):
            problems += _actual_problems(f"actuals[{index}]", kind, subject_id, actual, target)
        if not rows:
            problems.append(("actuals", "give at least one row"))
        if problems:
            raise InvalidArgument(problems)
        with domain_errors(), self.unit_of_work() as uow:
            self._period(uow, period_id, "period_id", lock=True).ensure_open("recording actuals")
            unknown = [
                (f"actuals[{index}].subject_id", f"no {kind} {subject_id}")
                for index, (kind, subject_id, _, _) in enumerate(rows)
                if (uow.people.staff(subject_id) if kind == "staff" else uow.people.team(subject_id)) is None
            ]
            if unknown:
                raise InvalidArgument(unknown)
            uow.actuals.upsert(period_id, rows)
        return len(rows)

    def import_actuals(self, period_id: str, rows: list[dict]) -> tuple[int, list[tuple[int, str, str]]]:
        """Rows as read from a file (column -> text); good rows kept, bad ones reported."""
        good, errors = [], []
        with domain_errors(), self.unit_of_work() as uow:
            self._period(uow, period_id, "period_id", lock=True).ensure_open("importing actuals")
            for number, row in enumerate(rows, start=1):
                kind = (row.get("subject_kind") or "").strip()
                subject_id = (row.get("subject_id") or "").strip()
                values, bad = {}, []
                for column in ("sales_actual", "sales_target"):
                    text = str(row.get(column) or "").strip()
                    try:
                        values[column] = float(text) if text else None
                    except ValueError:
                        bad.append((column, "must be a number"))
                if not bad:
                    bad = _actual_problems(
                        "", kind, subject_id, values["sales_actual"], values["sales_target"]
                    )
                if (
                    not bad
                    and (uow.people.staff(subject_id) if kind == "staff" else uow.people.team(subject_id))
                    is None
                ):
                    bad = [("subject_id", f"no {kind} {subject_id}")]
                if bad:
                    errors += [(number, field.lstrip("."), why) for field, why in bad]
                else:
                    good.append((kind, subject_id, values["sales_actual"], values["sales_target"]))
            uow.actuals.upsert(period_id, good)
        return len(good), errors

    def set_team_goal(
        self, period_id: str, team_id: str, target: float, weights: dict[str, float], shares: dict[str, float]
    ) -> dict[str, float]:
        with domain_errors(), self.unit_of_work() as uow:
            period = self._period(uow, period_id, "period_id", lock=True)
            period.ensure_open("setting goals")
            self._team(uow, team_id)
            members = uow.people.memberships_on(period.ends_on, team_id)
            split = goals.split_goal(target, members, weights, shares)
            uow.actuals.upsert(period_id, [("team", team_id, None, target)])
            uow.actuals.upsert(
                period_id, [("staff", staff_id, None, part) for staff_id, part in split.items()]
            )
            return split

    # ---- period runs -------------------------------------------------------------------
    def run_period(self, period_id: str, run_by: str) -> tuple[Period, list[PeriodResult], int, float]:
        """Scores the period; (period, results, plans opened, seconds)."""
        started = time.perf_counter()
        try:
            outcome = self._run(period_id, run_by)
        except Unreachable:
            metrics.PERIOD_RUNS.labels("unavailable").inc()
            raise
        except Exception:
            metrics.PERIOD_RUNS.labels("refused").inc()
            raise
        seconds = time.perf_counter() - started
        metrics.PERIOD_RUNS.labels("done").inc()
        metrics.PERIOD_RUN_SECONDS.observe(seconds)
        return (*outcome, seconds)

    def _run(self, period_id: str, run_by: str):
        if not run_by.strip():
            raise InvalidArgument([("run_by", "is required")])
        with domain_errors(), self.unit_of_work() as uow:
            period = self._period(uow, period_id, "period_id")
            period.ensure_open("a re-run")
        # Everything from other services first: a run never scores on partial inputs.
        self.check_cards(fail_when_unreachable=True)
        with self.unit_of_work() as uow:
            known_menus = uow.cards.visits_per_month()
        managed = self.directory.customers_by_manager()
        by_owner = self.statistics.figures(period.window(), "owner")
        by_team = self.statistics.figures(period.window(), "team")
        unknown = sorted({c for customers in managed.values() for c in customers} - set(known_menus))
        fetched = {}
        for licence in unknown:
            try:
                fetched[licence] = self.directory.menu(licence)
            except Missing:
                continue
        for attempt in range(1, RUN_ATTEMPTS + 1):
            moment = times.now()
            try:
                with domain_errors(), self.unit_of_work() as uow:
                    # Locked: a concurrent run of the period waits for this one; still open?
                    period = self._period(uow, period_id, "period_id", lock=True).ran(moment)
                    for licence, menu in fetched.items():
                        uow.cards.save_menu(licence, menu.visits_per_month, menu.entitlements_version, moment)
                    visits_per_month = {**known_menus, **{c: m.visits_per_month for c, m in fetched.items()}}
                    results, opened = self._score(
                        uow, period, managed, visits_per_month, by_owner, by_team, moment
                    )
                    if len({r.rule_set_version for r in results}) > 1:
                        raise _VersionSwapped()  # leaves the block: nothing of this attempt is kept
                    uow.results.replace(period.id, results)
                    uow.periods.save(period)
                return period, results, opened
            except _VersionSwapped:
                if attempt == RUN_ATTEMPTS:
                    raise FailedPrecondition(
                        f"{RULE_SET} versions were activated during the run of {period_id} again and"
                        " again; run it again",
                        subject=period_id,
                    ) from None

    def rescore_next(self, version: int, after: str, off_version_only: bool = False) -> Rescored:
        """One step of the job that brings open periods to a newly activated kpi-scoring
        ``version``: the first open period with results after ``after`` (by id) is run
        again when its results are on another version (one already on it, e.g. run by hand
        since, or one with no results at all, is left as it is). ``off_version_only``: the
        job's last pass, which looks only at the periods with a result on another version
        (found in SQL; ``remaining`` is 0). Unreachable propagates: the job tries again later."""
        if self.rule_sets.serving_version(RULE_SET) != version:
            return Rescored(stale=True)
        with self.unit_of_work() as uow:
            if off_version_only:
                found = uow.periods.open_off_version_after(after, version, 1)
            else:
                found = uow.periods.open_with_results_after(after, 1)
            if not found:
                return Rescored()
            period = found[0]
            remaining = 0 if off_version_only else uow.periods.count_open_with_results_after(period.id)
            before = uow.results.of_period(period.id)
        if not {r.rule_set_version for r in before} - {version}:  # none, or all on it already
            return Rescored(period.id, remaining=remaining)
        try:
            _, results, _, _ = self.run_period(period.id, RESCORING_ACTOR)
        except FailedPrecondition:
            # Published meanwhile (final: nothing to do), or versions activated again and again.
            published = self.get_period(period.id).published
            return Rescored(period.id, failed=not published, remaining=remaining)
        if {r.rule_set_version for r in results} - {version}:
            return Rescored(stale=True)  # a newer version was loaded during the run: its job follows
        return Rescored(period.id, _scores(results) != _scores(before), remaining=remaining)

    def _policy(self, cache: dict, subject_kind: str, role: str) -> scoring.ScoringPolicy:
        key = (subject_kind, role)
        if key not in cache:
            inputs = self.rule_sets.serving(RULE_SET).document.inputs
            decision = self.rule_sets.decide(RULE_SET, subject_facts(inputs, subject_kind, role))
            cache[key] = scoring.ScoringPolicy.from_decision(
                RULE_SET, decision.version, decision.outputs, decision.reasons
            )
        return cache[key]

    def _score(self, uow, period: Period, managed, visits_per_month, by_owner, by_team, moment):
        window = period.window()
        policies: dict = {}
        members = {m.staff_id: m for m in uow.people.memberships_on(period.ends_on)}
        staff = [s for s in uow.people.all_staff() if s.active or s.id in members]
        totals = uow.cards.totals(window)
        ratings: dict[str, list[Rating]] = {}
        for rating in uow.ratings.of_period(period.id):
            ratings.setdefault(rating.subject_id, []).append(rating)
        actuals = uow.actuals.of_period(period.id)
        broken = broken_commitments(uow.findings.upheld_in(window), window)
        undelivered = undelivered_commitments(uow.return_visits.answered_in(window), window)
        open_plans: dict[tuple[str, str], list[ImprovementPlan]] = {}
        plan_starts: dict[str, datetime.date] = {}
        for plan in uow.plans.find(not_closed=True):
            open_plans.setdefault((plan.subject_kind, plan.subject_id), []).append(plan)
            if plan.period_id not in plan_starts:
                plan_starts[plan.period_id] = uow.periods.get(plan.period_id).starts_on
        results: list[PeriodResult] = []
        opened = 0
        run = period.runs

        def finish(kind, subject_id, team_id, role, policy, values, modes, owner_id):
            nonlocal opened
            result = PeriodResult.of(
                period.id, kind, subject_id, team_id, role, policy, scoring.score(policy, values, modes), run
            )
            follows = []
            for plan in open_plans.get((kind, subject_id), []):
                if plan_starts[plan.period_id] < period.starts_on:  # a later period checks the plan
                    uow.plans.save(plan.followed_up(period.id, result.total_score))
                    follows.append(plan.id)
            plan_id = ""
            if result.graded and policy.plan_below is not None and result.total_score < policy.plan_below:
                existing = [  # a low score's plan; a broken commitment's plan is another matter
                    p
                    for p in open_plans.get((kind, subject_id), [])
                    if p.period_id == period.id and not p.finding_id
                ]
                if existing:
                    plan_id = existing[0].id
                else:
                    plan = ImprovementPlan.open(
                        uuid.uuid4().hex,
                        subject_id,
                        kind,
                        period.id,
                        result.total_score,
                        policy.plan_below,
                        owner_id,
                        moment.date() + datetime.timedelta(days=policy.plan_due_days),
                        moment,
                    )
                    uow.plans.save(plan)
                    plan_id = plan.id
                    opened += 1
            results.append(replace(result, opened_plan_id=plan_id, follows_up_plan_ids=tuple(follows)))
            return result

        team_members: dict[str, list[float]] = {}
        for person in staff:
            membership = members.get(person.id)
            team_id = membership.team_id if membership else ""
            policy = self._policy(policies, "staff", person.role)
            values = _staff_values(
                period,
                person.id,
                totals.get(person.id),
                managed.get(person.id, []),
                visits_per_month,
                actuals,
                by_owner,
                broken,
                undelivered,
            )
            result = finish(
                "staff",
                person.id,
                team_id,
                person.role,
                policy,
                values,
                aggregate(ratings.get(person.id, [])),
                person.id,
            )
            if team_id and result.graded:
                team_members.setdefault(team_id, []).append(result.total_score)
        leaders = {}
        for person in staff:
            membership = members.get(person.id)
            if membership and person.role == "team_leader":
                leaders.setdefault(membership.team_id, person.id)
        for team in uow.people.all_teams():
            policy = self._policy(policies, "team", "")
            scores = team_members.get(team.id, [])
            values = {
                "members_score": sum(scores) / len(scores) if scores else None,
                **_result_values(actuals.get(("team", team.id)), by_team.get(team.id)),
            }
            finish("team", team.id, team.id, "", policy, values, {}, leaders.get(team.id, team.id))
        return results, opened

    def results(self, period_id: str, subject_kind: str, team_id: str) -> list[PeriodResult]:
        _check_subject_kind(subject_kind)
        with self.unit_of_work() as uow:
            self._period(uow, period_id)
            return uow.results.of_period(period_id, subject_kind, team_id)

    def listed_results(
        self, period_id: str, subject_kind: str, team_id: str
    ) -> tuple[list[PeriodResult], ScoredOn]:
        """Results as ``results`` gives them, with the versions the whole period was scored
        on, read together (a run in between cannot make the two disagree)."""
        if subject_kind and subject_kind not in SUBJECT_KINDS:
            raise InvalidArgument([("subject_kind", "must be staff or team")])
        with self.unit_of_work() as uow:
            period = self._period(uow, period_id)
            results = uow.results.of_period(period_id, subject_kind, team_id)
            versions = self._versions(uow, period)
        return results, ScoredOn(versions, self.rule_sets.serving_version(RULE_SET), period.published)

    def team_overview(
        self, team_id: str, period_id: str
    ) -> tuple[Team, Period, PeriodResult | None, list[PeriodResult]]:
        with self.unit_of_work() as uow:
            team = self._team(uow, team_id)
            period = self._period(uow, period_id, "period_id")
            results = uow.results.of_period(period_id, team_id=team_id)
        team_result = next((r for r in results if r.subject_kind == "team"), None)
        return team, period, team_result, [r for r in results if r.subject_kind == "staff"]

    # ---- PDCA --------------------------------------------------------------------------
    def plan(self, plan_id: str) -> ImprovementPlan:
        with self.unit_of_work() as uow:
            return self._plan(uow, plan_id)

    def advance_plan(
        self, plan_id: str, by: str, to_state: str, actions, evidence, note: str
    ) -> ImprovementPlan:
        with domain_errors(), self.unit_of_work() as uow:
            plan = self._plan(uow, plan_id).advance(
                by.strip(), to_state, list(actions), list(evidence), note, times.now()
            )
            uow.plans.save(plan)
            return plan

    def plans(self, subject_id: str, state: str, overdue_only: bool) -> list[ImprovementPlan]:
        if state and state not in PLAN_STATES:
            raise InvalidArgument([("state", f"must be one of {', '.join(PLAN_STATES)}")])
        today = times.now().date()
        with self.unit_of_work() as uow:
            plans = uow.plans.find(subject_id, state, not_closed=overdue_only)
        return [p for p in plans if p.overdue(today)] if overdue_only else plans

    # ---- lookups -----------------------------------------------------------------------
    @staticmethod
    def _staff(uow, staff_id: str, field: str) -> Staff:
        problems = check_id(field, staff_id)
        if problems:
            raise InvalidArgument(problems)
        staff = uow.people.staff(staff_id)
        if staff is None:
            raise NotFound("staff", staff_id)
        return staff

    @staticmethod
    def _team(uow, team_id: str) -> Team:
        if check_id("team_id", team_id):
            raise InvalidArgument(check_id("team_id", team_id))
        team = uow.people.team(team_id)
        if team is None:
            raise NotFound("team", team_id)
        return team

    @staticmethod
    def _period(uow, period_id: str, field: str = "id", lock: bool = False) -> Period:
        if check_id(field, period_id):
            raise InvalidArgument(check_id(field, period_id))
        period = uow.periods.get(period_id, lock=lock)
        if period is None:
            raise NotFound("period", period_id)
        return period

    @staticmethod
    def _plan(uow, plan_id: str) -> ImprovementPlan:
        plan = uow.plans.get(plan_id) if plan_id else None
        if plan is None:
            raise NotFound("improvement plan", plan_id)
        return plan


def _actual_problems(prefix: str, kind, subject_id, actual, target) -> list[tuple[str, str]]:
    problems = []
    if kind not in SUBJECT_KINDS:
        problems.append((f"{prefix}.subject_kind", "must be staff or team"))
    problems += check_id(f"{prefix}.subject_id", subject_id)
    if actual is not None and not 0 <= actual < 1e12:
        problems.append((f"{prefix}.sales_actual", "must be at least 0"))
    if target is not None and not 0 < target < 1e12:
        problems.append((f"{prefix}.sales_target", "must be greater than 0"))
    if actual is None and target is None:
        problems.append((f"{prefix}.sales_actual", "give an actual, a target or both"))
    return problems


def _result_values(actual, figures) -> dict[str, float | None]:
    """Sales attainment and complaint figures: None where the period has no data."""
    sales = None
    if actual is not None and actual[0] is not None and actual[1]:
        sales = actual[0] / actual[1]
    on_time = overdue = satisfaction = None
    if figures is not None and figures.received:  # no complaint in the period: no data
        on_time = figures.resolved_on_time / figures.resolved if figures.resolved else None
        overdue = float(figures.overdue)
        satisfaction = figures.mean_satisfaction or None
    return {
        "sales_attainment": sales,
        "complaints_on_time": on_time,
        "complaints_overdue": overdue,
        "return_visit_satisfaction": satisfaction,
    }


def _staff_values(
    period, staff_id, totals, customers, visits_per_month, actuals, by_owner, broken, undelivered
) -> dict:
    due = {c: visits_per_month.get(c, 0) * period.months for c in customers}
    due = {c: d for c, d in due.items() if d}
    done, owed = coverage(totals.visits_by_customer if totals else {}, due)
    values = {
        "visit_coverage": done / owed if owed else None,
        "omission_rate": totals.omissions / totals.items_due if totals and totals.items_due else None,
        # Upheld findings; none for a person responsible for customers; no data for the others.
        "broken_commitments": float(broken[staff_id]) if staff_id in broken else (0.0 if customers else None),
        # Committed items customers said in return visits were not delivered; the same rule.
        "undelivered_commitments": (
            float(undelivered[staff_id]) if staff_id in undelivered else (0.0 if customers else None)
        ),
    }
    values.update(_result_values(actuals.get(("staff", staff_id)), by_owner.get(staff_id)))
    return values


def _scores(results: list[PeriodResult]) -> dict:
    """What a re-scoring may change for each subject: total, grade, pay coefficient, graded."""
    return {
        (r.subject_kind, r.subject_id): (r.total_score, r.grade, r.pay_coefficient, r.graded) for r in results
    }


def _check_subject_kind(subject_kind: str) -> None:
    if subject_kind and subject_kind not in SUBJECT_KINDS:
        raise InvalidArgument([("subject_kind", "must be staff or team")])
