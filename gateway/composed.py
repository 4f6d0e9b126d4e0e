"""The gateway's composed calls: one round trip for the caller, the independent
downstream calls made at once through the contracts' clients, each with the caller's
remaining deadline and request id."""

from __future__ import annotations

import contextvars
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

from retailcare.classification.v1 import classification_pb2 as cpb
from retailcare.complaints.v1 import complaints_pb2 as kpb
from retailcare.evaluation.v1 import evaluation_pb2 as epb
from retailcare.gateway.v1 import gateway_pb2 as pb

from gateway import commitment_card
from services.classification.client import ClassificationClient
from services.common.clients import DownstreamUnavailable
from services.common.errors import InvalidArgument
from services.common.interceptors import current_context
from services.common.licences import normalise_licence
from services.complaints.client import ComplaintsClient
from services.evaluation.client import EvaluationClient

DEFAULT_OPEN_COMPLAINTS = 20
DEFAULT_RECENT_VISITS = 10
DEFAULT_ZONE_CARDS = 50
# Drawing a PDF costs the gateway CPU per card (a long card ~1 s): fewer cards a page then.
MAX_PDF_CARDS = 20
MAX_LISTED = 100
PAGE_SIZE = 500
# An optional part is waited for until this long before the caller's deadline, so the
# answer with the parts at hand still reaches the caller in time.
ANSWER_RESERVE_SECONDS = 0.15
NO_DEADLINE_SECONDS = 10**6  # grpcio's time_remaining() without a deadline is huge
OPEN_STATES = (
    kpb.RECEIVED,
    kpb.ACCEPTED,
    kpb.IN_PROGRESS,
    kpb.WAITING_ON_RETAILER,
    kpb.ESCALATED,
    kpb.REOPENED,
)


def _limit(field: str, requested: int, default: int) -> int:
    if requested < 0 or requested > MAX_LISTED:
        raise InvalidArgument([(field, f"must be 0 (default) to {MAX_LISTED}")])
    return requested or default


def _required(field: str, value: str) -> str:
    if not value.strip():
        raise InvalidArgument([(field, "is required")])
    return value


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


class FanOut:
    """Runs independent downstream calls at once, each in the calling request's context
    (its deadline and request id)."""

    def __init__(self, workers: int):
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="fan-out")

    def submit(self, function, *args) -> Future:
        return self._pool.submit(contextvars.copy_context().run, function, *args)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


def _answer_budget() -> float | None:
    """How long an optional part may still be waited for: the caller's remaining time
    less a reserve to answer with the parts at hand; None when the caller set no deadline."""
    context = current_context.get()
    remaining = context.time_remaining() if context is not None else None
    if remaining is None or remaining > NO_DEADLINE_SECONDS:
        return None
    return max(0.0, remaining - ANSWER_RESERVE_SECONDS)


def _missing(reply, part: str, service: str, call: Future):
    """The call's answer, or None with ``part`` listed as missing when its service could
    not be asked (or not within the caller's deadline); any other failure is the
    composed call's failure."""
    try:
        return call.result(timeout=_answer_budget())
    except DownstreamUnavailable as failure:
        reply.missing_parts.add(part=part, service=failure.service, reason=failure.message)
    except FutureTimeout:
        call.cancel()
        reason = f"{service} did not answer within the caller's deadline"
        reply.missing_parts.add(part=part, service=service, reason=reason)
    return None


