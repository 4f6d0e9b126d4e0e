"""``retailcare rules ...``: validate and test documents offline; publish (now or at a
moment), list, history, diff, roll back and dry-run against the owning service over gRPC."""

from __future__ import annotations

import datetime
import getpass
import json
import pathlib
import sys

import grpc
import yaml
from google.protobuf import json_format, struct_pb2
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
HISTORY_PAGE = 100


class CliError(Exception):
    """Printed on stderr as one line; the command exits with 1."""


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


def _stub(pack, rule_set: str):
    catalogue = pack.rule_set_catalogue()
    service = catalogue.owner_of(rule_set)
    if service is None:
        known = ", ".join(sorted(catalogue.all_kinds()))
        raise CliError(f"no service owns a rule set named {rule_set!r} (known: {known})")
    settings = load_settings(pack)
    target = settings.target(service)
    return rule_sets_pb2_grpc.RuleSetAdminStub(_channel(settings, target)), service, target


def _channel(settings, target: str) -> grpc.Channel:
    """A channel as the pack's own processes open them: TLS and the service token when
    configured, so the CLI still gets in once the side doors are closed."""
    return open_channel(
        target, credentials=channel_credentials(settings), service_token=read_service_token(settings)
    )


def _call(pack, rule_set: str, method: str, request):
    stub, service, target = _stub(pack, rule_set)
    return _ask(stub, method, request, service, target)


def call_service(pack, service: str, stub_type, method: str, request):
    """One call to a service of the pack, for the commands a service adds under ``rules``."""
    settings = load_settings(pack)
    target = settings.target(service)
    return _ask(stub_type(_channel(settings, target)), method, request, service, target)


def _ask(stub, method: str, request, service: str, target: str):
    try:
        return getattr(stub, method)(request, timeout=CALL_TIMEOUT_SECONDS)
    except grpc.RpcError as error:
        if error.code() == grpc.StatusCode.UNAVAILABLE:
            raise CliError(f"cannot reach {service} at {target}; is the pack running (make run)?") from None
        lines = [f"{error.code().name}: {error.details()}"]
        lines += [f"  {field}: {why}" for field, why in field_violations(error).items()]
        raise CliError("\n".join(lines)) from None


def _print_diagnostics(diagnostics, out=sys.stdout) -> None:
    for d in diagnostics:
        print(d if isinstance(d, str) else str(d), file=out)


# -- offline --------------------------------------------------------------------------
def cmd_validate(args) -> int:
    result = validate(read_source(args.file), args.pack.rule_set_catalogue().all_kinds())
    _print_diagnostics(result.diagnostics, sys.stderr if not result.valid else sys.stdout)
    if result.compiled:
        result.compiled.close()
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
        _print_diagnostics(result.errors, sys.stderr)
        print("no test ran: the document does not compile", file=sys.stderr)
        return 1
    failed = sum(1 for t in result.tests if not t.passed)
    if args.json:
        tests = [
            {"name": t.name, "line": t.line, "passed": t.passed, "failures": list(t.failures)}
            for t in result.tests
        ]
        _print_json({"passed": len(result.tests) - failed, "failed": failed, "tests": tests})
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
        _print_json({"rule_set": args.name, "actions": actions})
        return 0
    rows = []
    for action in actions:
        for param in action["parameters"] or [{"name": "-", "type": "", "required": False, "allowed": []}]:
            rows.append((action["action"], param["name"], param["type"], _needed(param), _values(param)))
    print_table(("action", "parameter", "type", "required", "values"), rows)
    return 0


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


def print_table(header: tuple, rows: list[tuple]) -> None:
    """Columns as wide as their widest cell, for a terminal."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows, strict=True)]
    for row in (header, *rows):
        print("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())


def _print_json(value) -> None:
    print(json.dumps(value, ensure_ascii=False, indent=2, default=str))


# -- against the owning service --------------------------------------------------------
def cmd_show(args) -> int:
    """A stored version's text as published (the active one without VERSION)."""
    request = pb.GetRuleSetVersionRequest(rule_set=args.name, version=args.version)
    version = _call(args.pack, args.name, "GetRuleSetVersion", request).version
    if args.json:
        _print_json(
            {
                "rule_set": version.rule_set,
                "version": version.version,
                "active": version.active,
                "author": version.author,
                "comment": version.comment,
                "checksum": version.checksum,
                "created_at": version.created_at.ToDatetime().isoformat(timespec="seconds"),
                "source": version.source,
            }
        )
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


def _when(stamp) -> str:
    return stamp.ToDatetime(tzinfo=datetime.UTC).isoformat(timespec="seconds")


def cmd_publish(args) -> int:
    source, name = read_named_source(args.file)
    request = pb.PublishRuleSetRequest(
        source=source, author=args.author, comment=args.comment, stage_only=args.stage_only
    )
    if args.at:
        request.activate_at.FromDatetime(_moment(args.at).astimezone(datetime.UTC))
    reply = _call(args.pack, name, "PublishRuleSet", request)
    _print_diagnostics([f"warning: line {d.line} {d.rule_id}: {d.message}" for d in reply.diagnostics])
    state = "staged" if args.stage_only else "active"
    if args.at and not reply.version.active:
        state = f"to become active at {_when(request.activate_at)}"
    print(
        f"published {reply.version.rule_set} version {reply.version.version} ({state}), checksum {reply.version.checksum[:12]}"
    )
    return 0


