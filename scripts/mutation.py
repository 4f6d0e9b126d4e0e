"""Mutation testing of the core (`make mutation`, `make mutation-changed`): runs mutmut on
the modules listed under [tool.mutmut] in pyproject.toml against the unit tests of the
core, then prints the score of each module and every surviving mutant that
docs/testing.md does not list as equivalent. Exits 1 when a module that was run is below
its target.

    python scripts/mutation.py                      # every core module
    python scripts/mutation.py services/common/paging.py services/complaints/calendar.py
    python scripts/mutation.py --changed            # the core modules changed since the baseline
    python scripts/mutation.py --report             # the table of the last finished run only

Each run works in its own directory, mutants/runs/<UTC time>-<random>/, holding a copy of
services/, tests/, benchmarks/ and pyproject.toml (mutmut copies that again to its
mutants/ and never refreshes a file it copied), so two runs never share files. The ten
newest finished runs are kept; `--report` reads the newest.

Score of a module = (killed + crashed) / (checked - equivalent ones listed in
docs/testing.md). A mutant that makes the tests time out counts as killed. One whose test
process dies by a signal (a segmentation fault in the rules engine's C core, say) is
checked once more by name: if it dies again it is counted as "crashed", a failed test run
like any other but listed by name; if not, its second result stands. A mutant no test
reaches counts as surviving.
"""

from __future__ import annotations

import argparse
import ast
import fcntl
import fnmatch
import json
import os
import pathlib
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import tomllib
from dataclasses import dataclass, field

ROOT = pathlib.Path(__file__).resolve().parent.parent
RUNS = ROOT / "mutants" / "runs"
KEEP_RUNS = 10
TARGET = 85.0
KILLED = {1, 3}  # a test failed (3: pytest's internal error, as mutmut counts it)
TIMED_OUT = {24, -24, 36, 152, 255}  # SIGXCPU from mutmut's CPU and wall-clock limits
NOT_CHECKED = {None, 2, 34}  # not run, interrupted, skipped
EQUIVALENT_ROW = re.compile(r"^\|\s*`([\w.ǁ]+__mutmut_\d+)`\s*\|")
RESULT_ROW = re.compile(r"^\|\s*`(services/[\w/]+\.py)`\s*\|\s*(\d+)\s*\|")
COPIED = ("services", "tests", "benchmarks", "pyproject.toml")

# `--changed`: the commit the figures in docs/testing.md were measured at, the mutant
# budget under which touched modules are run whole, and the wall-clock cap of the run.
BASELINE_FILE = ROOT / "scripts" / "mutation-baseline"
MUTANT_BUDGET = 1200
UNKNOWN_MODULE_MUTANTS = 600  # a module without a recorded figure is assumed this big
TIME_CAP_SECONDS = 20 * 60
# A change to a unit-test folder can lower the score of the modules it tests.
TESTS_OF = {
    "tests/unit/common/": ("services/common/errors.py", "services/common/paging.py"),
    "tests/unit/rules/": ("services/common/rules/",),
    "tests/unit/complaints/": ("services/complaints/",),
    "tests/unit/classification/": ("services/classification/",),
    "tests/unit/evaluation/": ("services/evaluation/",),
    "tests/unit/supervision/": (
        "services/evaluation/domain/supervision",
        "services/evaluation/domain/card_follow.py",
    ),
}


def core_modules(root: pathlib.Path = ROOT) -> list[str]:
    config = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["mutmut"]
    patterns = config["only_mutate"]
    files = sorted(p.relative_to(root).as_posix() for p in (root / "services").rglob("*.py"))
    return [f for f in files if any(fnmatch.fnmatch(f, pattern) for pattern in patterns)]


def mutant_prefix(module: str) -> str:
    return module.removesuffix(".py").replace("/", ".")


def equivalents() -> set[str]:
    """Mutant names in the table rows of docs/testing.md ("| `name` | why |")."""
    text = (ROOT / "docs" / "testing.md").read_text(encoding="utf-8")
    return {m.group(1) for line in text.splitlines() if (m := EQUIVALENT_ROW.match(line))}


def recorded_counts(text: str) -> dict[str, int]:
    """The mutants of each module in the results table of docs/testing.md."""
    return {m.group(1): int(m.group(2)) for line in text.splitlines() if (m := RESULT_ROW.match(line))}


