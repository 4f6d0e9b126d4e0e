"""The client of the classification contract, used by every service that asks it."""

from __future__ import annotations

from retailcare.classification.v1 import classification_pb2 as pb
from retailcare.classification.v1 import classification_pb2_grpc

from services.common.clients import ServiceClient


class ClassificationClient(ServiceClient):
    SERVICE = "classification"
    CONTRACT = pb.DESCRIPTOR.services_by_name["ClassificationService"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._stub = classification_pb2_grpc.ClassificationServiceStub(self.channel)

    def get_customer(self, licence_number: str) -> pb.GetCustomerResponse:
        return self.call(self._stub.GetCustomer, pb.GetCustomerRequest(licence_number=licence_number))

    def explain_classification(self, licence_number: str) -> pb.ExplainClassificationResponse:
        return self.call(
            self._stub.ExplainClassification, pb.ExplainClassificationRequest(licence_number=licence_number)
        )

    def get_service_menu(self, licence_number: str) -> pb.GetServiceMenuResponse:
        return self.call(self._stub.GetServiceMenu, pb.GetServiceMenuRequest(licence_number=licence_number))

    def list_classification_changes(
        self, after_change_id: int, page_size: int = 0
    ) -> pb.ListClassificationChangesResponse:
        request = pb.ListClassificationChangesRequest(after_change_id=after_change_id, page_size=page_size)
        return self.call(self._stub.ListClassificationChanges, request)

    def classify_customer(self, licence_number: str) -> pb.ClassifyCustomerResponse:
        return self.call(
            self._stub.ClassifyCustomer, pb.ClassifyCustomerRequest(licence_number=licence_number)
        )

    def list_customers(
        self, filter: pb.CustomerFilter | None = None, page_size: int = 0, page_token: str = ""
    ) -> pb.ListCustomersResponse:
        request = pb.ListCustomersRequest(filter=filter, page_size=page_size, page_token=page_token)
        return self.call(self._stub.ListCustomers, request)

    def list_market_zones(self, page_size: int = 0, page_token: str = "") -> pb.ListMarketZonesResponse:
        request = pb.ListMarketZonesRequest(page_size=page_size, page_token=page_token)
        return self.call(self._stub.ListMarketZones, request)
