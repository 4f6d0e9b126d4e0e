"""Domain objects and use-case results <-> the classification contract's protobuf."""

from __future__ import annotations

import datetime

from google.protobuf import struct_pb2, timestamp_pb2
from retailcare.classification.v1 import classification_pb2 as pb

from services.classification.domain import (
    FILTER_FIELDS,
    INPUT_FIELDS,
    ClassificationRecord,
    Customer,
    MarketZone,
    Outcome,
    PreviewReport,
    ServiceDescription,
)
from services.classification.job_store import Job
from services.classification.ports import CustomerQuery
from services.classification.service_layer import DecidedOn, Explanation, ImportResult, ReclassifyProgress
from services.common.errors import InvalidArgument
from services.common.times import to_timestamp, utc

_ACTIVITY = {
    pb.CustomerFilter.ACTIVITY_UNSPECIFIED: "active",
    pb.CustomerFilter.ACTIVE_ONLY: "active",
    pb.CustomerFilter.INACTIVE_ONLY: "inactive",
    pb.CustomerFilter.ALL: "all",
}


# -- requests -----------------------------------------------------------------------------------
def input_values(message: pb.CustomerInput) -> dict:
    """The caller's values by field name; an optional number left out is None."""
    return {
        spec.name: getattr(message, spec.name)
        if not spec.optional_number or message.HasField(spec.name)
        else None
        for spec in INPUT_FIELDS
    }


def customer_query(message: pb.CustomerFilter) -> CustomerQuery:
    activity = _ACTIVITY.get(message.activity)
    if activity is None:
        names = ", ".join(pb.CustomerFilter.Activity.keys())
        raise InvalidArgument([("filter.activity", f"unknown value {message.activity}: use one of {names}")])
    return CustomerQuery(equals={name: getattr(message, name) for name in FILTER_FIELDS}, activity=activity)


def description_values(message: pb.ServiceDescription) -> dict:
    return {
        "service": message.service,
        "name": message.name,
        "kind": message.kind,
        "procedure_steps": list(message.procedure_steps),
        "standard": message.standard,
        "commitment": message.commitment,
    }


# -- replies ---------------------------------------------------------------------------------------
_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)


def timestamp(moment: datetime.datetime | None) -> timestamp_pb2.Timestamp | None:
    """to_timestamp's value, from the time since the epoch: no calendar round trip (a
    customer carries three moments, and the replies of the hot calls carry customers)."""
    if moment is None:
        return None
    elapsed = utc(moment) - _EPOCH
    return timestamp_pb2.Timestamp(
        seconds=elapsed.days * 86_400 + elapsed.seconds, nanos=elapsed.microseconds * 1000
    )


def _struct(values: dict) -> struct_pb2.Struct:
    struct = struct_pb2.Struct()
    struct.update(values)
    return struct


def facts_reply(licence: str, rule_set: str, facts: dict) -> pb.GetCustomerFactsResponse:
    return pb.GetCustomerFactsResponse(licence_number=licence, rule_set=rule_set, facts=_struct(facts))


# Menu items built for a description and parameters, by the identity of both: the
# descriptions come from the use cases' copy and the parameters from the decoded JSON that
# customers with the same menu share (neither is changed once made). Cleared when full.
_MENU_ITEMS_LIMIT = 4096
_menu_items: dict[tuple[int, int], tuple[ServiceDescription, dict, pb.MenuItem]] = {}


def _menu_item(description: ServiceDescription, parameters: dict) -> pb.MenuItem:
    key = (id(description), id(parameters))
    entry = _menu_items.get(key)
    if entry is None or entry[0] is not description or entry[1] is not parameters:
        if len(_menu_items) >= _MENU_ITEMS_LIMIT:
            _menu_items.clear()
        item = pb.MenuItem(description=description_message(description), parameters=_struct(parameters))
        entry = _menu_items[key] = (description, parameters, item)
    return entry[2]


def menu_items(items: list[tuple[ServiceDescription, dict]]) -> list[pb.MenuItem]:
    """A menu's items as messages (shared: copy them into a reply, never change them)."""
    return [_menu_item(d, p) for d, p in items]


def outcome_message(outcome: Outcome | None) -> pb.Classification:
    if outcome is None:
        return pb.Classification()
    return pb.Classification(
        grade=outcome.grade,
        star_level=outcome.star_level,
        size_class=outcome.size_class,
        classification_code=outcome.classification_code,
        segment=outcome.segment,
        services=list(outcome.services),
        grading_version=outcome.grading_version,
        entitlements_version=outcome.entitlements_version,
    )


def classification_message(record: ClassificationRecord | None) -> pb.Classification:
    message = outcome_message(record.outcome if record else None)
    if record is not None:
        message.classified_at.CopyFrom(timestamp(record.classified_at))
        message.reason = record.reason
    return message


def decided_on_message(decided_on: DecidedOn) -> pb.DecidedOn:
    return pb.DecidedOn(
        grading_version=decided_on.grading_version,
        entitlements_version=decided_on.entitlements_version,
        active_grading_version=decided_on.active_grading_version,
        active_entitlements_version=decided_on.active_entitlements_version,
        newer_version_active=decided_on.newer_version_active,
    )