# -- classifying mutmut's exit codes ----------------------------------------------
def outcome(code: int | None) -> str:
    if code in NOT_CHECKED:
        return "not checked"
    if code in KILLED or code in TIMED_OUT:
        return "killed"
    if code < 0:  # the test process died by a signal: -11 SIGSEGV, -6 SIGABRT, -9 SIGKILL
        return "crashed"
    return "survived"  # 0, and 5 or 33: no test reaches the mutant


@dataclass
class Score:
    module: str
    mutants: int
    checked: int = 0
    killed: int = 0
    crashed: list[str] = field(default_factory=list)
    equivalent: int = 0
    survivors: list[str] = field(default_factory=list)

    @property
    def score(self) -> float:
        counted = self.checked - self.equivalent
        return 100.0 * (self.killed + len(self.crashed)) / counted if counted else 100.0


def score(module: str, codes: dict[str, int | None], listed: set[str]) -> Score:
    result = Score(module, len(codes))
    for name, code in sorted(codes.items()):
        kind = outcome(code)
        if kind == "not checked":
            continue
        result.checked += 1
        if kind == "killed":
            result.killed += 1
        elif kind == "crashed":
            result.crashed.append(name)
        elif name in listed:
            result.equivalent += 1
        else:
            result.survivors.append(name)
    return result


# -- runs, each in its own directory -------------------------------------------------
def results(run: pathlib.Path, module: str) -> dict[str, int | None]:
    meta = run / "mutants" / (module + ".meta")
    return json.loads(meta.read_text())["exit_code_by_key"] if meta.exists() else {}


def new_run() -> tuple[pathlib.Path, int]:
    """A fresh run directory with a copy of the tree, locked while this process lives."""
    RUNS.mkdir(parents=True, exist_ok=True)
    run = pathlib.Path(tempfile.mkdtemp(prefix=time.strftime("%Y%m%dT%H%M%SZ-", time.gmtime()), dir=RUNS))
    lock = os.open(run / ".lock", os.O_CREAT | os.O_RDWR)
    fcntl.flock(lock, fcntl.LOCK_EX)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in COPIED:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, run / name, ignore=ignore)
        else:
            shutil.copy2(source, run / name)
    return run, lock


def finished_runs() -> list[pathlib.Path]:
    """Finished runs, the newest last."""
    return [p.parent for p in sorted(RUNS.glob("*/finished.json"), key=lambda p: p.stat().st_mtime_ns)]


def prune_runs() -> None:
    """Removes finished runs but the newest few, and runs whose process has gone."""
    if not RUNS.is_dir():
        return
    keep = set(finished_runs()[-KEEP_RUNS:])
    for run in RUNS.iterdir():
        if run in keep or not run.is_dir():
            continue
        try:
            lock = os.open(run / ".lock", os.O_RDWR)
        except FileNotFoundError:
            continue  # still being created
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            continue  # a run in progress
        finally:
            os.close(lock)
        shutil.rmtree(run, ignore_errors=True)


