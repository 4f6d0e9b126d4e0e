"""The client of the classification contract, used by every service that asks it."""

from __future__ import annotations

from retailcare.classification.v1 import classification_pb2 as pb
from retailcare.classification.v1 import classification_pb2_grpc

from services.classification.domain import ENTITLEMENTS_RULE_SET, GRADING_RULE_SET
from services.common.clients import ServiceClient

# The rule sets classification decides with: activating a version of one reclassifies
# every customer, and GetCustomerFacts gives a stored customer's facts for each.
RULE_SETS = (GRADING_RULE_SET, ENTITLEMENTS_RULE_SET)


class ClassificationClient(ServiceClient):
    SERVICE = "classification"
    CONTRACT = pb.DESCRIPTOR.services_by_name["ClassificationService"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._stub = classification_pb2_grpc.ClassificationServiceStub(self.channel)

    def get_customer(self, licence_number: str) -> pb.GetCustomerResponse:
        return self.call(self._stub.GetCustomer, pb.GetCustomerRequest(licence_number=licence_number))

    def customer_facts(self, licence_number: str, rule_set: str) -> pb.GetCustomerFactsResponse:
        return self.call(
            self._stub.GetCustomerFacts,
            pb.GetCustomerFactsRequest(licence_number=licence_number, rule_set=rule_set),
        )

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
