"""The classification and complaints services as the evaluation use cases see them,
reached through their contracts' clients."""

from __future__ import annotations

import datetime
import functools

from google.protobuf import json_format
from retailcare.classification.v1 import classification_pb2 as cpb
from retailcare.complaints.v1 import complaints_pb2 as qpb

from services.classification.client import ClassificationClient
from services.common.clients import DownstreamNotFound, DownstreamUnavailable
from services.common.times import to_timestamp
from services.complaints.client import ComplaintsClient
from services.evaluation.domain.card_follow import EntitlementChange, FeedPage
from services.evaluation.domain.errors import Missing
from services.evaluation.domain.return_visits import Customer
from services.evaluation.domain.supervision import CommitmentCard, CommitmentItem
from services.evaluation.domain.visits import Menu, MenuItem
from services.evaluation.ports import ComplaintFigures, Unreachable

PAGE_SIZE = 500


def _visits_per_month(item: cpb.MenuItem) -> int:
    return int(json_format.MessageToDict(item.parameters).get("visits_per_month", 0))


def _card(licence_number: str, items, entitlements_version: int, manager: str, team: str) -> CommitmentCard:
    """The (not yet issued) card of a menu's items."""
    return CommitmentCard(
        licence_number,
        tuple(
            CommitmentItem(
                item.description.service,
                item.description.name,
                item.description.kind,
                tuple(item.description.procedure_steps),
                item.description.standard,
                item.description.commitment,
                json_format.MessageToDict(item.parameters),
            )
            for item in items
        ),
        entitlements_version,
        manager,
        team,
    )


class ClassificationDirectory:
    """Menus and customers; DownstreamUnavailable becomes Unreachable, NOT_FOUND Missing."""

    def __init__(self, client: ClassificationClient):
        self.client = client

    def _service_menu(self, licence_number: str):
        try:
            return self.client.get_service_menu(licence_number)
        except DownstreamNotFound:
            raise Missing("customer", licence_number) from None
        except DownstreamUnavailable:
            raise Unreachable("classification") from None

    def menu(self, licence_number: str) -> Menu:
        reply = self._service_menu(licence_number)
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

    def commitment_card(self, licence_number: str) -> CommitmentCard:
        reply = self._service_menu(licence_number)
        return _card(
            reply.licence_number,
            reply.items,
            reply.entitlements_version,
            reply.customer_manager_id,
            reply.team_id,
        )

    def changes(self, after_change_id: int, limit: int) -> FeedPage:
        """Classification's changes after ``after_change_id``, oldest first, each with
        the card it makes."""
        try:
            reply = self.client.list_classification_changes(after_change_id, limit)
        except DownstreamUnavailable:
            raise Unreachable("classification") from None
        changes = [
            EntitlementChange(
                change.change_id,
                change.classification.classified_at.ToDatetime(tzinfo=datetime.UTC),
                change.licence_number,
                functools.partial(
                    _card,
                    change.licence_number,
                    change.items,
                    change.classification.entitlements_version,
                    change.customer_manager_id,
                    change.team_id,
                ),
            )
            for change in reply.changes
        ]
        return FeedPage(changes, reply.has_more)

    def check_customer(self, licence_number: str) -> None:
        try:
            self.client.get_customer(licence_number)
        except DownstreamNotFound:
            raise Missing("customer", licence_number) from None
        except DownstreamUnavailable:
            raise Unreachable("classification") from None

    def customers_by_manager(self) -> dict[str, list[str]]:
        managed: dict[str, list[str]] = {}
        token = ""
        while True:
            try:
                reply = self.client.list_customers(page_size=PAGE_SIZE, page_token=token)
            except DownstreamUnavailable:
                raise Unreachable("classification") from None
            for customer in reply.customers:
                manager = customer.input.customer_manager_id
                if manager:
                    managed.setdefault(manager, []).append(customer.input.licence_number)
            token = reply.next_page_token
            if not token:
                return managed

    def active_customers(self) -> list[Customer]:
        customers, token = [], ""
        while True:
            try:
                reply = self.client.list_customers(page_size=PAGE_SIZE, page_token=token)
            except DownstreamUnavailable:
                raise Unreachable("classification") from None
            customers += [
                Customer(c.input.licence_number, c.classification.star_level, c.input.market_zone)
                for c in reply.customers
                if c.active
            ]
            token = reply.next_page_token
            if not token:
                return customers

    def zones_of(self, team_id: str) -> list[str]:
        """The codes of the market zones classification keeps under the team's id."""
        zones, token = [], ""
        while True:
            try:
                reply = self.client.list_market_zones(page_size=PAGE_SIZE, page_token=token)
            except DownstreamUnavailable:
                raise Unreachable("classification") from None
            zones += [zone.code for zone in reply.zones if zone.team_id == team_id]
            token = reply.next_page_token
            if not token:
                return zones


class ComplaintsFigures:
    def __init__(self, client: ComplaintsClient):
        self.client = client

    def figures(self, window, group_by: str) -> dict[str, ComplaintFigures]:
        request = qpb.GetComplaintStatisticsRequest(
            period_from=to_timestamp(window[0]),
            period_to=to_timestamp(window[1]),
            group_by=qpb.GetComplaintStatisticsRequest.TEAM
            if group_by == "team"
            else qpb.GetComplaintStatisticsRequest.OWNER,
        )
        try:
            reply = self.client.get_complaint_statistics(request)
        except DownstreamUnavailable:
            raise Unreachable("complaints") from None
        return {
            row.key: ComplaintFigures(
                row.received, row.resolved, row.resolved_on_time, row.overdue, row.mean_satisfaction
            )
            for row in reply.rows
        }