def cmd_list(args) -> int:
    """Every owner's rule sets; exits 1 naming the owners that could not be asked."""
    settings = load_settings(args.pack)
    replies, unreachable = {}, []
    for service in args.pack.rule_set_catalogue().kinds_by_service():
        stub = rule_sets_pb2_grpc.RuleSetAdminStub(_channel(settings, settings.target(service)))
        try:
            replies[service] = stub.ListRuleSets(pb.ListRuleSetsRequest(), timeout=CALL_TIMEOUT_SECONDS)
        except grpc.RpcError as error:
            unreachable.append(f"{service} at {settings.target(service)} ({error.code().name})")
    if not replies:
        raise CliError(f"cannot reach {', '.join(unreachable)}; is the pack running (make run)?")
    print(f"{'rule set':<24}{'service':<16}{'active':>7}{'latest':>7}{'serving':>8}  activated at")
    for service, reply in replies.items():
        for s in reply.rule_sets:
            activated = (
                s.activated_at.ToDatetime().isoformat(timespec="seconds") if s.activated_at.seconds else "-"
            )
            print(
                f"{s.name:<24}{service:<16}{s.active_version:>7}{s.latest_version:>7}{s.serving_version:>8}  {activated}"
            )
    if unreachable:
        print(f"retailcare: cannot reach {', '.join(unreachable)}", file=sys.stderr)
        return 1
    return 0


def cmd_scheduled(args) -> int:
    """Versions waiting for their moment on every owner; exits 1 naming the owners that
    could not be asked."""
    settings = load_settings(args.pack)
    rows, unreachable = [], []
    for service in args.pack.rule_set_catalogue().kinds_by_service():
        stub = rule_sets_pb2_grpc.RuleSetAdminStub(_channel(settings, settings.target(service)))
        request = pb.ListScheduledActivationsRequest()
        try:
            reply = stub.ListScheduledActivations(request, timeout=CALL_TIMEOUT_SECONDS)
        except grpc.RpcError as error:
            unreachable.append(f"{service} at {settings.target(service)} ({error.code().name})")
            continue
        rows += [
            (a.rule_set, a.version, _when(a.activate_at), a.author, a.comment) for a in reply.activations
        ]
    if len(unreachable) == len(args.pack.rule_set_catalogue().kinds_by_service()):
        raise CliError(f"cannot reach {', '.join(unreachable)}; is the pack running (make run)?")
    if rows:
        header = ("rule set", "version", "activates at (UTC)", "author", "comment")
        print_table(header, sorted(rows, key=lambda row: row[2]))
    else:
        print("no activation is scheduled")
    if unreachable:
        print(f"retailcare: cannot reach {', '.join(unreachable)}", file=sys.stderr)
        return 1
    return 0


def cmd_cancel(args) -> int:
    request = pb.CancelScheduledActivationRequest(
        rule_set=args.name, version=args.version, actor=args.author, comment=args.comment
    )
    reply = _call(args.pack, args.name, "CancelScheduledActivation", request)
    print(
        f"{args.name}: version {args.version} will not become active at {_when(reply.cancelled.activate_at)}"
    )
    return 0


def _pages(pack, rule_set: str, method: str, request_type, items: str):
    """Every item of a paged list, fetched a page at a time as the output goes."""
    token = ""
    while True:
        reply = _call(
            pack, rule_set, method, request_type(rule_set=rule_set, page_size=HISTORY_PAGE, page_token=token)
        )
        yield from getattr(reply, items)
        token = reply.next_page_token
        if not token:
            return


def cmd_history(args) -> int:
    print(f"{'version':>7}  {'':6}{'created':<21}{'author':<16}comment")
    for v in _pages(args.pack, args.name, "ListRuleSetVersions", pb.ListRuleSetVersionsRequest, "versions"):
        created = v.created_at.ToDatetime().isoformat(timespec="seconds")
        print(f"{v.version:>7}  {'active' if v.active else '':6}{created:<21}{v.author:<16}{v.comment}")
    print("\naudit log, newest first:")
    for a in _pages(args.pack, args.name, "ListRuleSetAudit", pb.ListRuleSetAuditRequest, "entries"):
        print(
            f"  {a.at.ToDatetime().isoformat(timespec='seconds')}  {a.action:<9} v{a.version:<4} {a.actor}: {a.comment}"
        )
    return 0


def cmd_diff(args) -> int:
    request = pb.DiffRuleSetVersionsRequest(rule_set=args.name, from_version=args.v1, to_version=args.v2)
    print(
        _call(args.pack, args.name, "DiffRuleSetVersions", request).unified_diff or "(no differences)", end=""
    )
    return 0


