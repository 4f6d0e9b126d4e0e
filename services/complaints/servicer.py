"""ComplaintsService over gRPC: parse the request, call a use case, build the reply."""

from __future__ import annotations

from retailcare.complaints.v1 import complaints_pb2 as pb
from retailcare.complaints.v1 import complaints_pb2_grpc

from services.common.times import from_timestamp, to_timestamp
from services.complaints.service_layer import Complaints
from services.complaints.storage import ComplaintRow

_STATES = {name.lower(): value for name, value in pb.State.items() if value}
_STATE_NAMES = {value: name for name, value in _STATES.items()}
_ACTIONS = {value: name.lower() for name, value in pb.Action.items() if value}


def complaint_message(row: ComplaintRow) -> pb.Complaint:
    return pb.Complaint(
        id=row.id,
        licence_number=row.licence_number,
        channel=row.channel,
        category=row.category,
        severity=row.severity,
        description=row.description,
        owner=row.owner,
        handler=row.handler,
        team_id=row.team_id,
        state=_STATES[row.state],
        received_at=to_timestamp(row.received_at),
        deadline_at=to_timestamp(row.deadline_at),
        deadline_estimated=row.deadline_estimated,
        deadline_working_days=row.deadline_working_days,
        policy_version=row.policy_version,
        needs_verification=row.needs_verification,
        overdue=row.overdue_at is not None,
        escalation_level=row.escalation_level,
        escalated_to=row.escalated_to,
        resolved_at=to_timestamp(row.resolved_at),
        satisfaction=row.satisfaction or 0,
        return_visit_due_at=to_timestamp(row.return_visit_due_at),
        idempotency_key=row.idempotency_key,
    )


def _calendar(year: int, data) -> pb.GetCalendarYearResponse:
    if data is None:
        return pb.GetCalendarYearResponse(year=year, source="fallback")
    return pb.GetCalendarYearResponse(
        year=year,
        source=data.source,
        holidays=sorted(d.isoformat() for d in data.holidays),
        make_up_workdays=sorted(d.isoformat() for d in data.make_up_workdays),
    )


class ComplaintsServicer(complaints_pb2_grpc.ComplaintsServiceServicer):
    def __init__(self, use_cases: Complaints):
        self.use_cases = use_cases

    def FileComplaint(self, request, context):
        values = {
            "idempotency_key": request.idempotency_key.strip(),
            "licence_number": request.licence_number.strip(),
            "channel": request.channel,
            "category": request.category,
            "severity": request.severity,
            "description": request.description,
            "received_by": request.received_by.strip(),
            "received_at": from_timestamp(request, "received_at"),
        }
        row, replayed = self.use_cases.file(values)
        return pb.FileComplaintResponse(complaint=complaint_message(row), replayed=replayed)

    def GetComplaint(self, request, context):
        return pb.GetComplaintResponse(complaint=complaint_message(self.use_cases.get(request.id)))

    def ListComplaints(self, request, context):
        f = request.filter
        filters = {
            "licence_number": f.licence_number,
            "owner": f.owner,
            "team_id": f.team_id,
            "states": [_STATE_NAMES[s] for s in f.states if s in _STATE_NAMES],
            "overdue_only": f.overdue_only,
            "received_from": from_timestamp(f, "received_from"),
            "received_to": from_timestamp(f, "received_to"),
        }
        rows, token = self.use_cases.list(filters, request.page_size, request.page_token)
        return pb.ListComplaintsResponse(
            complaints=[complaint_message(r) for r in rows], next_page_token=token
        )

    def ChangeComplaintState(self, request, context):
        action = _ACTIONS.get(request.action, "")
        row = self.use_cases.change_state(request.id, action, request.actor.strip(), request.note)
        return pb.ChangeComplaintStateResponse(complaint=complaint_message(row))

    def HandOffComplaint(self, request, context):
        row = self.use_cases.hand_off(
            request.id, request.handler.strip(), request.reason.strip(), request.actor.strip()
        )
        return pb.HandOffComplaintResponse(complaint=complaint_message(row))

    def RecordReturnVisit(self, request, context):
        row, reopened = self.use_cases.return_visit(
            request.id, request.satisfaction, request.comment, request.visited_by.strip()
        )
        return pb.RecordReturnVisitResponse(complaint=complaint_message(row), reopened=reopened)

    def ListComplaintEvents(self, request, context):
        events = [
            pb.Event(
                at=to_timestamp(e.at),
                actor=e.actor,
                action=e.action,
                from_state=_STATES.get(e.from_state, 0),
                to_state=_STATES.get(e.to_state, 0),
                note=e.note,
            )
            for e in self.use_cases.events(request.id)
        ]
        return pb.ListComplaintEventsResponse(events=events)

    def GetComplaintStatistics(self, request, context):
        group_by = "team" if request.group_by == pb.GetComplaintStatisticsRequest.TEAM else "owner"
        rows = self.use_cases.statistics(
            from_timestamp(request, "period_from"),
            from_timestamp(request, "period_to"),
            group_by,
        )
        return pb.GetComplaintStatisticsResponse(rows=[pb.Statistics(**row) for row in rows])

    def RunEscalationSweep(self, request, context):
        verified = self.use_cases.verify_flagged()
        warned, escalations, seconds = self.use_cases.sweep()
        return pb.RunEscalationSweepResponse(
            warned=warned, escalations=escalations, seconds=seconds, verified=verified
        )

    def GetCalendarYear(self, request, context):
        return _calendar(request.year, self.use_cases.calendar_year(request.year))

    def SetCalendarYear(self, request, context):
        data, recomputed = self.use_cases.set_calendar_year(
            request.year, list(request.holidays), list(request.make_up_workdays), request.actor.strip()
        )
        return pb.SetCalendarYearResponse(
            calendar=_calendar(request.year, data), deadlines_recomputed=recomputed
        )
