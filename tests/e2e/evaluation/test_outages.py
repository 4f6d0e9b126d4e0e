"""Classification or complaints unreachable: cards are still recorded (checked later);
a period run fails with UNAVAILABLE naming the service and changes nothing."""

import datetime
import time

import grpc
import pytest
from retailcare.evaluation.v1 import evaluation_pb2 as pb

from services.common import times
from services.common.clients import RECONNECT_BACKOFF_MS
from tests.e2e.evaluation.conftest import set_up_people, stamp

T = 10


def run(ev):
    return ev.RunPeriodEvaluation(pb.RunPeriodEvaluationRequest(period_id="2026", run_by="hr-1"), timeout=30)


def once_found_again(call, answered=lambda answer: True):
    """``call`` right after a service comes back: the evaluation service finds it again
    within its reconnection back-off (about a second at most), not necessarily at once."""
    give_up = time.monotonic() + 30 * RECONNECT_BACKOFF_MS[1] / 1000  # generous on a loaded machine
    while True:
        try:
            answer = call()
        except grpc.RpcError as error:
            if error.code() != grpc.StatusCode.UNAVAILABLE or time.monotonic() > give_up:
                raise
        else:
            if answered(answer) or time.monotonic() > give_up:
                return answer
        time.sleep(0.1)


def test_cards_wait_for_classification_and_runs_name_the_missing_service(pack):
    visited = stamp(times.now() - datetime.timedelta(days=1))
    with pack.evaluation() as ev:
        set_up_people(ev)
        card = ev.RecordVisitCard(
            pb.RecordVisitCardRequest(
                staff_id="cm-1",
                licence_number="L-1",
                visited_at=visited,
                items=[pb.VisitItem(service="customer_manager_visit", steps_done=[1])],
            ),
            timeout=T,
        ).card
        assert not card.checked and card.omissions == [] and card.entitlements_version == 0

        with pytest.raises(grpc.RpcError) as down:
            run(ev)
        assert down.value.code() == grpc.StatusCode.UNAVAILABLE and "classification" in down.value.details()
        assert ev.GetPeriod(pb.GetPeriodRequest(id="2026"), timeout=T).period.runs == 0
        team = ev.GetTeam(pb.GetTeamRequest(team_id="team-1"), timeout=T)
        assert team.zones_unavailable and len(team.members) == 4

        with pack.classification():
            checked = once_found_again(
                lambda: ev.CheckVisitCards(pb.CheckVisitCardsRequest(), timeout=T),
                lambda answer: answer.checked,
            )
            assert (checked.checked, checked.still_unchecked) == (1, 0)
            (card,) = ev.ListVisitCards(pb.ListVisitCardsRequest(staff_id="cm-1"), timeout=T).cards
            assert card.checked and card.entitlements_version == 1
            assert ("customer_manager_visit", 2) in {(o.service, o.step) for o in card.omissions}

            with pytest.raises(grpc.RpcError) as down:
                run(ev)  # complaints is not running
            assert down.value.code() == grpc.StatusCode.UNAVAILABLE and "complaints" in down.value.details()
            with pack.complaints():
                assert once_found_again(lambda: run(ev)).staff_scored == 8
            before = ev.ListPeriodResults(pb.ListPeriodResultsRequest(period_id="2026"), timeout=T).results
            with pytest.raises(grpc.RpcError) as down:
                run(ev)
            assert down.value.code() == grpc.StatusCode.UNAVAILABLE
            after = ev.ListPeriodResults(pb.ListPeriodResultsRequest(period_id="2026"), timeout=T).results
            assert after == before
            assert ev.GetPeriod(pb.GetPeriodRequest(id="2026"), timeout=T).period.runs == 1
