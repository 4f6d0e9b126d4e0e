"""The gateway's pure pieces: the explanation line, the menu as commitments, limits,
and which rule set a rule-set administration request is about."""

import pytest
from google.protobuf import struct_pb2
from retailcare.classification.v1 import classification_pb2 as cpb
from retailcare.rules.v1 import rule_sets_pb2 as rpb

from gateway.composed import _limit, commitments_of, summary_of
from gateway.rule_sets import rule_set_named
from services.common.errors import InvalidArgument


def test_the_explanation_line_names_grade_stars_code_and_services():
    classification = cpb.Classification(
        grade=22, star_level=4, classification_code="A13", services=["a", "b"]
    )
    assert summary_of(classification) == "grade 22, 4 stars, code A13; 2 services"


def test_every_menu_item_becomes_a_commitment_with_the_responsible_manager():
    parameters = struct_pb2.Struct()
    parameters.update({"visits_per_month": 4})
    menu = cpb.GetServiceMenuResponse(
        customer_manager_id="cm-1",
        team_id="team-1",
        items=[
            cpb.MenuItem(
                description=cpb.ServiceDescription(
                    service="customer_manager_visit",
                    name="上门拜访",
                    kind="standard",
                    procedure_steps=["plan", "visit"],
                    standard="monthly",
                    commitment="we come by",
                ),
                parameters=parameters,
            )
        ],
    )
    [item] = commitments_of(menu)
    assert (item.service, item.name, list(item.procedure_steps)) == (
        "customer_manager_visit",
        "上门拜访",
        ["plan", "visit"],
    )
    assert (item.standard, item.commitment, item.responsible_person, item.team_id) == (
        "monthly",
        "we come by",
        "cm-1",
        "team-1",
    )
    assert item.parameters["visits_per_month"] == 4


def test_limits_default_and_refuse_out_of_range():
    assert _limit("n", 0, 20) == 20 and _limit("n", 5, 20) == 5
    for wrong in (-1, 101):
        with pytest.raises(InvalidArgument) as refused:
            _limit("open_complaints_limit", wrong, 20)
        assert [field for field, _ in refused.value.violations] == ["open_complaints_limit"]


@pytest.mark.parametrize(
    ("request_message", "expected"),
    [
        (rpb.GetRuleSetVersionRequest(rule_set="customer-grading"), ("rule_set", "customer-grading")),
        (
            rpb.PublishRuleSetRequest(source="name: complaint-policy\nrules: []\n"),
            ("source", "complaint-policy"),
        ),
        (rpb.DryRunRuleSetRequest(draft_source="name: kpi-scoring\n"), ("draft_source", "kpi-scoring")),
        (rpb.ValidateRuleSetRequest(source="[not, a, mapping]"), ("source", "")),
        (rpb.ValidateRuleSetRequest(source="{unclosed"), ("source", "")),
        (rpb.DryRunRuleSetRequest(), ("rule_set", "")),
    ],
)
def test_the_rule_set_a_request_is_about(request_message, expected):
    assert rule_set_named(request_message) == expected
