"""docs/rules.md cannot rot: every worked example's blocks are run as written, in order,
against classification, complaints and evaluation running in this process with a few
stored customers; every shipped rule set has a worked example; the table of supplied
facts is the one the services declare.

In a "### Worked example: NAME" section: a ```sh block's lines are `retailcare ...`
commands (a trailing `> FILE` writes the output to FILE) that must exit 0; a
```diff FILE block is an edit of FILE (lines starting with a space or `-` are replaced by
those starting with a space or `+`; the old lines must occur exactly once); a
```json FILE block is written to FILE; every line of a ```text block but "..." must be
found in the output of the sh block before it."""

import pathlib
import re
import shlex

import pytest
from retailcare.classification.v1 import classification_pb2 as pb
from retailcare.classification.v1 import classification_pb2_grpc

from services.common.config import load_settings
from services.common.rules.cli import facts_markdown
from services.composition import PACK, main, service_definition
from tests.support.clock import cst
from tests.support.ports import pack_environment
from tests.support.services import channel_to, running

GUIDE = pathlib.Path(__file__).parents[3] / "docs" / "rules.md"
EXAMPLE = re.compile(r"^### Worked example: (\S+)\n(.*?)(?=^#{1,3} )", re.MULTILINE | re.DOTALL)
BLOCK = re.compile(r"^```(\w+)[ \t]*(\S*)[ \t]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
# (licence, business format, market type, zone type, monthly cartons)
CUSTOMERS = (
    ("110101100092", "grocery", "urban", "village", 92),
    ("110101100030", "grocery", "rural", "township", 30),
    ("110101100500", "supermarket", "urban", "city_centre", 500),
    ("110101100010", "grocery", "rural", "village", 10),
)


def examples() -> dict[str, str]:
    return dict(EXAMPLE.findall(GUIDE.read_text(encoding="utf-8")))


@pytest.fixture(scope="module")
def pack(tmp_path_factory):
    """The three services with rule sets, on this process's configuration; the clock a
    few days before the scheduled example's moment, so it stays in the future."""
    from services.common import times

    data = tmp_path_factory.mktemp("pack")
    env = pack_environment(str(data))
    saved_env = {key: value for key, value in env.items()}
    monkeypatch = pytest.MonkeyPatch()
    for key, value in saved_env.items():
        monkeypatch.setenv(key, value)
    saved_clock = times.clock.setting
    times.clock.set(cst("2027-02-22T09:00"), frozen=False)
    settings = load_settings(PACK)
    try:
        with (
            running(service_definition("classification"), settings) as classification,
            running(service_definition("complaints"), settings),
            running(service_definition("evaluation"), settings),
            channel_to(classification) as channel,
        ):
            stub = classification_pb2_grpc.ClassificationServiceStub(channel)
            for licence, business_format, market_type, zone_type, cartons in CUSTOMERS:
                shop = pb.CustomerInput(
                    licence_number=licence,
                    name=f"Shop {licence}",
                    business_format=business_format,
                    market_type=market_type,
                    zone_type=zone_type,
                    monthly_sales_cartons=cartons,
                )
                stub.CreateCustomer(pb.CreateCustomerRequest(customer=shop), timeout=10)
            yield
    finally:
        times.clock.restore(saved_clock)
        monkeypatch.undo()


def apply_diff(path: pathlib.Path, diff: str) -> None:
    lines = diff.splitlines()
    for line in lines:
        assert line[:1] in (" ", "-", "+", ""), f"not a diff line: {line!r}"
    old = "".join(line[1:] + "\n" for line in lines if line[:1] in (" ", "-", ""))
    new = "".join(line[1:] + "\n" for line in lines if line[:1] in (" ", "+", ""))
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{path.name}: the diff's old lines are not found exactly once:\n{old}"
    path.write_text(text.replace(old, new), encoding="utf-8")


def run_line(line: str, capsys) -> str:
    argv = shlex.split(line, comments=True)
    if not argv:
        return ""
    assert argv[0] == "retailcare", line
    target = None
    if len(argv) > 2 and argv[-2] == ">":
        argv, target = argv[:-2], argv[-1]
    code = main(argv[1:])
    captured = capsys.readouterr()
    assert code == 0, f"{line!r} exited {code}: {captured.err}"
    if target:
        pathlib.Path(target).write_text(captured.out, encoding="utf-8")
        return ""
    return captured.out


def normalised(text: str) -> str:
    return " ".join(text.split())


def test_every_shipped_rule_set_has_a_worked_example():
    assert set(examples()) == set(PACK.rule_set_catalogue().all_kinds())


def test_the_table_of_supplied_facts_is_the_services_own():
    guide = GUIDE.read_text(encoding="utf-8")
    table = guide.split("<!-- facts:start")[1].split("-->", 1)[1].split("<!-- facts:end -->")[0]
    assert table.strip() == facts_markdown(PACK).strip()


@pytest.mark.parametrize("rule_set", sorted(examples()))
def test_a_worked_example_runs_as_written(rule_set, pack, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    output = ""
    blocks = BLOCK.findall(examples()[rule_set])
    assert any(kind == "sh" for kind, _, _ in blocks)
    for kind, name, body in blocks:
        if kind == "sh":
            output = "".join(run_line(line, capsys) for line in body.splitlines())
        elif kind == "diff":
            apply_diff(tmp_path / name, body)
        elif kind == "json" and name:
            (tmp_path / name).write_text(body, encoding="utf-8")
        elif kind == "text":
            shown = [normalised(line) for line in output.splitlines()]
            for line in body.splitlines():
                if line.strip() and line.strip() != "...":
                    assert any(normalised(line) in out for out in shown), f"{line!r} not in:\n{output}"
