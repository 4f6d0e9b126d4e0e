"""Rule-set administration for the console: each call goes through the gateway's rule-set
routing (gateway/rule_sets.py) to the service that owns the rule set, exactly as a
gRPC caller's would."""

from __future__ import annotations

from datetime import datetime

from google.protobuf import json_format, timestamp_pb2
from retailcare.classification.v1 import classification_pb2 as cpb
from retailcare.classification.v1 import classification_pb2_grpc
from retailcare.rules.v1 import rule_sets_pb2 as pb

from gateway.downstream import passed_on
from gateway.rule_sets import SERVICE, RuleSetRouter
from services.classification.client import RULE_SETS as RECLASSIFIED
from services.classification.client import ClassificationClient
from services.common.clients import DownstreamNotFound
from services.common.errors import InvalidArgument
from services.common.rules.admin import facts_of

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
        """Every rule set per service, with the versions waiting for a scheduled activation."""
        listing = self.router.list_rule_sets(pb.ListRuleSetsRequest(), None)
        waiting: dict[str, list[dict]] = {}
        for activation in self._scheduled_everywhere():
            waiting.setdefault(activation.rule_set, []).append(as_json(activation))
        owner_of = self.router.owner_of
        rule_sets = [
            {
                **as_json(summary),
                "service": owner_of(summary.name) or "",
                "scheduled": waiting.get(summary.name, []),
            }
            for summary in listing.rule_sets
        ]
        return {"rule_sets": sorted(rule_sets, key=lambda r: (r["service"], r["name"]))}

    def _scheduled_everywhere(self) -> list:
        """ListScheduledActivations of every owning service (an empty name: all of its own)."""
        path = f"/{SERVICE.full_name}/ListScheduledActivations"
        calls = [
            (owner, owner.channel.unary_unary(
                path,
                request_serializer=pb.ListScheduledActivationsRequest.SerializeToString,
                response_deserializer=pb.ListScheduledActivationsResponse.FromString,
            ).future(pb.ListScheduledActivationsRequest(), **owner.call_options()))
            for owner in self.router.owners.values()
        ]  # fmt: skip
        found = []
        for owner, call in calls:
            with passed_on(owner, "ListScheduledActivations"):
                found.extend(call.result().activations)
        return found

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

    def publish(self, source: str, author: str, comment: str, activate_at: datetime | None = None) -> dict:
        """Publishes and activates now, or (with activate_at) stores now and activates then."""
        request = pb.PublishRuleSetRequest(source=source, author=author, comment=comment)
        if activate_at is not None:
            stamp = timestamp_pb2.Timestamp()
            stamp.FromDatetime(activate_at)
            request.activate_at.CopyFrom(stamp)
        return as_json(self._call("PublishRuleSet", request))

    def scheduled(self, name: str) -> dict:
        request = pb.ListScheduledActivationsRequest(rule_set=name)
        return as_json(self._call("ListScheduledActivations", request))

    def cancel(self, name: str, version: int, actor: str, comment: str) -> dict:
        request = pb.CancelScheduledActivationRequest(
            rule_set=name, version=version, actor=actor, comment=comment
        )
        return as_json(self._call("CancelScheduledActivation", request))

    def job(self, name: str) -> dict:
        """The latest reclassification job of a rule set whose activation reclassifies
        customers; {"reclassifies": false} for the others, "job": null before the first."""
        if name not in RECLASSIFIED:
            return {"rule_set": name, "reclassifies": False, "job": None}
        request = cpb.GetReclassificationJobRequest(rule_set=name)
        try:
            job = self.classification.call(self._classification.GetReclassificationJob, request).job
        except DownstreamNotFound:
            return {"rule_set": name, "reclassifies": True, "job": None}
        return {"rule_set": name, "reclassifies": True, "job": as_json(job)}

    def activate(self, name: str, version: int, actor: str, comment: str) -> dict:
        request = pb.ActivateRuleSetVersionRequest(
            rule_set=name, version=version, actor=actor, comment=comment
        )
        return as_json(self._call("ActivateRuleSetVersion", request))

    def customer_facts(self, name: str, licence: str) -> dict:
        """The facts the classification service decides a stored customer with (as
        ``retailcare rules dry-run NAME --customer LICENCE`` takes them): the record's
        inputs for the grading, with the stored star level for the entitlements."""
        reply = self.classification.customer_facts(licence, name)
        return {
            "rule_set": reply.rule_set,
            "licence_number": reply.licence_number,
            "facts": facts_of(reply.facts),
        }
