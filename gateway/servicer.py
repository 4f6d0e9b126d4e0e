"""The Gateway contract's servicer: parse, compose, answer."""

from retailcare.gateway.v1 import gateway_pb2_grpc

from gateway.composed import Composer


class GatewayServicer(gateway_pb2_grpc.GatewayServicer):
    def __init__(self, composer: Composer):
        self.composer = composer

    def GetCustomerProfile(self, request, context):
        return self.composer.get_customer_profile(request)

    def FileComplaint(self, request, context):
        return self.composer.file_complaint(request)

    def GetTeamOverview(self, request, context):
        return self.composer.get_team_overview(request)

    def GetCommitmentCard(self, request, context):
        return self.composer.get_commitment_card(request)

    def GetZoneCommitmentCards(self, request, context):
        return self.composer.get_zone_commitment_cards(request)
