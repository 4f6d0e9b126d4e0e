"""The classification service seen from complaints: is this a known customer, and
which team serves it. Asked through its contract's client, never its tables."""

from __future__ import annotations

import time
from collections.abc import Callable

import grpc

from services.classification.client import ClassificationClient
from services.common.auth import read_service_token
from services.common.clients import DownstreamError, DownstreamNotFound, DownstreamUnavailable
from services.common.config import Settings
from services.common.tls import channel_credentials
from services.complaints.ports import CustomerCheck

INTAKE_CHECK_SECONDS = 2.0  # a complaint is never held up long by another service
# How long a customer classification confirmed is taken as known without asking again
# (its team as it was then). Only a known customer is remembered: an unknown licence
# number, or classification not answering, is asked about every time.
KNOWN_FOR_SECONDS = 5.0
KNOWN_LIMIT = 10_000  # customers remembered at most; all are forgotten when it is reached


class CustomerDirectory:
    """Only UNAVAILABLE and DEADLINE_EXCEEDED mean "could not ask" (the complaint is then
    accepted, flagged); NOT_FOUND and INVALID_ARGUMENT mean no such customer; any other
    failure is passed on to the caller."""

    def __init__(
        self,
        client: ClassificationClient,
        known_for: float = KNOWN_FOR_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ):
        self._client = client
        self._known_for = known_for
        self._clock = clock
        self._known: dict[str, tuple[float, CustomerCheck]] = {}  # licence as asked -> (until, check)

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
        remembered = self._known.get(licence_number)
        if remembered is not None and self._clock() < remembered[0]:
            return remembered[1]
        check = self._ask(licence_number)
        if check.known and self._known_for > 0:
            if len(self._known) >= KNOWN_LIMIT:
                self._known.clear()
            self._known[licence_number] = (self._clock() + self._known_for, check)
        return check

    def _ask(self, licence_number: str) -> CustomerCheck:
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
