"""The re-scoring job end to end on SQLite and PostgreSQL: publishing a kpi-scoring version
that changes a team's score brings every open period with results to it by itself (the
job's progress through GetRescoringJob and /metrics), a published period keeps its
version; while the job cannot run (complaints down) reads say a newer version is active,
and a newer activation meanwhile cancels the job and replaces it."""

from __future__ import annotations

import json
import re
import urllib.request

import grpc
import pytest
from retailcare.evaluation.v1 import evaluation_pb2 as pb
from retailcare.evaluation.v1 import evaluation_pb2_grpc
from retailcare.rules.v1 import rule_sets_pb2 as rules_pb
from retailcare.rules.v1 import rule_sets_pb2_grpc

from services.composition import main
from services.evaluation.rules import KPI_SCORING
from tests.e2e.evaluation.conftest import set_up_people
from tests.support import waiting

T = 30
WAIT = 120  # seconds: conditions are polled, never slept on
MEMBERS_RULE = (
    "{indicator: members_score, category: process, kind: quantitative, scope: internal, weight: 50,"
)


def members_weighing(weight: int) -> str:
    """The shipped document with the team's members_score weighing ``weight`` instead of 50."""
    source = KPI_SCORING.default_path.read_text(encoding="utf-8")
    changed = source.replace(MEMBERS_RULE, MEMBERS_RULE.replace("weight: 50,", f"weight: {weight},")).replace(
        "members_score: {weight: 50}", f"members_score: {{weight: {weight}}}"
    )
    assert changed.count(f"weight: {weight}") >= 2
    return changed


def publish(admin, source: str, comment: str) -> int:
    request = rules_pb.PublishRuleSetRequest(source=source, author="analyst", comment=comment)
    return admin.PublishRuleSet(request, timeout=T).version.version


def wait_for(condition, what: str):
    return waiting.wait_for(condition, what, WAIT)


def job(ev) -> pb.RescoringJob:
    return ev.GetRescoringJob(pb.GetRescoringJobRequest(), timeout=T).job


def job_of(ev, version: int, state: str) -> pb.RescoringJob | None:
    try:
        current = job(ev)
    except grpc.RpcError as error:
        if error.code() != grpc.StatusCode.NOT_FOUND:  # no job yet
            raise
        return None
    return current if (current.version, current.state) == (version, state) else None


def team_result(ev, period_id: str) -> pb.Result:
    results = ev.ListPeriodResults(
        pb.ListPeriodResultsRequest(period_id=period_id, subject_kind="team"), timeout=T
    ).results
    return next(r for r in results if r.subject_id == "team-1")


def scored(ev, period_id: str) -> tuple[int, int, bool]:
    s = ev.GetPeriod(pb.GetPeriodRequest(id=period_id), timeout=T).period.scored_on
    return s.rule_set_version, s.active_rule_set_version, s.newer_version_active


def set_up(ev) -> None:
    """Periods 2026 and 2026-Q1 open with results, 2025 published; the team has a sales
    figure, so its total depends on how much its members' score weighs."""
    set_up_people(ev)
    for period_id, kind, starts, ends in (
        ("2026-Q1", "quarter", "2026-01-01", "2026-03-31"),
        ("2025", "year", "2025-01-01", "2025-12-31"),
    ):
        ev.CreatePeriod(
            pb.CreatePeriodRequest(period=pb.Period(id=period_id, kind=kind, starts_on=starts, ends_on=ends)),
            timeout=T,
        )
    for period_id in ("2026", "2026-Q1", "2025"):
        ev.RecordActuals(
            pb.RecordActualsRequest(
                period_id=period_id,
                actuals=[
                    pb.Actual(subject_kind="team", subject_id="team-1", sales_actual=50, sales_target=100)
                ],
            ),
            timeout=T,
        )
        ev.RunPeriodEvaluation(pb.RunPeriodEvaluationRequest(period_id=period_id, run_by="hr-1"), timeout=60)
    ev.PublishPeriod(pb.PublishPeriodRequest(id="2025", published_by="hr-1"), timeout=T)


def metric(port: int, name: str, **labels) -> float | None:
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    wanted = ",".join(f'{key}="{value}"' for key, value in sorted(labels.items()))
    for line in text.splitlines():
        match = re.fullmatch(rf"{name}(?:\{{(.*)\}})? (\S+)", line)
        if match and ",".join(sorted((match.group(1) or "").split(","))) == wanted:
            return float(match.group(2))
    return None