def run_mutmut(run: pathlib.Path, patterns: list[str], max_children: int, deadline: float | None) -> int:
    """mutmut on the patterns, its output in run/mutmut.log; interrupted at the deadline
    (mutmut then keeps the results it has)."""
    mutmut = pathlib.Path(sys.executable).with_name("mutmut")
    command = [str(mutmut), "run", "--max-children", str(max_children), *patterns]
    with open(run / "mutmut.log", "a") as log:
        process = subprocess.Popen(
            command, cwd=run, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            return process.wait(timeout=None if deadline is None else max(1.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            print("time cap reached: stopping mutmut, counting the mutants it checked", file=sys.stderr)
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:  # it does not always stop: end it and its workers
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
            return 0


def crashed_names(run: pathlib.Path, modules: list[str]) -> list[str]:
    return sorted(
        name for m in modules for name, code in results(run, m).items() if outcome(code) == "crashed"
    )


def mutate(
    modules: list[str], patterns: list[str], max_children: int, time_cap: float | None
) -> pathlib.Path | None:
    run, lock = new_run()
    deadline = None if time_cap is None else time.monotonic() + time_cap
    print(f"mutation run in {run.relative_to(ROOT)} (mutmut's output: mutmut.log there)", flush=True)
    code = run_mutmut(run, patterns, max_children, deadline)
    if code != 0:
        print(f"mutmut run failed ({code}); see {run / 'mutmut.log'}", file=sys.stderr)
        os.close(lock)
        return None
    again = crashed_names(run, modules)
    if again and (deadline is None or time.monotonic() < deadline):
        print(f"checking {len(again)} crashed mutants once more by name", flush=True)
        run_mutmut(run, again, max_children, deadline)
    (run / "finished.json").write_text(json.dumps({"modules": modules, "patterns": patterns}))
    os.close(lock)
    prune_runs()
    return run


def report(run: pathlib.Path, modules: list[str]) -> bool:
    listed = equivalents()
    below, unexplained, crashed = [], [], []
    print(f"results of {run.relative_to(ROOT)}")
    print(
        f"{'module':<46} {'mutants':>7} {'checked':>7} {'killed':>7} {'crashed':>7} "
        f"{'equiv':>6} {'surv':>5} {'score':>7}"
    )
    for module in modules:
        codes = results(run, module)
        found = score(module, codes, listed)
        if not found.checked:
            print(f"{module:<46} {found.mutants:>7} {'(none checked)':>15}")
            continue
        unexplained.extend(found.survivors)
        crashed.extend(found.crashed)
        mark = "" if found.score >= TARGET else f"  < {TARGET:.0f} %"
        if found.score < TARGET:
            below.append(module)
        print(
            f"{module:<46} {found.mutants:>7} {found.checked:>7} {found.killed:>7} {len(found.crashed):>7} "
            f"{found.equivalent:>6} {len(found.survivors):>5} {found.score:>6.1f}%{mark}"
        )
    if crashed:
        print(f"\n{len(crashed)} mutants crashed the tests twice (counted as detected; mutmut show NAME):")
        print("".join(f"  {name}\n" for name in crashed), end="")
    if unexplained:
        print(f"\n{len(unexplained)} surviving mutants not listed as equivalent (mutmut show NAME):")
        print("".join(f"  {name}\n" for name in unexplained), end="")
    print(f"\ntarget: {TARGET:.0f} % per module; " + ("below: " + ", ".join(below) if below else "all met"))
    print(f"to see a mutant: cd {run} && {pathlib.Path(sys.executable).with_name('mutmut')} show NAME")
    return not below


# -- `--changed`: the modules a change touches -----------------------------------------
def git(root: pathlib.Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=root, check=True, capture_output=True, text=True).stdout


def baseline(root: pathlib.Path = ROOT) -> str:
    """The commit named by scripts/mutation-baseline (its first line that is not a comment)."""
    lines = (root / BASELINE_FILE.relative_to(ROOT)).read_text().splitlines()
    return next(line.split()[0] for line in lines if line.strip() and not line.startswith("#"))


def changed_files(root: pathlib.Path, base: str) -> set[str]:
    """Files that differ from the base commit in the work tree, plus new untracked ones."""
    diff = git(root, "diff", "--name-only", "--no-renames", base, "--")
    untracked = git(root, "ls-files", "--others", "--exclude-standard")
    return {line for line in (diff + untracked).splitlines() if line}


@dataclass
class Touched:
    changed: list[str]  # core modules whose file changed
    tested: list[str]  # the other core modules of an area whose unit-test folder changed


def touched_modules(changed: set[str], modules: list[str]) -> Touched:
    """Core modules changed, and those whose unit-test folder changed."""
    direct = sorted(m for m in modules if m in changed)
    tested = set()
    for folder, tests_of in TESTS_OF.items():
        if any(path.startswith(folder) for path in changed):
            tested.update(m for m in modules if m.startswith(tests_of) and m not in direct)
    return Touched(direct, sorted(tested))


def function_keys(source: str) -> dict[str, str]:
    """Each top-level function and method, by mutmut's name for it (`x_name`,
    `xǁClassǁname`), with a dump of its code that ignores positions and comments."""
    keys = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            keys[f"x_{node.name}"] = ast.dump(node)
        elif isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef):
                    keys[f"xǁ{node.name}ǁ{item.name}"] = ast.dump(item)
    return keys


def changed_functions(old: str | None, new: str) -> list[str]:
    """mutmut's names of the functions new or changed in `new` (old None: a new module)."""
    before = function_keys(old) if old is not None else {}
    return sorted(name for name, dump in function_keys(new).items() if before.get(name) != dump)


def source_at(root: pathlib.Path, base: str, module: str) -> str | None:
    try:
        return git(root, "show", f"{base}:{module}")
    except subprocess.CalledProcessError:
        return None  # not in the base commit


@dataclass
class Plan:
    whole: list[str]  # run whole
    by_function: list[str]  # only the mutants of the functions changed since the base
    skipped: list[str]  # touched through their tests only, and over the budget
    patterns: list[str]

    @property
    def modules(self) -> list[str]:
        return sorted(self.whole + self.by_function)


def plan(root: pathlib.Path, base: str, touched: Touched, counts: dict[str, int], budget: int) -> Plan:
    """The changed modules whole when their recorded mutants fit the budget, otherwise only
    the mutants of their functions changed since the base commit; then, in path order,
    each module touched through its tests that still fits whole."""
    size = {m: counts.get(m, UNKNOWN_MODULE_MUTANTS) for m in touched.changed + touched.tested}
    room = budget - sum(size[m] for m in touched.changed)
    whole, by_function = (list(touched.changed), []) if room >= 0 else ([], list(touched.changed))
    skipped = []
    for module in touched.tested:
        if size[module] <= room:
            whole.append(module)
            room -= size[module]
        else:
            skipped.append(module)
    patterns = [f"{mutant_prefix(m)}.*" for m in sorted(whole)]
    for module in by_function:
        new = (root / module).read_text(encoding="utf-8")
        for name in changed_functions(source_at(root, base, module), new):
            patterns.append(f"{mutant_prefix(module)}.{name}__mutmut_*")
    return Plan(sorted(whole), by_function, skipped, patterns)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("modules", nargs="*", help="core modules to run (default: all of them)")
    parser.add_argument("--report", action="store_true", help="only print the results of the last run")
    parser.add_argument("--changed", action="store_true", help="only the modules changed since the baseline")
    parser.add_argument("--base", help="with --changed: compare with this commit instead of the baseline")
    parser.add_argument("--budget", type=int, default=MUTANT_BUDGET, help="with --changed: mutants run whole")
    parser.add_argument("--time-cap", type=float, help="stop mutmut after this many seconds")
    parser.add_argument("--dry-run", action="store_true", help="with --changed: print the selection only")
    parser.add_argument("--max-children", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    modules = core_modules()
    unknown = [m for m in args.modules if m not in modules]
    if unknown:
        parser.error(f"not a core module (pyproject.toml [tool.mutmut] only_mutate): {', '.join(unknown)}")
    if args.report:
        runs = finished_runs()
        if not runs:
            print("no finished mutation run in mutants/runs/", file=sys.stderr)
            return 1
        ran = json.loads((runs[-1] / "finished.json").read_text())["modules"]
        return 0 if report(runs[-1], args.modules or ran) else 1
    time_cap = args.time_cap
    if args.changed:
        base = args.base or baseline()
        try:
            base = git(ROOT, "rev-parse", "--verify", f"{base}^{{commit}}").strip()
        except subprocess.CalledProcessError:
            print(f"the baseline commit {base} is not in this clone's history", file=sys.stderr)
            return 2
        touched = touched_modules(changed_files(ROOT, base), modules)
        if not touched.changed and not touched.tested:
            print(f"no core module or its unit tests changed since {base[:12]}: nothing to mutate")
            return 0
        counts = recorded_counts((ROOT / "docs" / "testing.md").read_text(encoding="utf-8"))
        chosen = plan(ROOT, base, touched, counts, args.budget)
        print(f"since {base[:12]}, budget {args.budget} mutants as recorded in docs/testing.md:")
        for label, group in (
            ("whole", chosen.whole),
            ("only the functions changed", chosen.by_function),
            ("skipped, touched through their tests only and over the budget", chosen.skipped),
        ):
            if group:
                print(f"  {label}: {', '.join(group)}")
        if not chosen.patterns:
            print("no function changed: nothing to mutate")
            return 0
        if args.dry_run:
            print("".join(f"  {pattern}\n" for pattern in chosen.patterns), end="")
            return 0
        targets, patterns = chosen.modules, chosen.patterns
        time_cap = time_cap if time_cap is not None else TIME_CAP_SECONDS
    else:
        targets = args.modules or modules
        patterns = [f"{mutant_prefix(m)}.*" for m in args.modules]
    run = mutate(targets, patterns, args.max_children, time_cap)
    if run is None:
        return 2
    return 0 if report(run, targets) else 1


if __name__ == "__main__":
    sys.exit(main())
