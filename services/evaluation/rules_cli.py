"""The evaluation service's part of ``retailcare rules``: ``rescoring`` (the job that runs
every open period with results again on the active kpi-scoring version, ``--watch``
until it is done)."""

from __future__ import annotations

from retailcare.evaluation.v1 import evaluation_pb2 as pb
from retailcare.evaluation.v1 import evaluation_pb2_grpc

from services.common.job_watch import JobView, add_watch_options, bar, latest_job, watch
from services.common.rules.cli import connection_parents, rules_commands, served
from services.evaluation.service_layer import RULE_SET

SERVICE = "evaluation"


def _latest_job(args, rule_set: str) -> pb.RescoringJob | None:
    stub = evaluation_pb2_grpc.EvaluationServiceStub
    return latest_job(args, SERVICE, stub, "GetRescoringJob", pb.GetRescoringJobRequest())


def job_line(job: pb.RescoringJob) -> str:
    return (
        f"{RULE_SET} version {job.version} {job.state} {bar(job.done, job.total)} "
        f"{job.done}/{job.total} open periods, changed {job.changed}, failed {job.failed}"
    )


RESCORING = JobView(
    what="re-scoring",
    service=SERVICE,
    latest=_latest_job,
    line=job_line,
    fields=("total", "done", "changed", "failed"),
)


def add_rules_commands(commands) -> None:
    sub, _ = rules_commands(commands)
    rescoring = sub.add_parser(
        "rescoring",
        parents=connection_parents(commands),
        help="the job bringing every open period with results to the active kpi-scoring version",
    )
    rescoring.add_argument("name", nargs="?", default=RULE_SET, choices=[RULE_SET])
    add_watch_options(rescoring)
    rescoring.set_defaults(run=served(lambda args: watch(args, RESCORING)))
