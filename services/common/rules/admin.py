"""The RuleSetAdmin gRPC service: thin; the work is in validation, store and registry."""

from __future__ import annotations

import datetime

from google.protobuf import json_format, struct_pb2
from retailcare.rules.v1 import rule_sets_pb2 as pb
from retailcare.rules.v1 import rule_sets_pb2_grpc

from services.common import paging
from services.common.errors import FailedPrecondition, InvalidArgument, NotFound
from services.common.rules.engine import Decision, FactsError
from services.common.rules.model import Diagnostic
from services.common.rules.registry import RuleSetRegistry
from services.common.rules.store import AuditRecord, ScheduleRecord, VersionRecord
from services.common.rules.validation import TestOutcome, ValidationResult, validate
from services.common.times import from_timestamp, now, to_timestamp

SCHEDULE_PAST = datetime.timedelta(minutes=1)  # clock skew between the analyst and the service
SCHEDULE_AHEAD = datetime.timedelta(days=366)
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
_SEVERITY = {"error": pb.Diagnostic.ERROR, "warning": pb.Diagnostic.WARNING}


def _diagnostic(d: Diagnostic) -> pb.Diagnostic:
    return pb.Diagnostic(
        severity=_SEVERITY[d.severity],
        rule_id=d.rule_id,
        line=d.line,
        message=d.message,
        table_row=d.table_row,
        table_columns=d.table_columns,
    )


def _test_result(outcome: TestOutcome) -> pb.TestResult:
    return pb.TestResult(
        name=outcome.name, line=outcome.line, passed=outcome.passed, failures=outcome.failures
    )


def _version(record: VersionRecord, with_source: bool = True) -> pb.RuleSetVersion:
    return pb.RuleSetVersion(
        rule_set=record.rule_set,
        version=record.version,
        checksum=record.checksum,
        author=record.author,
        comment=record.comment,
        created_at=to_timestamp(record.created_at),
        source=record.source if with_source else "",
        active=record.active,
    )


def _audit_entry(entry: AuditRecord) -> pb.AuditEntry:
    return pb.AuditEntry(
        rule_set=entry.rule_set,
        version=entry.version,
        action=entry.action,
        actor=entry.actor,
        comment=entry.comment,
        at=to_timestamp(entry.at),
    )


def _scheduled(record: ScheduleRecord) -> pb.ScheduledActivation:
    return pb.ScheduledActivation(
        rule_set=record.rule_set,
        version=record.version,
        activate_at=to_timestamp(record.activate_at),
        author=record.author,
        comment=record.comment,
    )


def _activation_moment(request) -> datetime.datetime | None:
    """The publish request's activate_at, checked against the window around now."""
    moment = from_timestamp(request, "activate_at")
    if moment is None:
        return None
    current = now()
    if request.stage_only:
        raise InvalidArgument([("activate_at", "cannot be given with stage_only: choose one")])
    if moment < current - SCHEDULE_PAST:
        raise InvalidArgument([("activate_at", f"is in the past (now is {current.isoformat()})")])
    if moment > current + SCHEDULE_AHEAD:
        raise InvalidArgument([("activate_at", "is more than 366 days ahead")])
    return moment


def _struct_value(value):
    """A decision's output as a Struct can carry it: keys as text (score bands are keyed
    by their lower bound, a number), sequences as lists, anything else unknown as text."""
    if isinstance(value, dict):
        return {_struct_key(key): _struct_value(item) for key, item in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_struct_value(item) for item in value]
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    return str(value)


def _struct_key(key) -> str:
    """A number as text the way the rule set writes it: 1, not 1.0."""
    if isinstance(key, float) and key.is_integer():
        return str(int(key))
    return str(key)


def _decision(decision: Decision) -> pb.Decision:
    outputs = struct_pb2.Struct()
    outputs.update(_struct_value(decision.outputs))
    return pb.Decision(
        rule_set=decision.rule_set,
        version=decision.version,
        outputs=outputs,
        fired_rules=list(decision.fired),
        seconds=decision.seconds,
    )


def _refuse(result: ValidationResult, field: str = "source") -> InvalidArgument:
    return InvalidArgument(
        [(field, str(d)) for d in result.errors],
        f"the rule set is invalid: {len(result.errors)} problem(s); the first: {result.errors[0]}",
    )


def facts_of(message: struct_pb2.Struct) -> dict:
    return json_format.MessageToDict(message)


