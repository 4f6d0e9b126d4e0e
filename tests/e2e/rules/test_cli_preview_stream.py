"""`retailcare rules preview FILE --csv PATH` lists every changed customer even when the
list is far larger than one reply may be: the rows come over StreamRuleSetImpact in
chunks and are written as they arrive. Classification runs with a 16 KiB message limit,
under which the one-reply preview of the same list is refused; on SQLite and PostgreSQL."""

import csv
import json

import grpc
import pytest
from retailcare.classification.v1 import classification_pb2 as pb
from retailcare.classification.v1 import classification_pb2_grpc

from services.classification import impact
from services.common.config import load_settings
from services.composition import PACK, main, service_definition
from tests.support.ports import pack_environment
from tests.support.rule_samples import default_source
from tests.support.services import channel_to, running

GRADING = "customer-grading"
# Grade 20 from 90 cartons instead of 95: every 92-carton shop moves from 19 to 20.
EDITED = default_source(GRADING).replace('">= 95", set_grade.grade: 20', '">= 90", set_grade.grade: 20')
MESSAGE_LIMIT = 16 * 1024
MOVING, STAYING = 1100, 100  # more rows than one 16 KiB reply holds (checked below)


def shop(number: int, cartons: float) -> pb.CustomerInput:
    return pb.CustomerInput(
        licence_number=f"L{number:07d}",
        name=f"Shop {number}",
        business_format="grocery",
        market_type="urban",
        monthly_sales_cartons=cartons,
    )


@pytest.fixture
def stub(tmp_path, monkeypatch, db_url):
    for key, value in pack_environment(str(tmp_path)).items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("RETAILCARE_CLASSIFICATION_DATABASE_URL", db_url)
    monkeypatch.setenv("RETAILCARE_MAX_MESSAGE_BYTES", str(MESSAGE_LIMIT))
    monkeypatch.setenv("RETAILCARE_RECLASSIFICATION_BATCH_SIZE", "0")
    with (
        running(service_definition("classification"), load_settings(PACK)) as service,
        channel_to(service) as channel,
    ):
        stub = classification_pb2_grpc.ClassificationServiceStub(channel)
        shops = [shop(n, 92) for n in range(MOVING)] + [shop(MOVING + n, 10) for n in range(STAYING)]
        batches = (
            pb.ImportCustomersRequest(
                rows=shops[i : i + 200], row_numbers=range(i + 2, min(i + 200, len(shops)) + 2)
            )
            for i in range(0, len(shops), 200)
        )
        replies = list(stub.ImportCustomers(batches, timeout=300))
        assert sum(r.created for r in replies) == len(shops)
        assert not [e for r in replies for e in r.errors]
        yield stub


def test_the_full_list_streams_past_the_reply_limit(stub, tmp_path, capsys):
    draft = tmp_path / "grading.yaml"
    draft.write_text(EDITED)
    with pytest.raises(grpc.RpcError) as too_large:
        request = pb.PreviewRuleSetImpactRequest(draft_source=EDITED, sample_size=MOVING)
        stub.PreviewRuleSetImpact(request, timeout=120)
    assert too_large.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED

    table = tmp_path / "impact.csv"
    assert main(["rules", "preview", str(draft), "--csv", str(table), "--sample", "3"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"customer-grading: {MOVING} of {MOVING + STAYING} customers change")
    assert f"{MOVING} changed customers written to {table}" in out
    assert len([line for line in out.split("examples:")[1].splitlines() if line.startswith("L")]) == 3
    with table.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["licence_number"] for r in rows] == [f"L{n:07d}" for n in range(MOVING)]
    assert {(r["grade_before"], r["grade_after"], r["services_changed"]) for r in rows} == {("19", "20", "")}
    assert not (tmp_path / "impact.csv.part").exists()

    chunks = list(stub.StreamRuleSetImpact(pb.StreamRuleSetImpactRequest(draft_source=EDITED), timeout=120))
    assert [len(c.rows) for c in chunks[:-1]] == [impact.ROWS_PER_CHUNK] * (
        MOVING // impact.ROWS_PER_CHUNK
    ) + [MOVING % impact.ROWS_PER_CHUNK]
    assert all(c.ByteSize() < MESSAGE_LIMIT for c in chunks)
    assert sum(c.ByteSize() for c in chunks) > MESSAGE_LIMIT
    assert (chunks[-1].summary.changed, chunks[-1].summary.customers, len(chunks[-1].rows)) == (
        MOVING,
        MOVING + STAYING,
        0,
    )

    assert main(["rules", "preview", str(draft), "--json", "--sample", "2"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["grade_moves"] == [{"from": 19, "to": 20, "customers": MOVING}]
    assert [e["licence_number"] for e in summary["examples"]] == ["L0000000", "L0000001"]


def test_a_draft_that_cannot_decide_fails_in_one_line_and_leaves_no_file(stub, tmp_path, capsys):
    broken = tmp_path / "grading.yaml"
    broken.write_text(EDITED.replace("set_star_level: {level: 5}", "set_star_level: {level: 9}", 1))
    table = tmp_path / "impact.csv"
    assert main(["rules", "preview", str(broken), "--csv", str(table)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("retailcare: INVALID_ARGUMENT") and "level 9" in err
    assert not table.exists() and not (tmp_path / "impact.csv.part").exists()
    broken.write_text(EDITED)
    assert main(["rules", "preview", str(broken), "--csv", str(tmp_path / "no-such-dir" / "x.csv")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot write" in err and "no-such-dir" in err
