"""ComplaintsService over gRPC: parse the request, call a use case, map the reply."""

from __future__ import annotations

from retailcare.complaints.v1 import complaints_pb2 as pb
from retailcare.complaints.v1 import complaints_pb2_grpc

from services.common.errors import NotFound
from services.complaints import mapping
from services.complaints.policy_jobs import FollowJobStore
from services.complaints.service_layer import Complaints


class ComplaintsServicer(complaints_pb2_grpc.ComplaintsServiceServicer):
    def __init__(self, use_cases: Complaints, follow_jobs: FollowJobStore):
        self.use_cases = use_cases
        self.follow_jobs = follow_jobs

    def _message(self, complaint) -> pb.Complaint:
        return mapping.complaint_message(complaint, self.use_cases.standing(complaint))

    def FileComplaint(self, request, context):
        complaint, replayed = self.use_cases.file(mapping.intake(request))
        return pb.FileComplaintResponse(complaint=self._message(complaint), replayed=replayed)

    def GetComplaint(self, request, context):
        return pb.GetComplaintResponse(complaint=self._message(self.use_cases.get(request.id)))

    def ListComplaints(self, request, context):
        found, token = self.use_cases.list(
            mapping.complaint_filter(request.filter), request.page_size, request.page_token
        )
        return pb.ListComplaintsResponse(complaints=[self._message(c) for c in found], next_page_token=token)

    def ChangeComplaintState(self, request, context):
        action = mapping.ACTIONS.get(request.action, "")
        complaint = self.use_cases.change_state(request.id, action, request.actor.strip(), request.note)
        return pb.ChangeComplaintStateResponse(complaint=self._message(complaint))

    def HandOffComplaint(self, request, context):
        complaint = self.use_cases.hand_off(
            request.id, request.handler.strip(), request.reason.strip(), request.actor.strip()
        )
        return pb.HandOffComplaintResponse(complaint=self._message(complaint))

    def RecordReturnVisit(self, request, context):
        complaint = self.use_cases.return_visit(
            request.id, request.satisfaction, request.comment, request.visited_by.strip()
        )
        return pb.RecordReturnVisitResponse(complaint=self._message(complaint), reopened=complaint.reopened)

    def ListComplaintEvents(self, request, context):
        events = self.use_cases.events(request.id)
        return pb.ListComplaintEventsResponse(events=[mapping.event_message(e) for e in events])

    def GetComplaintStatistics(self, request, context):
        group_by = "team" if request.group_by == pb.GetComplaintStatisticsRequest.TEAM else "owner"
        rows = self.use_cases.statistics(
            mapping.moment(request, "period_from"), mapping.moment(request, "period_to"), group_by
        )
        return pb.GetComplaintStatisticsResponse(rows=[mapping.statistics_message(r) for r in rows])

    def RunEscalationSweep(self, request, context):
        verified = self.use_cases.verify_flagged()
        warned, escalations, seconds = self.use_cases.sweep()
        return pb.RunEscalationSweepResponse(
            warned=warned, escalations=escalations, seconds=seconds, verified=verified
        )

    def GetCalendarYear(self, request, context):
        return mapping.calendar_message(self.use_cases.calendar_year(request.year))

    def SetCalendarYear(self, request, context):
        view, recomputed = self.use_cases.set_calendar_year(
            request.year,
            list(request.holidays),
            list(request.make_up_workdays),
            request.actor.strip(),
            request.replace_known_year,
        )
        return pb.SetCalendarYearResponse(
            calendar=mapping.calendar_message(view), deadlines_recomputed=recomputed
        )

    def ChangeCalendarDays(self, request, context):
        view, recomputed = self.use_cases.change_calendar_days(
            mapping.day_changes(request.days), request.actor.strip()
        )
        return pb.ChangeCalendarDaysResponse(
            calendar=mapping.calendar_message(view), deadlines_recomputed=recomputed
        )

    def ListCalendarChanges(self, request, context):
        changes, token = self.use_cases.calendar_changes(request.year, request.page_size, request.page_token)
        return pb.ListCalendarChangesResponse(
            changes=[mapping.calendar_change_message(c) for c in changes], next_page_token=token
        )

    def RemoveCalendarChange(self, request, context):
        view, recomputed = self.use_cases.remove_calendar_change(request.id, request.actor.strip())
        return pb.RemoveCalendarChangeResponse(
            calendar=mapping.calendar_message(view), deadlines_recomputed=recomputed
        )

    def GetPolicyFollowJob(self, request, context):
        job = self.follow_jobs.latest()
        if job is None:
            raise NotFound("policy follow job", "latest", "no complaint-policy version was activated yet")
        return pb.GetPolicyFollowJobResponse(job=mapping.follow_job_message(job))
