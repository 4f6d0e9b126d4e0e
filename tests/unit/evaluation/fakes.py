"""In-memory versions of the evaluation ports, for unit tests of the use cases."""

from __future__ import annotations

import copy

from services.common.rules.validation import validate
from services.evaluation.domain.errors import Missing
from services.evaluation.domain.visits import Menu, VisitTotals
from services.evaluation.ports import Unreachable
from services.evaluation.rules import KPI_SCORING, RULE_SETS


class _Store:
    def __init__(self):
        self.staff, self.teams, self.memberships = {}, {}, []
        self.periods, self.cards, self.menus = {}, {}, {}
        self.ratings, self.actuals, self.results, self.plans = {}, {}, {}, {}
        self.commitment_cards, self.findings, self.return_visits = {}, {}, {}


class FakePeople:
    def __init__(self, s):
        self.s = s

    def staff(self, staff_id):
        return self.s.staff.get(staff_id)

    def all_staff(self):
        return sorted(self.s.staff.values(), key=lambda x: x.id)

    def save_staff(self, staff):
        self.s.staff[staff.id] = staff

    def team(self, team_id):
        return self.s.teams.get(team_id)

    def all_teams(self):
        return sorted(self.s.teams.values(), key=lambda x: x.id)

    def save_team(self, team):
        self.s.teams[team.id] = team

    def memberships_of(self, staff_id):
        return sorted((m for m in self.s.memberships if m.staff_id == staff_id), key=lambda m: m.from_date)

    def memberships_on(self, day, team_id=""):
        return [m for m in self.s.memberships if m.covers(day) and (not team_id or m.team_id == team_id)]

    def save_move(self, ended, started):
        if ended is not None:
            self.s.memberships = [
                m for m in self.s.memberships if not (m.staff_id == ended.staff_id and m.to_date is None)
            ]
            self.s.memberships.append(ended)
        self.s.memberships.append(started)


class FakePeriods:
    def __init__(self, s):
        self.s = s

    def get(self, period_id, lock=False):
        return self.s.periods.get(period_id)

    def add(self, period):
        assert period.id not in self.s.periods  # the use case looked first; one writer here
        self.s.periods[period.id] = period

    def save(self, period):
        self.s.periods[period.id] = period

    def containing(self, day):
        return sorted(
            (p for p in self.s.periods.values() if p.starts_on <= day <= p.ends_on), key=lambda p: p.id
        )

    def open_with_results_after(self, after, limit):
        found = (p for p in self.s.periods.values() if not p.published and p.runs and p.id > after)
        return sorted(found, key=lambda p: p.id)[:limit]

    def count_open_with_results_after(self, after):
        return len(self.open_with_results_after(after, len(self.s.periods)))

    def open_off_version_after(self, after, version, limit):
        found = self.open_with_results_after(after, len(self.s.periods))
        off = [p for p in found if any(r.rule_set_version != version for r in self.s.results.get(p.id, []))]
        return off[:limit]


class FakeCards:
    def __init__(self, s):
        self.s = s

    def get(self, card_id):
        return self.s.cards.get(card_id)

    def add(self, card):
        self.s.cards[card.id] = card

    update = add

    def unchecked(self, limit):
        return [c for c in self.s.cards.values() if not c.checked][:limit]

    def count_unchecked(self):
        return len(self.unchecked(10**9))

    def find(self, staff_id, licence_number, window, include_superseded):
        return [
            c
            for c in self.s.cards.values()
            if (not staff_id or c.staff_id == staff_id)
            and (not licence_number or c.licence_number == licence_number)
            and (not window or window[0] <= c.visited_at < window[1])
            and (include_superseded or not c.superseded_by_card_id)
        ]

    def totals(self, window):
        totals = {}
        for c in self.find("", "", window, False):
            t = totals.get(c.staff_id, VisitTotals(visits_by_customer={}))
            visits = dict(t.visits_by_customer)
            visits[c.licence_number] = visits.get(c.licence_number, 0) + 1
            totals[c.staff_id] = VisitTotals(
                t.cards + 1,
                t.checked_cards + c.checked,
                t.items_due + c.items_due,
                t.omissions + len(c.omissions),
                visits,
            )
        return totals

    def save_menu(self, licence_number, visits_per_month, version, at):
        self.s.menus[licence_number] = visits_per_month

    def visits_per_month(self):
        return dict(self.s.menus)


class FakeRatings:
    def __init__(self, s):
        self.s = s

    def get(self, key):
        return self.s.ratings.get(key)

    def save(self, rating):
        self.s.ratings[rating.key] = rating

    def of_period(self, period_id, subject_id="", mode=""):
        return [
            r
            for r in self.s.ratings.values()
            if r.period_id == period_id
            and (not subject_id or r.subject_id == subject_id)
            and (not mode or r.mode == mode)
        ]


class FakeActuals:
    def __init__(self, s):
        self.s = s

    def of_period(self, period_id):
        return {key[1:]: value for key, value in self.s.actuals.items() if key[0] == period_id}

    def upsert(self, period_id, rows):
        for kind, subject_id, actual, target in rows:
            old = self.s.actuals.get((period_id, kind, subject_id), (None, None))
            self.s.actuals[(period_id, kind, subject_id)] = (
                actual if actual is not None else old[0],
                target if target is not None else old[1],
            )


