"""The client of the complaints contract, used by every service that files or reads
complaints."""

from __future__ import annotations

from retailcare.complaints.v1 import complaints_pb2 as pb
from retailcare.complaints.v1 import complaints_pb2_grpc

from services.common.clients import ServiceClient


class ComplaintsClient(ServiceClient):
    SERVICE = "complaints"
    CONTRACT = pb.DESCRIPTOR.services_by_name["ComplaintsService"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._stub = complaints_pb2_grpc.ComplaintsServiceStub(self.channel)

    def file_complaint(self, request: pb.FileComplaintRequest) -> pb.FileComplaintResponse:
        return self.call(self._stub.FileComplaint, request)

    def list_complaints(self, request: pb.ListComplaintsRequest) -> pb.ListComplaintsResponse:
        return self.call(self._stub.ListComplaints, request)

    def get_complaint_statistics(
        self, request: pb.GetComplaintStatisticsRequest
    ) -> pb.GetComplaintStatisticsResponse:
        return self.call(self._stub.GetComplaintStatistics, request)
