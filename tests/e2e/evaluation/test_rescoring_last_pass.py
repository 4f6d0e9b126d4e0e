"""The re-scoring job's last pass end to end on SQLite and PostgreSQL: a second evaluation
process on the same database that has not loaded a new kpi-scoring version runs a period
by hand on the old one after the job's sweep passed it; the job, still settling, runs it
again on the new version before it completes."""

from __future__ import annotations

from retailcare.evaluation.v1 import evaluation_pb2 as pb
from retailcare.evaluation.v1 import evaluation_pb2_grpc
from retailcare.rules.v1 import rule_sets_pb2_grpc

from services.common.config import Settings
from tests.e2e.evaluation.test_rescoring_job import (
    T,
    job_of,
    members_weighing,
    publish,
    scored,
    set_up,
    team_result,
    wait_for,
)
from tests.support.replicas import Replica

OPEN = ("2026", "2026-Q1")
SETTLING_SECONDS = 15  # long enough for the lagging run to come before the job completes


def _runs(ev, period_id: str) -> int:
    return ev.GetPeriod(pb.GetPeriodRequest(id=period_id), timeout=T).period.runs


def test_a_period_run_on_the_old_version_by_a_lagging_replica_is_caught_by_the_last_pass(
    pack, tmp_path, db_url
):
    pack.settings = Settings({**pack.settings.as_dict(), "job_settling_seconds": SETTLING_SECONDS})
    with pack.classification(), pack.complaints(), pack.service("evaluation") as channel:
        ev = evaluation_pb2_grpc.EvaluationServiceStub(channel)
        admin = rule_sets_pb2_grpc.RuleSetAdminStub(channel)
        set_up(ev)
        # Another process on the same database: it loaded version 1 and will not look again.
        lagging = Replica(
            tmp_path,
            db_url,
            "lagging",
            "evaluation",
            evaluation_pb2_grpc.EvaluationServiceStub,
            rules_poll_seconds="3600",
            downstream_timeout_seconds="10",
            **{
                f"{name}_target": f"127.0.0.1:{pack.settings.grpc_port(name)}"
                for name in ("classification", "complaints")
            },
        )
        try:
            assert publish(admin, members_weighing(80), "members weigh more") == 2
            wait_for(
                lambda: all(scored(ev, period_id)[0] == 2 for period_id in OPEN),
                "the job's sweep has passed the open periods",
            )
            assert job_of(ev, 2, "running")  # still settling
            ran = lagging.stub.RunPeriodEvaluation(
                pb.RunPeriodEvaluationRequest(period_id="2026", run_by="hr-1"), timeout=60
            )
            assert ran.rule_set_version == 1
        finally:
            lagging.stop()

        done = wait_for(lambda: job_of(ev, 2, "completed"), "the job of version 2 completes")
        # Each open period counted done once; the lagging run's period changed twice.
        assert (done.total, done.done, done.changed, done.failed) == (2, 2, 3, 0)
        for period_id in OPEN:
            assert scored(ev, period_id) == (2, 2, False)
            assert team_result(ev, period_id).rule_set_version == 2
        # The initial run, the sweep's, the lagging replica's and the last pass's.
        assert (_runs(ev, "2026"), _runs(ev, "2026-Q1")) == (4, 2)
        assert team_result(ev, "2025").rule_set_version == 1  # published: final
