"""Following, from the command line, the job that brings a service's stored results to the
active version of a rule set (services/common/leased_jobs.py): one line with a progress
bar, and with ``--watch`` a new line whenever it moves, until the job of the active
version has ended. The service says how to read its latest job and what it counts."""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

import grpc
from retailcare.rules.v1 import rule_sets_pb2, rule_sets_pb2_grpc

from services.common.rules.cli import CALL_TIMEOUT_SECONDS, CliError, call_service, connection

WIDTH = 30


def bar(done: int, total: int, width: int = WIDTH) -> str:
    """``[#####-----]``: full when there is nothing to do."""
    filled = min(width, width * done // total) if total else width
    return "[" + "#" * filled + "-" * (width - filled) + "]"


@dataclass(frozen=True)
class JobView:
    """What a service's job command shows: ``what`` the job is ("reclassification"),
    ``service`` owning the rule set, ``latest(args, rule_set)`` its newest job message
    or None, ``line(job)`` the progress line, ``fields`` its counts for ``--json``, and
    ``when_absent``: why a job may not start (added to the error after ``--start-within``)."""

    what: str
    service: str
    latest: Callable
    line: Callable
    fields: tuple[str, ...]
    when_absent: str = ""


def latest_job(args, service: str, stub_type, method: str, request):
    """The ``job`` of ``service``'s ``method`` reply (a JobView's ``latest``), or None
    while there is none yet (NOT_FOUND); any other failure is a one-line CliError."""
    conn = connection(args)
    call = getattr(conn.stub(service, stub_type), method)
    try:
        return call(request, timeout=CALL_TIMEOUT_SECONDS, metadata=conn.metadata).job
    except grpc.RpcError as error:
        if error.code() == grpc.StatusCode.NOT_FOUND:
            return None
        raise conn.failure(service, error) from None


def watch(args, view: JobView) -> int:
    """The job of the active version of ``args.name``; ``--watch``: until it has ended,
    waiting up to ``--start-within`` seconds for it to start (it starts within
    ``rules_poll_seconds`` of an activation) and following a newer activation."""
    started_by = time.monotonic() + args.start_within
    shown = None
    while True:
        active = call_service(
            args,
            view.service,
            rule_sets_pb2_grpc.RuleSetAdminStub,
            "GetRuleSetVersion",
            rule_sets_pb2.GetRuleSetVersionRequest(rule_set=args.name),
        ).version.version
        job = view.latest(args, args.name)
        current = job is not None and job.version == active
        if not args.watch or (current and job.state != "running"):
            break
        if not current and time.monotonic() > started_by:
            absent = f" ({view.when_absent})" if view.when_absent else ""
            raise CliError(
                f"no {view.what} job for {args.name} version {active} started within "
                f"{args.start_within:g} s{absent}"
            )
        if current and not args.json and view.line(job) != shown:
            shown = view.line(job)
            print(shown, flush=True)
        time.sleep(args.interval)
    if args.json:
        fields = {name: getattr(job, name) for name in ("version", "state", *view.fields)} if job else None
        print(json.dumps({"rule_set": args.name, "active_version": active, "job": fields}, indent=2))
    elif current:
        if view.line(job) != shown:
            print(view.line(job))
    elif job is None:
        print(f"{args.name}: version {active} is active; no {view.what} job has started yet")
    else:
        print(view.line(job))
        print(f"{args.name}: version {active} is active; its {view.what} job has not started yet")
    if args.watch and job.state != "completed":
        print(f"retailcare: the {view.what} of version {active} ended {job.state}", file=sys.stderr)
        return 1
    return 0


def _seconds(minimum: float, above: bool):
    """An argparse type: a finite number of seconds above (or at least) ``minimum``."""
    wanted = f"more than {minimum:g}" if above else f"at least {minimum:g}"

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not math.isfinite(value) or value < minimum or (above and value == minimum):
            raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds {wanted}")
        return value

    return parse


def add_watch_options(command) -> None:
    """``--watch``, ``--interval``, ``--start-within`` and ``--json`` of a job command."""
    command.add_argument("--watch", action="store_true", help="print its progress until it is done")
    command.add_argument(
        "--interval", type=_seconds(0, above=True), default=1.0, help="seconds between looks with --watch"
    )
    command.add_argument(
        "--start-within",
        type=_seconds(0, above=False),
        default=60.0,
        metavar="SECONDS",
        help="with --watch, how long the job of the active version may take to start (default 60)",
    )
    command.add_argument("--json", action="store_true", help="print JSON instead of a line")
