"""The evaluation service process: its servicers and what it needs before SERVING."""

import functools
import pathlib

import grpc
from retailcare.evaluation.v1 import evaluation_pb2, evaluation_pb2_grpc

from services.classification.client import ClassificationClient
from services.common.leased_jobs import settling_time
from services.common.rules.hosting import prepare_rule_sets, register_rule_sets
from services.common.server import Runtime, ServiceDefinition
from services.complaints.client import ComplaintsClient
from services.evaluation.card_follower import start_follower
from services.evaluation.downstream import ClassificationDirectory, ComplaintsFigures
from services.evaluation.metrics import PeriodGauges, PlanGauges
from services.evaluation.rescoring_jobs import RescoringGauges, RescoringJobs, RescoringJobStore
from services.evaluation.return_visits import ReturnVisitPlanning
from services.evaluation.rules import RULE_SETS
from services.evaluation.service_layer import Evaluation
from services.evaluation.servicer import EvaluationServicer
from services.evaluation.storage import SqlUnitOfWork
from services.evaluation.supervision import Supervision

SERVICE_NAME = evaluation_pb2.DESCRIPTOR.services_by_name["EvaluationService"].full_name


def register(server: grpc.Server, runtime: Runtime) -> list[str]:
    names = register_rule_sets(server, runtime, RULE_SETS)
    classification = ClassificationClient.from_settings(runtime.settings)
    complaints = ComplaintsClient.from_settings(runtime.settings)
    runtime.on_stop(classification.close)
    runtime.on_stop(complaints.close)
    runtime.use_cases = Evaluation(
        functools.partial(SqlUnitOfWork, runtime.engine),
        runtime.rule_sets,
        ClassificationDirectory(classification),
        ComplaintsFigures(complaints),
    )
    supervision = Supervision(runtime.use_cases.unit_of_work, runtime.use_cases.directory, runtime.rule_sets)
    return_visits = ReturnVisitPlanning(
        runtime.use_cases.unit_of_work,
        runtime.rule_sets,
        runtime.use_cases.directory,
        supervision.commitment_card,
    )
    servicer = EvaluationServicer(
        runtime.use_cases, supervision, return_visits, RescoringJobStore(runtime.engine)
    )
    evaluation_pb2_grpc.add_EvaluationServiceServicer_to_server(servicer, server)
    return [SERVICE_NAME, *names]


def prepare(runtime: Runtime) -> None:
    prepare_rule_sets(runtime)
    runtime.register_collector(PlanGauges(runtime.use_cases.unit_of_work))
    runtime.register_collector(PeriodGauges(runtime.use_cases.unit_of_work))
    start_follower(runtime)
    _start_rescoring(runtime)


def _start_rescoring(runtime: Runtime) -> None:
    """Open periods follow each kpi-scoring activation (services/evaluation/rescoring_jobs.py)."""
    store = RescoringJobStore(runtime.engine)
    runtime.register_collector(RescoringGauges(store))
    settings = runtime.settings
    settling = settling_time(settings.job_settling_seconds, settings.rules_poll_seconds)
    jobs = RescoringJobs(store, runtime.rule_sets, runtime.use_cases, settings.rules_poll_seconds, settling)
    jobs.start()
    runtime.on_stop(jobs.stop)


definition = ServiceDefinition(
    name="evaluation",
    register=register,
    migrations_dir=pathlib.Path(__file__).parent / "migrations",
    prepare=prepare,
)
