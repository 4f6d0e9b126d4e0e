"""ClassificationService over gRPC: parse the request, call a use case, build the reply."""

from __future__ import annotations

from google.protobuf import struct_pb2
from retailcare.classification.v1 import classification_pb2 as pb
from retailcare.classification.v1 import classification_pb2_grpc

from services.classification import domain
from services.classification.rules import ENTITLEMENTS, GRADING
from services.classification.service_layer import FILTER_FIELDS, Classification
from services.classification.storage import (
    ClassificationRow,
    CustomerRow,
    MarketZoneRow,
    ServiceDescriptionRow,
)
from services.common.errors import InvalidArgument
from services.common.times import to_timestamp

_ACTIVITY = {
    pb.CustomerFilter.ACTIVITY_UNSPECIFIED: "active",
    pb.CustomerFilter.ACTIVE_ONLY: "active",
    pb.CustomerFilter.INACTIVE_ONLY: "inactive",
    pb.CustomerFilter.ALL: "all",
}


def _struct(values: dict) -> struct_pb2.Struct:
    struct = struct_pb2.Struct()
    struct.update(values)
    return struct


def input_values(message: pb.CustomerInput) -> dict:
    values = {
        name: getattr(message, name).strip() if name != "licence_number" else getattr(message, name)
        for name in domain.TEXT_FIELDS
    }
    values["monthly_sales_cartons"] = message.monthly_sales_cartons
    for name in domain.OPTIONAL_NUMBERS:
        values[name] = getattr(message, name) if message.HasField(name) else None
    return values


def _classification(row: CustomerRow | ClassificationRow) -> pb.Classification:
    if row.grade is None:
        return pb.Classification()
    return pb.Classification(
        grade=row.grade,
        star_level=row.star_level,
        size_class=row.size_class,
        classification_code=row.classification_code,
        segment=row.segment,
        services=list(row.services),
        grading_version=row.grading_version,
        entitlements_version=row.entitlements_version,
        classified_at=to_timestamp(
            row.classified_at if isinstance(row, ClassificationRow) else row.classified_at
        ),
        reason=row.reason if isinstance(row, ClassificationRow) else row.classification_reason,
    )


def customer_message(row: CustomerRow) -> pb.Customer:
    values = {name: getattr(row, name) for name in domain.INPUT_FIELDS}
    optional = {name: values.pop(name) for name in domain.OPTIONAL_NUMBERS}
    message = pb.CustomerInput(**values, **{k: v for k, v in optional.items() if v is not None})
    return pb.Customer(
        input=message,
        team_id=row.team_id,
        active=row.active,
        classification=_classification(row),
        created_at=to_timestamp(row.created_at),
        updated_at=to_timestamp(row.updated_at),
    )


def _description(row: ServiceDescriptionRow) -> pb.ServiceDescription:
    return pb.ServiceDescription(
        service=row.service,
        name=row.name,
        kind=row.kind,
        procedure_steps=row.procedure_steps,
        standard=row.standard,
        commitment=row.commitment,
    )


def _zone(row: MarketZoneRow) -> pb.MarketZone:
    return pb.MarketZone(
        code=row.code, name=row.name, team_id=row.team_id, updated_at=to_timestamp(row.updated_at)
    )


def _filters(message: pb.CustomerFilter) -> tuple[dict, str]:
    return {name: getattr(message, name) for name in FILTER_FIELDS}, _ACTIVITY[message.activity]


