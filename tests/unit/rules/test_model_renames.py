"""A rule-set kind loads stored versions under the facts' current names, whole words only;
an action's text-list parameter names every value it does not allow."""

import pytest

from services.common.rules.model import Param, RuleSetKind, Vocabulary


def test_renamed_facts_are_replaced_as_whole_words_each_one():
    kind = RuleSetKind("k", Vocabulary.of(), None, renamed={"market_zone": "zone_type", "a.b": "c"})
    source = "when: {market_zone: urban, market_zone_x: 1, my_market_zone: 2, a.b: 3, axb: 4}\n"
    assert (
        kind.with_current_names(source)
        == "when: {zone_type: urban, market_zone_x: 1, my_market_zone: 2, c: 3, axb: 4}\n"
    )


def test_a_kind_without_renames_keeps_the_text():
    source = "name: k\n"
    assert RuleSetKind("k", Vocabulary.of(), None).with_current_names(source) is source


def test_a_text_list_names_every_value_it_does_not_allow():
    param = Param("text_list", allowed=("call", "visit"))
    assert param.check("call, visit") == ["call", "visit"]
    with pytest.raises(ValueError) as error:
        param.check(["mail", "call", "fax"])
    assert str(error.value) == "mail, fax not among call, visit"
