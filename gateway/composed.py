"""The gateway's composed calls: one round trip for the caller, the independent
downstream calls made at once (gRPC futures), each with the caller's remaining deadline."""

from __future__ import annotations

import grpc
from retailcare.classification.v1 import classification_pb2 as cpb
from retailcare.classification.v1 import classification_pb2_grpc
from retailcare.complaints.v1 import complaints_pb2 as kpb
from retailcare.complaints.v1 import complaints_pb2_grpc
from retailcare.gateway.v1 import gateway_pb2 as pb

from gateway.downstream import Downstream, DownstreamStatus, passed_on
from services.common.errors import InvalidArgument

DEFAULT_OPEN_COMPLAINTS = 20
MAX_OPEN_COMPLAINTS = 100
OPEN_STATES = (
    kpb.RECEIVED,
    kpb.ACCEPTED,
    kpb.IN_PROGRESS,
    kpb.WAITING_ON_RETAILER,
    kpb.ESCALATED,
    kpb.REOPENED,
)


def _licence(licence_number: str) -> str:
    if not licence_number.strip():
        raise InvalidArgument([("licence_number", "is required")])
    return licence_number


def _complaints_limit(requested: int) -> int:
    if requested < 0 or requested > MAX_OPEN_COMPLAINTS:
        raise InvalidArgument([("open_complaints_limit", f"must be 0 (default) to {MAX_OPEN_COMPLAINTS}")])
    return requested or DEFAULT_OPEN_COMPLAINTS


def summary_of(classification: cpb.Classification) -> str:
    return (
        f"grade {classification.grade}, {classification.star_level} stars, "
        f"code {classification.classification_code}; {len(classification.services)} services"
    )


def commitments_of(menu: cpb.GetServiceMenuResponse) -> list[pb.ServiceCommitment]:
    return [
        pb.ServiceCommitment(
            service=item.description.service,
            name=item.description.name,
            kind=item.description.kind,
            procedure_steps=item.description.procedure_steps,
            standard=item.description.standard,
            commitment=item.description.commitment,
            parameters=item.parameters,
            responsible_person=menu.customer_manager_id,
            team_id=menu.team_id,
        )
        for item in menu.items
    ]


class Composer:
    def __init__(self, classification: Downstream, complaints: Downstream):
        self.classification = classification
        self.complaints = complaints
        self._customers = classification_pb2_grpc.ClassificationServiceStub(classification.channel)
        self._complaints = complaints_pb2_grpc.ComplaintsServiceStub(complaints.channel)

    def get_customer_profile(self, request: pb.GetCustomerProfileRequest) -> pb.GetCustomerProfileResponse:
        licence = _licence(request.licence_number)
        limit = _complaints_limit(request.open_complaints_limit)
        by_licence = {"licence_number": licence}
        customer = self._customers.GetCustomer.future(
            cpb.GetCustomerRequest(**by_licence), **self.classification.call_options()
        )
        explanation = self._customers.ExplainClassification.future(
            cpb.ExplainClassificationRequest(**by_licence), **self.classification.call_options()
        )
        menu = self._customers.GetServiceMenu.future(
            cpb.GetServiceMenuRequest(**by_licence), **self.classification.call_options()
        )
        complaints = self._complaints.ListComplaints.future(
            kpb.ListComplaintsRequest(
                filter=kpb.ComplaintFilter(licence_number=licence, states=OPEN_STATES), page_size=limit
            ),
            **self.complaints.call_options(),
        )
        reply = pb.GetCustomerProfileResponse()
        try:
            with passed_on(self.classification, "GetCustomer"):
                reply.customer.CopyFrom(customer.result().customer)
            with passed_on(self.classification, "ExplainClassification"):
                explained = explanation.result()
            with passed_on(self.classification, "GetServiceMenu"):
                reply.service_menu.extend(commitments_of(menu.result()))
        except DownstreamStatus:
            for call in (explanation, menu, complaints):
                call.cancel()
            raise
        reply.explanation.summary = summary_of(explained.classification)
        reply.explanation.reasons.extend(explained.reasons)
        self._add_open_complaints(reply, complaints)
        return reply

    def _add_open_complaints(self, reply: pb.GetCustomerProfileResponse, call: grpc.Future) -> None:
        try:
            with passed_on(self.complaints, "ListComplaints"):
                page = call.result()
        except DownstreamStatus as failure:
            if not failure.unavailable:
                raise
            reply.missing_parts.add(
                part="open_complaints", service=self.complaints.name, reason=failure.message
            )
            return
        soonest_first = sorted(page.complaints, key=lambda c: (c.deadline_at.seconds, c.deadline_at.nanos))
        reply.open_complaints.extend(soonest_first)
        reply.more_open_complaints = bool(page.next_page_token)

    def file_complaint(self, request: kpb.FileComplaintRequest) -> kpb.FileComplaintResponse:
        licence = _licence(request.licence_number)
        with passed_on(self.classification, "GetCustomer"):
            self._customers.GetCustomer(
                cpb.GetCustomerRequest(licence_number=licence), **self.classification.call_options()
            )
        with passed_on(self.complaints, "FileComplaint"):
            return self._complaints.FileComplaint(request, **self.complaints.call_options())