class ClassificationServicer(classification_pb2_grpc.ClassificationServiceServicer):
    def __init__(self, use_cases: Classification):
        self.use_cases = use_cases

    def CreateCustomer(self, request, context):
        return pb.CreateCustomerResponse(
            customer=customer_message(self.use_cases.create(input_values(request.customer)))
        )

    def UpdateCustomer(self, request, context):
        row = self.use_cases.update(
            request.customer.licence_number, input_values(request.customer), list(request.update_mask.paths)
        )
        return pb.UpdateCustomerResponse(customer=customer_message(row))

    def GetCustomer(self, request, context):
        return pb.GetCustomerResponse(customer=customer_message(self.use_cases.get(request.licence_number)))

    def ListCustomers(self, request, context):
        filters, activity = _filters(request.filter)
        rows, token = self.use_cases.list(filters, activity, request.page_size, request.page_token)
        return pb.ListCustomersResponse(customers=[customer_message(r) for r in rows], next_page_token=token)

    def DeactivateCustomer(self, request, context):
        row = self.use_cases.deactivate(request.licence_number, request.reason)
        return pb.DeactivateCustomerResponse(customer=customer_message(row))

    def ClassifyCustomer(self, request, context):
        return pb.ClassifyCustomerResponse(
            customer=customer_message(self.use_cases.classify_on_demand(request.licence_number))
        )

    def ExplainClassification(self, request, context):
        row = self.use_cases.get(request.licence_number)
        versions = {GRADING.name: row.grading_version, ENTITLEMENTS.name: row.entitlements_version}
        reasons = []
        for output, rule_id in sorted(row.reasons.items()):
            rule_set = domain.rule_set_of(output)
            version = versions[rule_set]
            description = self.use_cases.rule_description(rule_set, version, rule_id)
            reasons.append(
                pb.Reason(
                    output=output,
                    rule_set=rule_set,
                    version=version,
                    rule_id=rule_id,
                    rule_description=description,
                )
            )
        return pb.ExplainClassificationResponse(
            classification=_classification(row),
            reasons=reasons,
            grading_fired_rules=row.grading_fired,
            entitlement_fired_rules=row.entitlement_fired,
        )

    def ListClassificationHistory(self, request, context):
        _, entries, token = self.use_cases.history(
            request.licence_number, request.page_size, request.page_token
        )
        return pb.ListClassificationHistoryResponse(
            classifications=[_classification(e) for e in entries], next_page_token=token
        )

    def GetServiceMenu(self, request, context):
        customer, items = self.use_cases.menu(request.licence_number)
        return pb.GetServiceMenuResponse(
            licence_number=customer.licence_number,
            customer_name=customer.name,
            items=[pb.MenuItem(description=_description(d), parameters=_struct(p)) for d, p in items],
            customer_manager_id=customer.customer_manager_id,
            team_id=customer.team_id,
            entitlements_version=customer.entitlements_version,
        )

    def ListServiceDescriptions(self, request, context):
        return pb.ListServiceDescriptionsResponse(
            descriptions=[_description(r) for r in self.use_cases.descriptions()]
        )

    def UpdateServiceDescription(self, request, context):
        d = request.description
        values = {
            "service": d.service,
            "name": d.name,
            "kind": d.kind,
            "procedure_steps": list(d.procedure_steps),
            "standard": d.standard,
            "commitment": d.commitment,
        }
        return pb.UpdateServiceDescriptionResponse(
            description=_description(self.use_cases.update_description(values))
        )

    def ImportCustomers(self, request_iterator, context):
        next_row = 1
        for request in request_iterator:
            first = request.first_row or next_row
            numbers = list(request.row_numbers) or [first + index for index in range(len(request.rows))]
            if len(numbers) != len(request.rows):
                raise InvalidArgument([("row_numbers", "give one number per row, or none")])
            rows = [(number, input_values(row)) for number, row in zip(numbers, request.rows, strict=True)]
            next_row = numbers[-1] + 1 if numbers else next_row
            created, updated, errors = self.use_cases.import_batch(rows, request.update_existing)
            yield pb.ImportCustomersResponse(
                created=created,
                updated=updated,
                errors=[pb.RowError(row=n, field=f, message=m) for n, f, m in errors],
                rows_done=len(rows),
            )

    def ReclassifyCustomers(self, request, context):
        filters, activity = _filters(request.filter)
        processed = total = changed = failed = 0
        for processed, total, changed, failed in self.use_cases.reclassify(filters, activity):
            yield pb.ReclassifyCustomersResponse(
                processed=processed, total=total, changed=changed, failed=failed
            )
        yield pb.ReclassifyCustomersResponse(
            processed=processed, total=total, changed=changed, failed=failed, done=True
        )

    def PreviewRuleSetImpact(self, request, context):
        report = self.use_cases.preview(request.draft_source, request.sample_size or 20)
        return pb.PreviewRuleSetImpactResponse(
            rule_set=report.rule_set,
            customers=report.customers,
            changed=report.changed,
            grade_transitions=[
                pb.Transition(**{"from": a, "to": b, "customers": n})
                for (a, b), n in sorted(report.grade_transitions.items())
            ],
            star_transitions=[
                pb.Transition(**{"from": a, "to": b, "customers": n})
                for (a, b), n in sorted(report.star_transitions.items())
            ],
            service_changes=[
                pb.ServiceChange(
                    service=s,
                    gained=report.gained[s],
                    lost=report.lost[s],
                    parameters_changed=report.reparameterised[s],
                )
                for s in sorted(set(report.gained) | set(report.lost) | set(report.reparameterised))
            ],
            sample=[
                pb.AffectedCustomer(
                    licence_number=licence,
                    before=pb.Classification(
                        grade=before["grade"] or 0,
                        star_level=before["star_level"] or 0,
                        size_class=before["size_class"] or 0,
                        classification_code=before["classification_code"],
                        segment=before["segment"],
                        services=list(before["services"] or {}),
                    ),
                    after=pb.Classification(
                        grade=after.grade,
                        star_level=after.star_level,
                        size_class=after.size_class,
                        classification_code=after.classification_code,
                        segment=after.segment,
                        services=list(after.services),
                        grading_version=after.grading_version,
                        entitlements_version=after.entitlements_version,
                    ),
                )
                for licence, before, after in report.sample
            ],
            seconds=report.seconds,
        )

    def UpsertMarketZone(self, request, context):
        z = request.zone
        return pb.UpsertMarketZoneResponse(zone=_zone(self.use_cases.upsert_zone(z.code, z.name, z.team_id)))

    def ListMarketZones(self, request, context):
        return pb.ListMarketZonesResponse(zones=[_zone(z) for z in self.use_cases.zones()])

    def ReassignMarketZone(self, request, context):
        zone, moved = self.use_cases.reassign_zone(request.code, request.team_id)
        return pb.ReassignMarketZoneResponse(zone=_zone(zone), customers_moved=moved)