def test_an_activation_brings_open_periods_to_it_and_published_ones_stay(pack, monkeypatch, capsys):
    with pack.classification(), pack.complaints(), pack.service("evaluation") as channel:
        ev = evaluation_pb2_grpc.EvaluationServiceStub(channel)
        admin = rule_sets_pb2_grpc.RuleSetAdminStub(channel)
        first = wait_for(lambda: job_of(ev, 1, "completed"), "the job of the shipped version ends")
        assert (first.total, first.changed, first.failed) == (0, 0, 0)  # nothing to re-score at start
        set_up(ev)
        before = {period_id: team_result(ev, period_id) for period_id in ("2026", "2026-Q1", "2025")}
        assert {r.rule_set_version for r in before.values()} == {1}

        assert publish(admin, members_weighing(80), "members weigh more") == 2
        done = wait_for(lambda: job_of(ev, 2, "completed"), "the job of version 2 completes")
        assert (done.total, done.done, done.failed) == (2, 2, 0)  # the two open periods
        assert done.changed == 2 and done.lease_owner == ""

        for period_id in ("2026", "2026-Q1"):
            after = team_result(ev, period_id)
            assert after.rule_set_version == 2 and scored(ev, period_id) == (2, 2, False)
            weights = {line.indicator: line.weight for line in after.indicators}
            assert weights["members_score"] == 80
            assert after.total_score != pytest.approx(before[period_id].total_score)
            # The same score a run by hand gives on version 2.
            ev.RunPeriodEvaluation(
                pb.RunPeriodEvaluationRequest(period_id=period_id, run_by="hr-1"), timeout=60
            )
            by_hand = team_result(ev, period_id)
            assert by_hand.total_score == pytest.approx(after.total_score)
        published = team_result(ev, "2025")
        assert published.rule_set_version == 1 and published.total_score == before["2025"].total_score
        assert scored(ev, "2025") == (1, 2, False)

        # The CLI's progress line and its JSON.
        monkeypatch.setenv(
            "RETAILCARE_EVALUATION_TARGET", f"127.0.0.1:{pack.settings.grpc_port('evaluation')}"
        )
        assert main(["rules", "rescoring", "kpi-scoring", "--watch", "--interval", "0.1"]) == 0
        assert capsys.readouterr().out == (
            f"kpi-scoring version 2 completed [{'#' * 30}] 2/2 open periods, changed 2, failed 0\n"
        )
        assert main(["rules", "rescoring", "--json"]) == 0
        shown = json.loads(capsys.readouterr().out)
        assert shown == {
            "rule_set": "kpi-scoring",
            "active_version": 2,
            "job": {"version": 2, "state": "completed", "total": 2, "done": 2, "changed": 2, "failed": 0},
        }

        port = pack.settings.http_port("evaluation")
        assert metric(port, "evaluation_rescoring_job_periods", version="2", progress="done") == 2
        assert metric(port, "evaluation_rescoring_job_periods", version="2", progress="changed") == 2
        assert metric(port, "evaluation_rescoring_job_running") == 0
        assert metric(port, "evaluation_rescoring_jobs_total", outcome="completed") >= 1


def test_a_newer_activation_replaces_a_job_that_cannot_run_and_reads_say_so(pack, monkeypatch, capsys):
    with pack.classification(), pack.service("evaluation") as channel:
        ev = evaluation_pb2_grpc.EvaluationServiceStub(channel)
        admin = rule_sets_pb2_grpc.RuleSetAdminStub(channel)
        with pack.complaints():
            set_up(ev)
        # Complaints is down: a run cannot be made, so the job of version 2 waits, running.
        publish(admin, members_weighing(80), "members weigh more")
        waiting = wait_for(lambda: job_of(ev, 2, "running"), "the job of version 2 starts")
        assert waiting.done == 0
        wait_for(lambda: scored(ev, "2026") == (1, 2, True), "reads say version 2 is active")
        assert team_result(ev, "2026").rule_set_version == 1
        monkeypatch.setenv(
            "RETAILCARE_EVALUATION_TARGET", f"127.0.0.1:{pack.settings.grpc_port('evaluation')}"
        )
        assert main(["rules", "rescoring"]) == 0
        assert capsys.readouterr().out.startswith("kpi-scoring version 2 running [")

        publish(admin, members_weighing(70), "members weigh a little less")
        replacing = wait_for(lambda: job_of(ev, 3, "running"), "the job of version 3 replaces it")
        assert replacing.id != waiting.id
        assert scored(ev, "2026") == (1, 3, True)

        with pack.complaints():
            done = wait_for(lambda: job_of(ev, 3, "completed"), "the job of version 3 completes")
            assert (done.done, done.changed, done.failed) == (2, 2, 0)
        for period_id in ("2026", "2026-Q1"):
            result = team_result(ev, period_id)
            assert result.rule_set_version == 3 and scored(ev, period_id) == (3, 3, False)
            assert {line.indicator: line.weight for line in result.indicators}["members_score"] == 70
        assert team_result(ev, "2025").rule_set_version == 1