class Composer:
    def __init__(
        self,
        classification: ClassificationClient,
        complaints: ComplaintsClient,
        evaluation: EvaluationClient,
        fan_out: FanOut,
    ):
        self.classification = classification
        self.complaints = complaints
        self.evaluation = evaluation
        self.fan_out = fan_out

    def get_customer_profile(self, request: pb.GetCustomerProfileRequest) -> pb.GetCustomerProfileResponse:
        licence = _required("licence_number", request.licence_number)
        complaints_limit = _limit(
            "open_complaints_limit", request.open_complaints_limit, DEFAULT_OPEN_COMPLAINTS
        )
        visits_limit = _limit("recent_visits_limit", request.recent_visits_limit, DEFAULT_RECENT_VISITS)
        open_complaints = kpb.ListComplaintsRequest(
            filter=kpb.ComplaintFilter(licence_number=licence, states=OPEN_STATES), page_size=complaints_limit
        )
        explanation = self.fan_out.submit(self.classification.explain_classification, licence)
        menu = self.fan_out.submit(self.classification.get_service_menu, licence)
        complaints = self.fan_out.submit(self.complaints.list_complaints, open_complaints)
        visits = self.fan_out.submit(
            self.evaluation.list_visit_cards, epb.ListVisitCardsRequest(licence_number=licence)
        )
        try:
            customer = self.classification.get_customer(licence).customer
            explained, served = explanation.result(), menu.result()
        except Exception:
            for call in (explanation, menu, complaints, visits):
                call.cancel()
            raise
        reply = pb.GetCustomerProfileResponse(customer=customer, service_menu=commitments_of(served))
        reply.explanation.summary = summary_of(explained.classification)
        reply.explanation.reasons.extend(explained.reasons)
        page = _missing(reply, "open_complaints", "complaints", complaints)
        if page is not None:
            reply.open_complaints.extend(sorted(page.complaints, key=_deadline))
            reply.more_open_complaints = bool(page.next_page_token)
        cards = _missing(reply, "recent_visits", "evaluation", visits)
        if cards is not None:
            newest_first = sorted(cards.cards, key=_visited, reverse=True)
            reply.recent_visits.extend(newest_first[:visits_limit])
        return reply

    def file_complaint(self, request: kpb.FileComplaintRequest) -> kpb.FileComplaintResponse:
        self.classification.get_customer(_required("licence_number", request.licence_number))
        return self.complaints.file_complaint(request)

    def get_team_overview(self, request: pb.GetTeamOverviewRequest) -> pb.GetTeamOverviewResponse:
        team_id = _required("team_id", request.team_id)
        period_id = _required("period_id", request.period_id)
        customers = self.fan_out.submit(self._star_levels, team_id)
        complaints = self.fan_out.submit(self._open_and_overdue, team_id)
        team = self.fan_out.submit(self.evaluation.get_team, team_id)
        try:
            overview = self.evaluation.get_team_overview(team_id, period_id)
            members = team.result().members
            cards = [
                self.fan_out.submit(
                    self.evaluation.list_visit_cards,
                    epb.ListVisitCardsRequest(staff_id=member.staff_id, period_id=period_id),
                )
                for member in members
            ]
            visit_cards = [card for call in cards for card in call.result().cards]
        except Exception:
            for call in (customers, complaints, team):
                call.cancel()
            raise
        reply = pb.GetTeamOverviewResponse(
            team=overview.team,
            period=overview.period,
            team_result=overview.team_result if overview.HasField("team_result") else None,
            member_results=overview.member_results,
        )
        reply.visits = len(visit_cards)
        reply.visits_with_omissions = sum(1 for card in visit_cards if card.omissions)
        reply.omissions = sum(len(card.omissions) for card in visit_cards)
        by_star = _missing(reply, "customers_by_star_level", "classification", customers)
        if by_star is not None:
            reply.customers_by_star_level.extend(
                pb.StarLevelCount(star_level=level, customers=count)
                for level, count in sorted(by_star.items())
            )
            reply.customers = sum(by_star.values())
        counted = _missing(reply, "open_complaints", "complaints", complaints)
        if counted is not None:
            reply.open_complaints, reply.overdue_complaints = counted
        return reply

    def get_commitment_card(self, request: pb.GetCommitmentCardRequest) -> pb.GetCommitmentCardResponse:
        """Evaluation's card (it versions them) and classification's name of the customer,
        asked at once; the printable page when a language is asked for."""
        licence = normalise_licence(_required("licence_number", request.licence_number))
        if request.language and request.language not in commitment_card.LANGUAGES:
            raise InvalidArgument([("language", f"must be one of {', '.join(commitment_card.LANGUAGES)}")])
        if request.pdf and not request.language:
            raise InvalidArgument([("language", "a PDF is printed in zh or en: give the language")])
        customer = self.fan_out.submit(self.classification.get_customer, licence)
        try:
            issued = self.evaluation.get_commitment_card(licence, request.on_date.strip())
            name = customer.result().customer.input.name
        except Exception:
            customer.cancel()
            raise
        reply = pb.GetCommitmentCardResponse(
            card=issued.card, customer_name=name, new_version=issued.new_version
        )
        if request.language:
            reply.html = commitment_card.render(issued.card, name, request.language)
        if request.pdf:
            reply.pdf = commitment_card.render_pdf(issued.card, name, request.language)
            reply.filename = commitment_card.card_filename(issued.card, request.language)
        return reply

    def get_zone_commitment_cards(
        self, request: pb.GetZoneCommitmentCardsRequest
    ) -> pb.GetZoneCommitmentCardsResponse:
        zone = _required("market_zone", request.market_zone).strip()
        if request.language not in commitment_card.LANGUAGES:
            raise InvalidArgument([("language", f"must be one of {', '.join(commitment_card.LANGUAGES)}")])
        page_size = _limit(
            "page_size", request.page_size, MAX_PDF_CARDS if request.pdf else DEFAULT_ZONE_CARDS
        )
        if request.pdf and page_size > MAX_PDF_CARDS:
            raise InvalidArgument([("page_size", f"with pdf: at most {MAX_PDF_CARDS} cards a page")])
        page = self.classification.list_customers(
            cpb.CustomerFilter(market_zone=zone), page_size=page_size, page_token=request.page_token
        )
        customers = [c for c in page.customers if c.active]
        calls = [
            self.fan_out.submit(self.evaluation.get_commitment_card, c.input.licence_number, "")
            for c in customers
        ]
        try:
            cards = [call.result().card for call in calls]
        except Exception:
            for call in calls:
                call.cancel()
            raise
        named = [(card, c.input.name) for card, c in zip(cards, customers, strict=True)]
        html = commitment_card.render_many(named, zone, request.language)
        reply = pb.GetZoneCommitmentCardsResponse(
            cards=cards, html=html, next_page_token=page.next_page_token
        )
        if request.pdf:
            reply.pdf = commitment_card.render_many_pdf(named, zone, request.language)
            reply.filename = commitment_card.zone_filename(zone, request.language)
        return reply

    def _star_levels(self, team_id: str) -> dict[int, int]:
        counts: dict[int, int] = {}
        token = ""
        while True:
            page = self.classification.list_customers(
                cpb.CustomerFilter(team_id=team_id), page_size=PAGE_SIZE, page_token=token
            )
            for customer in page.customers:
                level = customer.classification.star_level
                counts[level] = counts.get(level, 0) + 1
            token = page.next_page_token
            if not token:
                return counts

    def _open_and_overdue(self, team_id: str) -> tuple[int, int]:
        open_count = overdue = 0
        token = ""
        while True:
            page = self.complaints.list_complaints(
                kpb.ListComplaintsRequest(
                    filter=kpb.ComplaintFilter(team_id=team_id, states=OPEN_STATES),
                    page_size=PAGE_SIZE,
                    page_token=token,
                )
            )
            open_count += len(page.complaints)
            overdue += sum(1 for complaint in page.complaints if complaint.overdue)
            token = page.next_page_token
            if not token:
                return open_count, overdue


def _deadline(complaint: kpb.Complaint) -> tuple[int, int]:
    return complaint.deadline_at.seconds, complaint.deadline_at.nanos


def _visited(card: epb.VisitCard) -> tuple[int, int]:
    return card.visited_at.seconds, card.visited_at.nanos
