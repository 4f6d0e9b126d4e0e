"""The re-scoring of open periods after a kpi-scoring activation (Evaluation.rescore_next)
over the in-memory ports and two real compiled versions: open periods with results are
run again on the new version one by one, in id order; published and never-run periods are
left alone; one already on the version is not run again; nothing is looked at by a
process that scores with another version. (The job around it:
tests/integration/evaluation/test_rescoring_jobs.py.)"""

from __future__ import annotations

import dataclasses

import pytest

from services.common.rules.validation import validate
from services.evaluation.domain.people import Staff, Team
from services.evaluation.domain.visits import Menu, MenuItem
from services.evaluation.ports import Unreachable
from services.evaluation.rules import KPI_SCORING, RULE_SETS
from services.evaluation.service_layer import Evaluation, Rescored
from tests.unit.evaluation.fakes import FakeDirectory, FakeStatistics, FakeUnitOfWork

MENU = Menu("L-1", (MenuItem("customer_manager_visit", 4, visits_per_month=2),), 5)
MEMBERS_RULE = (
    "{indicator: members_score, category: process, kind: quantitative, scope: internal, weight: 50,"
)


def _document(members_weight: int) -> str:
    source = KPI_SCORING.default_path.read_text(encoding="utf-8")
    return source.replace(
        MEMBERS_RULE, MEMBERS_RULE.replace("weight: 50,", f"weight: {members_weight},")
    ).replace("members_score: {weight: 50}", f"members_score: {{weight: {members_weight}}}")


class TwoVersions:
    """kpi-scoring version 1 (the shipped document) and version 2 (the team's members
    weigh 80 instead of 50), serving whichever ``version`` says."""

    def __init__(self):
        kinds = {k.name: k for k in RULE_SETS}
        self.compiled = {}
        for version, weight in ((1, 50), (2, 80)):
            result = validate(_document(weight), kinds, version)
            assert result.valid, result.errors
            self.compiled[version] = result.compiled
        self.version = 1

    def serving(self, name):
        return self.compiled[self.version]

    def decide(self, name, facts):
        return self.compiled[self.version].decide(facts)

    def serving_version(self, name):
        return self.version

    def close(self):
        for compiled in self.compiled.values():
            compiled.close()


# -- the use case ------------------------------------------------------------------------------
@pytest.fixture
def rules():
    rule_sets = TwoVersions()
    yield rule_sets
    rule_sets.close()


@pytest.fixture
def use_cases(rules):
    directory = FakeDirectory({"L-1": MENU}, {"cm-1": ["L-1"]})
    cases = Evaluation(FakeUnitOfWork(), rules, directory, FakeStatistics())
    cases.upsert_staff(Staff("cm-1", "Li", "customer_manager", "customer_service"))
    cases.upsert_team(Team("team-1", "Old town"))
    cases.assign_member("cm-1", "team-1", "customer_communication", "2025-01-01")
    for period_id, starts, ends in (
        ("2025", "2025-01-01", "2025-12-31"),
        ("2026-H1", "2026-01-01", "2026-06-30"),
        ("2026-H2", "2026-07-01", "2026-12-31"),
        ("2027", "2027-01-01", "2027-12-31"),
    ):
        kind = "year" if len(period_id) == 4 else "half_year"
        cases.create_period(period_id, kind, starts, ends)
        cases.record_actuals(period_id, [("team", "team-1", 50.0, 100.0)])
    for period_id in ("2025", "2026-H1", "2026-H2"):  # 2027 is never run
        cases.run_period(period_id, "hr-1")
    cases.publish_period("2025", "hr-1")
    return cases


def _team_total(cases, period_id) -> tuple[int, float]:
    team = cases.results(period_id, "team", "")[0]
    return team.rule_set_version, team.total_score


def test_open_periods_with_results_are_run_again_on_the_new_version_in_id_order(use_cases, rules):
    before = {p: _team_total(use_cases, p) for p in ("2025", "2026-H1", "2026-H2")}
    rules.version = 2
    first = use_cases.rescore_next(2, "")
    assert first == Rescored("2026-H1", changed=True, remaining=1)
    version, total = _team_total(use_cases, "2026-H1")
    assert version == 2 and total != pytest.approx(before["2026-H1"][1])
    second = use_cases.rescore_next(2, "2026-H1")
    assert second == Rescored("2026-H2", changed=True, remaining=0)
    assert use_cases.rescore_next(2, "2026-H2") == Rescored()  # none left: 2027 was never run
    assert _team_total(use_cases, "2025") == before["2025"]  # published: final
    assert use_cases.results("2027", "", "") == []
    assert use_cases.get_period("2026-H1").runs == 2


