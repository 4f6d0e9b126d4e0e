"""The classification contract mapping: requests in, domain objects out."""

import datetime

import pytest
from retailcare.classification.v1 import classification_pb2 as pb

from services.classification import domain, mapping
from services.common.errors import InvalidArgument

MOMENT = datetime.datetime(2026, 3, 2, 9, 30, tzinfo=datetime.UTC)


def test_optional_numbers_left_out_are_none_and_given_zeros_are_kept():
    message = pb.CustomerInput(licence_number="L-1", monthly_sales_cartons=0, cooperation_score=0)
    values = mapping.input_values(message)
    assert set(values) == set(domain.INPUT_NAMES)
    assert (values["monthly_sales_cartons"], values["cooperation_score"], values["shop_area_m2"]) == (
        0,
        0,
        None,
    )


@pytest.mark.parametrize(
    ("activity", "expected"),
    [
        (pb.CustomerFilter.ACTIVITY_UNSPECIFIED, "active"),
        (pb.CustomerFilter.ACTIVE_ONLY, "active"),
        (pb.CustomerFilter.INACTIVE_ONLY, "inactive"),
        (pb.CustomerFilter.ALL, "all"),
    ],
)
def test_filters_become_queries(activity, expected):
    query = mapping.customer_query(pb.CustomerFilter(market_type="rural", star_level=3, activity=activity))
    assert query.activity == expected
    assert query.equals["market_type"] == "rural" and query.equals["star_level"] == 3
    assert set(query.equals) == set(domain.FILTER_FIELDS)


def test_an_unknown_activity_number_is_invalid():
    with pytest.raises(InvalidArgument) as error:
        mapping.customer_query(pb.CustomerFilter(activity=7))
    assert [name for name, _ in error.value.violations] == ["filter.activity"]


def test_a_customer_round_trips_through_its_message():
    inputs = domain.normalised_inputs(
        {
            "licence_number": "L-1",
            "name": "Shop",
            "monthly_sales_cartons": 12.5,
            "compliance_violations_12m": 0,
        }
    )
    outcome = domain.Outcome(3, 1, 1, "A11", "", {"free_phone_ordering": {}}, 2, 4)
    customer = domain.Customer.register(inputs, "team-a", outcome, MOMENT)
    message = mapping.customer_message(customer)
    assert mapping.input_values(message.input) == inputs
    assert (message.classification.grade, message.classification.reason) == (3, "create")
    assert list(message.classification.services) == ["free_phone_ordering"]
    assert message.classification.classified_at.ToDatetime(tzinfo=datetime.UTC) == MOMENT
    assert mapping.classification_message(None) == pb.Classification()
