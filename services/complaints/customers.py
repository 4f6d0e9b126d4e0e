"""The classification service seen from complaints: is this a known customer, and
which team serves it. Asked through its contract's client, never its tables."""

from __future__ import annotations

import grpc

from services.classification.client import ClassificationClient
from services.common.auth import read_service_token
from services.common.clients import DownstreamError, DownstreamNotFound, DownstreamUnavailable
from services.common.config import Settings
from services.common.tls import channel_credentials
from services.complaints.ports import CustomerCheck

INTAKE_CHECK_SECONDS = 2.0  # a complaint is never held up long by another service


class CustomerDirectory:
    """Only UNAVAILABLE and DEADLINE_EXCEEDED mean "could not ask" (the complaint is then
    accepted, flagged); NOT_FOUND and INVALID_ARGUMENT mean no such customer; any other
    failure is passed on to the caller."""

    def __init__(self, client: ClassificationClient):
        self._client = client

    @classmethod
    def from_settings(cls, settings: Settings) -> CustomerDirectory:
        return cls(
            ClassificationClient(
                ClassificationClient.SERVICE,
                settings.target(ClassificationClient.SERVICE),
                min(settings.downstream_timeout_seconds, INTAKE_CHECK_SECONDS),
                credentials=channel_credentials(settings),
                max_message_bytes=settings.max_message_bytes,
                wait_for_ready=True,  # ride out a reconnection instead of failing at once
                service_token=read_service_token(settings),
            )
        )

    def check(self, licence_number: str) -> CustomerCheck:
        try:
            reply = self._client.get_customer(licence_number)
        except DownstreamUnavailable:
            return CustomerCheck(None)
        except DownstreamNotFound:
            return CustomerCheck(False, why=f"no customer with licence number {licence_number[:40]!r}")
        except DownstreamError as error:
            if error.code != grpc.StatusCode.INVALID_ARGUMENT:
                raise
            return CustomerCheck(
                False, why=f"not a licence number classification accepts: {error.message[:200]}"
            )
        return CustomerCheck(True, reply.customer.team_id, licence_number=reply.customer.input.licence_number)

    def close(self) -> None:
        self._client.close()
