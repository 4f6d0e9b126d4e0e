"""Rule-set administration through the gateway: each call goes to the service that owns
the rule set it names (by ``rule_set``, or by the ``name`` in a draft document), so
analysts and the CLI need a single address. ListRuleSets asks every owner at once."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import grpc
from retailcare.rules.v1 import rule_sets_pb2 as pb

from gateway.downstream import Downstream, passed_on
from gateway.permissions import methods_of
from gateway.relay import relay_handler
from services.common.errors import InvalidArgument
from services.common.rules.document import load_yaml

SERVICE = pb.DESCRIPTOR.services_by_name["RuleSetAdmin"]
_LIST_PATH = f"/{SERVICE.full_name}/ListRuleSets"


def _named_in(source: str) -> str:
    try:
        document = load_yaml(source)
    except Exception:  # noqa: BLE001 - a draft that is not YAML names no rule set
        return ""
    name = document.get("name", "") if isinstance(document, dict) else ""
    return name if isinstance(name, str) else ""


def rule_set_named(request) -> tuple[str, str]:
    """(field, rule-set name) a RuleSetAdmin request is about."""
    fields = request.DESCRIPTOR.fields_by_name
    if "rule_set" in fields and request.rule_set:
        return "rule_set", request.rule_set
    for field in ("source", "draft_source"):
        if field in fields and getattr(request, field):
            return field, _named_in(getattr(request, field))
    return "rule_set", ""


class RuleSetRouter:
    def __init__(self, owners: Mapping[str, Downstream], owner_of: Callable[[str], str | None]):
        self.owners = dict(owners)
        self.owner_of = owner_of

    def route(self, request) -> Downstream:
        field, name = rule_set_named(request)
        if not name:
            why = "is required" if field == "rule_set" else "names no rule set (its 'name' key)"
            raise InvalidArgument([(field, why)])
        owner = self.owner_of(name)
        if owner is None or owner not in self.owners:
            raise InvalidArgument([(field, f"no service owns a rule set named {name!r}")])
        return self.owners[owner]

    def list_rule_sets(self, request: pb.ListRuleSetsRequest, context) -> pb.ListRuleSetsResponse:
        calls = [
            (owner, owner.channel.unary_unary(
                _LIST_PATH,
                request_serializer=pb.ListRuleSetsRequest.SerializeToString,
                response_deserializer=pb.ListRuleSetsResponse.FromString,
            ).future(request, **owner.call_options()))
            for owner in self.owners.values()
        ]  # fmt: skip
        merged = pb.ListRuleSetsResponse()
        for owner, call in calls:
            with passed_on(owner, "ListRuleSets"):
                merged.rule_sets.extend(call.result().rule_sets)
        return merged

    def handler(self) -> grpc.GenericRpcHandler:
        listing = grpc.unary_unary_rpc_method_handler(
            self.list_rule_sets,
            request_deserializer=pb.ListRuleSetsRequest.FromString,
            response_serializer=pb.ListRuleSetsResponse.SerializeToString,
        )
        return relay_handler(SERVICE, methods_of(SERVICE.full_name), self.route, {"ListRuleSets": listing})
