"""``retailcare customers import FILE``: customers from CSV or XLSX into the classification
service, in batches over one streaming call, with a progress line; row errors are listed
and every good row is kept (straight to classification, with TLS and the service token
when configured, or through the gateway with ``--gateway``). ``retailcare customers reclassify-status``: the automatic
reclassification job of each rule set, with a progress bar (``--watch`` until done)."""

from __future__ import annotations

import pathlib
import sys
import time

import grpc
from retailcare.classification.v1 import classification_pb2 as pb
from retailcare.classification.v1 import classification_pb2_grpc

from services.classification import domain
from services.classification.domain import ENTITLEMENTS_RULE_SET, GRADING_RULE_SET
from services.common.rules.cli import CliError, connection, connection_options, served
from services.common.rules.tables import read_rows


def _row_message(number: int, row: dict[str, str], errors: list) -> pb.CustomerInput | None:
    """A row read as text, each column converted by its declared type; a row with a value
    that does not fit is refused with its number and field (and not sent)."""
    unknown = sorted(set(row) - set(domain.FIELDS))
    if unknown:
        errors.append((number, unknown[0], f"unknown column {unknown[0]!r}"))
        return None
    values = {}
    for name, text in row.items():
        try:
            values[name] = domain.value_from_text(domain.FIELDS[name], text)
        except ValueError as problem:
            errors.append((number, name, str(problem)))
            return None
    return pb.CustomerInput(**values)


def cmd_import(args) -> int:
    path = pathlib.Path(args.file)
    try:
        rows = read_rows(path, as_text=True)
    except OSError as error:
        raise CliError(f"cannot read {args.file}: {error.strerror}") from None
    except ValueError as error:
        raise CliError(str(error)) from None
    local_errors: list = []
    messages = [(n, m) for n, row in rows if (m := _row_message(n, row, local_errors)) is not None]

    def batches():
        for start in range(0, len(messages), args.batch_size):
            chunk = messages[start : start + args.batch_size]
            yield pb.ImportCustomersRequest(
                rows=[m for _, m in chunk],
                row_numbers=[n for n, _ in chunk],
                update_existing=args.update_existing,
            )

    created = updated = done = 0
    errors = list(local_errors)
    total = len(rows)
    replies = connection(args).call(
        "classification",
        classification_pb2_grpc.ClassificationServiceStub,
        "ImportCustomers",
        batches(),
        stream=True,
    )
    for reply in replies:
        created, updated, done = created + reply.created, updated + reply.updated, done + reply.rows_done
        errors.extend((e.row, e.field, e.message) for e in reply.errors)
        if done % args.batch_size == 0 or done == len(messages):
            _progress(done + len(local_errors), total, created, updated, len(errors))
    print(file=sys.stderr)
    for number, field, message in sorted(errors):
        print(f"row {number}: {field}: {message}", file=sys.stderr)
    print(
        f"imported {path.name}: {created} created, {updated} updated, {len({e[0] for e in errors})} rows refused"
    )
    return 1 if errors else 0


def _progress(done: int, total: int, created: int, updated: int, errors: int) -> None:
    width = 30
    filled = int(width * done / total) if total else width
    bar = "#" * filled + "-" * (width - filled)
    print(
        f"\r[{bar}] {done}/{total} rows  created {created}  updated {updated}  errors {errors}",
        end="",
        file=sys.stderr,
        flush=True,
    )


def _bar(done: int, total: int, width: int = 30) -> str:
    filled = min(width, int(width * done / total)) if total else width
    return "#" * filled + "-" * (width - filled)


def _job_line(job: pb.ReclassificationJob) -> str:
    return (
        f"{job.rule_set} v{job.version} {job.state:<9} [{_bar(job.done, job.total)}] "
        f"{job.done}/{job.total}  changed {job.changed}  failed {job.failed}  skipped {job.skipped}"
    )


def cmd_reclassify_status(args) -> int:
    rule_sets = [args.rule_set] if args.rule_set else [GRADING_RULE_SET, ENTITLEMENTS_RULE_SET]
    to = connection(args)
    stub = to.stub("classification", classification_pb2_grpc.ClassificationServiceStub)
    while True:
        jobs = []
        for rule_set in rule_sets:
            try:
                request = pb.GetReclassificationJobRequest(rule_set=rule_set)
                jobs.append(stub.GetReclassificationJob(request, timeout=10, metadata=to.metadata).job)
            except grpc.RpcError as error:
                if error.code() != grpc.StatusCode.NOT_FOUND:
                    raise to.failure("classification", error) from None
                print(f"{rule_set}: no reclassification job yet")
        for job in jobs:
            print(_job_line(job))
        if not args.watch or all(job.state != "running" for job in jobs):
            return 0
        time.sleep(args.interval)


def add_customer_commands(commands) -> None:
    customers = commands.add_parser("customers", help="bulk work on retail customers")
    sub = customers.add_subparsers(dest="customers_command", required=True)
    importing = sub.add_parser(
        "import",
        parents=[connection_options()],
        help="import customers from a CSV or XLSX file (header row = field names)",
    )
    importing.add_argument("file")
    importing.add_argument(
        "--update-existing", action="store_true", help="update customers whose licence exists"
    )
    importing.add_argument("--batch-size", type=int, default=500)
    importing.set_defaults(run=served(cmd_import))
    status = sub.add_parser(
        "reclassify-status",
        parents=[connection_options()],
        help="progress of the automatic reclassification after a rule-set activation",
    )
    status.add_argument("rule_set", nargs="?", choices=[GRADING_RULE_SET, ENTITLEMENTS_RULE_SET])
    status.add_argument("--watch", action="store_true", help="print again until no job is running")
    status.add_argument("--interval", type=float, default=1.0, help="seconds between prints with --watch")
    status.set_defaults(run=served(cmd_reclassify_status))
