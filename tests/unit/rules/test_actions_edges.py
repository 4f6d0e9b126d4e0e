"""The building blocks of domain actions (services/common/rules/actions.py), each built
inside the test: the rule kinds build theirs at import, which mutation testing cannot
reach."""

from services.common.rules import actions


def test_set_once_keeps_the_first_value():
    apply = actions.set_once("grade", "value")
    outputs: dict = {}
    apply(outputs, {"value": 20})
    apply(outputs, {"value": 21})
    assert outputs == {"grade": 20}


def test_set_many_once_skips_absent_parameters_and_keeps_first_values():
    apply = actions.set_many_once({"warn": "warn_at_share", "levels": "escalation_levels"})
    outputs: dict = {}
    apply(outputs, {"warn": 0.5})
    assert outputs == {"warn_at_share": 0.5}
    apply(outputs, {"warn": 0.75, "levels": ["owner"]})
    assert outputs == {"warn_at_share": 0.5, "escalation_levels": ["owner"]}


def test_grant_once_keeps_the_first_grant_per_key_without_the_key():
    apply = actions.grant_once("services", "service")
    outputs: dict = {}
    apply(outputs, {"service": "supply", "tier": "C"})
    apply(outputs, {"service": "supply", "tier": "A"})
    apply(outputs, {"service": "visits", "per_month": 4})
    assert outputs == {"services": {"supply": {"tier": "C"}, "visits": {"per_month": 4}}}


def test_add_points_sums_per_key_and_in_total_rounded():
    apply = actions.add_points("points", "total", "kpi", "amount")
    outputs: dict = {}
    apply(outputs, {"kpi": "sales", "amount": 0.1})
    apply(outputs, {"kpi": "sales", "amount": 0.2})
    apply(outputs, {"kpi": "visits", "amount": 3})
    assert outputs == {"points": {"sales": 0.3, "visits": 3}, "total": 3.3}


def test_add_points_rounds_to_six_places():
    apply = actions.add_points("points", "total", "kpi", "amount")
    outputs: dict = {}
    apply(outputs, {"kpi": "sales", "amount": 0.1234564})
    assert outputs == {"points": {"sales": 0.123456}, "total": 0.123456}