def cmd_rollback(args) -> int:
    request = pb.ActivateRuleSetVersionRequest(
        rule_set=args.name, version=args.version, actor=args.author, comment=args.comment
    )
    reply = _call(args.pack, args.name, "ActivateRuleSetVersion", request)
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
        return supplier(args.pack, args.name, args.customer)
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
    decision = _call(args.pack, args.name, "DryRunRuleSet", request).decision
    if not args.draft:
        stored = pb.GetRuleSetVersionRequest(rule_set=args.name, version=decision.version)
        source = _call(args.pack, args.name, "GetRuleSetVersion", stored).version.source
    kinds = args.pack.rule_set_catalogue().all_kinds()

    print(
        json.dumps(
            {
                "rule_set": decision.rule_set,
                "version": decision.version or "draft",
                "facts": facts,
                "fired_rules": list(decision.fired_rules),
                "not_fired": why_not(source, kinds, facts, set(decision.fired_rules)),
                "outputs": _whole_numbers(json_format.MessageToDict(decision.outputs)),
            },
            ensure_ascii=False,
            indent=2,
        )
    )
    return 0


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


def add_rules_commands(commands) -> None:
    rules = commands.add_parser("rules", help="validate, test, publish and inspect rule sets")
    sub = rules.add_subparsers(dest="rules_command", required=True)
    author = {"default": getpass.getuser(), "help": "who does this (default: your login)"}

    validate_cmd = sub.add_parser("validate", help="check a document offline: schema, compile, tests")
    validate_cmd.add_argument("file")
    validate_cmd.set_defaults(run=cmd_validate)
    test_cmd = sub.add_parser("test", help="run a document's embedded tests offline")
    test_cmd.add_argument("file")
    test_cmd.add_argument("--json", action="store_true", help="print JSON instead of lines")
    test_cmd.set_defaults(run=cmd_test)
    actions = sub.add_parser("actions", help="a rule set's actions, their parameters, types and values")
    actions.add_argument("name")
    actions.add_argument("--json", action="store_true", help="print JSON instead of a table")
    actions.set_defaults(run=cmd_actions)
    show = sub.add_parser("show", help="print a stored version's text (default: the active one)")
    show.add_argument("name")
    show.add_argument("version", type=int, nargs="?", default=0)
    show.add_argument("--json", action="store_true", help="print the version with its details as JSON")
    show.set_defaults(run=cmd_show)
    publish = sub.add_parser("publish", help="store a document as the next version and activate it")
    publish.add_argument("file")
    publish.add_argument("--comment", required=True)
    publish.add_argument("--author", **author)
    publish.add_argument("--stage-only", action="store_true", help="store without activating")
    publish.add_argument(
        "--at", metavar="ISO", help="activate at this moment instead of now (e.g. 2027-03-01T09:00+08:00)"
    )
    publish.set_defaults(run=cmd_publish)
    sub.add_parser("list", help="rule sets and their versions on every service").set_defaults(run=cmd_list)
    sub.add_parser("scheduled", help="versions waiting to become active at a moment").set_defaults(
        run=cmd_scheduled
    )
    cancel = sub.add_parser("cancel", help="withdraw a version's scheduled activation")
    cancel.add_argument("name")
    cancel.add_argument("version", type=int)
    cancel.add_argument("--comment", default="cancelled")
    cancel.add_argument("--author", **author)
    cancel.set_defaults(run=cmd_cancel)
    history = sub.add_parser("history", help="versions and the audit log of a rule set")
    history.add_argument("name")
    history.set_defaults(run=cmd_history)
    diff = sub.add_parser("diff", help="what changed between two versions")
    diff.add_argument("name")
    diff.add_argument("v1", type=int)
    diff.add_argument("v2", type=int)
    diff.set_defaults(run=cmd_diff)
    rollback = sub.add_parser("rollback", help="activate an earlier (or any stored) version")
    rollback.add_argument("name")
    rollback.add_argument("version", type=int)
    rollback.add_argument("--comment", default="rollback")
    rollback.add_argument("--author", **author)
    rollback.set_defaults(run=cmd_rollback)
    dry_run = sub.add_parser(
        "dry-run", help="decide facts from a JSON file or a stored customer; changes nothing"
    )
    dry_run.add_argument("name")
    dry_run.add_argument("facts", nargs="?", help="a JSON file of input names and values")
    dry_run.add_argument(
        "--customer", metavar="LICENCE", help="the facts the service supplies for this customer"
    )
    dry_run.set_defaults(customer_facts={})  # rule set -> supplier, added by the owning service
    dry_run.add_argument("--version", type=int, default=0, help="a stored version (default: the active one)")
    dry_run.add_argument("--draft", help="decide with this unpublished document instead")
    dry_run.set_defaults(run=cmd_dry_run)
    rules.set_defaults(rules_commands=sub, dry_run=dry_run)


def rules_commands(commands):
    """The ``rules`` sub-commands, for a service to add its own (``rules preview``), and the
    dry-run command, whose ``customer_facts`` default maps a rule set to the function that
    fetches a stored customer's facts: ``supplier(pack, rule_set, licence) -> dict``."""
    rules = commands.choices["rules"]
    return rules.get_default("rules_commands"), rules.get_default("dry_run")
