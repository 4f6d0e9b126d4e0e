"""Rule-set administration for the console: each call goes through the gateway's rule-set
routing (gateway/rule_sets.py) to the service that owns the rule set, exactly as a
gRPC caller's would."""

from __future__ import annotations

from google.protobuf import json_format
from retailcare.classification.v1 import classification_pb2 as cpb
from retailcare.classification.v1 import classification_pb2_grpc
from retailcare.rules.v1 import rule_sets_pb2 as pb

from gateway.downstream import passed_on
from gateway.rule_sets import SERVICE, RuleSetRouter
from services.classification.client import ClassificationClient
from services.common.errors import InvalidArgument

_RESPONSES = {method.name: method.output_type._concrete_class for method in SERVICE.methods}


def as_json(message) -> dict:
    return json_format.MessageToDict(
        message, preserving_proto_field_name=True, always_print_fields_with_no_presence=True
    )


class RuleSetConsole:
    def __init__(self, router: RuleSetRouter, classification: ClassificationClient):
        self.router = router
        self.classification = classification
        self._classification = classification_pb2_grpc.ClassificationServiceStub(classification.channel)

    def _call(self, method: str, request, editing: str = ""):
        downstream = self._owner(request, editing)
        response_type = _RESPONSES[method]
        stub = downstream.channel.unary_unary(
            f"/{SERVICE.full_name}/{method}",
            request_serializer=type(request).SerializeToString,
            response_deserializer=response_type.FromString,
        )
        with passed_on(downstream, method):
            return stub(request, **downstream.call_options())

    def _owner(self, request, editing: str):
        """The owner the request names; a draft too broken to name one (not YAML) goes
        to the owner of the rule set being edited, which says where it is broken."""
        try:
            return self.router.route(request)
        except InvalidArgument:
            owner = self.router.owner_of(editing) if editing else None
            if owner is None or owner not in self.router.owners:
                raise
            return self.router.owners[owner]

    def list(self) -> dict:
        listing = self.router.list_rule_sets(pb.ListRuleSetsRequest(), None)
        owner_of = self.router.owner_of
        rule_sets = [
            {**as_json(summary), "service": owner_of(summary.name) or ""} for summary in listing.rule_sets
        ]
        return {"rule_sets": sorted(rule_sets, key=lambda r: (r["service"], r["name"]))}

    def versions(self, name: str) -> dict:
        return as_json(
            self._call("ListRuleSetVersions", pb.ListRuleSetVersionsRequest(rule_set=name, page_size=100))
        )

    def version(self, name: str, version: int) -> dict:
        return as_json(
            self._call("GetRuleSetVersion", pb.GetRuleSetVersionRequest(rule_set=name, version=version))
        )

    def audit(self, name: str) -> dict:
        return as_json(
            self._call("ListRuleSetAudit", pb.ListRuleSetAuditRequest(rule_set=name, page_size=100))
        )

    def diff(self, name: str, from_version: int, to_version: int) -> dict:
        request = pb.DiffRuleSetVersionsRequest(
            rule_set=name, from_version=from_version, to_version=to_version
        )
        return as_json(self._call("DiffRuleSetVersions", request))

    def validate(self, source: str, editing: str) -> dict:
        return as_json(self._call("ValidateRuleSet", pb.ValidateRuleSetRequest(source=source), editing))

    def dry_run(self, source: str, facts: dict, editing: str) -> dict:
        request = pb.DryRunRuleSetRequest(draft_source=source)
        request.facts.update(facts)
        return as_json(self._call("DryRunRuleSet", request, editing))

    def preview_impact(self, source: str) -> dict:
        """What a grading or entitlements draft would change over all customers."""
        request = cpb.PreviewRuleSetImpactRequest(draft_source=source, sample_size=10)
        return as_json(self.classification.call(self._classification.PreviewRuleSetImpact, request))

    def publish(self, source: str, author: str, comment: str) -> dict:
        request = pb.PublishRuleSetRequest(source=source, author=author, comment=comment)
        return as_json(self._call("PublishRuleSet", request))

    def activate(self, name: str, version: int, actor: str, comment: str) -> dict:
        request = pb.ActivateRuleSetVersionRequest(
            rule_set=name, version=version, actor=actor, comment=comment
        )
        return as_json(self._call("ActivateRuleSetVersion", request))
