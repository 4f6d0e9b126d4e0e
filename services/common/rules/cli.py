"""``retailcare rules ...``: validate and test documents, list facts and actions offline;
show, dry-run, publish (now or at a moment), list, history, diff, roll back and cancel
against the owning service over gRPC, or with ``--gateway`` through the gateway with a
bearer token. Every command prints tables (or lines) on a terminal and JSON with
``--json``; every failure is one line on stderr (CliError) with a non-zero exit."""

from __future__ import annotations

import argparse
import datetime
import getpass
import json
import os
import pathlib
import sys

import grpc
import yaml
from google.protobuf import json_format, struct_pb2
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from retailcare.rules.v1 import rule_sets_pb2 as pb
from retailcare.rules.v1 import rule_sets_pb2_grpc

from services.common.auth import read_service_token
from services.common.clients import open_channel
from services.common.config import load_settings
from services.common.errors import field_violations
from services.common.rules import conditions as c
from services.common.rules.document import load_yaml, read_document, yaml_problem
from services.common.rules.tables import inline_rows_from
from services.common.rules.validation import validate
from services.common.tls import channel_credentials

CALL_TIMEOUT_SECONDS = 30
# A streamed reply grows with the data (every customer a draft changes); the gateway
# gives a stream at most 600 s (gateway/downstream.py).
STREAM_TIMEOUT_SECONDS = 600
HISTORY_PAGE = 100
GATEWAY_TOKEN_ENV = "GATEWAY_TOKEN"
_SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"


class CliError(Exception):
    """Printed on stderr as one line; the command exits with 2."""

    def __init__(self, message: str):
        super().__init__("; ".join(line.strip() for line in str(message).splitlines() if line.strip()))


def read_source(path: str) -> str:
    """A document from disk, with any ``rows_from`` table file inlined."""
    file = pathlib.Path(path)
    try:
        return inline_rows_from(file.read_text(encoding="utf-8"), file.parent)
    except OSError as error:
        raise CliError(f"cannot read {error.filename}: {error.strerror}") from None
    except ValueError as error:
        raise CliError(str(error)) from None


def read_named_source(path: str) -> tuple[str, str]:
    """A document from disk and the rule set it names; a YAML syntax error or a missing
    name stops the command with the file, the line and the problem."""
    source = read_source(path)
    try:
        document = load_yaml(source)
    except yaml.YAMLError as problem:
        raise CliError(f"{path}: {yaml_problem(problem, source)}") from None
    name = document.get("name") if isinstance(document, dict) else None
    if not isinstance(name, str) or not name.strip():
        raise CliError(f"{path}: the document names no rule set (give `name: RULE-SET` on its first line)")
    return source, name


# -- where the calls go ----------------------------------------------------------------
class Connection:
    """Where a command's calls go: straight to the service that owns the rule set (with
    TLS and the service token when configured, as the pack's processes call each other),
    or with ``--gateway`` to the gateway alone, showing a bearer token whose role the
    gateway checks. One channel per address, reused by every call of the command."""

    def __init__(self, args):
        self.pack = args.pack
        self.settings = load_settings(args.pack)
        gateway = getattr(args, "gateway", None)
        token_file = getattr(args, "token_file", None)
        self.via_gateway = gateway is not None or token_file is not None
        self.gateway = (gateway or self.settings.target("gateway")) if self.via_gateway else ""
        self.metadata: tuple = ()
        if self.via_gateway:
            self.metadata = (("authorization", f"Bearer {_gateway_token(token_file)}"),)
        self._channels: dict[str, grpc.Channel] = {}

    def target(self, service: str) -> str:
        return self.gateway or self.settings.target(service)

    def where(self, service: str) -> str:
        return (
            f"the gateway at {self.gateway}" if self.via_gateway else f"{service} at {self.target(service)}"
        )

    def channel(self, service: str) -> grpc.Channel:
        target = self.target(service)
        if target not in self._channels:
            if self.via_gateway:  # the front door: bearer tokens, not the pack's service token
                channel = open_channel(target, credentials=channel_credentials(self.settings))
            else:
                channel = open_channel(
                    target,
                    credentials=channel_credentials(self.settings),
                    service_token=read_service_token(self.settings),
                )
            self._channels[target] = channel
        return self._channels[target]

    def stub(self, service: str, stub_type):
        return stub_type(self.channel(service))

    def call(self, service: str, stub_type, method: str, request, stream: bool = False):
        """One call; a failure becomes a one-line CliError. ``stream``: a server-streaming
        method, whose replies are yielded as they arrive."""
        call = getattr(self.stub(service, stub_type), method)
        if stream:
            return self._replies(
                service, call(request, timeout=STREAM_TIMEOUT_SECONDS, metadata=self.metadata)
            )
        try:
            return call(request, timeout=CALL_TIMEOUT_SECONDS, metadata=self.metadata)
        except grpc.RpcError as error:
            raise self.failure(service, error) from None

    def _replies(self, service: str, replies):
        try:
            yield from replies
        except grpc.RpcError as error:
            raise self.failure(service, error) from None

    def failure(self, service: str, error: grpc.RpcError) -> CliError:
        code = error.code()
        if code == grpc.StatusCode.UNAVAILABLE and not (self.via_gateway and _names_a_service(error)):
            return CliError(f"cannot reach {self.where(service)}; is the pack running (make run)?")
        hint = ""
        if self.via_gateway and code == grpc.StatusCode.UNAUTHENTICATED:
            hint = f" (the gateway did not accept the token from --token-file or {GATEWAY_TOKEN_ENV})"
        elif self.via_gateway and code == grpc.StatusCode.PERMISSION_DENIED:
            hint = " (ask for a token of a role that may; the gateway's permission table says which)"
        violations = "".join(f"; {field}: {why}" for field, why in field_violations(error).items())
        return CliError(f"{code.name}: {error.details()}{violations}{hint}")

    def close(self) -> None:
        for channel in self._channels.values():
            channel.close()


