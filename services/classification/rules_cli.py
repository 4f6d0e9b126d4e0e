"""The classification service's part of ``retailcare rules``: ``preview FILE`` (what a
draft would change for every stored customer, optionally as CSV), ``reclassification
NAME`` (the job that brings every stored customer to the active version, ``--watch`` until
it is done) and the facts of a stored customer for ``dry-run NAME --customer LICENCE``."""

from __future__ import annotations

import csv
import json
import pathlib

from retailcare.classification.v1 import classification_pb2 as pb
from retailcare.classification.v1 import classification_pb2_grpc

from services.classification.rules import ENTITLEMENTS_RULE_SET, GRADING_RULE_SET
from services.common.job_watch import JobView, add_watch_options, bar, latest_job, watch
from services.common.rules.admin import facts_of
from services.common.rules.cli import (
    CliError,
    call_service,
    connection_parents,
    print_table,
    read_named_source,
    rules_commands,
    served,
)

SERVICE = "classification"
SHOWN_SAMPLE = 20
SHOWN_COLUMNS = (
    "licence_number",
    "grade_before",
    "grade_after",
    "star_before",
    "star_after",
    "services_gained",
    "services_lost",
)
CSV_COLUMNS = (*SHOWN_COLUMNS, "services_changed")


def _ask(args, method: str, request, stream: bool = False):
    return call_service(
        args, SERVICE, classification_pb2_grpc.ClassificationServiceStub, method, request, stream=stream
    )


def customer_facts(args, rule_set: str, licence: str) -> dict:
    """The facts the service decides a stored customer with (GetCustomerFacts): the
    record's inputs for the grading, and with them the stored star level for the
    entitlements."""
    request = pb.GetCustomerFactsRequest(licence_number=licence, rule_set=rule_set)
    return facts_of(_ask(args, "GetCustomerFacts", request).facts)


def cmd_preview(args) -> int:
    """Every changed customer from StreamRuleSetImpact, counted at the end: the first
    ``--sample`` shown as examples, all of them written to ``--csv`` as they arrive. No
    reply holds the whole list, so the customer base has no bound but the time."""
    source, name = read_named_source(args.file)
    if name not in (GRADING_RULE_SET, ENTITLEMENTS_RULE_SET):
        raise CliError(
            f"{args.file}: preview works for {GRADING_RULE_SET} and {ENTITLEMENTS_RULE_SET}, not {name}"
        )
    if args.csv:
        reply, rows, written = _stream_to_csv(args, source, pathlib.Path(args.csv))
    else:
        reply, rows, written = _stream(args, source, lambda chunk: None)
    if args.json:
        print(json.dumps(_summary(reply, rows), ensure_ascii=False, indent=2))
        return 0
    print(f"{reply.rule_set}: {reply.changed} of {reply.customers} customers change ({reply.seconds:.1f} s)")
    for title, transitions in (("grade", reply.grade_transitions), ("star level", reply.star_transitions)):
        if transitions:
            print(f"\n{title} moves:")
            print_table(
                ("from", "to", "customers"), [(getattr(t, "from"), t.to, t.customers) for t in transitions]
            )
    if reply.service_changes:
        print("\nservices:")
        print_table(
            ("service", "gained", "lost", "parameters changed"),
            [(s.service, s.gained, s.lost, s.parameters_changed) for s in reply.service_changes],
        )
    if rows:
        print("\nexamples:")
        print_table(SHOWN_COLUMNS, [tuple(row[c] for c in SHOWN_COLUMNS) for row in rows])
    if args.csv:
        print(f"\n{written} changed customers written to {args.csv}")
    return 0


def _stream(args, source: str, each_chunk):
    """The counts, the first ``--sample`` rows and how many rows came; ``each_chunk(rows)``
    gets every chunk as it arrives."""
    request = pb.StreamRuleSetImpactRequest(draft_source=source)
    summary, shown, received = None, [], 0
    for reply in _ask(args, "StreamRuleSetImpact", request, stream=True):
        rows = [_impact_row(row) for row in reply.rows]
        each_chunk(rows)
        received += len(rows)
        shown += rows[: max(0, args.sample - len(shown))]
        if reply.HasField("summary"):
            summary = reply.summary
    if summary is None:
        raise CliError("the preview ended before its counts arrived; try again")
    if summary.changed != received:
        raise CliError(f"the preview counted {summary.changed} changed customers but sent {received}")
    return summary, shown, received


