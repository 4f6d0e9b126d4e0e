"""The `retailcare` command when things are wrong: one line and a non-zero exit, never a
traceback, never a password; quiet when its reader goes away."""

import json
import os
import subprocess
import sys

import pytest

from services.common.cli import EXIT_BROKEN_PIPE
from services.composition import PACK, main
from tests.support.ports import free_port, pack_environment
from tests.support.services import child_environment

GRADING = "customer-grading"


def _retailcare(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "services.composition", *args],
        env=child_environment(env),
        capture_output=True,
        text=True,
        timeout=60,
    )


def _plain_lines(stderr: str) -> list[str]:
    """stderr without the JSON log lines of a process that got as far as logging."""
    return [line for line in stderr.splitlines() if line.strip() and not line.startswith("{")]


@pytest.fixture
def nothing_running(tmp_path, monkeypatch):
    """This process's configuration: every service on a port nobody listens on."""
    env = pack_environment(str(tmp_path))
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env


def _files(tmp_path) -> dict[str, str]:
    source = PACK.rule_set_catalogue().all_kinds()[GRADING].default_path
    facts = tmp_path / "facts.json"
    facts.write_text(json.dumps({"monthly_sales_cartons": 10}))
    customers = tmp_path / "customers.csv"
    customers.write_text("licence_number\nL0001\n")
    return {"source": str(source), "facts": str(facts), "customers": str(customers)}


COMMANDS = [
    ["rules", "publish", "{source}", "--comment", "x"],
    ["rules", "list"],
    ["rules", "history", GRADING],
    ["rules", "diff", GRADING, "1", "2"],
    ["rules", "rollback", GRADING, "1"],
    ["rules", "dry-run", GRADING, "{facts}"],
    ["customers", "import", "{customers}"],
    ["customers", "reclassify-status"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c[:2]))
def test_every_command_that_asks_a_service_fails_in_one_line_when_it_is_down(
    command, nothing_running, tmp_path, capsys
):
    files = _files(tmp_path)
    code = main([part.format(**files) for part in command])
    captured = capsys.readouterr()
    assert code != 0
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert "cannot reach" in lines[0]
    assert "Traceback" not in captured.err + captured.out


def test_serve_with_an_unreachable_database_says_so_in_one_line_without_the_password(tmp_path):
    env = pack_environment(str(tmp_path))
    port = free_port()
    env["RETAILCARE_CLASSIFICATION_DATABASE_URL"] = f"postgresql://app:s3cret@127.0.0.1:{port}/retail"
    result = _retailcare(["serve", "classification"], env)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert "s3cret" not in result.stderr + result.stdout
    [line] = _plain_lines(result.stderr)
    assert line.startswith("retailcare: classification: cannot use the database ")
    assert f"postgresql+psycopg://app:***@127.0.0.1:{port}/retail" in line


def test_migrate_with_an_unreachable_database_says_so_in_one_line(tmp_path):
    env = pack_environment(str(tmp_path))
    env["RETAILCARE_COMPLAINTS_DATABASE_URL"] = f"postgresql://app:s3cret@127.0.0.1:{free_port()}/retail"
    result = _retailcare(["migrate", "complaints"], env)
    assert result.returncode != 0
    assert result.stdout == ""
    [line] = result.stderr.strip().splitlines()
    assert "complaints: cannot use the database" in line and "s3cret" not in line


@pytest.mark.parametrize("command", [["serve", "gateway"], ["up"], ["config"]])
def test_a_port_out_of_range_stops_every_command_in_one_line(command, tmp_path):
    env = pack_environment(str(tmp_path))
    env["RETAILCARE_GATEWAY_GRPC_PORT"] = "99999"
    result = _retailcare(command, env)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "retailcare: RETAILCARE_GATEWAY_GRPC_PORT: gateway_grpc_port must be a port from 1 to 65535, got '99999'"
    ]


def test_config_masks_passwords_and_tokens(tmp_path):
    env = pack_environment(str(tmp_path))
    env["RETAILCARE_EVALUATION_DATABASE_URL"] = "postgresql://app:s3cret@db:5432/evaluation"
    env["RETAILCARE_GATEWAY_TOKENS"] = "ops " + "ab" * 32
    result = _retailcare(["config"], env)
    assert result.returncode == 0
    assert "s3cret" not in result.stdout and "ab" * 32 not in result.stdout
    assert "postgresql://app:***@db:5432/evaluation" in result.stdout
    assert "RETAILCARE_GATEWAY_TOKENS" in result.stdout


@pytest.mark.parametrize("command", [["config"], ["--help"], ["rules", "validate", "{source}"]])
def test_writing_to_a_closed_pipe_is_quiet(command, tmp_path):
    """As `retailcare config | head -1` once the reader has had its line."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    args = [part.format(**_files(tmp_path)) for part in command]
    try:
        result = subprocess.run(
            [sys.executable, "-m", "services.composition", *args],
            env=child_environment(pack_environment(str(tmp_path))),
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
        )
    finally:
        os.close(write_end)
    assert result.stderr == ""
    assert result.returncode in (0, EXIT_BROKEN_PIPE)  # argparse's --help ignores the pipe itself
