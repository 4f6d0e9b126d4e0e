"""The served-path settings: defaults, and values start-up refuses."""

import pytest

from services.common.config import ConfigError, load_settings
from services.composition import PACK


def test_defaults_serve_the_generated_function_with_one_percent_shadow_checked():
    settings = load_settings(PACK, environ={})
    assert (settings.rules_serve_from, settings.rules_shadow_share) == ("generated", 0.01)


def test_durable_rules_alone_can_be_chosen():
    settings = load_settings(PACK, environ={"RETAILCARE_RULES_SERVE_FROM": "durable"})
    assert settings.rules_serve_from == "durable"


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("RETAILCARE_RULES_SERVE_FROM", "zen", "rules_serve_from must be generated or durable"),
        ("RETAILCARE_RULES_SHADOW_SHARE", "1.5", "rules_shadow_share must be from 0 to 1"),
        ("RETAILCARE_RULES_SHADOW_SHARE", "-0.1", "rules_shadow_share must be from 0 to 1"),
    ],
)
def test_start_up_refuses_values_outside_the_choices(variable, value, message):
    with pytest.raises(ConfigError, match=message):
        load_settings(PACK, environ={variable: value})
