"""Open complaints and a newly activated complaint-policy version, end to end on SQLite and
PostgreSQL: a version that says open complaints follow it (for critical ones here) moves
their deadlines once, with an event, and the others keep theirs; a job whose holder died
is taken over after its lease expires, and until then reads say which version the
deadline is about to follow."""

from __future__ import annotations

import datetime

import grpc
import sqlalchemy as sa
from retailcare.complaints.v1 import complaints_pb2 as pb
from retailcare.rules.v1 import rule_sets_pb2 as rules_pb
from retailcare.rules.v1 import rule_sets_pb2_grpc

from services.common.database import create_database_engine
from services.common.rules.store import RuleSetStore
from services.common.times import now
from services.complaints.policy_jobs import COMPLETED, FollowJobStore, jobs
from tests.e2e.complaints.conftest import complaint
from tests.support.rule_samples import default_source
from tests.support.waiting import wait_for

POLICY = "complaint-policy"
WAIT = 120  # seconds: conditions are polled, never slept on


def follow_for_critical(days: int = 5) -> str:
    """The shipped policy with delivery complaints in ``days`` working days, and critical
    complaints still open at the activation following the new version."""
    return (
        default_source(POLICY)
        .replace(
            "  - id: default_deadline",
            "  - id: delivery_longer\n    priority: 10\n    when: {category: delivery}\n    then:\n"
            f"      - set_deadline: {{working_days: {days}}}\n"
            "  - id: critical_follow\n    priority: 45\n    when: {severity: critical}\n    then:\n"
            "      - open_complaints: {deadlines: follow_new_version}\n"
            "  - id: default_deadline",
        )
        .replace(
            "deadline_working_days: 3\n      pause_clock_while_waiting: true",
            f"deadline_working_days: {days}\n      pause_clock_while_waiting: true",
        )
    )


def _get(stub, complaint_id) -> pb.Complaint:
    return stub.GetComplaint(pb.GetComplaintRequest(id=complaint_id), timeout=10).complaint


def _events(stub, complaint_id) -> list[pb.Event]:
    return list(stub.ListComplaintEvents(pb.ListComplaintEventsRequest(id=complaint_id), timeout=10).events)


def _wait_for(condition, what: str):
    return wait_for(condition, what, WAIT)


def _act(stub, complaint_id, action):
    stub.ChangeComplaintState(
        pb.ChangeComplaintStateRequest(id=complaint_id, action=action, actor="staff-7"), timeout=10
    )