def _names_a_service(error: grpc.RpcError) -> bool:
    """Whether an UNAVAILABLE came from the gateway about a service behind it."""
    status = rpc_status.from_call(error)
    for detail in status.details if status else []:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            if info.reason == _SERVICE_UNAVAILABLE:
                return True
    return False


def _gateway_token(token_file: str | None) -> str:
    """The bearer token: the first line of ``--token-file``, else ``$GATEWAY_TOKEN``."""
    if token_file:
        try:
            token = pathlib.Path(token_file).read_text(encoding="utf-8").strip().splitlines()
        except OSError as error:
            raise CliError(f"--token-file: cannot read {token_file}: {error.strerror}") from None
        if not token or not token[0].strip():
            raise CliError(f"--token-file: {token_file} is empty")
        return token[0].strip()
    token = os.environ.get(GATEWAY_TOKEN_ENV, "").strip()
    if not token:
        raise CliError(
            f"--gateway needs a token: put it in a file and give --token-file PATH, or set {GATEWAY_TOKEN_ENV}"
        )
    return token


def connection(args) -> Connection:
    """The command's connection, opened on first use."""
    if getattr(args, "_connection", None) is None:
        args._connection = Connection(args)
    return args._connection


def _call(args, rule_set: str, method: str, request):
    return connection(args).call(
        _owner(args.pack, rule_set), rule_sets_pb2_grpc.RuleSetAdminStub, method, request
    )


def _owner(pack, rule_set: str) -> str:
    catalogue = pack.rule_set_catalogue()
    service = catalogue.owner_of(rule_set)
    if service is None:
        known = ", ".join(sorted(catalogue.all_kinds()))
        raise CliError(f"no service owns a rule set named {rule_set!r} (known: {known})")
    return service


def call_service(args, service: str, stub_type, method: str, request, stream: bool = False):
    """One call to a service of the pack (through the gateway with ``--gateway``), for the
    commands a service adds under ``rules``."""
    return connection(args).call(service, stub_type, method, request, stream=stream)


