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

after checking that every path gives identical decisions (fired rules, outputs, reasons)
on the benchmark inputs. The paths are measured interleaved, round after round, so a
machine whose load changes affects them alike; medians of the rounds, and ratios against
the direct path. Then resident memory over a long run of served decisions. Prints;
asserts nothing.

    make bench-rules            # or: python -m benchmarks.rules_bench --decisions 1000000
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import time

from benchmarks import summary
from services.common.rules.engine import Decision
from services.common.rules.validation import validate
from services.composition import PACK

HOST = "durable-rules, stock Host path"
DIRECT = "durable-rules, direct path"
SERVED = "served: generated function, public call"
HOST_SHARE = 4  # the stock Host path is slow: it decides a quarter of the cases
DEFAULT_SHADOW_SHARE = 0.01  # as the setting rules_shadow_share defaults to
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


def _rates(paths: dict, cases: list[dict], rounds: int, host_share: int) -> dict[str, float]:
    """Medians of decisions/s per path, the paths interleaved within every round."""
    measured: dict[str, list[float]] = {label: [] for label in paths}
    for _ in range(rounds):
        for label, function in paths.items():
            batch = cases[: max(1, len(cases) // host_share)] if label == HOST else cases
            started = time.perf_counter()
            for facts in batch:
                function(facts)
            measured[label].append(len(batch) / (time.perf_counter() - started))
    return {label: statistics.median(rates) for label, rates in measured.items()}


def _same_decisions(paths: dict, cases: list[dict]) -> None:
    """Every path decides every case like the direct path, or the benchmark stops."""
    reference = paths[DIRECT]
    for facts in cases:
        expected = _decision(reference(facts))
        for label, function in paths.items():
            got = _decision(function(facts))
            if got != expected:
                raise SystemExit(f"{label} decides {facts} differently: {got} != {expected}")


def _decision(result) -> tuple:
    return (result.fired, result.outputs, result.reasons) if isinstance(result, Decision) else result


def _resident_mib() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


SERVED_TARGET = 10_000  # served decisions/s on one core
MEMORY_TARGET_MIB = 5.0  # growth over the long run: flat, allowing for allocator noise


def bench_rule_set(name: str, make_facts, count: int, rounds: int) -> dict[str, float]:
    compiled = validate(
        PACK.rule_set_catalogue().all_kinds()[name].default_path.read_text(encoding="utf-8"),
        PACK.rule_set_catalogue().all_kinds(),
    ).compiled
    compiled.serve_with("generated", DEFAULT_SHADOW_SHARE)
    rng = random.Random(42)
    cases = [compiled.prepare_facts(make_facts(rng)) for _ in range(count)]
    fired = statistics.mean(len(compiled.decide(f, memoise=False, prepared=True).fired) for f in cases[:1000])
    distinct = len({compiled.decision_key(f) for f in cases})
    paths = {
        HOST: lambda f: compiled.apply(compiled.match_with_host(f)),
        DIRECT: lambda f: compiled.decide(f, memoise=False, prepared=True),
        "durable-rules, direct path + memo": lambda f: compiled.decide(f, prepared=True),
        SERVED: lambda f: compiled.serve(f, prepared=True),
        "generated function alone": compiled.decide_generated,
        "plain-Python evaluator": lambda f: compiled.apply(compiled.match_with_python(f)),
    }
    _same_decisions(paths, cases[: max(1, count // HOST_SHARE)])
    rates = _rates(paths, cases, rounds, HOST_SHARE)
    print(
        f"\n{name}: {len(compiled.document.rules)} rules, {fired:.1f} applied per decision on average, "
        f"{count:,} varied inputs ({distinct:,} distinct to the conditions), identical decisions on "
        f"{max(1, count // HOST_SHARE):,} of them through every path; median of {rounds} interleaved rounds"
    )
    print(f"  {'path':<40}{'decisions/s':>14}{'vs direct':>11}")
    for label, rate in rates.items():
        print(f"  {label:<40}{rate:>14,.0f}{rate / rates[DIRECT]:>10.2f}x")
    compiled.close()
    return rates


def bench_memory(decisions: int) -> float:
    """Resident memory growth (MiB) from the first checkpoint to the end."""
    compiled = validate(
        PACK.rule_set_catalogue().all_kinds()["customer-grading"].default_path.read_text(encoding="utf-8"),
        PACK.rule_set_catalogue().all_kinds(),
    ).compiled
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
    print("rules engine benchmark (one core; target: >= 10,000 served decisions/s, memory flat)")
    for name, facts in (("customer-grading", grading_facts), ("service-entitlements", entitlement_facts)):
        served = bench_rule_set(name, facts, args.cases, args.rounds)[SERVED]
        summary.record(
            "rules",
            f"{name}: served decisions/s, one core",
            served,
            "/s",
            ">= 10,000/s",
            served >= SERVED_TARGET,
        )
        # Targets against ZEN (zen-engine) and a hand-compiled function; neither is part of
        # this benchmark yet, so the table says they were not measured.
        summary.record("rules", f"{name}: served vs GoRules ZEN fastest path", None, "x", ">= 4x", None)
        summary.record("rules", f"{name}: served vs hand-compiled limit", None, "x", ">= 0.25x", None)
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
