"""A period's results against the kpi-scoring version active now, end to end on SQLite and
PostgreSQL: after an activation the re-scoring job brings an open period with results to
the new version (GetPeriod and ListPeriodResults say so; until then they say a newer one
is active, tests/e2e/evaluation/test_rescoring_job.py); a published period's results stay
final; a rollback is a newer activation too."""

from __future__ import annotations

import grpc
from retailcare.evaluation.v1 import evaluation_pb2 as pb
from retailcare.evaluation.v1 import evaluation_pb2_grpc
from retailcare.rules.v1 import rule_sets_pb2 as rules_pb
from retailcare.rules.v1 import rule_sets_pb2_grpc

from services.evaluation.rules import KPI_SCORING
from tests.e2e.evaluation.conftest import set_up_people
from tests.support.waiting import wait_for

T = 30
WAIT = 120  # seconds: conditions are polled, never slept on


def scored(message) -> tuple[int, int, bool]:
    s = message.scored_on
    return s.rule_set_version, s.active_rule_set_version, s.newer_version_active


def _period(ev, period_id) -> pb.Period:
    return ev.GetPeriod(pb.GetPeriodRequest(id=period_id), timeout=T).period


def _results(ev, period_id) -> pb.ListPeriodResultsResponse:
    return ev.ListPeriodResults(pb.ListPeriodResultsRequest(period_id=period_id), timeout=T)


def _run(ev, period_id) -> pb.RunPeriodEvaluationResponse:
    return ev.RunPeriodEvaluation(
        pb.RunPeriodEvaluationRequest(period_id=period_id, run_by="hr-1"), timeout=60
    )


def _job(ev, version: int) -> pb.RescoringJob | None:
    """The newest re-scoring job when it is that of ``version`` and has completed."""
    try:
        job = ev.GetRescoringJob(pb.GetRescoringJobRequest(), timeout=T).job
    except grpc.RpcError as error:
        if error.code() != grpc.StatusCode.NOT_FOUND:
            raise
        return None
    return job if (job.version, job.state) == (version, "completed") else None


def _wait_for(condition, what: str):
    return wait_for(condition, what, WAIT)


def test_open_periods_say_their_results_were_decided_on_an_older_version(pack):
    with pack.classification(), pack.complaints(), pack.service("evaluation") as channel:
        ev = evaluation_pb2_grpc.EvaluationServiceStub(channel)
        admin = rule_sets_pb2_grpc.RuleSetAdminStub(channel)
        set_up_people(ev)
        ev.CreatePeriod(
            pb.CreatePeriodRequest(
                period=pb.Period(id="2026-H1", kind="half_year", starts_on="2026-01-01", ends_on="2026-06-30")
            ),
            timeout=T,
        )
        assert scored(_period(ev, "2026")) == (0, 1, False)  # no results yet: nothing stale
        first = _run(ev, "2026")
        assert (first.rule_set_version, scored(first.period)) == (1, (1, 1, False))
        _run(ev, "2026-H1")
        published = ev.PublishPeriod(pb.PublishPeriodRequest(id="2026-H1", published_by="hr-1"), timeout=T)
        assert scored(published.period) == (1, 1, False)

        source = KPI_SCORING.default_path.read_text(encoding="utf-8")
        stricter = source.replace(
            "open_plan_below: {score: 60, due_in_days: 30}", "open_plan_below: {score: 65, due_in_days: 30}"
        ).replace("plan_below: 60", "plan_below: 65")
        assert stricter != source
        admin.PublishRuleSet(
            rules_pb.PublishRuleSetRequest(source=stricter, author="analyst", comment="PDCA below 65"),
            timeout=T,
        )
        done = _wait_for(lambda: _job(ev, 2), "the re-scoring job of version 2 completes")
        assert (done.done, done.failed) == (1, 0)  # the open period with results
        assert scored(_period(ev, "2026")) == (2, 2, False)
        listed = _results(ev, "2026")
        assert scored(listed) == (2, 2, False)
        assert listed.results and {r.rule_set_version for r in listed.results} == {2}
        assert scored(_period(ev, "2026-H1")) == (1, 2, False)  # published: final

        again = _run(ev, "2026")  # a run by hand scores with the active version too
        assert (again.rule_set_version, scored(again.period)) == (2, (2, 2, False))

        admin.ActivateRuleSetVersion(
            rules_pb.ActivateRuleSetVersionRequest(
                rule_set="kpi-scoring", version=1, actor="analyst", comment="back to 60"
            ),
            timeout=T,
        )
        _wait_for(
            lambda: (j := _job(ev, 1)) and j.id > done.id, "the re-scoring job of the rollback completes"
        )
        assert scored(_period(ev, "2026")) == (1, 1, False)
        assert {r.rule_set_version for r in _results(ev, "2026").results} == {1}