def customer_message(customer: Customer, decided_on: DecidedOn | None = None) -> pb.Customer:
    given = {name: value for name, value in customer.inputs.items() if value is not None}
    message = pb.Customer(
        input=pb.CustomerInput(**given),
        team_id=customer.team_id,
        active=customer.active,
        classification=classification_message(customer.classification),
        created_at=timestamp(customer.created_at),
        updated_at=timestamp(customer.updated_at),
    )
    if decided_on is not None:
        message.decided_on.CopyFrom(decided_on_message(decided_on))
    return message


def description_message(description: ServiceDescription) -> pb.ServiceDescription:
    return pb.ServiceDescription(
        service=description.service,
        name=description.name,
        kind=description.kind,
        procedure_steps=description.procedure_steps,
        standard=description.standard,
        commitment=description.commitment,
    )


def zone_message(zone: MarketZone) -> pb.MarketZone:
    return pb.MarketZone(
        code=zone.code, name=zone.name, team_id=zone.team_id, updated_at=to_timestamp(zone.updated_at)
    )


def menu_reply(
    customer: Customer, items: list[tuple[ServiceDescription, dict]], decided_on: DecidedOn
) -> pb.GetServiceMenuResponse:
    return pb.GetServiceMenuResponse(
        licence_number=customer.licence_number,
        customer_name=customer.inputs["name"],
        items=menu_items(items),
        customer_manager_id=customer.inputs["customer_manager_id"],
        team_id=customer.team_id,
        entitlements_version=customer.outcome.entitlements_version if customer.outcome else 0,
        decided_on=decided_on_message(decided_on),
    )


def explanation_reply(explanation: Explanation) -> pb.ExplainClassificationResponse:
    outcome = explanation.classification.outcome if explanation.classification else None
    return pb.ExplainClassificationResponse(
        classification=classification_message(explanation.classification),
        reasons=[
            pb.Reason(
                output=r.output,
                rule_set=r.rule_set,
                version=r.version,
                rule_id=r.rule_id,
                rule_description=r.rule_description,
            )
            for r in explanation.reasons
        ],
        grading_fired_rules=outcome.grading_fired if outcome else (),
        entitlement_fired_rules=outcome.entitlement_fired if outcome else (),
    )


def import_reply(result: ImportResult, rows_done: int) -> pb.ImportCustomersResponse:
    return pb.ImportCustomersResponse(
        created=result.created,
        updated=result.updated,
        errors=[pb.RowError(row=n, field=f, message=m) for n, f, m in result.errors],
        rows_done=rows_done,
    )


def progress_reply(progress: ReclassifyProgress, done: bool = False) -> pb.ReclassifyCustomersResponse:
    return pb.ReclassifyCustomersResponse(
        processed=progress.processed,
        total=progress.total,
        changed=progress.changed,
        failed=progress.failed,
        skipped=progress.skipped,
        done=done,
    )


def job_message(job: Job) -> pb.ReclassificationJob:
    return pb.ReclassificationJob(
        id=job.id,
        rule_set=job.rule_set,
        version=job.version,
        state=job.state,
        total=job.total,
        done=job.done,
        changed=job.changed,
        failed=job.failed,
        skipped=job.skipped,
        lease_owner=job.lease_owner,
        created_at=to_timestamp(job.created_at),
        updated_at=to_timestamp(job.updated_at),
    )


def _transitions(counts) -> list[pb.Transition]:
    return [pb.Transition(**{"from": a, "to": b, "customers": n}) for (a, b), n in sorted(counts.items())]


def preview_reply(report: PreviewReport) -> pb.PreviewRuleSetImpactResponse:
    changed_services = sorted(set(report.gained) | set(report.lost) | set(report.reparameterised))
    return pb.PreviewRuleSetImpactResponse(
        rule_set=report.rule_set,
        customers=report.customers,
        changed=report.changed,
        grade_transitions=_transitions(report.grade_transitions),
        star_transitions=_transitions(report.star_transitions),
        service_changes=[
            pb.ServiceChange(
                service=s,
                gained=report.gained[s],
                lost=report.lost[s],
                parameters_changed=report.reparameterised[s],
            )
            for s in changed_services
        ],
        sample=[
            pb.AffectedCustomer(
                licence_number=licence,
                before=_without_versions(outcome_message(before)),
                after=outcome_message(after),
            )
            for licence, before, after in report.sample
        ],
        seconds=report.seconds,
    )


def impact_reply(item: list | PreviewReport) -> pb.StreamRuleSetImpactResponse:
    """A chunk of changed customers, or (the last message) the counts."""
    if isinstance(item, PreviewReport):
        return pb.StreamRuleSetImpactResponse(summary=preview_reply(item))
    return pb.StreamRuleSetImpactResponse(rows=[pb.ImpactRow(**vars(row)) for row in item])


def _without_versions(message: pb.Classification) -> pb.Classification:
    """A preview's "before" shows what the customer has, not on which versions."""
    message.ClearField("grading_version")
    message.ClearField("entitlements_version")
    return message
