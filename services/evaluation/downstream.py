"""The classification and complaints services as the evaluation use cases see them,
reached through their contracts."""

from __future__ import annotations

import grpc
from google.protobuf import json_format
from retailcare.classification.v1 import classification_pb2 as cpb
from retailcare.classification.v1 import classification_pb2_grpc
from retailcare.complaints.v1 import complaints_pb2 as qpb
from retailcare.complaints.v1 import complaints_pb2_grpc

from services.common.deadlines import downstream_timeout
from services.common.times import to_timestamp
from services.evaluation.domain.errors import Missing
from services.evaluation.domain.visits import Menu, MenuItem
from services.evaluation.ports import ComplaintFigures, Unreachable

CHANNEL_OPTIONS = [("grpc.initial_reconnect_backoff_ms", 200), ("grpc.max_reconnect_backoff_ms", 1000)]
PAGE_SIZE = 500
_UNREACHABLE = (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)


def _visits_per_month(item: cpb.MenuItem) -> int:
    parameters = json_format.MessageToDict(item.parameters)
    return int(parameters.get("visits_per_month", 0))


class ClassificationDirectory:
    def __init__(self, target: str, timeout_seconds: float):
        self._channel = grpc.insecure_channel(target, options=CHANNEL_OPTIONS)
        self._stub = classification_pb2_grpc.ClassificationServiceStub(self._channel)
        self._timeout = timeout_seconds

    def _call(self, method, request):
        try:
            return method(request, timeout=downstream_timeout(self._timeout))
        except grpc.RpcError as error:
            if error.code() in _UNREACHABLE:
                raise Unreachable("classification") from None
            if error.code() in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.INVALID_ARGUMENT):
                raise Missing("customer", getattr(request, "licence_number", "")) from None
            raise

    def menu(self, licence_number: str) -> Menu:
        reply = self._call(
            self._stub.GetServiceMenu, cpb.GetServiceMenuRequest(licence_number=licence_number)
        )
        return Menu(
            reply.licence_number,
            tuple(
                MenuItem(
                    item.description.service, len(item.description.procedure_steps), _visits_per_month(item)
                )
                for item in reply.items
            ),
            reply.entitlements_version,
            reply.customer_manager_id,
            reply.team_id,
        )

    def check_customer(self, licence_number: str) -> None:
        self._call(self._stub.GetCustomer, cpb.GetCustomerRequest(licence_number=licence_number))

    def customers_by_manager(self) -> dict[str, list[str]]:
        managed: dict[str, list[str]] = {}
        token = ""
        while True:
            reply = self._call(
                self._stub.ListCustomers, cpb.ListCustomersRequest(page_size=PAGE_SIZE, page_token=token)
            )
            for customer in reply.customers:
                manager = customer.input.customer_manager_id
                if manager:
                    managed.setdefault(manager, []).append(customer.input.licence_number)
            token = reply.next_page_token
            if not token:
                return managed

    def close(self) -> None:
        self._channel.close()


class ComplaintsFigures:
    def __init__(self, target: str, timeout_seconds: float):
        self._channel = grpc.insecure_channel(target, options=CHANNEL_OPTIONS)
        self._stub = complaints_pb2_grpc.ComplaintsServiceStub(self._channel)
        self._timeout = timeout_seconds

    def figures(self, window, group_by: str) -> dict[str, ComplaintFigures]:
        request = qpb.GetComplaintStatisticsRequest(
            period_from=to_timestamp(window[0]),
            period_to=to_timestamp(window[1]),
            group_by=qpb.GetComplaintStatisticsRequest.TEAM
            if group_by == "team"
            else qpb.GetComplaintStatisticsRequest.OWNER,
        )
        try:
            reply = self._stub.GetComplaintStatistics(request, timeout=downstream_timeout(self._timeout))
        except grpc.RpcError as error:
            if error.code() in _UNREACHABLE:
                raise Unreachable("complaints") from None
            raise
        return {
            row.key: ComplaintFigures(
                row.received, row.resolved, row.resolved_on_time, row.overdue, row.mean_satisfaction
            )
            for row in reply.rows
        }

    def close(self) -> None:
        self._channel.close()