class FakeResults:
    def __init__(self, s):
        self.s = s

    def replace(self, period_id, results):
        self.s.results[period_id] = list(results)

    def of_period(self, period_id, subject_kind="", team_id=""):
        return [
            r
            for r in self.s.results.get(period_id, [])
            if (not subject_kind or r.subject_kind == subject_kind) and (not team_id or r.team_id == team_id)
        ]


class FakePlans:
    def __init__(self, s):
        self.s = s

    def get(self, plan_id):
        return self.s.plans.get(plan_id)

    def save(self, plan):
        self.s.plans[plan.id] = plan

    def find(self, subject_id="", state="", not_closed=False):
        return [
            p
            for p in self.s.plans.values()
            if (not subject_id or p.subject_id == subject_id)
            and (not state or p.state == state)
            and (not not_closed or p.state != "closed")
        ]


class FakeCommitmentCards:
    def __init__(self, s):
        self.s = s

    def latest(self, licence_number, at=None):
        issued = [
            c for c in self.s.commitment_cards.get(licence_number, []) if at is None or c.issued_at <= at
        ]
        return issued[-1] if issued else None

    def add(self, card):
        self.s.commitment_cards.setdefault(card.licence_number, []).append(card)


class FakeFindings:
    def __init__(self, s):
        self.s = s

    def get(self, finding_id, lock=False):
        return self.s.findings.get(finding_id)

    def add(self, finding):
        self.s.findings[finding.id] = finding

    update = add

    def find(self, staff_id="", licence_number="", team_id=""):
        return [
            f
            for f in sorted(self.s.findings.values(), key=lambda f: (f.found_at, f.id))
            if (not staff_id or f.staff_id == staff_id)
            and (not licence_number or f.licence_number == licence_number)
            and (not team_id or f.team_id == team_id)
        ]

    def found_in(self, window):
        return [f for f in self.find() if window[0] <= f.found_at < window[1]]

    def upheld_in(self, window):
        return [
            f for f in self.s.findings.values() if f.state == "upheld" and window[0] <= f.found_at < window[1]
        ]


class FakeReturnVisits:
    def __init__(self, s):
        self.s = s

    def get(self, task_id, lock=False):
        return self.s.return_visits.get(task_id)

    def add_all(self, tasks):
        for task in tasks:
            self.s.return_visits[task.id] = task

    def update(self, task):
        self.s.return_visits[task.id] = task

    def planned(self, period_id):
        return any(t.period_id == period_id for t in self.s.return_visits.values())

    def of_period(self, period_id, assignee_id=""):
        return sorted(
            (
                t
                for t in self.s.return_visits.values()
                if t.period_id == period_id and (not assignee_id or t.assignee_id == assignee_id)
            ),
            key=lambda t: (t.due_on, t.licence_number),
        )

    def answered_in(self, window):
        return [
            t
            for t in self.s.return_visits.values()
            if t.state == "closed" and window[0] <= t.answered_at < window[1]
        ]


class FakeUnitOfWork:
    """Commits on a clean exit by keeping the working copy; rolls back by dropping it."""

    def __init__(self):
        self.committed = _Store()

    def __call__(self):
        return self

    def __enter__(self):
        self.working = copy.deepcopy(self.committed)
        s = self.working
        self.people, self.periods, self.cards = FakePeople(s), FakePeriods(s), FakeCards(s)
        self.ratings, self.actuals, self.results, self.plans = (
            FakeRatings(s),
            FakeActuals(s),
            FakeResults(s),
            FakePlans(s),
        )
        self.commitment_cards, self.findings = FakeCommitmentCards(s), FakeFindings(s)
        self.return_visits = FakeReturnVisits(s)
        return self

    def __exit__(self, exc_type, *exc):
        if exc_type is None:
            self.committed = self.working


class FakeDirectory:
    """Classification: menus by licence, customers by manager, and an outage switch."""

    def __init__(self, menus: dict[str, Menu], managed: dict[str, list[str]]):
        self.menus, self.managed, self.down = menus, managed, False

    def _up(self):
        if self.down:
            raise Unreachable("classification")

    def menu(self, licence_number):
        self._up()
        if licence_number not in self.menus:
            raise Missing("customer", licence_number)
        return self.menus[licence_number]

    def check_customer(self, licence_number):
        self.menu(licence_number)

    def customers_by_manager(self):
        self._up()
        return {k: list(v) for k, v in self.managed.items()}

    def zones_of(self, team_id):
        self._up()
        return ["Z1"] if team_id == "team-1" else []


class FakeStatistics:
    def __init__(self, figures=None):
        self.figures_by = figures or {"owner": {}, "team": {}}
        self.down = False

    def figures(self, window, group_by):
        if self.down:
            raise Unreachable("complaints")
        return dict(self.figures_by[group_by])


class DefaultRuleSets:
    """The shipped kpi-scoring document, compiled as the registry would serve it."""

    def __init__(self):
        result = validate(
            KPI_SCORING.default_path.read_text(encoding="utf-8"), {k.name: k for k in RULE_SETS}, 1
        )
        assert result.valid, result.errors
        self.compiled = result.compiled

    def serving(self, name):
        assert name == "kpi-scoring"
        return self.compiled

    def decide(self, name, facts):
        assert name == "kpi-scoring"
        return self.compiled.decide(facts)

    def close(self):
        self.compiled.close()