def test_a_period_already_on_the_version_is_done_without_a_run(use_cases, rules):
    rules.version = 2
    use_cases.run_period("2026-H1", "hr-1")  # by hand, before the job came to it
    assert use_cases.rescore_next(2, "") == Rescored("2026-H1", remaining=1)
    assert use_cases.get_period("2026-H1").runs == 2  # not a third time


def test_the_last_pass_runs_only_the_open_periods_still_on_another_version(use_cases, rules):
    rules.version = 2
    use_cases.run_period("2026-H1", "hr-1")  # by hand on version 2: nothing left to do there
    assert use_cases.rescore_next(2, "", off_version_only=True) == Rescored("2026-H2", changed=True)
    assert _team_total(use_cases, "2026-H2")[0] == 2
    assert use_cases.rescore_next(2, "", off_version_only=True) == Rescored()  # published 2025 stays
    assert use_cases.get_period("2026-H1").runs == 2  # not run by the last pass


def test_a_version_that_changes_no_score_changes_nothing_but_the_version(use_cases, rules):
    rules.compiled[2].close()
    kinds = {k.name: k for k in RULE_SETS}
    rules.compiled[2] = validate(_document(50), kinds, 2).compiled  # the same rules again
    rules.version = 2
    assert use_cases.rescore_next(2, "") == Rescored("2026-H1", changed=False, remaining=1)
    assert _team_total(use_cases, "2026-H1")[0] == 2


def test_a_process_scoring_with_another_version_looks_at_nothing(use_cases, rules):
    assert use_cases.rescore_next(2, "") == Rescored(stale=True)  # version 2 is not loaded here yet
    assert _team_total(use_cases, "2026-H1")[0] == 1


def test_another_service_down_propagates_and_keeps_the_results(use_cases, rules):
    rules.version = 2
    use_cases.statistics.down = True
    with pytest.raises(Unreachable):
        use_cases.rescore_next(2, "")
    assert _team_total(use_cases, "2026-H1")[0] == 1


def test_a_period_published_during_its_run_is_done_and_not_failed(use_cases, rules):
    rules.version = 2
    figures = use_cases.statistics.figures

    def publishing_meanwhile(window, group_by):
        if group_by == "team":
            use_cases.publish_period("2026-H1", "hr-2")  # between the reads and the scoring
        return figures(window, group_by)

    use_cases.statistics.figures = publishing_meanwhile
    assert use_cases.rescore_next(2, "") == Rescored("2026-H1", remaining=1)
    assert _team_total(use_cases, "2026-H1")[0] == 1  # published on version 1: final


def test_a_run_refused_for_versions_activated_again_and_again_is_counted_failed(use_cases, rules):
    rules.version = 2
    decide = rules.decide
    calls = []

    def a_new_version_each_time(name, facts):
        calls.append(name)
        return dataclasses.replace(decide(name, facts), version=len(calls))

    rules.decide = a_new_version_each_time
    assert use_cases.rescore_next(2, "") == Rescored("2026-H1", failed=True, remaining=1)
    assert _team_total(use_cases, "2026-H1")[0] == 1


def test_a_period_run_without_results_is_done_and_not_run_again(rules):
    """A period that was run when nobody was scored holds no result on any version: the
    job goes on past it (it once re-ran it at every poll, taking the empty results for a
    newer version's)."""
    cases = Evaluation(FakeUnitOfWork(), rules, FakeDirectory({}, {}), FakeStatistics())
    cases.create_period("2026-H1", "half_year", "2026-01-01", "2026-06-30")
    cases.run_period("2026-H1", "hr-1")
    assert cases.results("2026-H1", "", "") == []
    rules.version = 2
    assert cases.rescore_next(2, "") == Rescored("2026-H1", remaining=0)
    assert cases.get_period("2026-H1").runs == 1
