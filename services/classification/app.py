"""The classification service process: its servicers and what it needs before SERVING."""

import pathlib

import grpc
from retailcare.classification.v1 import classification_pb2, classification_pb2_grpc

from services.classification import storage
from services.classification.change_feed import ClassificationChanges
from services.classification.job_store import JobStore
from services.classification.metrics import CustomerGauges
from services.classification.reclassification_job import JobReads, ReclassificationJobs
from services.classification.rules import RULE_SETS, RegistryRuleSets
from services.classification.service_layer import ClassificationUseCases
from services.classification.servicer import ClassificationServicer
from services.common.leased_jobs import settling_time
from services.common.rules.hosting import prepare_rule_sets, register_rule_sets
from services.common.server import Runtime, ServiceDefinition

SERVICE_NAME = classification_pb2.DESCRIPTOR.services_by_name["ClassificationService"].full_name


def register(server: grpc.Server, runtime: Runtime) -> list[str]:
    names = register_rule_sets(server, runtime, RULE_SETS)
    runtime.use_cases = ClassificationUseCases(
        storage.unit_of_work_factory(runtime.engine),
        RegistryRuleSets(runtime.rule_sets),
        runtime.settings.descriptions_cache_seconds,
    )
    classification_pb2_grpc.add_ClassificationServiceServicer_to_server(
        ClassificationServicer(
            runtime.use_cases,
            JobReads(JobStore(runtime.engine)),
            ClassificationChanges(
                runtime.engine, runtime.settings.max_message_bytes, runtime.use_cases.menu_descriptions
            ),
        ),
        server,
    )
    return [SERVICE_NAME, *names]


def prepare(runtime: Runtime) -> None:
    prepare_rule_sets(runtime)
    runtime.use_cases.load_service_catalogue()
    runtime.register_collector(CustomerGauges(lambda: storage.active_customer_counts(runtime.engine)))
    if runtime.settings.reclassification_batch_size > 0:
        jobs = ReclassificationJobs(
            JobStore(runtime.engine),
            runtime.rule_sets,
            runtime.use_cases,
            runtime.settings.reclassification_batch_size,
            runtime.settings.rules_poll_seconds,
            settling_time(runtime.settings.job_settling_seconds, runtime.settings.rules_poll_seconds),
        )
        jobs.start()
        runtime.on_stop(jobs.stop)


definition = ServiceDefinition(
    name="classification",
    register=register,
    migrations_dir=pathlib.Path(__file__).parent / "migrations",
    prepare=prepare,
    # Calls of one customer (or one page of them) on the few call threads; previews, imports,
    # reclassification, rule-set administration, the change feed and health on the others.
    short_calls=frozenset(
        f"/{SERVICE_NAME}/{method}"
        for method in (
            "CreateCustomer",
            "UpdateCustomer",
            "GetCustomer",
            "ListCustomers",
            "DeactivateCustomer",
            "ClassifyCustomer",
            "ExplainClassification",
            "ListClassificationHistory",
            "GetServiceMenu",
        )
    ),
)
