"""Two evaluation replicas, each its own process, sharing one database (SQLite and
PostgreSQL), classification and complaints running: the replica running the re-scoring
job of a new kpi-scoring version is killed in the middle; the other takes the job over
when the lease expires (the test moves the expiry back rather than wait 30 s) and continues after the last saved period, so every open period
ends on the new version having been run exactly once more."""

from __future__ import annotations

import os
import signal

import pytest
import sqlalchemy as sa
from retailcare.evaluation.v1 import evaluation_pb2 as pb
from retailcare.evaluation.v1 import evaluation_pb2_grpc
from retailcare.rules.v1 import rule_sets_pb2 as rules_pb

from services.common.database import create_database_engine
from services.evaluation import rescoring_jobs
from tests.e2e.evaluation.conftest import set_up_people
from tests.e2e.evaluation.test_rescoring_job import members_weighing, team_result
from tests.support.replicas import expire_lease, replica_starter
from tests.support.waiting import wait_for

PERIODS = [f"2026-M{index:02d}" for index in range(1, 41)]
WAIT = 240  # seconds: conditions are polled, never slept on
T = 30


@pytest.fixture
def replicas(tmp_path, db_url, pack):
    with pack.classification(), pack.complaints():
        targets = {
            f"{name}_target": f"127.0.0.1:{pack.settings.grpc_port(name)}"
            for name in ("classification", "complaints")
        }
        with replica_starter(
            tmp_path,
            db_url,
            "evaluation",
            evaluation_pb2_grpc.EvaluationServiceStub,
            rules_poll_seconds="0.2",
            downstream_timeout_seconds="10",
            **targets,
        ) as start:
            yield start


def _job(replica) -> pb.RescoringJob:
    return replica.stub.GetRescoringJob(pb.GetRescoringJobRequest(), timeout=T).job


def test_a_killed_replica_s_job_is_taken_over_and_each_period_is_run_once_more(replicas, db_url):
    first, second = replicas("first"), replicas("second")
    ev = first.stub
    set_up_people(ev)
    for period_id in PERIODS:
        ev.CreatePeriod(
            pb.CreatePeriodRequest(
                period=pb.Period(id=period_id, kind="month", starts_on="2026-01-01", ends_on="2026-01-31")
            ),
            timeout=T,
        )
        ev.RecordActuals(
            pb.RecordActualsRequest(
                period_id=period_id,
                actuals=[
                    pb.Actual(subject_kind="team", subject_id="team-1", sales_actual=50, sales_target=100)
                ],
            ),
            timeout=T,
        )
        ev.RunPeriodEvaluation(pb.RunPeriodEvaluationRequest(period_id=period_id, run_by="hr-1"), timeout=60)
    wait_for(
        lambda: _job(first).version == 1 and _job(first).state == "completed", "the first job ends", WAIT
    )

    first.admin.PublishRuleSet(
        rules_pb.PublishRuleSetRequest(source=members_weighing(80), author="analyst", comment="members"),
        timeout=T,
    )
    busy = wait_for(
        lambda: (
            (j := _job(second)).version == 2 and j.state == "running" and j.done >= 1 and j.lease_owner and j
        ),
        "a replica is in the middle of the job of version 2",
        WAIT,
    )
    holder = next(r for r in (first, second) if f"-{r.process.pid}-" in busy.lease_owner)
    survivor = second if holder is first else first
    os.kill(holder.process.pid, signal.SIGKILL)
    holder.process.wait(30)
    assert _job(survivor).lease_owner == busy.lease_owner  # left to expire
    engine = create_database_engine(sa.engine.make_url(db_url))
    try:
        expire_lease(engine, rescoring_jobs.jobs, busy.id)  # the 30 s of the lease are over
    finally:
        engine.dispose()

    done = wait_for(
        lambda: (j := _job(survivor)).version == 2 and j.state == "completed" and j,
        "the other replica completes the job after the lease expired",
        WAIT,
    )
    assert (done.total, done.done, done.failed) == (len(PERIODS), len(PERIODS), 0)
    assert f"-{survivor.process.pid}-" not in busy.lease_owner
    for period_id in PERIODS:
        period = survivor.stub.GetPeriod(pb.GetPeriodRequest(id=period_id), timeout=T).period
        assert period.runs == 2, period_id  # the initial run and one re-scoring, never two
        assert (period.scored_on.rule_set_version, period.scored_on.newer_version_active) == (2, False)
        assert team_result(survivor.stub, period_id).rule_set_version == 2
    assert "rescoring job completed" in survivor.log_path.read_text()
