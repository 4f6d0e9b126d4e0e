"""One table of every benchmark figure against its target, so a reader of `make bench`
sees at a glance which targets hold.

Each benchmark calls ``record`` for the figures that have a target; when the environment
names a file in ``BENCH_SUMMARY`` (`make bench` does), the figure is appended there as a
JSON line, otherwise nothing happens. ``python -m benchmarks.summary FILE`` prints the
table of the figures in FILE, in the order they were recorded.
"""

from __future__ import annotations

import json
import os
import sys

ENVIRONMENT = "BENCH_SUMMARY"


def record(bench: str, figure: str, value: float | None, unit: str, target: str, met: bool | None) -> None:
    """One figure: ``value`` in ``unit``, the ``target`` as a reader reads it, and whether
    it is met (None: a figure printed for comparison, without a target). A value of None
    is a target this run could not measure; the table says so."""
    path = os.environ.get(ENVIRONMENT)
    if not path:
        return
    entry = {"bench": bench, "figure": figure, "value": value, "unit": unit, "target": target, "met": met}
    with open(path, "a", encoding="utf-8") as out:
        out.write(json.dumps(entry) + "\n")


def _value(entry: dict) -> str:
    value, unit = entry["value"], entry["unit"]
    if value is None:
        return "not measured"
    if unit == "x":
        return f"{value:.2f}x"
    if unit == "%":
        return f"{value:.0f} %"
    text = f"{value:,.0f}" if abs(value) >= 100 or float(value).is_integer() else f"{value:,.2f}"
    return f"{text}{unit}" if unit.startswith("/") else f"{text} {unit}".strip()


def table(entries: list[dict]) -> str:
    verdicts = {True: "met", False: "NOT MET", None: "-"}
    rows = [("bench", "figure", "measured", "target", "")]
    rows += [
        (
            e["bench"],
            e["figure"],
            _value(e),
            e["target"] or "-",
            "?" if e["value"] is None else verdicts[e["met"]],
        )
        for e in entries
    ]
    widths = [max(len(row[column]) for row in rows) for column in range(5)]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)) for row in rows]
    lines.insert(1, "  ".join("-" * width for width in widths))
    judged = [e for e in entries if e["met"] is not None or e["value"] is None]
    met = sum(1 for e in judged if e["met"] and e["value"] is not None)
    unmeasured = sum(1 for e in judged if e["value"] is None)
    lines.append(
        f"\n{met} of {len(judged)} targets met" + (f", {unmeasured} not measured" if unmeasured else "")
    )
    return "\n".join(line.rstrip() for line in lines)


def main() -> None:
    path = sys.argv[1] if len(sys.argv) > 1 else os.environ.get(ENVIRONMENT, "")
    if not path or not os.path.exists(path):
        print("no benchmark figures recorded")
        return
    with open(path, encoding="utf-8") as lines:
        entries = [json.loads(line) for line in lines if line.strip()]
    print("\nbenchmark summary (this machine, this run)\n")
    print(table(entries))


if __name__ == "__main__":
    main()
