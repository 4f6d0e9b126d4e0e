"""The change feed's page read (ClassificationChanges.after) gives, on SQLite and
PostgreSQL, exactly the messages a straightforward read builds: each history row read on
its own, its menu made from freshly read descriptions and every item built anew. The
feed shares decoded JSON, menus and menu items between changes; the answers must not
show it."""

import datetime

import pytest
import sqlalchemy as sa
from google.protobuf import struct_pb2
from retailcare.classification.v1 import classification_pb2 as pb

from services.classification import domain, mapping
from services.classification.change_feed import ChangePage, ClassificationChanges, reply_data
from services.classification.domain import Customer, Outcome, ServiceDescription
from services.classification.service_layer import Cached
from services.classification.storage import SqlServiceDescriptions, SqlUnitOfWork, classifications, customers
from services.common.config import parse_database_url
from services.common.database import create_database_engine
from services.common.migrations import upgrade_to_head
from services.common.times import to_timestamp, utc
from services.composition import service_definition

CREATED = datetime.datetime(2026, 11, 2, 8, 0, 0, 250_000, tzinfo=datetime.UTC)
DESCRIBED = ("free_phone_ordering", "scarce_brand_supply", "personal_care")


@pytest.fixture
def engine(db_url):
    engine = create_database_engine(parse_database_url("test", db_url))
    upgrade_to_head(service_definition("classification").migrations_dir, engine)
    with SqlUnitOfWork(engine) as uow:
        uow.descriptions.seed(
            [
                ServiceDescription(
                    service,
                    f"name of {service}",
                    kind,
                    [f"{service} step 1", "步骤二"],
                    "standard",
                    "承诺",
                    CREATED,
                )
                for service, kind in zip(DESCRIBED, ("standard", "standard", "personalised"), strict=True)
            ]
        )
    yield engine
    engine.dispose()


def _outcome(tier: str, extra: bool) -> Outcome:
    """Menus in an order other than the descriptions', one with a service nobody described."""
    services = {
        "personal_care": {"care_actions": ["生日问候", "节日"]},
        "scarce_brand_supply": {"tier": tier},
    }
    if extra:
        services["undescribed_service"] = {"limit": 2.5, "on": True, "none": None}
    services["free_phone_ordering"] = {}
    return Outcome(
        grade=12 if tier == "A" else 7,
        star_level=3,
        size_class=2,
        classification_code=f"{tier}12",
        segment="growth",
        services=services,
        grading_version=4,
        entitlements_version=9,
        reasons={"grade": "g-12"},
        grading_fired=("g-12",),
        entitlement_fired=(f"tier-{tier}",),
    )


def _history(engine, count: int) -> None:
    """``count`` customers, each created and reclassified (two entries); few menus repeat."""
    for n in range(count):
        inputs = domain.normalised_inputs(
            {
                "licence_number": f"L-{n:03d}",
                "name": "Shop",
                "business_format": "grocery",
                "market_type": "urban",
                "monthly_sales_cartons": 30.0,
                "customer_manager_id": f"cm-{n % 3}" if n % 4 else "",
            }
        )
        customer = Customer.register(
            inputs, f"team-{n % 2}" if n % 5 else "", _outcome("AB"[n % 2], n % 3 == 0), CREATED
        )
        with SqlUnitOfWork(engine) as uow:
            uow.customers.add(customer)
            uow.customers.add_history(customer)
        customer.record(_outcome("C", n % 2 == 0), domain.ON_DEMAND, CREATED + datetime.timedelta(minutes=n))
        with SqlUnitOfWork(engine) as uow:
            uow.customers.save(customer)
            uow.customers.add_history(customer)


def _plain_read(engine, after: int) -> list[pb.ClassificationChange]:
    """Every change after ``after``, one row at a time, nothing shared."""
    with engine.connect() as connection:
        rows = connection.execute(
            sa.select(
                classifications,
                customers.c.licence_number,
                customers.c.customer_manager_id,
                customers.c.team_id,
            )
            .join(customers, customers.c.id == classifications.c.customer_id)
            .where(classifications.c.id > after)
            .order_by(classifications.c.id)
        ).mappings()
        messages = []
        for row in rows:
            descriptions = SqlServiceDescriptions(connection).all()
            outcome = Outcome(
                **{
                    name: tuple(row[name]) if name in ("grading_fired", "entitlement_fired") else row[name]
                    for name in domain.OUTCOME_PARTS
                }
            )
            customer = Customer(
                inputs={
                    "licence_number": row["licence_number"],
                    "customer_manager_id": row["customer_manager_id"],
                },
                team_id=row["team_id"],
            )
            message = pb.ClassificationChange(
                change_id=row["id"],
                licence_number=row["licence_number"],
                classification=mapping.outcome_message(outcome),
                customer_manager_id=row["customer_manager_id"] or "",
                team_id=row["team_id"] or "",
            )
            message.classification.classified_at.CopyFrom(to_timestamp(utc(row["classified_at"])))
            message.classification.reason = row["reason"]
            customer.classification = domain.ClassificationRecord(outcome, row["reason"], None)
            for description, parameters in domain.menu(customer, descriptions):
                values = struct_pb2.Struct()
                values.update(parameters)
                message.items.append(
                    pb.MenuItem(description=mapping.description_message(description), parameters=values)
                )
            messages.append(message)
    return messages


@pytest.mark.parametrize("descriptions", ["read each page", "cached copy"])
def test_pages_give_what_a_plain_read_gives(engine, descriptions):
    _history(engine, 12)
    expected = _plain_read(engine, 0)
    assert len(expected) == 24 and {len(m.items) for m in expected} == {3, 4}
    feed = (
        ClassificationChanges(engine, 4 * 1024 * 1024)
        if descriptions == "read each page"
        else ClassificationChanges(engine, 4 * 1024 * 1024, Cached(60).get)
    )
    for _ in range(2):  # the second time through, everything shared is reused
        read, after, more = [], 0, []
        while (page := feed.after(after, 5)).changes:
            read.extend(page.changes)
            more.append(page.has_more)
            after = page.changes[-1].id
        assert more == [True] * 4 + [False]  # 24 changes: four full pages, then the last four
        assert [change.message for change in read] == expected
        assert [len(change.data) for change in read] == [message.ByteSize() for message in expected]
        for has_more in (False, True):
            reply = reply_data(ChangePage(read, has_more))
            plain = pb.ListClassificationChangesResponse(changes=expected, has_more=has_more)
            assert pb.ListClassificationChangesResponse.FromString(reply) == plain
            assert len(reply) == plain.ByteSize()
    last = feed.after(expected[9].change_id, 500)
    assert [c.message for c in last.changes] == expected[10:] and not last.has_more
    full = feed.after(expected[9].change_id, 14)  # exactly the changes left
    assert [c.message for c in full.changes] == expected[10:] and not full.has_more


def test_a_page_is_cut_where_the_plain_messages_reach_the_reply_limit(engine):
    _history(engine, 6)
    expected = _plain_read(engine, 0)
    limit = sum(message.ByteSize() + 8 for message in expected[:5])  # five fit exactly
    page = ClassificationChanges(engine, 2 * limit).after(0, 500)
    assert [change.message for change in page.changes] == expected[:5] and page.has_more
    smallest = ClassificationChanges(engine, 2).after(0, 500)
    assert [change.message for change in smallest.changes] == expected[:1] and smallest.has_more
    the_rest = ClassificationChanges(engine, 2 * limit).after(expected[-3].change_id, 500)
    assert [change.message for change in the_rest.changes] == expected[-2:] and not the_rest.has_more
