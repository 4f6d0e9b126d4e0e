"""Complaints' domain objects <-> the protobuf messages of its contract."""

from __future__ import annotations

import dataclasses
import datetime

from retailcare.complaints.v1 import complaints_pb2 as pb

from services.common.errors import InvalidArgument
from services.common.licences import normalise_licence
from services.common.times import to_timestamp
from services.complaints.domain import Complaint, Event, Figures, Intake
from services.complaints.policy_jobs import FollowJob
from services.complaints.ports import ComplaintFilter
from services.complaints.service_layer import CalendarView, DayChange, PolicyStanding

STATES = {name.lower(): value for name, value in pb.State.items() if value}
_STATE_NAMES = {value: name for name, value in STATES.items()}
ACTIONS = {value: name.lower() for name, value in pb.Action.items() if value}
FALLBACK = "fallback"  # the source of a year without data


def moment(message, field: str) -> datetime.datetime | None:
    """The time of a Timestamp field (None when unset); one no datetime can hold is
    INVALID_ARGUMENT naming the field."""
    if not message.HasField(field):
        return None
    try:
        return getattr(message, field).ToDatetime(tzinfo=datetime.UTC)
    except (ValueError, OverflowError, OSError):
        raise InvalidArgument([(field, "not a valid timestamp")]) from None


def intake(request: pb.FileComplaintRequest) -> Intake:
    return Intake.of(
        idempotency_key=request.idempotency_key,
        licence_number=request.licence_number,
        channel=request.channel,
        category=request.category,
        severity=request.severity,
        description=request.description,
        received_by=request.received_by,
        received_at=moment(request, "received_at"),
    )


def complaint_filter(message: pb.ComplaintFilter) -> ComplaintFilter:
    return ComplaintFilter(
        licence_number=normalise_licence(message.licence_number),
        owner=message.owner,
        team_id=message.team_id,
        states=tuple(_STATE_NAMES[s] for s in message.states if s in _STATE_NAMES),
        overdue_only=message.overdue_only,
        received_from=moment(message, "received_from"),
        received_to=moment(message, "received_to"),
    )


def complaint_message(complaint: Complaint, standing: PolicyStanding | None = None) -> pb.Complaint:
    standing = standing or PolicyStanding(0)
    return pb.Complaint(
        id=complaint.id,
        licence_number=complaint.licence_number,
        channel=complaint.channel,
        category=complaint.category,
        severity=complaint.severity,
        description=complaint.description,
        owner=complaint.owner,
        handler=complaint.handler,
        team_id=complaint.team_id,
        state=STATES[complaint.state],
        received_at=to_timestamp(complaint.received_at),
        deadline_at=to_timestamp(complaint.deadline_at),
        deadline_estimated=complaint.deadline_estimated,
        deadline_working_days=complaint.policy.deadline_working_days,
        policy_version=complaint.policy.version,
        needs_verification=complaint.needs_verification,
        overdue=complaint.overdue_at is not None,
        escalation_level=complaint.escalation_level,
        escalated_to=complaint.escalated_to,
        resolved_at=to_timestamp(complaint.resolved_at),
        satisfaction=complaint.satisfaction or 0,
        return_visit_due_at=to_timestamp(complaint.return_visit_due_at),
        idempotency_key=complaint.idempotency_key,
        active_policy_version=standing.active_version,
        pending_policy_version=standing.pending_version,
    )


def event_message(event: Event) -> pb.Event:
    return pb.Event(
        at=to_timestamp(event.at),
        actor=event.actor,
        action=event.action,
        from_state=STATES.get(event.from_state, 0),
        to_state=STATES.get(event.to_state, 0),
        note=event.note,
    )


def statistics_message(figures: Figures) -> pb.Statistics:
    return pb.Statistics(**dataclasses.asdict(figures))


def day_changes(days) -> list[DayChange]:
    return [DayChange(day.date, day.working, day.note) for day in days]


def calendar_change_message(change) -> pb.CalendarChange:
    return pb.CalendarChange(
        id=change.id,
        date=change.day.isoformat(),
        working=change.working,
        reason=change.reason,
        actor=change.actor,
        at=to_timestamp(change.at),
        removed_at=to_timestamp(change.removed_at),
        removed_by=change.removed_by,
    )


def calendar_message(view: CalendarView) -> pb.GetCalendarYearResponse:
    if view.data is None:
        return pb.GetCalendarYearResponse(year=view.year, source=FALLBACK)
    return pb.GetCalendarYearResponse(
        year=view.year,
        source=view.data.source,
        holidays=sorted(d.isoformat() for d in view.data.holidays),
        make_up_workdays=sorted(d.isoformat() for d in view.data.make_up_workdays),
        changes=[calendar_change_message(c) for c in view.changes if c.active],
    )


def follow_job_message(job: FollowJob) -> pb.PolicyFollowJob:
    return pb.PolicyFollowJob(
        id=job.id,
        version=job.version,
        state=job.state,
        done=job.done,
        moved=job.moved,
        followed=job.followed,
        failed=job.failed,
        lease_owner=job.lease_owner,
        created_at=to_timestamp(job.created_at),
        updated_at=to_timestamp(job.updated_at),
    )
