"""Which kpi-scoring version a period's results were decided on (ScoredOn), and a run that
never keeps results of two versions when one is activated in the middle of it."""

import dataclasses
import datetime

import pytest

from services.common import times
from services.common.errors import FailedPrecondition
from services.evaluation.domain.people import Staff, Team
from services.evaluation.domain.periods import ScoredOn
from services.evaluation.domain.visits import Menu, MenuItem
from services.evaluation.ports import ComplaintFigures
from services.evaluation.service_layer import Evaluation
from tests.unit.evaluation.fakes import DefaultRuleSets, FakeDirectory, FakeStatistics, FakeUnitOfWork

MENU = Menu(
    "L-1", (MenuItem("customer_manager_visit", 4, visits_per_month=2), MenuItem("retail_price_upkeep", 3)), 5
)


# -- ScoredOn ----------------------------------------------------------------------------------
def test_results_on_the_active_version_are_current():
    scored = ScoredOn((3,), 3, published=False)
    assert (scored.version, scored.newer_version_active) == (3, False)


def test_an_open_period_with_results_on_another_version_is_stale():
    assert ScoredOn((1,), 2, published=False).newer_version_active
    assert ScoredOn((2,), 1, published=False).newer_version_active  # a rollback is a newer activation


def test_a_published_period_is_final_and_a_period_without_results_has_nothing_stale():
    assert not ScoredOn((1,), 2, published=True).newer_version_active
    scored = ScoredOn((), 2, published=False)
    assert (scored.version, scored.newer_version_active) == (0, False)


def test_no_version_loaded_yet_says_nothing_is_newer():
    assert not ScoredOn((1,), 0, published=False).newer_version_active


def test_mixed_results_report_their_oldest_version_and_are_stale():
    scored = ScoredOn((1, 2), 2, published=False)
    assert (scored.version, scored.newer_version_active) == (1, True)


# -- the use cases -------------------------------------------------------------------------------
class SwappingRuleSets(DefaultRuleSets):
    """The shipped document, reporting version 1 for the first ``swap_after`` decisions and
    version 2 after them, or a new version at every decision (``every_time``)."""

    def __init__(self, swap_after: int = 1, every_time: bool = False):
        super().__init__()
        self.calls, self.swap_after, self.every_time = 0, swap_after, every_time

    def decide(self, name, facts):
        self.calls += 1
        version = self.calls if self.every_time else (1 if self.calls <= self.swap_after else 2)
        return dataclasses.replace(super().decide(name, facts), version=version)

    def serving_version(self, name):
        return 2


def evaluation(rule_sets) -> Evaluation:
    directory = FakeDirectory({"L-1": MENU, "L-2": MENU}, {"cm-1": ["L-1", "L-2"]})
    statistics = FakeStatistics({"owner": {"cm-1": ComplaintFigures(2, 2, 1, 1, 4.0)}, "team": {}})
    use_cases = Evaluation(FakeUnitOfWork(), rule_sets, directory, statistics)
    use_cases.upsert_staff(Staff("cm-1", "Li", "customer_manager", "customer_service"))
    use_cases.upsert_staff(Staff("mm-1", "Zhao", "market_manager", "marketing"))
    use_cases.upsert_team(Team("team-1", "Old town"))
    use_cases.assign_member("cm-1", "team-1", "customer_communication", "2025-01-01")
    today = times.now().date()
    use_cases.create_period(
        "p", "month", (today - datetime.timedelta(days=20)).isoformat(), today.isoformat()
    )
    return use_cases


def test_a_version_activated_during_a_run_scores_the_whole_run_again_on_it():
    rule_sets = SwappingRuleSets(swap_after=1)  # the first role decided on 1, the rest on 2
    try:
        use_cases = evaluation(rule_sets)
        period, results, _, _ = use_cases.run_period("p", "hr-1")
        assert {r.rule_set_version for r in results} == {2}
        assert period.runs == 1  # the mixed attempt left nothing behind
        assert {r.rule_set_version for r in use_cases.results("p", "", "")} == {2}
        scored = use_cases.scored_on(period, results)
        assert (scored.version, scored.active_version, scored.newer_version_active) == (2, 2, False)
    finally:
        rule_sets.close()


def test_versions_activated_again_and_again_refuse_the_run_and_keep_nothing():
    rule_sets = SwappingRuleSets(every_time=True)
    try:
        use_cases = evaluation(rule_sets)
        with pytest.raises(FailedPrecondition, match="run it again"):
            use_cases.run_period("p", "hr-1")
        assert use_cases.get_period("p").runs == 0 and use_cases.results("p", "", "") == []
    finally:
        rule_sets.close()


def test_a_period_never_run_is_scored_on_nothing():
    rule_sets = SwappingRuleSets()
    try:
        use_cases = evaluation(rule_sets)
        scored = use_cases.scored_on(use_cases.get_period("p"))
        assert (scored.versions, scored.active_version, scored.newer_version_active) == ((), 2, False)
    finally:
        rule_sets.close()
