"""Rules engine benchmark: decisions per second on one core for the shipped grading rule
set (42 rules, a ladder table among them) and the entitlement rule set, through

  * durable-rules through the stock Host (the unoptimised path: every fired action a
    Closure, a Promise and a JSON write-back of the state),
  * durable-rules driven directly (the engine's C calls, no write-back),
  * the direct path behind the decision memo,
  * the served path services use: the generated decision function behind the public
    call (metrics, fired tallies, the default 1 % of decisions shadow-checked through
    durable-rules),
  * the generated decision function alone,
  * the plain-Python evaluator of the same compiled conditions (closures per condition),
  * a hand-compiled Python function of the same rules, the limit (rules_handwritten.py),
  * GoRules ZEN (zen-engine) on a decision graph generated from the same document
    (rules_zen.py): its cached decision object, and ``engine.evaluate`` with the graph
    precompiled (``ZenDecisionContent``) behind its loader,

after checking that every path gives identical decisions (fired rules, outputs, reasons)
on every benchmark input and on boundary inputs; if one differs, the benchmark names the
first input and prints no figures. ZEN's timed call is ``evaluate`` alone; turning its
response into our form is left out of its time. The paths are measured interleaved, round
after round, so a machine whose load changes affects them alike; medians of the rounds,
and ratios against the direct path, ZEN's fastest path and the hand-compiled limit. Then
resident memory over a long run of served decisions. Prints; asserts nothing.

    make bench-rules            # or: python -m benchmarks.rules_bench --decisions 1000000
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import time
from collections.abc import Callable, Iterable

import zen

from benchmarks import rules_handwritten, rules_zen, summary
from services.common.rules import differential
from services.common.rules.engine import CompiledRuleSet, Decision
from services.common.rules.validation import validate
from services.composition import PACK

HOST = "durable-rules, stock Host path"
DIRECT = "durable-rules, direct path"
SERVED = "served: generated function, public call"
HAND = "hand-compiled Python (the limit)"
ZEN_DECISION = "GoRules ZEN, cached decision object"
ZEN_ENGINE = "GoRules ZEN, precompiled engine.evaluate"
ZEN_PATHS = (ZEN_DECISION, ZEN_ENGINE)
HOST_SHARE = 4  # the stock Host path is slow: it decides a quarter of the cases
DEFAULT_SHADOW_SHARE = 0.01  # as the setting rules_shadow_share defaults to
ZEN_DIGITS = 15  # ZEN reads numbers as decimals of about this many significant digits
FORMATS = ["grocery", "convenience_store", "supermarket", "mall", "tobacco_liquor", "entertainment", "other"]


def grading_facts(rng: random.Random) -> dict:
    facts = {
        "monthly_sales_cartons": round(rng.lognormvariate(3.5, 1.1), 1),
        "business_format": rng.choice(FORMATS),
        "market_type": rng.choice(["urban", "rural"]),
        "shop_area_m2": round(rng.uniform(8, 400), 1),
        "compliance_violations_12m": rng.choice([0, 0, 0, 1, 2, 5]),
        "credit_rating": rng.choice("AABBCD"),
        "cooperation_score": rng.randint(30, 100),
    }
    return {
        k: v
        for k, v in facts.items()
        if k in ("monthly_sales_cartons", "business_format", "market_type") or rng.random() < 0.85
    }


def entitlement_facts(rng: random.Random) -> dict:
    return {
        "star_level": rng.randint(1, 5),
        "business_format": rng.choice(FORMATS),
        "market_type": rng.choice(["urban", "rural"]),
        "zone_type": rng.choice(["city_centre", "county_town", "township", "village"]),
    }


class Path:
    """One way of deciding: ``decide`` is what is timed, ``as_decision`` turns its result
    into (fired, outputs, reasons) for the equality check."""

    def __init__(self, decide: Callable, as_decision: Callable = lambda result: result):
        self.decide = decide
        self.as_decision = as_decision


def _ours(result) -> tuple:
    return (result.fired, result.outputs, result.reasons) if isinstance(result, Decision) else result


def _rates(paths: dict[str, Path], cases: list[dict], rounds: int, host_share: int) -> dict[str, float]:
    """Medians of decisions/s per path, the paths interleaved within every round."""
    measured: dict[str, list[float]] = {label: [] for label in paths}
    for _ in range(rounds):
        for label, path in paths.items():
            batch = cases[: max(1, len(cases) // host_share)] if label == HOST else cases
            function = path.decide
            started = time.perf_counter()
            for facts in batch:
                function(facts)
            measured[label].append(len(batch) / (time.perf_counter() - started))
    return {label: statistics.median(rates) for label, rates in measured.items()}


def first_difference(paths: dict[str, Path], cases: Iterable[dict], reference: str) -> str | None:
    """The first input on which a path decides differently from ``reference``, said in
    words (the path, the facts, both decisions); None when all agree on every input."""
    check = paths[reference]
    for facts in cases:
        expected = check.as_decision(check.decide(facts))
        for label, path in paths.items():
            got = path.as_decision(path.decide(facts))
            if got != expected:
                return (
                    f"{label} decides {json.dumps(facts, ensure_ascii=False)} differently from "
                    f"{reference}:\n  {label}: {got}\n  {reference}: {expected}"
                )
    return None


def boundary_cases(compiled: CompiledRuleSet) -> tuple[list[dict], int]:
    """The differential check's embedded-test and boundary facts (every constant the
    conditions compare with and its neighbours, every allowed value, missing inputs), and
    how many were left out: numbers finer than ZEN reads (the float next to 200 is 200 to
    ZEN), and numbers under 1e-4, which the stock Host writes in a JSON form durable-rules
    refuses (the direct path writes them so that it reads them)."""
    cases = list(differential.cases(compiled, random_cases=0, seed=0))
    kept = [facts for facts in cases if all(_readable_by_all(value) for value in facts.values())]
    return kept, len(cases) - len(kept)


def _readable_by_all(value) -> bool:
    if not isinstance(value, float) or value == 0:
        return True
    return abs(value) >= 1e-4 and float(f"{value:.{ZEN_DIGITS}g}") == value


def zen_paths(compiled: CompiledRuleSet) -> dict[str, Path]:
    """ZEN's two ways to decide with a graph it has compiled once."""
    graph = json.dumps(rules_zen.decision_graph(compiled), ensure_ascii=False)
    decision = zen.ZenEngine().create_decision(graph)
    content = zen.ZenDecisionContent(graph)
    engine = zen.ZenEngine({"loader": lambda key: content})
    name = compiled.name
    return {
        ZEN_DECISION: Path(decision.evaluate, rules_zen.as_decision),
        ZEN_ENGINE: Path(lambda facts: engine.evaluate(name, facts), rules_zen.as_decision),
    }


