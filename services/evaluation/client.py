"""The client of the evaluation contract, used by every service that asks it."""

from __future__ import annotations

from retailcare.evaluation.v1 import evaluation_pb2 as pb
from retailcare.evaluation.v1 import evaluation_pb2_grpc

from services.common.clients import ServiceClient


class EvaluationClient(ServiceClient):
    SERVICE = "evaluation"
    CONTRACT = pb.DESCRIPTOR.services_by_name["EvaluationService"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._stub = evaluation_pb2_grpc.EvaluationServiceStub(self.channel)

    def run_period_evaluation(self, period_id: str, run_by: str) -> pb.RunPeriodEvaluationResponse:
        return self.call(
            self._stub.RunPeriodEvaluation, pb.RunPeriodEvaluationRequest(period_id=period_id, run_by=run_by)
        )

    def get_team_overview(self, team_id: str, period_id: str) -> pb.GetTeamOverviewResponse:
        return self.call(
            self._stub.GetTeamOverview, pb.GetTeamOverviewRequest(team_id=team_id, period_id=period_id)
        )

    def get_team(self, team_id: str) -> pb.GetTeamResponse:
        return self.call(self._stub.GetTeam, pb.GetTeamRequest(team_id=team_id))

    def list_visit_cards(self, request: pb.ListVisitCardsRequest) -> pb.ListVisitCardsResponse:
        return self.call(self._stub.ListVisitCards, request)

    def get_period(self, period_id: str) -> pb.GetPeriodResponse:
        return self.call(self._stub.GetPeriod, pb.GetPeriodRequest(id=period_id))

    def list_period_results(
        self, period_id: str, subject_kind: str = "", team_id: str = ""
    ) -> pb.ListPeriodResultsResponse:
        request = pb.ListPeriodResultsRequest(period_id=period_id, subject_kind=subject_kind, team_id=team_id)
        return self.call(self._stub.ListPeriodResults, request)

    def list_improvement_plans(
        self, subject_id: str = "", overdue_only: bool = False
    ) -> pb.ListImprovementPlansResponse:
        request = pb.ListImprovementPlansRequest(subject_id=subject_id, overdue_only=overdue_only)
        return self.call(self._stub.ListImprovementPlans, request)

    def record_visit_card(self, request: pb.RecordVisitCardRequest) -> pb.RecordVisitCardResponse:
        return self.call(self._stub.RecordVisitCard, request)

    def submit_rating(self, rating: pb.Rating) -> pb.SubmitRatingResponse:
        return self.call(self._stub.SubmitRating, pb.SubmitRatingRequest(rating=rating))

    def get_commitment_card(self, licence_number: str, on_date: str = "") -> pb.GetCommitmentCardResponse:
        request = pb.GetCommitmentCardRequest(licence_number=licence_number, on_date=on_date)
        return self.call(self._stub.GetCommitmentCard, request)

    def record_finding(self, finding: pb.Finding) -> pb.RecordFindingResponse:
        return self.call(self._stub.RecordFinding, pb.RecordFindingRequest(finding=finding))

    def record_hearing(self, finding_id: str, response: str) -> pb.RecordHearingResponse:
        request = pb.RecordHearingRequest(finding_id=finding_id, response=response)
        return self.call(self._stub.RecordHearing, request)

    def decide_finding(self, request: pb.DecideFindingRequest) -> pb.DecideFindingResponse:
        return self.call(self._stub.DecideFinding, request)

    def list_findings(self, request: pb.ListFindingsRequest) -> pb.ListFindingsResponse:
        return self.call(self._stub.ListFindings, request)
