"""Parts of `retailcare rules` that need no server: one-line errors, where the calls go
(the owning service, or the gateway with a token from a file or GATEWAY_TOKEN), the
tables of outputs and facts."""

import argparse

import pytest

from services.common.rules import cli
from services.composition import PACK, main


def test_an_error_of_several_lines_is_printed_as_one(capsys):
    error = cli.CliError("INVALID_ARGUMENT: refused\n  source: line 3: bad\n\n  source: line 9: worse\n")
    assert str(error) == "INVALID_ARGUMENT: refused; source: line 3: bad; source: line 9: worse"


def args_for(**given) -> argparse.Namespace:
    return argparse.Namespace(pack=PACK, **{"gateway": None, "token_file": None, **given})


def test_without_gateway_options_the_calls_go_to_the_owner(monkeypatch):
    monkeypatch.setenv(cli.GATEWAY_TOKEN_ENV, "ignored-without---gateway")
    connection = cli.Connection(args_for())
    assert not connection.via_gateway and connection.metadata == ()
    assert connection.target("complaints") == connection.settings.target("complaints")
    assert connection.where("complaints").startswith("complaints at ")


def test_the_gateway_with_a_token_from_the_environment_or_a_file(monkeypatch, tmp_path):
    monkeypatch.setenv(cli.GATEWAY_TOKEN_ENV, " from-the-environment \n")
    connection = cli.Connection(args_for(gateway=""))
    assert connection.via_gateway
    assert connection.target("classification") == connection.settings.target("gateway")
    assert connection.metadata == (("authorization", "Bearer from-the-environment"),)
    token = tmp_path / "token"
    token.write_text("from-the-file\nsecond line ignored\n")
    connection = cli.Connection(args_for(token_file=str(token)))  # implies --gateway
    assert connection.via_gateway and connection.metadata == (("authorization", "Bearer from-the-file"),)
    connection = cli.Connection(args_for(gateway="gw.example:50051", token_file=str(token)))
    assert connection.target("evaluation") == "gw.example:50051"
    assert connection.where("evaluation") == "the gateway at gw.example:50051"


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"gateway": ""}, "--gateway needs a token"),
        ({"token_file": "/no/such/token"}, "--token-file: cannot read /no/such/token"),
        ({"token_file": "EMPTY"}, "is empty"),
    ],
)
def test_a_missing_token_stops_before_any_call(given, message, monkeypatch, tmp_path):
    monkeypatch.delenv(cli.GATEWAY_TOKEN_ENV, raising=False)
    empty = tmp_path / "empty"
    empty.write_text("\n")
    if given.get("token_file") == "EMPTY":
        given = {"token_file": str(empty)}
    with pytest.raises(cli.CliError, match=message):
        cli.Connection(args_for(**given))


def test_outputs_are_flattened_for_a_two_column_table():
    outputs = {
        "grade": 20,
        "services": {"storefront_image_upkeep": {}, "ordering_method": {"channels": ["phone", "mobile_app"]}},
        "pause": True,
        "missing": None,
    }
    assert list(cli._flat(outputs)) == [
        ("grade", "20"),
        ("services.storefront_image_upkeep", "(granted, no parameters)"),
        ("services.ordering_method.channels", "phone, mobile_app"),
        ("pause", "true"),
        ("missing", "-"),
    ]


def test_the_facts_table_names_every_rule_set_and_fact():
    table = cli.facts_markdown(PACK).splitlines()
    assert table[0] == "| rule set | fact | type | supplied | values |"
    kinds = PACK.rule_set_catalogue().all_kinds()
    assert len(table) == 2 + sum(len(kind.facts) for kind in kinds.values())
    assert (
        "| service-entitlements | `zone_type` | one_of | when known | city_centre, county_town, township, village |"
        in table
    )
    assert "| customer-grading | `monthly_sales_cartons` | decimal | always |  |" in table


def test_facts_without_a_name_or_of_an_unknown_rule_set_is_one_line(capsys):
    assert main(["rules", "facts"]) == 2
    assert capsys.readouterr().err == "retailcare: name a rule set (or give --markdown for all of them)\n"
    assert main(["rules", "facts", "no-such-set"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unknown rule set 'no-such-set'" in err


def test_every_command_that_prints_takes_json():
    parser = argparse.ArgumentParser()
    commands = parser.add_subparsers()
    cli.add_rules_commands(commands)
    from services.classification.rules_cli import add_rules_commands as add_preview

    add_preview(commands)
    sub, _ = cli.rules_commands(commands)
    for name, command in sub.choices.items():
        options = {option for action in command._actions for option in action.option_strings}
        assert "--json" in options, name
        asks_a_server = command.get_default("run") not in (
            cli.cmd_validate,
            cli.cmd_test,
            cli.cmd_actions,
            cli.cmd_facts,
        )
        assert ({"--gateway", "--token-file"} <= options) == asks_a_server, name