def all_paths(compiled: CompiledRuleSet) -> dict[str, Path]:
    return {
        HOST: Path(lambda f: compiled.apply(compiled.match_with_host(f))),
        DIRECT: Path(lambda f: compiled.decide(f, memoise=False, prepared=True), _ours),
        "durable-rules, direct path + memo": Path(lambda f: compiled.decide(f, prepared=True), _ours),
        SERVED: Path(lambda f: compiled.serve(f, prepared=True), _ours),
        "generated function alone": Path(compiled.decide_generated),
        "plain-Python evaluator": Path(lambda f: compiled.apply(compiled.match_with_python(f))),
        HAND: Path(rules_handwritten.HANDWRITTEN[compiled.name]),
        **zen_paths(compiled),
    }


SERVED_TARGET = 10_000  # served decisions/s on one core
ZEN_TARGET = 4.0  # served against ZEN's fastest path
LIMIT_TARGET = 0.25  # served against the hand-compiled function
MEMORY_TARGET_MIB = 5.0  # growth over the long run: flat, allowing for allocator noise


def _resident_mib() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def compile_shipped(name: str) -> CompiledRuleSet:
    kinds = PACK.rule_set_catalogue().all_kinds()
    return validate(kinds[name].default_path.read_text(encoding="utf-8"), kinds).compiled