def test_a_version_that_says_follow_moves_the_open_deadlines_it_names_once(pack, db_url):
    with pack.classification():
        with pack.complaints() as (service, stub):
            critical = stub.FileComplaint(complaint("f-crit", severity="critical"), timeout=10).complaint
            normal = stub.FileComplaint(complaint("f-norm"), timeout=10).complaint
            resolved = stub.FileComplaint(complaint("f-done", severity="critical"), timeout=10).complaint
            _act(stub, resolved.id, pb.ACCEPT)
            _act(stub, resolved.id, pb.RESOLVE)
            assert (
                critical.policy_version,
                critical.active_policy_version,
                critical.pending_policy_version,
            ) == (
                1,
                1,
                0,
            )
            with grpc.insecure_channel(f"127.0.0.1:{service.settings.grpc_port('complaints')}") as channel:
                rule_sets_pb2_grpc.RuleSetAdminStub(channel).PublishRuleSet(
                    rules_pb.PublishRuleSetRequest(
                        source=follow_for_critical(),
                        author="analyst",
                        comment="delivery 5 days, critical follow",
                    ),
                    timeout=30,
                )
            moved = _wait_for(
                lambda: (c := _get(stub, critical.id)).policy_version == 2 and c,
                "the critical complaint follows version 2",
            )
            assert (
                moved.deadline_working_days,
                moved.active_policy_version,
                moved.pending_policy_version,
            ) == (
                5,
                2,
                0,
            )
            assert moved.deadline_at.ToDatetime() > critical.deadline_at.ToDatetime()
            recomputed = [e for e in _events(stub, critical.id) if e.action == "deadline_recomputed"]
            assert len(recomputed) == 1 and recomputed[0].actor == "system"
            assert "complaint-policy version 2 (was 1)" in recomputed[0].note
            assert "3 -> 5 working days" in recomputed[0].note

            kept = _get(stub, normal.id)  # the version says keep for it
            assert (
                kept.policy_version,
                kept.deadline_at,
                kept.active_policy_version,
                kept.pending_policy_version,
            ) == (
                1,
                normal.deadline_at,
                2,
                0,
            )
            done = _get(stub, resolved.id)  # not open: nothing to follow
            assert (done.policy_version, done.deadline_at) == (1, resolved.deadline_at)
            fresh = stub.FileComplaint(complaint("f-new"), timeout=10).complaint
            assert (fresh.policy_version, fresh.deadline_working_days, fresh.pending_policy_version) == (
                2,
                5,
                0,
            )
            # It completes once late filings can no longer come (job_settling_seconds and two polls on).
            _wait_for(
                lambda: (
                    stub.GetPolicyFollowJob(pb.GetPolicyFollowJobRequest(), timeout=10).job.state == COMPLETED
                ),
                "the job completes",
            )

        # a restart: the completed job is not run again
        engine = create_database_engine(sa.make_url(db_url))
        store = FollowJobStore(engine)
        _wait_for(lambda: (job := store.latest()) and job.state == COMPLETED, "the job completes")
        job = store.latest()
        assert (job.version, job.followed, job.moved) == (2, 1, 1)
        with pack.complaints() as (_, stub):
            again = _get(stub, critical.id)
            assert (again.policy_version, again.deadline_at) == (2, moved.deadline_at)
            assert [(j.id, j.state) for j in store.list(10) if j.version == 2] == [(job.id, COMPLETED)]
            read = stub.GetPolicyFollowJob(pb.GetPolicyFollowJobRequest(), timeout=10).job  # the contract
            assert (read.id, read.version, read.state, read.moved, read.followed, read.lease_owner) == (
                job.id,
                2,
                COMPLETED,
                job.moved,
                job.followed,
                "",
            )
            assert sum(e.action == "deadline_recomputed" for e in _events(stub, critical.id)) == 1
        engine.dispose()


def test_a_job_whose_holder_died_is_taken_over_after_its_lease_expires(pack, db_url):
    engine = create_database_engine(sa.make_url(db_url))
    with pack.classification():
        with pack.complaints() as (_, stub):
            critical = stub.FileComplaint(complaint("d-crit", severity="critical"), timeout=10).complaint
            store = FollowJobStore(engine)
            first = _wait_for(store.latest, "the job of version 1 is recorded")
        # While the service is down, version 2 is published and a replica that then died
        # started its job and holds its lease for an hour.
        RuleSetStore(engine).publish(POLICY, follow_for_critical(), "analyst", "critical follow")
        moment = now()
        with engine.begin() as connection:
            connection.execute(
                sa.insert(jobs).values(
                    version=2,
                    replaces=first.id,
                    state="running",
                    lease_owner="a-replica-that-died",
                    lease_expires_at=moment + datetime.timedelta(hours=1),
                    created_at=moment,
                    updated_at=moment,
                )
            )
        with pack.complaints() as (_, stub):
            waiting = _wait_for(
                lambda: (c := _get(stub, critical.id)).active_policy_version == 2 and c,
                "this replica decides with version 2",
            )
            # the job has not reached it: the read says the deadline is about to follow version 2
            assert (waiting.policy_version, waiting.pending_policy_version) == (1, 2)
            assert store.latest().lease_owner == "a-replica-that-died"
            with engine.begin() as connection:
                connection.execute(
                    sa.update(jobs).values(lease_expires_at=now() - datetime.timedelta(seconds=1))
                )
            moved = _wait_for(
                lambda: (c := _get(stub, critical.id)).policy_version == 2 and c,
                "the job is taken over and the complaint follows version 2",
            )
            assert (moved.deadline_working_days, moved.pending_policy_version) == (5, 0)
            job = _wait_for(lambda: (j := store.latest()).state == COMPLETED and j, "the job completes")
            assert (job.version, job.followed, job.lease_owner) == (2, 1, "")
    engine.dispose()
