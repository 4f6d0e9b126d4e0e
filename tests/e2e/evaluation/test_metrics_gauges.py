"""The evaluation gauge the alerts watch, as a real server's /metrics reports it: periods
whose end date has passed and that are not published. The clock is set, so the test does
not depend on today."""

import datetime
import re
import urllib.request

from retailcare.evaluation.v1 import evaluation_pb2 as pb

from tests.e2e.evaluation.conftest import set_up_people

UNPUBLISHED = "evaluation_periods_unpublished_past_end"


def gauge(pack, name: str) -> float:
    port = pack.settings.http_port("evaluation")
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    found = re.findall(rf"^{name} (\S+)$", text, re.MULTILINE)
    assert len(found) == 1, f"{name} reported {len(found)} times"
    return float(found[0])


def _month(stub, period_id: str, starts: str, ends: str) -> None:
    stub.CreatePeriod(
        pb.CreatePeriodRequest(period=pb.Period(id=period_id, kind="month", starts_on=starts, ends_on=ends)),
        timeout=10,
    )


def test_periods_count_once_their_last_day_is_over_until_published(pack, stubs, clock):
    ev, _, _ = stubs
    clock.set(datetime.datetime(2026, 11, 30, 23, 59, tzinfo=datetime.UTC))
    assert gauge(pack, UNPUBLISHED) == 0
    set_up_people(ev, period_kind="month", period_id="2026-10", starts="2026-10-01", ends="2026-10-31")
    _month(ev, "2026-11", "2026-11-01", "2026-11-30")
    _month(ev, "2026-12", "2026-12-01", "2026-12-31")
    assert gauge(pack, UNPUBLISHED) == 1  # October; November's last day is not over yet

    clock.set(datetime.datetime(2026, 12, 1, 0, 1, tzinfo=datetime.UTC))
    assert gauge(pack, UNPUBLISHED) == 2

    ev.RunPeriodEvaluation(pb.RunPeriodEvaluationRequest(period_id="2026-10", run_by="hr-1"), timeout=30)
    assert gauge(pack, UNPUBLISHED) == 2  # run, not yet published
    ev.PublishPeriod(pb.PublishPeriodRequest(id="2026-10", published_by="director"), timeout=10)
    assert gauge(pack, UNPUBLISHED) == 1

    clock.set(datetime.datetime(2027, 1, 1, 0, 1, tzinfo=datetime.UTC))
    assert gauge(pack, UNPUBLISHED) == 2  # November and December