def bench_rule_set(name: str, make_facts, count: int, rounds: int) -> dict[str, float]:
    compiled = compile_shipped(name)
    compiled.serve_with("generated", DEFAULT_SHADOW_SHARE)
    rng = random.Random(42)
    cases = [compiled.prepare_facts(make_facts(rng)) for _ in range(count)]
    boundary, left_out = boundary_cases(compiled)
    fired = statistics.mean(len(compiled.decide_generated(f)[0]) for f in cases[:1000])
    distinct = len({compiled.decision_key(f) for f in cases})
    paths = all_paths(compiled)
    difference = first_difference(paths, cases + boundary, DIRECT)
    if difference:
        compiled.close()
        raise SystemExit(f"{name}: the paths do not decide alike, so no figures:\n{difference}")
    rates = _rates(paths, cases, rounds, HOST_SHARE)
    zen_fastest = max(rates[label] for label in ZEN_PATHS)
    print(
        f"\n{name}: {len(compiled.document.rules)} rules, {fired:.1f} applied per decision on average, "
        f"{count:,} varied inputs ({distinct:,} distinct to the conditions); identical decisions through "
        f"every path on all of them and on {len(boundary):,} boundary inputs ({left_out} with numbers "
        f"finer than 1e-4 or 15 digits left out); median of {rounds} interleaved rounds"
    )
    print(f"  {'path':<42}{'decisions/s':>13}{'vs direct':>11}{'vs ZEN best':>13}{'vs limit':>10}")
    for label, rate in rates.items():
        print(
            f"  {label:<42}{rate:>13,.0f}{rate / rates[DIRECT]:>10.2f}x"
            f"{rate / zen_fastest:>12.2f}x{rate / rates[HAND]:>9.2f}x"
        )
    compiled.close()
    return rates


def bench_memory(decisions: int) -> float:
    """Resident memory growth (MiB) from the first checkpoint to the end."""
    compiled = compile_shipped("customer-grading")
    compiled.serve_with("generated", DEFAULT_SHADOW_SHARE)
    rng = random.Random(7)
    print(
        f"\nresident memory over {decisions:,} served grading decisions (public serve(), facts checked each time)"
    )
    checkpoints = {int(decisions * share) for share in (0.1, 0.25, 0.5, 0.75, 1.0)}
    started = time.perf_counter()
    baseline = None
    for index in range(1, decisions + 1):
        compiled.serve(grading_facts(rng))
        if index in checkpoints:
            now = _resident_mib()
            baseline = baseline or now
            print(
                f"  after {index:>10,}: {now:7.1f} MiB ({now - baseline:+.1f} MiB since the first checkpoint)"
            )
    print(
        f"  {decisions / (time.perf_counter() - started):,.0f} decisions/s including fact generation and checks"
    )
    unmemoised = min(decisions // 5, 200_000)
    before = _resident_mib()
    for _ in range(unmemoised):
        compiled.decide(grading_facts(rng), memoise=False)
    print(f"  {unmemoised:,} more through the engine without the memo: {_resident_mib() - before:+.1f} MiB")
    compiled.close()
    return _resident_mib() - baseline


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cases", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--decisions", type=int, default=1_000_000, help="for the memory run")
    args = parser.parse_args()
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core, as the target says
    print(
        "rules engine benchmark (one core; targets: >= 10,000 served decisions/s, served >= 4x "
        "GoRules ZEN's fastest path and >= 0.25x the hand-compiled limit, memory flat)"
    )
    for name, facts in (("customer-grading", grading_facts), ("service-entitlements", entitlement_facts)):
        rates = bench_rule_set(name, facts, args.cases, args.rounds)
        served = rates[SERVED]
        zen_fastest = max(rates[label] for label in ZEN_PATHS)
        summary.record(
            "rules",
            f"{name}: served decisions/s, one core",
            served,
            "/s",
            ">= 10,000/s",
            served >= SERVED_TARGET,
        )
        summary.record(
            "rules",
            f"{name}: served vs GoRules ZEN fastest path ({zen_fastest:,.0f}/s)",
            served / zen_fastest,
            "x",
            f">= {ZEN_TARGET:g}x",
            served / zen_fastest >= ZEN_TARGET,
        )
        summary.record(
            "rules",
            f"{name}: served vs hand-compiled limit ({rates[HAND]:,.0f}/s)",
            served / rates[HAND],
            "x",
            f">= {LIMIT_TARGET:g}x",
            served / rates[HAND] >= LIMIT_TARGET,
        )
    growth = bench_memory(args.decisions)
    summary.record(
        "rules",
        f"memory growth over {args.decisions:,} served decisions",
        growth,
        "MiB",
        f"flat (< {MEMORY_TARGET_MIB:g} MiB)",
        growth < MEMORY_TARGET_MIB,
    )


if __name__ == "__main__":
    main()
