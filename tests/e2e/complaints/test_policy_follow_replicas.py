"""Two replicas of complaints, each its own process, sharing one database (SQLite and
PostgreSQL): a complaint-policy version that says critical open complaints follow it is
published through one of them; every critical open complaint follows it exactly once (one
event each, one job), whichever replica ran the job, and both replicas then answer with
the new version and nothing pending."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from retailcare.complaints.v1 import complaints_pb2 as pb
from retailcare.complaints.v1 import complaints_pb2_grpc
from retailcare.rules.v1 import rule_sets_pb2 as rules_pb

from services.common.database import create_database_engine
from services.complaints.policy_jobs import COMPLETED, FollowJobStore
from tests.e2e.complaints.conftest import complaint
from tests.e2e.complaints.test_policy_follow import follow_for_critical
from tests.support.replicas import Replica, replica_starter
from tests.support.waiting import wait_for

CRITICAL, NORMAL = 12, 4
WAIT = 180  # seconds: conditions are polled, never slept on


@pytest.fixture
def replicas(tmp_path, db_url):
    with replica_starter(
        tmp_path,
        db_url,
        "complaints",
        complaints_pb2_grpc.ComplaintsServiceStub,
        rules_poll_seconds="0.2",
        escalation_sweep_seconds="3600",
        downstream_timeout_seconds="1",  # classification is not running: fail fast
    ) as start:
        yield start


def _wait_for(condition, what: str):
    return wait_for(condition, what, WAIT)


def _complaints(replica: Replica) -> list[pb.Complaint]:
    return list(replica.stub.ListComplaints(pb.ListComplaintsRequest(page_size=500), timeout=30).complaints)


def test_both_replicas_move_each_critical_open_complaint_once(replicas, db_url):
    first, second = replicas("first"), replicas("second")
    for index in range(CRITICAL):  # classification is not running: filed and flagged, still open
        first.stub.FileComplaint(complaint(f"r-crit-{index}", severity="critical"), timeout=30)
    for index in range(NORMAL):
        second.stub.FileComplaint(complaint(f"r-norm-{index}"), timeout=30)
    second.admin.PublishRuleSet(
        rules_pb.PublishRuleSetRequest(
            source=follow_for_critical(), author="analyst", comment="critical follow"
        ),
        timeout=30,
    )
    _wait_for(
        lambda: all(c.policy_version == 2 for c in _complaints(first) if c.severity == "critical"),
        "every critical open complaint follows version 2",
    )
    for replica in (first, second):
        found = _wait_for(
            lambda r=replica: (cs := _complaints(r)) and all(c.active_policy_version == 2 for c in cs) and cs,
            "the replica decides with version 2",
        )
        assert len(found) == CRITICAL + NORMAL
        assert {
            (c.severity, c.policy_version, c.deadline_working_days, c.pending_policy_version) for c in found
        } == {
            ("critical", 2, 5, 0),
            ("normal", 1, 3, 0),
        }
    for found in _complaints(second):
        events = second.stub.ListComplaintEvents(
            pb.ListComplaintEventsRequest(id=found.id), timeout=30
        ).events
        moved = [e for e in events if e.action == "deadline_recomputed"]
        assert len(moved) == (1 if found.severity == "critical" else 0), found.id
    engine = create_database_engine(sa.engine.make_url(db_url))
    try:
        store = FollowJobStore(engine)
        job = _wait_for(lambda: (j := store.latest()).state == COMPLETED and j, "the job completes")
        assert (job.version, job.followed, job.moved) == (2, CRITICAL, CRITICAL)
        assert [j.version for j in store.list(10)].count(2) == 1
    finally:
        engine.dispose()
