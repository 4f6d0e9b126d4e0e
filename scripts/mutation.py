"""Mutation testing of the core (`make mutation`): runs mutmut on the modules listed under
[tool.mutmut] in pyproject.toml against the unit tests of the core, then prints the
score of each module and every surviving mutant that docs/testing.md does not list as
equivalent. Exits 1 when a module that was run is below its target.

    python scripts/mutation.py                      # every core module, from scratch
    python scripts/mutation.py services/common/paging.py services/complaints/calendar.py
    python scripts/mutation.py --report             # the table of the last run only

Score of a module = killed / (mutants - equivalent ones listed in docs/testing.md);
a mutant that makes the tests time out counts as killed, one no test reaches does not.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tomllib

ROOT = pathlib.Path(__file__).resolve().parent.parent
TARGET = 85.0
KILLED = {1, 3, 24, -24, 36, 152, 255}  # mutmut's exit codes for killed and timed out
SKIPPED = {34}
EQUIVALENT_ROW = re.compile(r"^\|\s*`([\w.]+__mutmut_\d+)`\s*\|")


def core_modules() -> list[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mutmut"]
    patterns = config["only_mutate"]
    files = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "services").rglob("*.py"))
    return [f for f in files if any(fnmatch.fnmatch(f, pattern) for pattern in patterns)]


def mutant_prefix(module: str) -> str:
    return module.removesuffix(".py").replace("/", ".") + ".*"


def equivalents() -> set[str]:
    """Mutant names in the table rows of docs/testing.md ("| `name` | why |")."""
    text = (ROOT / "docs" / "testing.md").read_text(encoding="utf-8")
    return {m.group(1) for line in text.splitlines() if (m := EQUIVALENT_ROW.match(line))}


def results(module: str) -> dict[str, int | None] | None:
    meta = ROOT / "mutants" / (module + ".meta")
    if not meta.exists():
        return None
    return json.loads(meta.read_text())["exit_code_by_key"]


def report(modules: list[str]) -> bool:
    listed = equivalents()
    below, unexplained = [], []
    print(f"{'module':<46} {'mutants':>7} {'killed':>7} {'equiv':>6} {'surv':>5} {'score':>7}")
    for module in modules:
        codes = results(module) or {}
        checked = {name: code for name, code in codes.items() if code is not None and code not in SKIPPED}
        if not checked:
            print(f"{module:<46} {'(not run)':>7}")
            continue
        killed = sum(1 for code in checked.values() if code in KILLED)
        equivalent = sum(1 for name, code in checked.items() if code not in KILLED and name in listed)
        survivors = sorted(n for n, c in checked.items() if c not in KILLED and n not in listed)
        unexplained.extend(survivors)
        counted = len(checked) - equivalent
        score = 100.0 * killed / counted if counted else 100.0
        mark = "" if score >= TARGET else f"  < {TARGET:.0f} %"
        if score < TARGET:
            below.append(module)
        print(
            f"{module:<46} {len(checked):>7} {killed:>7} {equivalent:>6} {len(survivors):>5} {score:>6.1f}%{mark}"
        )
    if unexplained:
        print(f"\n{len(unexplained)} surviving mutants not listed as equivalent (mutmut show NAME):")
        for name in unexplained:
            print(f"  {name}")
    print(f"\ntarget: {TARGET:.0f} % per module; " + ("below: " + ", ".join(below) if below else "all met"))
    return not below


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("modules", nargs="*", help="core modules to run (default: all of them)")
    parser.add_argument("--report", action="store_true", help="only print the results of the last run")
    parser.add_argument("--max-children", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    modules = core_modules()
    unknown = [m for m in args.modules if m not in modules]
    if unknown:
        parser.error(f"not a core module (pyproject.toml [tool.mutmut] only_mutate): {', '.join(unknown)}")
    chosen = args.modules or modules
    if not args.report:
        # mutmut copies the tree to mutants/ once and never refreshes a copied file.
        shutil.rmtree(ROOT / "mutants", ignore_errors=True)
        mutmut = pathlib.Path(sys.executable).with_name("mutmut")
        command = [str(mutmut), "run", "--max-children", str(args.max_children)]
        command += [mutant_prefix(m) for m in args.modules]
        finished = subprocess.run(command, cwd=ROOT, stdout=subprocess.DEVNULL)
        if finished.returncode != 0:
            print(f"mutmut run failed ({finished.returncode}); run it by hand to see why", file=sys.stderr)
            return finished.returncode
    return 0 if report(chosen) else 1


if __name__ == "__main__":
    sys.exit(main())