def _stream_to_csv(args, source: str, path: pathlib.Path):
    """``_stream`` with every row written to ``path`` (through a ``.part`` file renamed
    when the stream has ended well, so a failed run leaves no half list behind)."""
    partial = path.with_name(path.name + ".part")
    try:
        with partial.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=CSV_COLUMNS)
            writer.writeheader()
            result = _stream(args, source, writer.writerows)
        partial.replace(path)
    except OSError as error:
        raise CliError(f"cannot write {error.filename}: {error.strerror}") from None
    finally:
        partial.unlink(missing_ok=True)
    return result


def _impact_row(row: pb.ImpactRow) -> dict:
    return {
        "licence_number": row.licence_number,
        "grade_before": row.grade_before,
        "grade_after": row.grade_after,
        "star_before": row.star_before,
        "star_after": row.star_after,
        "services_gained": " ".join(row.services_gained),
        "services_lost": " ".join(row.services_lost),
        "services_changed": " ".join(row.services_changed),
    }


def _summary(reply: pb.PreviewRuleSetImpactResponse, rows: list[dict]) -> dict:
    def moves(transitions):
        return [{"from": getattr(t, "from"), "to": t.to, "customers": t.customers} for t in transitions]

    return {
        "rule_set": reply.rule_set,
        "customers": reply.customers,
        "changed": reply.changed,
        "grade_moves": moves(reply.grade_transitions),
        "star_moves": moves(reply.star_transitions),
        "services": [
            {
                "service": s.service,
                "gained": s.gained,
                "lost": s.lost,
                "parameters_changed": s.parameters_changed,
            }
            for s in reply.service_changes
        ],
        "examples": rows,
    }


def _latest_job(args, rule_set: str) -> pb.ReclassificationJob | None:
    request = pb.GetReclassificationJobRequest(rule_set=rule_set)
    stub = classification_pb2_grpc.ClassificationServiceStub
    return latest_job(args, SERVICE, stub, "GetReclassificationJob", request)


def _job_line(job: pb.ReclassificationJob) -> str:
    return (
        f"{job.rule_set} version {job.version} {job.state} {bar(job.done, job.total)} {job.done}/{job.total} "
        f"customers, changed {job.changed}, failed {job.failed}, skipped {job.skipped}"
    )


RECLASSIFICATION = JobView(
    what="reclassification",
    service=SERVICE,
    latest=_latest_job,
    line=_job_line,
    fields=("total", "done", "changed", "failed", "skipped"),
    when_absent="automatic jobs are off when reclassification_batch_size is 0",
)


def add_rules_commands(commands) -> None:
    sub, dry_run = rules_commands(commands)
    dry_run.get_default("customer_facts").update(
        {GRADING_RULE_SET: customer_facts, ENTITLEMENTS_RULE_SET: customer_facts}
    )
    preview = sub.add_parser(
        "preview",
        parents=connection_parents(commands),
        help="what a draft grading or entitlements document changes for every customer",
    )
    preview.add_argument("file")
    preview.add_argument("--csv", metavar="PATH", help="also write every changed customer to this CSV file")
    preview.add_argument("--sample", type=int, default=SHOWN_SAMPLE, help="example customers to show")
    preview.add_argument("--json", action="store_true", help="print JSON instead of tables")
    preview.set_defaults(run=served(cmd_preview))
    progress = sub.add_parser(
        "reclassification",
        parents=connection_parents(commands),
        help="the job bringing every stored customer to the active grading or entitlements version",
    )
    progress.add_argument("name", choices=[GRADING_RULE_SET, ENTITLEMENTS_RULE_SET])
    add_watch_options(progress)
    progress.set_defaults(run=served(lambda args: watch(args, RECLASSIFICATION)))
