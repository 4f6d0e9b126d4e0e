"""Per-call cost of classification against the bare hop, by throughput and by CPU: the
pack as `make bench-gateway` starts it, the bare hop (the gateway's health check),
classification's own health check and `GetCustomer`, `ClassifyCustomer` and
`GetServiceMenu` straight to classification and `ClassifyCustomer` through the gateway,
interleaved round after round. Prints per scenario the median throughput, p50, p99, the share of the bare hop (taken within each round,
then the median) and the CPU time the serving process spent per call (user and system,
from /proc: steadier than throughput on a shared machine), and that of the gateway and of
classification each (a classify through the gateway costs both) and of the load
generator while it calls. Asserts nothing.

    python -m benchmarks.per_call_bench --seconds 3 --rounds 3
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile

from benchmarks import gateway_bench as gateway

SCENARIOS = (
    gateway.Scenario("bare hop (gateway health)", "gateway", gateway.HEALTH),
    gateway.Scenario("classification health", "classification", gateway.HEALTH),
    gateway.Scenario("GetCustomer direct", "classification", gateway.GET),
    gateway.Scenario("ClassifyCustomer direct", "classification", gateway.CLASSIFY),
    gateway.Scenario("GetServiceMenu direct", "classification", gateway.MENU),
    gateway.Scenario("ClassifyCustomer via gateway", "gateway", gateway.CLASSIFY),
)


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process so far (Linux)."""
    fields = open(f"/proc/{pid}/stat", encoding="ascii").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measured(targets: dict[str, str], scenario: gateway.Scenario, args, pids: dict[str, int]) -> dict:
    """The scenario's run, with the CPU time per call (µs) each process of ``pids`` spent
    meanwhile, under its name."""
    before = {name: cpu_seconds(pid) for name, pid in pids.items()}
    run = gateway.run_scenario(targets, scenario, args)
    for name, pid in pids.items():
        run[name] = (cpu_seconds(pid) - before[name]) / max(1, run["calls"]) * 1e6
    return run


def main() -> None:
    args = gateway.load_options(
        argparse.ArgumentParser(description=__doc__.split("\n\n")[0]), 3.0
    ).parse_args()
    runs: dict[str, list[dict]] = {scenario.name: [] for scenario in SCENARIOS}
    with tempfile.TemporaryDirectory() as data_dir:
        children, targets = gateway.start_pack(data_dir, {})
        pids = {"classification": children[0].pid, "gateway": children[3].pid}
        try:
            gateway.seed_customers(targets["gateway"])
            for _ in range(args.rounds):
                for scenario in SCENARIOS:
                    run = measured(targets, scenario, args, pids)
                    run["load generator"] = run["load_cpu_seconds"] / max(1, run["calls"]) * 1e6
                    run["cpu_us"] = run[scenario.service]
                    runs[scenario.name].append(run)
        finally:
            for child in children:
                child.terminate()
            for child in children:
                child.wait(30)
    bare = [run["per_second"] or float("nan") for run in runs[SCENARIOS[0].name]]
    print(f"\n{args.in_flight} calls in flight, median of {args.rounds} interleaved rounds")
    print(
        f"{'scenario':<30}{'calls/s':>9}{'p50 ms':>8}{'p99 ms':>8}{'of bare':>9}{'CPU/call':>10}"
        f"{'gateway':>10}{'classif.':>10}{'load gen':>10}"
    )
    for name, rounds in runs.items():
        share = statistics.median(run["per_second"] / b for run, b in zip(rounds, bare, strict=True))
        print(
            f"{name:<30}{statistics.median(r['per_second'] for r in rounds):>9.0f}"
            f"{statistics.median(r['p50'] for r in rounds):>8.1f}"
            f"{statistics.median(r['p99'] for r in rounds):>8.1f}{share:>8.2f}x"
            f"{statistics.median(r['cpu_us'] for r in rounds):>8.0f} us"
            + "".join(
                f"{statistics.median(r[p] for r in rounds):>7.0f} us"
                for p in ("gateway", "classification", "load generator")
            )
        )


if __name__ == "__main__":
    main()
