"""The pieces the hot replies reuse or compute directly: moments as Timestamps without the
calendar round trip, and menu items kept for the descriptions and parameters they were
built from."""

import datetime

import pytest
from retailcare.classification.v1 import classification_pb2 as pb

from services.classification import mapping
from services.classification.domain import ServiceDescription
from services.common.times import to_timestamp

EIGHT_HOURS_EAST = datetime.timezone(datetime.timedelta(hours=8))


@pytest.mark.parametrize(
    "moment",
    [
        datetime.datetime(2026, 3, 2, 9, 30, 15, 123456, tzinfo=datetime.UTC),
        datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC),
        datetime.datetime(1969, 12, 31, 23, 59, 59, 999999, tzinfo=datetime.UTC),
        datetime.datetime(1901, 7, 4, 12, 0, 0, 1, tzinfo=datetime.UTC),
        datetime.datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=datetime.UTC),
        datetime.datetime(2027, 1, 1, 9, 0, tzinfo=EIGHT_HOURS_EAST),
        datetime.datetime(2026, 3, 2, 9, 30, 15, 5),  # naive, as SQLite gives it back: UTC
    ],
)
def test_a_timestamp_is_the_one_the_library_makes(moment):
    assert mapping.timestamp(moment) == to_timestamp(moment)


def test_no_moment_leaves_the_field_unset():
    assert mapping.timestamp(None) is None


def _description(standard: str) -> ServiceDescription:
    return ServiceDescription(
        service="scarce_brand_supply",
        name="Scarce brands",
        kind="personalised",
        procedure_steps=["ask", "deliver"],
        standard=standard,
        commitment="on time",
    )


def test_a_menu_item_is_built_from_the_description_and_parameters_it_is_given():
    old, parameters = _description("Old standard"), {"allocation_tier": "A", "visits": [1, 2]}
    first = mapping._menu_item(old, parameters)
    assert first.description.standard == "Old standard"
    assert dict(first.parameters)["allocation_tier"] == "A"
    assert mapping._menu_item(old, parameters) == first
    new = _description("New standard")  # an edited description is a new object
    assert mapping._menu_item(new, parameters).description.standard == "New standard"
    other = {"allocation_tier": "B"}
    assert dict(mapping._menu_item(old, other).parameters) == {"allocation_tier": "B"}


def test_a_reply_holds_its_own_copy_of_a_reused_item():
    description, parameters = _description("Standard"), {"allocation_tier": "A"}
    item = mapping._menu_item(description, parameters)
    reply = pb.GetServiceMenuResponse(items=[item])
    reply.items[0].description.standard = "changed in the reply"
    assert mapping._menu_item(description, parameters).description.standard == "Standard"
