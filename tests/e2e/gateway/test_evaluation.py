"""Evaluation through the gateway: visit cards (one with an omission) and a period run
relayed, the profile's recent visits and the composed team overview."""

import datetime

import grpc
import pytest
from google.protobuf import timestamp_pb2
from retailcare.classification.v1 import classification_pb2 as cpb
from retailcare.evaluation.v1 import evaluation_pb2 as epb
from retailcare.gateway.v1 import gateway_pb2 as pb

from services.common import times
from tests.e2e.gateway.conftest import complaint

COMPLETE, PARTIAL = "110101100001", "110101100002"


def _visit_moment() -> datetime.datetime:
    """Five minutes ago on the services' clock; the period is that moment's month, so a
    run in the first minutes of a month still finds the visit in its period."""
    return times.now() - datetime.timedelta(minutes=5)


def _period() -> tuple[str, str, str]:
    today = _visit_moment().date()
    first = today.replace(day=1)
    last = (first + datetime.timedelta(days=32)).replace(day=1) - datetime.timedelta(days=1)
    return f"{today:%Y-%m}", first.isoformat(), last.isoformat()


def _now() -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(_visit_moment())
    return stamp


def _items(menu, skip_a_step: bool) -> list:
    """A card item for every service of the menu, every step done, except (when asked)
    the last step of the first service with more than one step."""
    items, skipped = [], False
    for item in menu.items:
        steps = list(range(1, len(item.description.procedure_steps) + 1))
        if skip_a_step and not skipped and len(steps) > 1:
            steps, skipped = steps[:-1], True
        items.append(epb.VisitItem(service=item.description.service, steps_done=steps))
    assert skipped or not skip_a_step, "no service with several steps on the menu"
    return items


@pytest.fixture
def team(service):
    """team-1 with its customer manager, this month's period, a complete visit, a visit
    skipping one step, and an open complaint; all through the gateway."""
    period_id, starts, ends = _period()
    service(
        service.evaluation.UpsertStaff,
        epb.UpsertStaffRequest(
            staff=epb.Staff(
                id="manager-9", name="Li", role="customer_manager", line="customer_service", active=True
            )
        ),
    )
    service(service.evaluation.UpsertTeam, epb.UpsertTeamRequest(team=epb.Team(id="team-1", name="Old town")))
    service(
        service.evaluation.AssignTeamMember,
        epb.AssignTeamMemberRequest(
            staff_id="manager-9", team_id="team-1", specialty="customer_communication", from_date="2025-01-01"
        ),
    )
    service(
        service.evaluation.CreatePeriod,
        epb.CreatePeriodRequest(
            period=epb.Period(id=period_id, kind="month", starts_on=starts, ends_on=ends)
        ),
    )
    for licence in (COMPLETE, PARTIAL):
        menu = service(
            service.classification.GetServiceMenu, cpb.GetServiceMenuRequest(licence_number=licence)
        )
        service(
            service.evaluation.RecordVisitCard,
            epb.RecordVisitCardRequest(
                staff_id="manager-9",
                licence_number=licence,
                visited_at=_now(),
                items=_items(menu, skip_a_step=licence == PARTIAL),
            ),
        )
    service(service.gateway.FileComplaint, complaint("k-1", licence=PARTIAL))
    return period_id


def test_the_profile_shows_recent_visits_with_their_omissions(service, team):
    profile = service(
        service.gateway.GetCustomerProfile, pb.GetCustomerProfileRequest(licence_number=PARTIAL)
    )
    assert len(profile.recent_visits) == 1 and not profile.missing_parts
    card = profile.recent_visits[0]
    assert card.staff_id == "manager-9" and card.checked
    assert len(card.omissions) == 1 and card.omissions[0].step > 1


def test_the_team_overview_composes_customers_visits_complaints_and_results(service, team):
    ran = service(
        service.evaluation.RunPeriodEvaluation, epb.RunPeriodEvaluationRequest(period_id=team, run_by="ops")
    )
    assert ran.teams_scored >= 1
    overview = service(
        service.gateway.GetTeamOverview, pb.GetTeamOverviewRequest(team_id="team-1", period_id=team)
    )
    assert overview.team.id == "team-1" and overview.period.id == team
    assert overview.customers == 2 == sum(level.customers for level in overview.customers_by_star_level)
    assert (overview.visits, overview.visits_with_omissions, overview.omissions) == (2, 1, 1)
    assert (overview.open_complaints, overview.overdue_complaints) == (1, 0)
    assert overview.team_result.subject_id == "team-1"
    assert [result.subject_id for result in overview.member_results] == ["manager-9"]
    assert not overview.missing_parts


def test_without_evaluation_visits_are_a_missing_part_and_the_overview_unavailable(pack, service, team):
    pack.stop("evaluation")
    profile = service(
        service.gateway.GetCustomerProfile, pb.GetCustomerProfileRequest(licence_number=PARTIAL)
    )
    assert [(m.part, m.service) for m in profile.missing_parts] == [("recent_visits", "evaluation")]
    with pytest.raises(grpc.RpcError) as refused:
        service(service.gateway.GetTeamOverview, pb.GetTeamOverviewRequest(team_id="team-1", period_id=team))
    assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
    assert "evaluation unavailable" in refused.value.details()


def test_without_complaints_the_overview_lists_its_missing_part(pack, service, team):
    pack.stop("complaints")
    overview = service(
        service.gateway.GetTeamOverview, pb.GetTeamOverviewRequest(team_id="team-1", period_id=team)
    )
    assert [(m.part, m.service) for m in overview.missing_parts] == [("open_complaints", "complaints")]
    assert overview.customers == 2 and overview.visits == 2


def test_an_unknown_team_is_not_found(service):
    with pytest.raises(grpc.RpcError) as missing:
        service(
            service.gateway.GetTeamOverview, pb.GetTeamOverviewRequest(team_id="nope", period_id="2026-01")
        )
    assert missing.value.code() == grpc.StatusCode.NOT_FOUND
