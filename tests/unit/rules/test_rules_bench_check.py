"""The rules benchmark's equality check: every path it times (durable-rules, our served
function, the hand-compiled limit, GoRules ZEN on the generated graph) decides the shipped
sets alike on a sample, and a planted difference is reported with its input."""

import json
import random

import pytest

from benchmarks import rules_bench
from benchmarks.rules_bench import HAND, SERVED, Path

SETS = {"customer-grading": rules_bench.grading_facts, "service-entitlements": rules_bench.entitlement_facts}


@pytest.fixture(params=sorted(SETS))
def bench(request):
    compiled = rules_bench.compile_shipped(request.param)
    rng = random.Random(request.param)
    sample = [compiled.prepare_facts(SETS[request.param](rng)) for _ in range(150)]
    boundary, _ = rules_bench.boundary_cases(compiled)
    yield compiled, sample + boundary
    compiled.close()


def test_every_path_decides_the_sample_alike(bench):
    compiled, cases = bench
    paths = rules_bench.all_paths(compiled)
    assert set(rules_bench.ZEN_PATHS) < set(paths) and HAND in paths
    assert rules_bench.first_difference(paths, cases, rules_bench.DIRECT) is None
    fired = {rule for facts in cases for rule in compiled.decide_generated(facts)[0]}
    assert len(fired) == len(compiled.document.rules)  # the sample reaches every rule


def test_a_planted_difference_names_the_path_and_the_first_input(bench):
    compiled, cases = bench
    paths = rules_bench.all_paths(compiled)
    planted = cases[37]
    hand = paths[HAND].decide

    def differs_once(facts):
        fired, outputs, reasons = hand(facts)
        return (fired[1:], outputs, reasons) if facts is planted else (fired, outputs, reasons)

    paths[HAND] = Path(differs_once)
    report = rules_bench.first_difference(paths, cases, SERVED)
    assert report is not None
    assert report.startswith(
        f"{HAND} decides {json.dumps(planted, ensure_ascii=False)} differently from {SERVED}"
    )


def test_boundary_inputs_leave_out_numbers_finer_than_zen_reads():
    compiled = rules_bench.compile_shipped("customer-grading")
    try:
        kept, left_out = rules_bench.boundary_cases(compiled)
        values = {facts["monthly_sales_cartons"] for facts in kept}
        assert 200.0 in values and 199.5 in values and left_out > 0
        assert not any(0 < abs(value) < 1e-4 or value == 200.00000000000003 for value in values)
    finally:
        compiled.close()
