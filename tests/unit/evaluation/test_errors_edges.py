"""The domain's refusals carry what the service layer maps to gRPC, and a readable text."""

import pytest

from services.evaluation.domain.errors import Invalid, Missing, Refused, require


def test_invalid_keeps_every_violation_and_joins_them_in_its_text():
    error = Invalid([("a", "is required"), ("b", "too long")])
    assert error.violations == [("a", "is required"), ("b", "too long")]
    assert str(error) == "a: is required; b: too long"


def test_missing_names_the_kind_and_the_name():
    error = Missing("staff member", "cm-9")
    assert (error.kind, error.name, str(error)) == ("staff member", "cm-9", "staff member 'cm-9' not found")


def test_refused_has_its_message_and_an_optional_subject():
    assert (Refused("closed").message, Refused("closed").subject, str(Refused("closed"))) == (
        "closed",
        "",
        "closed",
    )
    assert Refused("closed", "p1").subject == "p1"


def test_require_raises_only_when_something_is_wrong():
    require([])
    with pytest.raises(Invalid) as error:
        require([("x", "bad")])
    assert error.value.violations == [("x", "bad")]