class RuleSetAdminServicer(rule_sets_pb2_grpc.RuleSetAdminServicer):
    def __init__(self, registry: RuleSetRegistry):
        self.registry = registry
        self.store = registry.store

    def _known(self, name: str) -> str:
        if not name:
            raise InvalidArgument([("rule_set", "is required")])
        if name not in self.registry.kinds:
            raise NotFound(
                "rule set",
                name,
                f"this service owns no rule set {name!r} (it owns {', '.join(self.registry.kinds)})",
            )
        return name

    def ListRuleSets(self, request, context):
        active, latest = self.store.active_versions(), self.store.latest_versions()
        summaries = []
        for name in self.registry.kinds:
            serving = self.registry.serving_version(name)
            description = self.registry.serving(name).document.description if serving else ""
            summaries.append(
                pb.RuleSetSummary(
                    name=name,
                    description=description.strip(),
                    active_version=active.get(name, 0),
                    latest_version=latest.get(name, 0),
                    activated_at=to_timestamp(self.store.activated_at(name)),
                    serving_version=serving,
                )
            )
        return pb.ListRuleSetsResponse(rule_sets=summaries)

    def GetRuleSetVersion(self, request, context):
        record = self.store.get(self._known(request.rule_set), request.version)
        return pb.GetRuleSetVersionResponse(version=_version(record))

    def ValidateRuleSet(self, request, context):
        result = validate(request.source, self.registry.kinds)
        if result.compiled is not None:
            result.compiled.close()
        return pb.ValidateRuleSetResponse(
            valid=result.valid,
            rule_set=result.document.name if result.document else "",
            diagnostics=[_diagnostic(d) for d in result.diagnostics],
            tests_passed=result.tests_passed,
            tests=[_test_result(outcome) for outcome in result.tests],
        )

    def DryRunRuleSet(self, request, context):
        facts = facts_of(request.facts)
        compiled, warnings = self._dry_run_target(request)
        try:
            if compiled is None:
                decision = self.registry.dry_run(request.rule_set, facts)
            else:
                decision = compiled.decide(facts, memoise=False)
        except FactsError as problem:
            raise InvalidArgument([(f"facts.{field}", why) for field, why in problem.violations]) from None
        finally:
            if compiled is not None:
                compiled.close()
        return pb.DryRunRuleSetResponse(
            decision=_decision(decision), diagnostics=[_diagnostic(d) for d in warnings]
        )

    def _dry_run_target(self, request):
        """A freshly compiled draft or stored version, or None for the version serving."""
        if request.WhichOneof("target") == "draft_source":
            result = validate(request.draft_source, self.registry.kinds)
            if not result.valid:
                raise _refuse(result, "draft_source")
            return result.compiled, result.warnings
        name = self._known(request.rule_set)
        if not request.version:
            return None, []
        result = validate(self.store.get(name, request.version).source, self.registry.kinds, request.version)
        if not result.valid:
            raise FailedPrecondition(
                f"{name} version {request.version} no longer validates: {result.errors[0]}", name
            )
        return result.compiled, []

    def PublishRuleSet(self, request, context):
        if not request.author.strip():
            raise InvalidArgument([("author", "is required: who publishes this version")])
        activate_at = _activation_moment(request)
        result = validate(request.source, self.registry.kinds)
        if not result.valid:
            raise _refuse(result)
        result.compiled.close()
        record = self.store.publish(
            result.document.name,
            request.source,
            request.author.strip(),
            request.comment,
            not request.stage_only,
            activate_at,
        )
        self.registry.refresh()
        return pb.PublishRuleSetResponse(
            version=_version(record), diagnostics=[_diagnostic(d) for d in result.warnings]
        )

    def ActivateRuleSetVersion(self, request, context):
        name = self._known(request.rule_set)
        violations = []
        if request.version <= 0:
            violations.append(("version", "must be a stored version number"))
        if not request.actor.strip():
            violations.append(("actor", "is required: who activates this version"))
        if violations:
            raise InvalidArgument(violations)
        record, previous = self.store.activate(name, request.version, request.actor.strip(), request.comment)
        self.registry.refresh()
        return pb.ActivateRuleSetVersionResponse(version=_version(record), previous_version=previous)

    def ListScheduledActivations(self, request, context):
        name = self._known(request.rule_set) if request.rule_set else ""
        records = [r for r in self.store.scheduled(name) if r.rule_set in self.registry.kinds]
        return pb.ListScheduledActivationsResponse(activations=[_scheduled(r) for r in records])

    def CancelScheduledActivation(self, request, context):
        name = self._known(request.rule_set)
        violations = []
        if request.version <= 0:
            violations.append(("version", "must be a stored version number"))
        if not request.actor.strip():
            violations.append(("actor", "is required: who cancels this activation"))
        if violations:
            raise InvalidArgument(violations)
        record = self.store.cancel_scheduled(name, request.version, request.actor.strip(), request.comment)
        self.registry.refresh()
        return pb.CancelScheduledActivationResponse(cancelled=_scheduled(record))

    def ListRuleSetVersions(self, request, context):
        records, token = self._page(request, "versions", self.store.versions)
        return pb.ListRuleSetVersionsResponse(
            versions=[_version(r, with_source=False) for r in records], next_page_token=token
        )

    def ListRuleSetAudit(self, request, context):
        records, token = self._page(request, "audit", self.store.audit)
        return pb.ListRuleSetAuditResponse(entries=[_audit_entry(a) for a in records], next_page_token=token)

    def _page(self, request, listing: str, read) -> tuple[list, str]:
        """One page of a rule set's versions or audit log, and the token of the next."""
        name = self._known(request.rule_set)
        scope = f"{listing}/{name}"
        offset = paging.decode_token(request.page_token, scope)
        limit = paging.page_size(request.page_size, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
        records = read(name, offset, limit)
        return records, paging.encode_token(offset + limit, scope) if len(records) == limit else ""

    def DiffRuleSetVersions(self, request, context):
        name = self._known(request.rule_set)
        violations = [
            (f, "must be a version number")
            for f in ("from_version", "to_version")
            if getattr(request, f) <= 0
        ]
        if violations:
            raise InvalidArgument(violations)
        return pb.DiffRuleSetVersionsResponse(
            unified_diff=self.store.diff(name, request.from_version, request.to_version)
        )
