"""EvaluationService over gRPC: parse the request, call a use case, build the reply."""

from __future__ import annotations

from retailcare.evaluation.v1 import evaluation_pb2 as pb
from retailcare.evaluation.v1 import evaluation_pb2_grpc

from services.common.errors import InvalidArgument
from services.common.licences import normalise_licence
from services.common.times import now
from services.evaluation import mapping as m
from services.evaluation import report_pdf
from services.evaluation.domain.people import Team
from services.evaluation.rescoring_jobs import RescoringJobStore, job_message
from services.evaluation.return_visits import ReturnVisitPlanning
from services.evaluation.service_layer import Evaluation
from services.evaluation.supervision import Supervision
from services.evaluation.tables import FORMATS, TableError, read_rows, write_results


def _format(value: str) -> str:
    value = value.strip().lower()
    if value not in FORMATS:
        raise InvalidArgument([("format", f"must be one of {', '.join(FORMATS)}")])
    return value


class EvaluationServicer(evaluation_pb2_grpc.EvaluationServiceServicer):
    def __init__(
        self,
        use_cases: Evaluation,
        supervision: Supervision,
        return_visits: ReturnVisitPlanning,
        rescoring_jobs: RescoringJobStore,
    ):
        self.use_cases = use_cases
        self.supervision = supervision
        self.return_visits = return_visits
        self.rescoring_jobs = rescoring_jobs

    # staff and teams
    def UpsertStaff(self, request, context):
        staff = self.use_cases.upsert_staff(m.staff_from(request.staff))
        return pb.UpsertStaffResponse(staff=m.staff_message(staff))

    def GetStaff(self, request, context):
        staff, memberships = self.use_cases.get_staff(request.id.strip())
        return pb.GetStaffResponse(
            staff=m.staff_message(staff), memberships=[m.membership_message(x) for x in memberships]
        )

    def UpsertTeam(self, request, context):
        team = self.use_cases.upsert_team(Team(request.team.id.strip(), request.team.name.strip()))
        return pb.UpsertTeamResponse(team=m.team_message(team))

    def AssignTeamMember(self, request, context):
        membership = self.use_cases.assign_member(
            request.staff_id.strip(), request.team_id.strip(), request.specialty, request.from_date.strip()
        )
        return pb.AssignTeamMemberResponse(membership=m.membership_message(membership))

    def GetTeam(self, request, context):
        team, members, zones = self.use_cases.get_team(request.team_id.strip(), request.on_date.strip())
        return pb.GetTeamResponse(
            team=m.team_message(team),
            members=[m.membership_message(x) for x in members],
            zones=zones or [],
            zones_unavailable=zones is None,
        )

    # periods
    def _period(self, period, results=None) -> pb.Period:
        return m.period_message(period, self.use_cases.scored_on(period, results))

    def CreatePeriod(self, request, context):
        p = request.period
        period = self.use_cases.create_period(p.id.strip(), p.kind, p.starts_on.strip(), p.ends_on.strip())
        return pb.CreatePeriodResponse(period=self._period(period))

    def GetPeriod(self, request, context):
        return pb.GetPeriodResponse(period=self._period(self.use_cases.get_period(request.id.strip())))

    def PublishPeriod(self, request, context):
        period = self.use_cases.publish_period(request.id.strip(), request.published_by)
        return pb.PublishPeriodResponse(period=self._period(period))

    # visit cards
    def RecordVisitCard(self, request, context):
        if not request.HasField("visited_at"):
            raise InvalidArgument([("visited_at", "is required")])
        return pb.RecordVisitCardResponse(
            card=m.card_message(self.use_cases.record_card(m.card_from(request)))
        )

    def ListVisitCards(self, request, context):
        cards = self.use_cases.list_cards(
            request.staff_id.strip(),
            normalise_licence(request.licence_number),
            request.period_id.strip(),
            request.include_superseded,
        )
        return pb.ListVisitCardsResponse(cards=[m.card_message(card) for card in cards])

    def CheckVisitCards(self, request, context):
        checked, left = self.use_cases.check_cards()
        return pb.CheckVisitCardsResponse(checked=checked, still_unchecked=left)

    # ratings
    def SubmitRating(self, request, context):
        rating, corrected = self.use_cases.submit_rating(m.rating_from(request.rating))
        return pb.SubmitRatingResponse(rating=m.rating_message(rating), corrected=corrected)

    def ListRatings(self, request, context):
        ratings = self.use_cases.list_ratings(
            request.period_id.strip(), request.subject_id.strip(), m.MODE_OF.get(request.mode, "")
        )
        return pb.ListRatingsResponse(ratings=[m.rating_message(r) for r in ratings])

    # actuals and goals
    def RecordActuals(self, request, context):
        rows = [
            (
                a.subject_kind,
                a.subject_id.strip(),
                a.sales_actual if a.HasField("sales_actual") else None,
                a.sales_target if a.HasField("sales_target") else None,
            )
            for a in request.actuals
        ]
        return pb.RecordActualsResponse(
            recorded=self.use_cases.record_actuals(request.period_id.strip(), rows)
        )

    def ImportActuals(self, request, context):
        try:
            rows = read_rows(_format(request.format), request.content)
        except TableError as problem:
            raise InvalidArgument([("content", str(problem))]) from None
        recorded, errors = self.use_cases.import_actuals(request.period_id.strip(), rows)
        return pb.ImportActualsResponse(
            recorded=recorded, errors=[pb.RowError(row=r, field=f, message=why) for r, f, why in errors]
        )

    def SetTeamGoal(self, request, context):
        weights = {w.staff_id.strip(): w.weight for w in request.member_weights}
        shares = {s.specialty: s.share for s in request.specialty_shares}
        split = self.use_cases.set_team_goal(
            request.period_id.strip(), request.team_id.strip(), request.sales_target, weights, shares
        )
        return pb.SetTeamGoalResponse(
            member_targets=[
                pb.Actual(subject_id=staff_id, subject_kind="staff", sales_target=target)
                for staff_id, target in sorted(split.items())
            ]
        )

    # results
    def RunPeriodEvaluation(self, request, context):
        period, results, opened, seconds = self.use_cases.run_period(
            request.period_id.strip(), request.run_by
        )
        return pb.RunPeriodEvaluationResponse(
            period=self._period(period, results),
            staff_scored=sum(1 for r in results if r.subject_kind == "staff"),
            teams_scored=sum(1 for r in results if r.subject_kind == "team"),
            plans_opened=opened,
            seconds=seconds,
            rule_set_version=results[0].rule_set_version if results else 0,
        )

    def ListPeriodResults(self, request, context):
        period_id = request.period_id.strip()
        results, scored = self.use_cases.listed_results(
            period_id, request.subject_kind, request.team_id.strip()
        )
        return pb.ListPeriodResultsResponse(
            results=[m.result_message(r) for r in results], scored_on=m.scored_on_message(scored)
        )

    def GetTeamOverview(self, request, context):
        team, period, team_result, members = self.use_cases.team_overview(
            request.team_id.strip(), request.period_id.strip()
        )
        return pb.GetTeamOverviewResponse(
            team=m.team_message(team),
            period=self._period(period),
            team_result=m.result_message(team_result) if team_result else None,
            member_results=[m.result_message(r) for r in members],
        )

    def ExportPeriodResults(self, request, context):
        file_format = _format(request.format)
        period_id = request.period_id.strip()
        content = write_results(file_format, self.use_cases.results(period_id, "", ""))
        return pb.ExportPeriodResultsResponse(
            filename=f"evaluation-{period_id}.{file_format}", content=content
        )

    def GetRescoringJob(self, request, context):
        return pb.GetRescoringJobResponse(job=job_message(self.rescoring_jobs.current()))

    # PDCA
    def GetImprovementPlan(self, request, context):
        plan = self.use_cases.plan(request.id.strip())
        return pb.GetImprovementPlanResponse(plan=m.plan_message(plan, now().date()))

    def AdvanceImprovementPlan(self, request, context):
        plan = self.use_cases.advance_plan(
            request.id.strip(),
            request.by,
            m.PLAN_STATE_OF.get(request.to_state, ""),
            request.add_actions,
            request.add_evidence,
            request.note,
        )
        return pb.AdvanceImprovementPlanResponse(plan=m.plan_message(plan, now().date()))

    def ListImprovementPlans(self, request, context):
        plans = self.use_cases.plans(
            request.subject_id.strip(), m.PLAN_STATE_OF.get(request.state, ""), request.overdue_only
        )
        today = now().date()
        return pb.ListImprovementPlansResponse(plans=[m.plan_message(p, today) for p in plans])

    # supervision
    def GetCommitmentCard(self, request, context):
        card, issued = self.supervision.commitment_card(
            normalise_licence(request.licence_number), request.on_date.strip()
        )
        return pb.GetCommitmentCardResponse(card=m.commitment_card_message(card), new_version=issued)

    def RecordFinding(self, request, context):
        finding = self.supervision.record_finding(m.finding_from(request.finding))
        return pb.RecordFindingResponse(finding=m.finding_message(finding))

    def RecordHearing(self, request, context):
        finding = self.supervision.record_hearing(request.finding_id.strip(), request.response)
        return pb.RecordHearingResponse(finding=m.finding_message(finding))

    def DecideFinding(self, request, context):
        finding, plan = self.supervision.decide_finding(
            request.finding_id.strip(),
            request.upheld,
            request.decided_by.strip(),
            request.note,
            request.open_plan,
        )
        response = pb.DecideFindingResponse(finding=m.finding_message(finding))
        if plan is not None:
            response.plan.CopyFrom(m.plan_message(plan, now().date()))
        return response

    def GetSupervisionReport(self, request, context):
        language = request.language.strip().lower()
        report = self.supervision.report(request.period_id.strip(), language)
        response = m.report_message(report)
        if language:
            response.pdf = report_pdf.render(report, language)
            response.filename = f"supervision-{report.period_id}-{language}.pdf"
        return response

    def ListFindings(self, request, context):
        findings = self.supervision.findings(
            request.staff_id.strip(), normalise_licence(request.licence_number), request.team_id.strip()
        )
        return pb.ListFindingsResponse(findings=[m.finding_message(f) for f in findings])

    # return visits
    def PlanReturnVisits(self, request, context):
        customers, tasks, version = self.return_visits.plan(
            request.period_id.strip(), [a.strip() for a in request.assignee_ids], request.due_on.strip()
        )
        today = now().date()
        return pb.PlanReturnVisitsResponse(
            customers=customers, tasks=[m.task_message(t, today) for t in tasks], rule_set_version=version
        )

    def RecordReturnVisitAnswer(self, request, context):
        task = self.return_visits.answer(
            request.task_id.strip(),
            request.answered_by.strip(),
            list(request.satisfaction),
            request.opinion,
            [(item.service.strip(), item.delivered) for item in request.delivered],
        )
        return pb.RecordReturnVisitAnswerResponse(task=m.task_message(task, now().date()))

    def ListReturnVisitTasks(self, request, context):
        tasks = self.return_visits.tasks(
            request.period_id.strip(), request.assignee_id.strip(), request.overdue_only
        )
        today = now().date()
        return pb.ListReturnVisitTasksResponse(tasks=[m.task_message(t, today) for t in tasks])
