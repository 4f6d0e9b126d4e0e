"""The complaints service process: its servicers, the escalation sweep, the jobs that move
open complaints onto a newly activated policy version, and what it needs before SERVING."""

import functools
import logging
import pathlib
import threading

import grpc
from retailcare.complaints.v1 import complaints_pb2, complaints_pb2_grpc

from services.common.leased_jobs import settling_time
from services.common.rules.hosting import prepare_rule_sets, register_rule_sets
from services.common.server import Runtime, ServiceDefinition
from services.complaints.calendar_source import ChineseCalendarLibrary
from services.complaints.customers import CustomerDirectory
from services.complaints.metrics import ComplaintGauges
from services.complaints.policy_jobs import FollowJobStore, PolicyFollowJobs
from services.complaints.ports import CalendarSource
from services.complaints.rules import RULE_SETS
from services.complaints.service_layer import Complaints
from services.complaints.servicer import ComplaintsServicer
from services.complaints.storage import SqlUnitOfWork

SERVICE_NAME = complaints_pb2.DESCRIPTOR.services_by_name["ComplaintsService"].full_name
log = logging.getLogger("retailcare.complaints")


def _register(calendar_source: CalendarSource, server: grpc.Server, runtime: Runtime) -> list[str]:
    names = register_rule_sets(server, runtime, RULE_SETS)
    directory = CustomerDirectory.from_settings(runtime.settings)
    engine = runtime.engine
    runtime.use_cases = Complaints(
        functools.partial(SqlUnitOfWork, engine), runtime.rule_sets, directory, calendar_source
    )
    runtime.on_stop(directory.close)
    complaints_pb2_grpc.add_ComplaintsServiceServicer_to_server(
        ComplaintsServicer(runtime.use_cases, FollowJobStore(engine)), server
    )
    return [SERVICE_NAME, *names]


def _sweep_forever(use_cases: Complaints, every: float, stop: threading.Event) -> None:
    while not stop.wait(every):
        try:
            use_cases.reload_calendar()  # another replica may have set a year
            verified = use_cases.verify_flagged()
            warned, escalations, _ = use_cases.sweep()
            if warned or escalations or verified:
                log.info(
                    "escalation sweep",
                    extra={"warned": warned, "escalations": escalations, "verified": verified},
                )
        except Exception:
            log.exception("escalation sweep failed; the next one retries")


def prepare(runtime: Runtime) -> None:
    prepare_rule_sets(runtime)
    use_cases = runtime.use_cases
    use_cases.load_calendar()
    use_cases.sweep()  # catches up on whatever fell due while the service was down
    stop = threading.Event()
    sweeper = threading.Thread(
        target=_sweep_forever, args=(use_cases, runtime.settings.escalation_sweep_seconds, stop), daemon=True
    )
    sweeper.start()
    runtime.on_stop(lambda: (stop.set(), sweeper.join(10)))
    runtime.register_collector(ComplaintGauges(runtime.engine))
    settings = runtime.settings
    jobs = PolicyFollowJobs(
        FollowJobStore(runtime.engine),
        runtime.rule_sets,
        use_cases,
        settings.rules_poll_seconds,
        settling=settling_time(settings.job_settling_seconds, settings.rules_poll_seconds),
    )
    jobs.start()
    runtime.on_stop(jobs.stop)


def definition_for(calendar_source: CalendarSource) -> ServiceDefinition:
    """The complaints process with its official calendar years from ``calendar_source``
    (a test passes one that lacks a year)."""
    return ServiceDefinition(
        name="complaints",
        register=functools.partial(_register, calendar_source),
        migrations_dir=pathlib.Path(__file__).parent / "migrations",
        prepare=prepare,
    )


definition = definition_for(ChineseCalendarLibrary())