def print_table(header: tuple, rows: list[tuple]) -> None:
    """Columns as wide as their widest cell, for a terminal."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows, strict=True)]
    for row in (header, *rows):
        print("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())


def print_json(value) -> None:
    print(json.dumps(value, ensure_ascii=False, indent=2, default=str))


def _diagnostic(d) -> dict:
    """A diagnostic as --json prints it; a decision-table problem with its row (1-based)
    and the columns it is about, as the gRPC Diagnostic gives them."""
    return {
        "severity": d.severity,
        "line": d.line,
        "rule_id": d.rule_id,
        "message": d.message,
        "table_row": d.table_row,
        "table_columns": list(d.table_columns),
    }


# -- offline --------------------------------------------------------------------------
def cmd_validate(args) -> int:
    result = validate(read_source(args.file), args.pack.rule_set_catalogue().all_kinds())
    if result.compiled:
        result.compiled.close()
    if args.json:
        print_json(
            {
                "valid": result.valid,
                "rule_set": result.document.name if result.document else None,
                "rules": len(result.document.rules) if result.document else 0,
                "tests_passed": result.tests_passed,
                "tests_failed": len(result.tests) - result.tests_passed,
                "diagnostics": [_diagnostic(d) for d in result.diagnostics],
            }
        )
        return 0 if result.valid else 1
    for d in result.diagnostics:
        print(d, file=sys.stdout if result.valid else sys.stderr)
    if not result.valid:
        print(f"invalid: {len(result.errors)} error(s)", file=sys.stderr)
        return 1
    print(
        f"valid: {result.document.name}, {len(result.document.rules)} rules, {result.tests_passed} tests passed"
    )
    return 0


def cmd_test(args) -> int:
    result = validate(read_source(args.file), args.pack.rule_set_catalogue().all_kinds())
    if result.compiled:
        result.compiled.close()
    if not result.tests:
        if args.json:
            print_json(
                {"passed": 0, "failed": 0, "tests": [], "errors": [_diagnostic(d) for d in result.errors]}
            )
            return 1
        for d in result.errors:
            print(d, file=sys.stderr)
        print("no test ran: the document does not compile", file=sys.stderr)
        return 1
    failed = sum(1 for t in result.tests if not t.passed)
    if args.json:
        tests = [
            {"name": t.name, "line": t.line, "passed": t.passed, "failures": list(t.failures)}
            for t in result.tests
        ]
        print_json({"passed": len(result.tests) - failed, "failed": failed, "tests": tests})
        return 1 if failed else 0
    for outcome in result.tests:
        status = "PASS" if outcome.passed else "FAIL"
        print(f"{status} {outcome.name} (line {outcome.line})")
        for failure in outcome.failures:
            print(f"     {failure}")
    print(f"{len(result.tests) - failed} passed, {failed} failed")
    return 1 if failed else 0


def cmd_actions(args) -> int:
    """The actions a rule set's documents may use, with each parameter's type and values."""
    kinds = args.pack.rule_set_catalogue().all_kinds()
    kind = kinds.get(args.name)
    if kind is None:
        raise CliError(f"unknown rule set {args.name!r} (known: {', '.join(sorted(kinds))})")
    actions = [
        {
            "action": action.name,
            "description": action.description,
            "parameters": [
                {
                    "name": name,
                    "type": param.type,
                    "required": param.required,
                    "allowed": list(param.allowed),
                    "minimum": param.minimum,
                    "maximum": param.maximum,
                }
                for name, param in action.params.items()
            ],
        }
        for action in kind.vocabulary.actions.values()
    ]
    if args.json:
        print_json({"rule_set": args.name, "actions": actions})
        return 0
    rows = []
    for action in actions:
        for param in action["parameters"] or [{"name": "-", "type": "", "required": False, "allowed": []}]:
            rows.append((action["action"], param["name"], param["type"], _needed(param), _values(param)))
    print_table(("action", "parameter", "type", "required", "values"), rows)
    return 0


def cmd_facts(args) -> int:
    """The facts the owning service supplies to a rule set: name, type, values, and
    whether every decision has it (``--markdown``: every rule set's, for the guide)."""
    if args.markdown:
        print(facts_markdown(args.pack), end="")
        return 0
    if not args.name:
        raise CliError("name a rule set (or give --markdown for all of them)")
    kinds = args.pack.rule_set_catalogue().all_kinds()
    kind = kinds.get(args.name)
    if kind is None:
        raise CliError(f"unknown rule set {args.name!r} (known: {', '.join(sorted(kinds))})")
    facts = [
        {"name": f.name, "type": f.type, "always": f.required, "values": list(f.allowed)}
        for f in kind.facts.values()
    ]
    aliases = dict(kind.aliases)
    if args.json:
        print_json({"rule_set": args.name, "facts": facts, "not_facts": aliases})
        return 0
    rows = [
        (f["name"], f["type"], "always" if f["always"] else "when known", ", ".join(f["values"]))
        for f in facts
    ]
    print_table(("fact", "type", "supplied", "values"), rows)
    for alias, meant in aliases.items():
        print(f"({alias} is not a fact of {args.name}: use {meant})")
    return 0


def facts_markdown(pack) -> str:
    """The table of supplied facts of every rule set, as docs/rules.md prints it (a test
    keeps the two equal; ``retailcare rules facts --markdown`` prints it)."""
    lines = ["| rule set | fact | type | supplied | values |", "|---|---|---|---|---|"]
    for name, kind in pack.rule_set_catalogue().all_kinds().items():
        for f in kind.facts.values():
            values = ", ".join(f.allowed)
            supplied = "always" if f.required else "when known"
            lines.append(f"| {name} | `{f.name}` | {f.type} | {supplied} | {values} |")
    return "\n".join(lines) + "\n"


def _needed(param: dict) -> str:
    return "" if param["name"] == "-" else ("yes" if param["required"] else "no")


def _values(param: dict) -> str:
    if param["allowed"]:
        return ", ".join(param["allowed"])
    low, high = param.get("minimum"), param.get("maximum")
    if low is not None and high is not None:
        return f"{low:g}..{high:g}"
    if low is not None:
        return f">= {low:g}"
    return f"<= {high:g}" if high is not None else ""


# -- against the owning service (or the gateway) -----------------------------------------
def _stamp(stamp) -> str | None:
    """A protobuf Timestamp as ISO 8601 UTC; None when unset."""
    if not stamp.seconds and not stamp.nanos:
        return None
    return stamp.ToDatetime(tzinfo=datetime.UTC).isoformat(timespec="seconds")


def _when(stamp) -> str:
    return _stamp(stamp) or "-"


def _version(v: pb.RuleSetVersion, source: bool = False) -> dict:
    shown = {
        "rule_set": v.rule_set,
        "version": v.version,
        "active": v.active,
        "author": v.author,
        "comment": v.comment,
        "checksum": v.checksum,
        "created_at": _stamp(v.created_at),
    }
    if source:
        shown["source"] = v.source
    return shown


def cmd_show(args) -> int:
    """A stored version's text as published (the active one without VERSION)."""
    request = pb.GetRuleSetVersionRequest(rule_set=args.name, version=args.version)
    version = _call(args, args.name, "GetRuleSetVersion", request).version
    if args.json:
        print_json(_version(version, source=True))
        return 0
    print(version.source, end="" if version.source.endswith("\n") else "\n")
    return 0


def _moment(text: str) -> datetime.datetime:
    """An ISO 8601 moment with its offset (``2027-03-01T09:00+08:00``)."""
    try:
        moment = datetime.datetime.fromisoformat(text)
    except ValueError:
        raise CliError(f"--at {text!r} is not an ISO 8601 moment such as 2027-03-01T09:00+08:00") from None
    if moment.tzinfo is None:
        raise CliError(f"--at {text!r} needs its UTC offset, such as 2027-03-01T09:00+08:00")
    return moment


def cmd_publish(args) -> int:
    source, name = read_named_source(args.file)
    request = pb.PublishRuleSetRequest(
        source=source, author=args.author, comment=args.comment, stage_only=args.stage_only
    )
    if args.at:
        request.activate_at.FromDatetime(_moment(args.at).astimezone(datetime.UTC))
    reply = _call(args, name, "PublishRuleSet", request)
    state = "staged" if args.stage_only else "active"
    if args.at and not reply.version.active:
        state = "scheduled"
    if args.json:
        print_json(
            {
                **_version(reply.version),
                "state": state,
                "activate_at": _stamp(request.activate_at) if args.at else None,
                "warnings": [_diagnostic(d) for d in reply.diagnostics],
            }
        )
        return 0
    for d in reply.diagnostics:
        print(f"warning: line {d.line} {d.rule_id}: {d.message}")
    if state == "scheduled":
        state = f"to become active at {_when(request.activate_at)}"
    print(
        f"published {reply.version.rule_set} version {reply.version.version} ({state}), checksum {reply.version.checksum[:12]}"
    )
    return 0


def _from_every_owner(args, method: str, request_for):
    """(service, reply) of every owner of rule sets, and the owners that could not be
    asked. Straight to the owners ``request_for(None)`` is asked once per service; through
    the gateway, which routes by name, ``request_for(rule_set)`` once per rule set."""
    conn = connection(args)
    replies, unreachable = [], []
    for service, kinds in args.pack.rule_set_catalogue().kinds_by_service().items():
        stub = conn.stub(service, rule_sets_pb2_grpc.RuleSetAdminStub)
        for rule_set in sorted(k.name for k in kinds) if conn.via_gateway else [None]:
            try:
                reply = getattr(stub, method)(
                    request_for(rule_set), timeout=CALL_TIMEOUT_SECONDS, metadata=conn.metadata
                )
            except grpc.RpcError as error:
                if error.code() != grpc.StatusCode.UNAVAILABLE:
                    raise conn.failure(service, error) from None
                if conn.via_gateway and not _names_a_service(error):
                    raise conn.failure(service, error) from None  # the gateway itself is down
                where = "behind the gateway" if conn.via_gateway else f"at {conn.target(service)}"
                unreachable.append(f"{service} {where} ({error.code().name})")
                break
            replies.append((service, reply))
    if not replies:
        raise CliError(f"cannot reach {', '.join(unreachable)}; is the pack running (make run)?")
    return replies, unreachable


def _unreachable(unreachable: list[str]) -> int:
    if unreachable:
        print(f"retailcare: cannot reach {', '.join(unreachable)}", file=sys.stderr)
        return 1
    return 0


def cmd_list(args) -> int:
    """Every owner's rule sets; exits 1 naming the owners that could not be asked."""
    conn = connection(args)
    catalogue = args.pack.rule_set_catalogue()
    if conn.via_gateway:  # the gateway asks every owner and merges; one refusal fails it
        request = pb.ListRuleSetsRequest()
        reply = conn.call("gateway", rule_sets_pb2_grpc.RuleSetAdminStub, "ListRuleSets", request)
        found, unreachable = [(catalogue.owner_of(s.name) or "", s) for s in reply.rule_sets], []
    else:
        replies, unreachable = _from_every_owner(args, "ListRuleSets", lambda _: pb.ListRuleSetsRequest())
        found = [(service, s) for service, reply in replies for s in reply.rule_sets]
    rows = [
        {
            "rule_set": s.name,
            "service": service,
            "active_version": s.active_version,
            "latest_version": s.latest_version,
            "serving_version": s.serving_version,
            "activated_at": _stamp(s.activated_at),
        }
        for service, s in found
    ]
    if args.json:
        print_json({"rule_sets": rows, "unreachable": unreachable})
        return _unreachable(unreachable)
    print_table(
        ("rule set", "service", "active", "latest", "serving", "activated at (UTC)"),
        [tuple("-" if value is None else value for value in row.values()) for row in rows],
    )
    return _unreachable(unreachable)


def cmd_scheduled(args) -> int:
    """Versions waiting for their moment on every owner; exits 1 naming the owners that
    could not be asked."""
    replies, unreachable = _from_every_owner(
        args,
        "ListScheduledActivations",
        lambda rule_set: pb.ListScheduledActivationsRequest(rule_set=rule_set or ""),
    )
    rows = sorted(
        (
            {
                "rule_set": a.rule_set,
                "version": a.version,
                "activate_at": _stamp(a.activate_at),
                "author": a.author,
                "comment": a.comment,
            }
            for _, reply in replies
            for a in reply.activations
        ),
        key=lambda row: (row["activate_at"] or "", row["rule_set"], row["version"]),
    )
    if args.json:
        print_json({"activations": rows, "unreachable": unreachable})
    elif rows:
        header = ("rule set", "version", "activates at (UTC)", "author", "comment")
        print_table(header, [tuple(row.values()) for row in rows])
    else:
        print("no activation is scheduled")
    return _unreachable(unreachable)


def cmd_cancel(args) -> int:
    request = pb.CancelScheduledActivationRequest(
        rule_set=args.name, version=args.version, actor=args.author, comment=args.comment
    )
    reply = _call(args, args.name, "CancelScheduledActivation", request)
    if args.json:
        print_json(
            {
                "rule_set": args.name,
                "version": args.version,
                "cancelled": True,
                "activate_at": _stamp(reply.cancelled.activate_at),
            }
        )
        return 0
    print(
        f"{args.name}: version {args.version} will not become active at {_when(reply.cancelled.activate_at)}"
    )
    return 0


def _pages(args, rule_set: str, method: str, request_type, items: str):
    """Every item of a paged list, fetched a page at a time as the output goes."""
    token = ""
    while True:
        reply = _call(
            args, rule_set, method, request_type(rule_set=rule_set, page_size=HISTORY_PAGE, page_token=token)
        )
        yield from getattr(reply, items)
        token = reply.next_page_token
        if not token:
            return


def cmd_history(args) -> int:
    versions = _pages(args, args.name, "ListRuleSetVersions", pb.ListRuleSetVersionsRequest, "versions")
    audit = _pages(args, args.name, "ListRuleSetAudit", pb.ListRuleSetAuditRequest, "entries")
    if args.json:
        entries = [
            {
                "at": _stamp(a.at),
                "action": a.action,
                "version": a.version,
                "actor": a.actor,
                "comment": a.comment,
            }
            for a in audit
        ]
        print_json({"rule_set": args.name, "versions": [_version(v) for v in versions], "audit": entries})
        return 0
    print_table(
        ("version", "active", "created (UTC)", "author", "comment"),
        [
            (v.version, "active" if v.active else "", _when(v.created_at), v.author, v.comment)
            for v in versions
        ],
    )
    print("\naudit log, newest first:")
    print_table(
        ("at (UTC)", "action", "version", "actor", "comment"),
        [(_when(a.at), a.action, a.version, a.actor, a.comment) for a in audit],
    )
    return 0


def cmd_diff(args) -> int:
    request = pb.DiffRuleSetVersionsRequest(rule_set=args.name, from_version=args.v1, to_version=args.v2)
    diff = _call(args, args.name, "DiffRuleSetVersions", request).unified_diff
    if args.json:
        print_json(
            {"rule_set": args.name, "from_version": args.v1, "to_version": args.v2, "unified_diff": diff}
        )
        return 0
    print(diff or "(no differences)", end="" if diff.endswith("\n") else "\n")
    return 0


def cmd_rollback(args) -> int:
    request = pb.ActivateRuleSetVersionRequest(
        rule_set=args.name, version=args.version, actor=args.author, comment=args.comment
    )
    reply = _call(args, args.name, "ActivateRuleSetVersion", request)
    if args.json:
        print_json(
            {
                "rule_set": args.name,
                "version": reply.version.version,
                "previous_version": reply.previous_version,
            }
        )
        return 0
    print(f"{args.name}: version {reply.version.version} active (was {reply.previous_version})")
    return 0


def _facts(args) -> dict:
    """The facts to decide: from a JSON file, or those the owning service would supply
    for a stored customer (``--customer``)."""
    if args.customer:
        if args.facts:
            raise CliError("give a facts file or --customer, not both")
        supplier = args.customer_facts.get(args.name)
        if supplier is None:
            known = ", ".join(sorted(args.customer_facts)) or "none"
            raise CliError(f"{args.name} does not decide for customers (--customer works for: {known})")
        return supplier(args, args.name, args.customer)
    if not args.facts:
        raise CliError("give a facts file (JSON) or --customer LICENCE")
    try:
        facts = json.loads(pathlib.Path(args.facts).read_text(encoding="utf-8"))
    except OSError as error:
        raise CliError(f"cannot read {args.facts}: {error.strerror}") from None
    except json.JSONDecodeError as error:
        raise CliError(f"{args.facts}: not valid JSON ({error})") from None
    if not isinstance(facts, dict):
        raise CliError(f"{args.facts}: expected a JSON object of input names and values")
    return facts


def cmd_dry_run(args) -> int:
    facts = _facts(args)
    struct = struct_pb2.Struct()
    struct.update(facts)
    if args.draft:
        source, name = read_named_source(args.draft)
        if name != args.name:
            raise CliError(f"{args.draft}: the document is {name!r}, not {args.name!r}")
        request = pb.DryRunRuleSetRequest(draft_source=source, facts=struct)
    else:
        request = pb.DryRunRuleSetRequest(rule_set=args.name, version=args.version, facts=struct)
    decision = _call(args, args.name, "DryRunRuleSet", request).decision
    if not args.draft:
        stored = pb.GetRuleSetVersionRequest(rule_set=args.name, version=decision.version)
        source = _call(args, args.name, "GetRuleSetVersion", stored).version.source
    kinds = args.pack.rule_set_catalogue().all_kinds()
    result = {
        "rule_set": decision.rule_set,
        "version": decision.version or "draft",
        "facts": facts,
        "fired_rules": list(decision.fired_rules),
        "not_fired": why_not(source, kinds, facts, set(decision.fired_rules)),
        "outputs": _whole_numbers(json_format.MessageToDict(decision.outputs)),
    }
    if args.json:
        print_json(result)
        return 0
    print(f"{result['rule_set']} version {result['version']}")
    print("\nfacts:")
    print_table(("fact", "value"), [(name, _shown(value)) for name, value in facts.items()])
    print("\nrules that fired, in order: " + (", ".join(result["fired_rules"]) or "none"))
    print("\noutputs:")
    print_table(("output", "value"), list(_flat(result["outputs"])) or [("(none)", "")])
    if result["not_fired"]:
        print("\nrules that did not fire, and why:")
        print_table(("rule", "why not"), list(result["not_fired"].items()))
    return 0


def _flat(value, prefix: str = ""):
    """(dotted.path, value) of every leaf of nested outputs, for a two-column table."""
    if isinstance(value, dict) and value:
        for key, item in value.items():
            yield from _flat(item, f"{prefix}.{key}" if prefix else key)
    elif value == {}:
        yield prefix, "(granted, no parameters)"
    else:
        yield prefix, _shown(value)


def _shown(value) -> str:
    if isinstance(value, list):
        return ", ".join(_shown(item) for item in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return "-" if value is None or value == {} else str(value)


def why_not(source: str, kinds, facts: dict, fired: set) -> dict[str, str]:
    """For each rule that did not fire, the comparisons the facts fail (or "missing")."""
    document, _ = read_document(source, kinds)
    if document is None:
        return {}
    given = {}
    for name, value in facts.items():
        spec = document.inputs.get(name)
        try:
            given[name] = spec.convert(value) if spec else value
        except ValueError:
            given[name] = value
    reasons = {}
    for rule in document.rules:
        if rule.id in fired:
            continue
        condition = c.normalise(rule.condition)
        parts = condition.items if isinstance(condition, c.AllOf) else (condition,)
        failing = [_failing(part, given) for part in parts if not c.to_python(part)(given)]
        reasons[rule.id] = (
            "; ".join(failing) or "its conditions hold; under hit_policy first an earlier rule applied"
        )
    return reasons


def _failing(part, facts: dict) -> str:
    if isinstance(part, c.Compare):
        if facts.get(part.input) is None:
            return f"{part.input} is missing"
        return f"{part.input} is {facts[part.input]!r}, not {_OPERATOR_WORDS[part.op]} {part.value!r}"
    if isinstance(part, c.Present):
        return f"{part.input} is {'missing' if part.present else 'present'}"
    inner = [_failing(item, facts) for item in part.items if not c.to_python(item)(facts)]
    if isinstance(part, c.AnyOf):
        return "none of: " + " | ".join(inner)
    return "; ".join(inner)


_OPERATOR_WORDS = {"eq": "=", "neq": "!=", "lt": "<", "lte": "<=", "gt": ">", "gte": ">="}


def _whole_numbers(value):
    """Struct carries every number as a double; show 3, not 3.0."""
    if isinstance(value, dict):
        return {key: _whole_numbers(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_whole_numbers(item) for item in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def served(command):
    """A command that asks a server: its connection closed when it ends."""

    def run(args) -> int:
        try:
            return command(args)
        finally:
            if getattr(args, "_connection", None) is not None:
                args._connection.close()
                args._connection = None

    return run


def connection_options() -> argparse.ArgumentParser:
    """``--gateway`` and ``--token-file``, for every command that asks a server."""
    options = argparse.ArgumentParser(add_help=False)
    where = options.add_argument_group("through the gateway")
    where.add_argument(
        "--gateway",
        nargs="?",
        const="",
        metavar="HOST:PORT",
        help="call the gateway instead of the owning service (without HOST:PORT: RETAILCARE_GATEWAY_TARGET, "
        "default 127.0.0.1:50051), showing a bearer token",
    )
    where.add_argument(
        "--token-file",
        metavar="PATH",
        help=f"file whose first line is the gateway token (default: ${GATEWAY_TOKEN_ENV}); implies --gateway",
    )
    return options


def _json_option(parser, what: str = "a table") -> None:
    parser.add_argument("--json", action="store_true", help=f"print JSON instead of {what}")


def add_rules_commands(commands) -> None:
    rules = commands.add_parser("rules", help="validate, test, publish and inspect rule sets")
    sub = rules.add_subparsers(dest="rules_command", required=True)
    author = {"default": getpass.getuser(), "help": "who does this (default: your login)"}
    online = [connection_options()]

    validate_cmd = sub.add_parser("validate", help="check a document offline: schema, compile, tests")
    validate_cmd.add_argument("file")
    _json_option(validate_cmd, "lines")
    validate_cmd.set_defaults(run=cmd_validate)
    test_cmd = sub.add_parser("test", help="run a document's embedded tests offline")
    test_cmd.add_argument("file")
    _json_option(test_cmd, "lines")
    test_cmd.set_defaults(run=cmd_test)
    actions = sub.add_parser("actions", help="a rule set's actions, their parameters, types and values")
    actions.add_argument("name")
    _json_option(actions)
    actions.set_defaults(run=cmd_actions)
    facts = sub.add_parser("facts", help="the facts a rule set may read: names, types, values")
    facts.add_argument("name", nargs="?")
    _json_option(facts)
    facts.add_argument("--markdown", action="store_true", help="every rule set's facts as the guide's table")
    facts.set_defaults(run=cmd_facts)
    show = sub.add_parser(
        "show", parents=online, help="print a stored version's text (default: the active one)"
    )
    show.add_argument("name")
    show.add_argument("version", type=int, nargs="?", default=0)
    _json_option(show, "the text (the version with its details)")
    show.set_defaults(run=served(cmd_show))
    publish = sub.add_parser(
        "publish", parents=online, help="store a document as the next version and activate it"
    )
    publish.add_argument("file")
    publish.add_argument("--comment", required=True)
    publish.add_argument("--author", **author)
    publish.add_argument("--stage-only", action="store_true", help="store without activating")
    publish.add_argument(
        "--at", metavar="ISO", help="activate at this moment instead of now (e.g. 2027-03-01T09:00+08:00)"
    )
    _json_option(publish, "a line")
    publish.set_defaults(run=served(cmd_publish))
    listing = sub.add_parser("list", parents=online, help="rule sets and their versions on every service")
    _json_option(listing)
    listing.set_defaults(run=served(cmd_list))
    scheduled = sub.add_parser(
        "scheduled", parents=online, help="versions waiting to become active at a moment"
    )
    _json_option(scheduled)
    scheduled.set_defaults(run=served(cmd_scheduled))
    cancel = sub.add_parser("cancel", parents=online, help="withdraw a version's scheduled activation")
    cancel.add_argument("name")
    cancel.add_argument("version", type=int)
    cancel.add_argument("--comment", default="cancelled")
    cancel.add_argument("--author", **author)
    _json_option(cancel, "a line")
    cancel.set_defaults(run=served(cmd_cancel))
    history = sub.add_parser("history", parents=online, help="versions and the audit log of a rule set")
    history.add_argument("name")
    _json_option(history)
    history.set_defaults(run=served(cmd_history))
    diff = sub.add_parser("diff", parents=online, help="what changed between two versions")
    diff.add_argument("name")
    diff.add_argument("v1", type=int)
    diff.add_argument("v2", type=int)
    _json_option(diff, "the unified diff")
    diff.set_defaults(run=served(cmd_diff))
    rollback = sub.add_parser("rollback", parents=online, help="activate an earlier (or any stored) version")
    rollback.add_argument("name")
    rollback.add_argument("version", type=int)
    rollback.add_argument("--comment", default="rollback")
    rollback.add_argument("--author", **author)
    _json_option(rollback, "a line")
    rollback.set_defaults(run=served(cmd_rollback))
    dry_run = sub.add_parser(
        "dry-run",
        parents=online,
        help="decide facts from a JSON file or a stored customer; changes nothing",
    )
    dry_run.add_argument("name")
    dry_run.add_argument("facts", nargs="?", help="a JSON file of input names and values")
    dry_run.add_argument(
        "--customer", metavar="LICENCE", help="the facts the service supplies for this customer"
    )
    dry_run.set_defaults(customer_facts={})  # rule set -> supplier, added by the owning service
    dry_run.add_argument("--version", type=int, default=0, help="a stored version (default: the active one)")
    dry_run.add_argument("--draft", help="decide with this unpublished document instead")
    _json_option(dry_run, "tables")
    dry_run.set_defaults(run=served(cmd_dry_run))
    rules.set_defaults(rules_commands=sub, dry_run=dry_run, connection_options=online)


def rules_commands(commands):
    """The ``rules`` sub-commands, for a service to add its own (``rules preview``; give it
    ``parents=connection_parents(commands)`` and wrap its function in ``served``), and the
    dry-run command, whose ``customer_facts`` default maps a rule set to the function that
    fetches a stored customer's facts: ``supplier(args, rule_set, licence) -> dict``."""
    rules = commands.choices["rules"]
    return rules.get_default("rules_commands"), rules.get_default("dry_run")


def connection_parents(commands) -> list[argparse.ArgumentParser]:
    """The parent parsers giving a command ``--gateway`` and ``--token-file``."""
    return commands.choices["rules"].get_default("connection_options")
