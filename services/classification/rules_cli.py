"""The classification service's part of ``retailcare rules``: ``preview FILE`` (what a
draft would change for every stored customer, optionally as CSV) and the facts of a
stored customer for ``dry-run NAME --customer LICENCE``."""

from __future__ import annotations

import csv
import json
import pathlib

from retailcare.classification.v1 import classification_pb2 as pb
from retailcare.classification.v1 import classification_pb2_grpc

from services.classification import domain, mapping
from services.classification.rules import ENTITLEMENTS_RULE_SET, GRADING_RULE_SET
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
CSV_SAMPLE = 1_000_000  # every changed customer (bounded by the reply's size)
CSV_COLUMNS = (
    "licence_number",
    "grade_before",
    "grade_after",
    "star_before",
    "star_after",
    "services_gained",
    "services_lost",
)


def _ask(args, method: str, request):
    return call_service(args, SERVICE, classification_pb2_grpc.ClassificationServiceStub, method, request)


def customer_facts(args, rule_set: str, licence: str) -> dict:
    """The facts the service decides a stored customer with: the record's inputs for the
    grading, and with them the stored star level for the entitlements."""
    customer = _ask(args, "GetCustomer", pb.GetCustomerRequest(licence_number=licence)).customer
    inputs = mapping.input_values(customer.input)
    if rule_set == GRADING_RULE_SET:
        return domain.grading_facts(inputs)
    star_level = customer.classification.star_level
    if not star_level:
        raise CliError(f"customer {licence} has no star level yet; dry-run customer-grading first")
    return domain.entitlement_facts(inputs, star_level)


def cmd_preview(args) -> int:
    source, name = read_named_source(args.file)
    if name not in (GRADING_RULE_SET, ENTITLEMENTS_RULE_SET):
        raise CliError(
            f"{args.file}: preview works for {GRADING_RULE_SET} and {ENTITLEMENTS_RULE_SET}, not {name}"
        )
    sample = CSV_SAMPLE if args.csv else args.sample
    reply = _ask(
        args,
        "PreviewRuleSetImpact",
        pb.PreviewRuleSetImpactRequest(draft_source=source, sample_size=sample),
    )
    rows = [_row(customer) for customer in reply.sample]
    if args.csv:
        _write_csv(pathlib.Path(args.csv), rows)
    if args.json:
        print(json.dumps(_summary(reply, rows[: args.sample]), ensure_ascii=False, indent=2))
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
        print_table(CSV_COLUMNS, [tuple(row[c] for c in CSV_COLUMNS) for row in rows[: args.sample]])
    if args.csv:
        print(f"\n{len(rows)} changed customers written to {args.csv}")
    return 0


def _row(customer: pb.AffectedCustomer) -> dict:
    before, after = set(customer.before.services), set(customer.after.services)
    return {
        "licence_number": customer.licence_number,
        "grade_before": customer.before.grade,
        "grade_after": customer.after.grade,
        "star_before": customer.before.star_level,
        "star_after": customer.after.star_level,
        "services_gained": " ".join(sorted(after - before)),
        "services_lost": " ".join(sorted(before - after)),
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


def _write_csv(path: pathlib.Path, rows: list[dict]) -> None:
    try:
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=CSV_COLUMNS)
            writer.writeheader()
            writer.writerows(rows)
    except OSError as error:
        raise CliError(f"cannot write {error.filename}: {error.strerror}") from None


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
