"""scripts/mutation.py: how mutmut's results are classified and which mutants
`make mutation-changed` runs for a change (the modules it touches, whole within the
budget, otherwise the functions it changed)."""

import importlib.util
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[3]
_spec = importlib.util.spec_from_file_location("mutation_script", ROOT / "scripts" / "mutation.py")
mutation = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = mutation  # dataclasses look their module up by name
_spec.loader.exec_module(mutation)

CORE = [
    "services/common/errors.py",
    "services/common/paging.py",
    "services/common/rules/engine.py",
    "services/complaints/domain.py",
    "services/evaluation/domain/supervision.py",
    "services/evaluation/domain/supervision_report.py",
    "services/evaluation/domain/visits.py",
]


# -- exit codes ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("code", "kind"),
    [
        (1, "killed"),
        (3, "killed"),
        (36, "killed"),  # timed out
        (-24, "killed"),  # SIGXCPU: timed out
        (152, "killed"),
        (-11, "crashed"),  # SIGSEGV
        (-6, "crashed"),  # SIGABRT
        (-9, "crashed"),  # SIGKILL
        (0, "survived"),
        (33, "survived"),  # no test reaches it
        (5, "survived"),
        (None, "not checked"),
        (34, "not checked"),  # skipped
        (2, "not checked"),  # interrupted
    ],
)
def test_each_exit_code_has_one_outcome(code, kind):
    assert mutation.outcome(code) == kind


def test_a_segfault_is_counted_apart_from_kills_and_survivors():
    codes = {"m.x_f__mutmut_1": 1, "m.x_f__mutmut_2": -11, "m.x_f__mutmut_3": 0, "m.x_f__mutmut_4": None}
    found = mutation.score("m.py", codes, listed=set())
    assert (found.mutants, found.checked, found.killed) == (4, 3, 1)
    assert found.crashed == ["m.x_f__mutmut_2"]
    assert found.survivors == ["m.x_f__mutmut_3"]
    assert found.score == pytest.approx(200 / 3)


def test_listed_equivalent_mutants_leave_the_count_but_a_listed_kill_stays_a_kill():
    codes = {"m.x_f__mutmut_1": 0, "m.x_f__mutmut_2": 0, "m.x_f__mutmut_3": 1, "m.x_f__mutmut_4": 1}
    found = mutation.score("m.py", codes, listed={"m.x_f__mutmut_1", "m.x_f__mutmut_3"})
    assert (found.killed, found.equivalent, found.survivors) == (2, 1, ["m.x_f__mutmut_2"])
    assert found.score == pytest.approx(200 / 3)


def test_a_module_with_nothing_counted_scores_full():
    assert mutation.score("m.py", {"m.x_f__mutmut_1": 0}, listed={"m.x_f__mutmut_1"}).score == 100.0


def test_equivalent_rows_are_read_with_class_methods():
    names = mutation.equivalents()
    assert "services.common.paging.x_decode_token__mutmut_10" in names
    assert any("ǁ" in name for name in names)


def test_recorded_counts_are_read_from_the_results_table():
    text = (
        "| module | mutants | checked |\n| --- | ---: | ---: |\n"
        "| `services/common/paging.py` | 79 | 79 |\n"
        "| `services/evaluation/domain/goals.py` | 76 | 70 |\n"
        "| `services.common.paging.x_f__mutmut_1` | why |\n"
    )
    assert mutation.recorded_counts(text) == {
        "services/common/paging.py": 79,
        "services/evaluation/domain/goals.py": 76,
    }


def test_every_core_module_has_a_recorded_figure():
    counts = mutation.recorded_counts((ROOT / "docs" / "testing.md").read_text(encoding="utf-8"))
    missing = set(mutation.core_modules()) - set(counts)
    assert not missing, (
        f"measure them (make mutation MUTATION_ARGS=...) and add their rows: {sorted(missing)}"
    )


# -- which modules a change touches ----------------------------------------------------
def test_a_changed_core_module_is_touched_and_other_files_are_not():
    changed = {"services/common/paging.py", "services/common/times.py", "docs/testing.md", "README.md"}
    assert mutation.touched_modules(changed, CORE) == mutation.Touched(["services/common/paging.py"], [])


def test_a_changed_unit_test_folder_touches_the_modules_it_tests():
    assert mutation.touched_modules({"tests/unit/common/test_paging_edges.py"}, CORE).tested == [
        "services/common/errors.py",
        "services/common/paging.py",
    ]
    assert mutation.touched_modules({"tests/unit/supervision/test_x.py"}, CORE).tested == [
        "services/evaluation/domain/supervision.py",
        "services/evaluation/domain/supervision_report.py",
    ]
    nothing = mutation.touched_modules({"tests/e2e/complaints/test_x.py", "tests/unit/gateway/t.py"}, CORE)
    assert nothing == mutation.Touched([], [])


def test_a_module_changed_itself_is_not_also_counted_as_touched_through_its_tests():
    changed = {"services/complaints/domain.py", "tests/unit/common/t.py", "services/common/errors.py"}
    assert mutation.touched_modules(changed, CORE) == mutation.Touched(
        ["services/common/errors.py", "services/complaints/domain.py"], ["services/common/paging.py"]
    )


# -- which functions changed ------------------------------------------------------------
OLD = """
LIMIT = 3


def kept(a):
    return a + 1


def edited(a):
    return a * 2


class Box:
    def kept(self):
        return 1

    def edited(self):
        return 2
"""

NEW = """
LIMIT = 4


def kept(a):
    # a comment and a moved line change nothing
    return a + 1


def edited(a):
    return a * 3


def added():
    return None


class Box:
    def kept(self):
        return 1

    def edited(self):
        return 20

    async def added(self):
        return 3
"""


def test_changed_functions_are_named_as_mutmut_names_their_mutants():
    assert mutation.changed_functions(OLD, NEW) == ["x_added", "x_edited", "xǁBoxǁadded", "xǁBoxǁedited"]


def test_every_function_of_a_new_module_is_changed():
    assert mutation.changed_functions(None, OLD) == ["x_edited", "x_kept", "xǁBoxǁedited", "xǁBoxǁkept"]


def test_an_unchanged_module_has_no_changed_function():
    assert mutation.changed_functions(OLD, OLD) == []


# -- against a real repository ----------------------------------------------------------
def _git(root, *args):
    command = ["git", "-c", "user.name=t", "-c", "user.email=t@example.org", "-c", "commit.gpgsign=false"]
    return subprocess.run([*command, *args], cwd=root, check=True, capture_output=True, text=True).stdout


@pytest.fixture
def repo(tmp_path):
    (tmp_path / "services" / "common").mkdir(parents=True)
    (tmp_path / "services" / "common" / "paging.py").write_text(OLD)
    (tmp_path / "services" / "common" / "errors.py").write_text("def clip(a):\n    return a\n")
    (tmp_path / "notes.md").write_text("x\n")
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "add", ".")
    _git(tmp_path, "commit", "-q", "-m", "base")
    return tmp_path, _git(tmp_path, "rev-parse", "HEAD").strip()


def test_changed_files_count_commits_work_tree_and_new_files_since_the_base(repo):
    root, base = repo
    (root / "services" / "common" / "paging.py").write_text(NEW)
    _git(root, "commit", "-q", "-am", "later")
    (root / "notes.md").write_text("y\n")  # not committed
    (root / "services" / "common" / "fresh.py").write_text("def f():\n    return 1\n")  # untracked
    assert mutation.changed_files(root, base) == {
        "services/common/paging.py",
        "notes.md",
        "services/common/fresh.py",
    }
    assert mutation.changed_files(root, _git(root, "rev-parse", "HEAD").strip()) == {
        "notes.md",
        "services/common/fresh.py",
    }


def test_a_renamed_module_counts_as_changed(repo):
    root, base = repo
    _git(root, "mv", "services/common/errors.py", "services/common/faults.py")
    assert "services/common/faults.py" in mutation.changed_files(root, base)


def test_within_the_budget_touched_modules_run_whole(repo):
    root, base = repo
    touched = mutation.Touched(["services/common/paging.py"], ["services/common/errors.py"])
    chosen = mutation.plan(root, base, touched, {"services/common/errors.py": 10}, budget=610)
    assert (chosen.whole, chosen.by_function, chosen.skipped) == (
        ["services/common/errors.py", "services/common/paging.py"],
        [],
        [],
    )
    assert chosen.patterns == ["services.common.errors.*", "services.common.paging.*"]


def test_modules_touched_through_their_tests_fill_what_the_budget_leaves_in_path_order(repo):
    root, base = repo
    counts = {"a.py": 50, "b.py": 40, "c.py": 30, "d.py": 20}
    touched = mutation.Touched(["d.py"], ["a.py", "b.py", "c.py"])
    chosen = mutation.plan(root, base, touched, counts, budget=90)
    assert (chosen.whole, chosen.skipped) == (["a.py", "d.py"], ["b.py", "c.py"])
    assert chosen.modules == ["a.py", "d.py"]


def test_over_the_budget_only_the_changed_functions_run(repo):
    root, base = repo
    (root / "services" / "common" / "paging.py").write_text(NEW)
    (root / "services" / "common" / "new.py").write_text("def made():\n    return 1\n")
    changed = ["services/common/errors.py", "services/common/new.py", "services/common/paging.py"]
    counts = {"services/common/errors.py": 5, "services/common/new.py": 5, "services/common/paging.py": 5}
    chosen = mutation.plan(root, base, mutation.Touched(changed, ["x.py"]), counts, budget=14)
    assert (chosen.whole, chosen.by_function, chosen.skipped) == ([], changed, ["x.py"])
    assert chosen.patterns == [
        "services.common.new.x_made__mutmut_*",
        "services.common.paging.x_added__mutmut_*",
        "services.common.paging.x_edited__mutmut_*",
        "services.common.paging.xǁBoxǁadded__mutmut_*",
        "services.common.paging.xǁBoxǁedited__mutmut_*",
    ]


def test_the_baseline_is_the_first_line_that_is_not_a_comment(tmp_path):
    (tmp_path / "scripts").mkdir()
    (tmp_path / "scripts" / "mutation-baseline").write_text("# measured at\n\nabc123 24 November\n")
    assert mutation.baseline(tmp_path) == "abc123"


def test_the_recorded_baseline_is_a_commit_of_this_repository():
    base = mutation.baseline()
    assert mutation.git(ROOT, "rev-parse", "--verify", f"{base}^{{commit}}").strip() == base


# -- a run, with a stand-in for mutmut ----------------------------------------------------
FAKE_MUTMUT = """#!{python}
import json, pathlib, signal, sys, time
names = [a for a in sys.argv[2:] if "__mutmut_" in a and "*" not in a]
meta = pathlib.Path("mutants/services/m.py.meta")
meta.parent.mkdir(parents=True, exist_ok=True)
with open("calls", "a") as calls:
    calls.write(" ".join(sys.argv[1:]) + "\\n")
if {hang}:
    signal.signal(signal.SIGINT, lambda *_: sys.exit(0))
    time.sleep(60)
if not names:
    codes = {{"m.x_f__mutmut_1": -11, "m.x_f__mutmut_2": 1, "m.x_f__mutmut_3": -11, "m.x_f__mutmut_4": None}}
else:
    codes = json.loads(meta.read_text())["exit_code_by_key"]
    codes.update({{"m.x_f__mutmut_1": -11, "m.x_f__mutmut_3": 0}})
meta.write_text(json.dumps({{"exit_code_by_key": codes}}))
"""


@pytest.fixture
def fake_tree(tmp_path, monkeypatch):
    def make(hang=False):
        root = tmp_path / "tree"
        for folder in ("services", "tests", "benchmarks"):
            (root / folder).mkdir(parents=True)
            (root / folder / "x.py").write_text("")
        (root / "pyproject.toml").write_text("")
        bin_dir = tmp_path / "bin"
        bin_dir.mkdir()
        fake = bin_dir / "mutmut"
        fake.write_text(FAKE_MUTMUT.format(python=sys.executable, hang=hang))
        fake.chmod(0o755)
        monkeypatch.setattr(mutation, "ROOT", root)
        monkeypatch.setattr(mutation, "RUNS", root / "mutants" / "runs")
        monkeypatch.setattr(mutation.sys, "executable", str(bin_dir / "python"))
        return root

    return make


def test_a_run_works_in_a_copy_and_checks_crashed_mutants_once_more_by_name(fake_tree):
    root = fake_tree()
    run = mutation.mutate(["services/m.py"], ["services.m.*"], 2, None)
    assert run.parent == root / "mutants" / "runs"
    assert sorted(p.name for p in run.iterdir() if p.is_dir()) == [
        "benchmarks",
        "mutants",
        "services",
        "tests",
    ]
    assert (run / "calls").read_text().splitlines() == [
        "run --max-children 2 services.m.*",
        "run --max-children 2 m.x_f__mutmut_1 m.x_f__mutmut_3",
    ]
    found = mutation.score("services/m.py", mutation.results(run, "services/m.py"), set())
    assert (found.killed, found.crashed, found.survivors) == (1, ["m.x_f__mutmut_1"], ["m.x_f__mutmut_3"])
    assert mutation.finished_runs() == [run]


def test_two_runs_never_share_a_directory_and_old_finished_runs_are_removed(fake_tree, monkeypatch):
    fake_tree()
    monkeypatch.setattr(mutation, "KEEP_RUNS", 1)
    first = mutation.mutate(["services/m.py"], [], 1, None)
    second = mutation.mutate(["services/m.py"], [], 1, None)
    assert first != second
    assert not first.exists() and mutation.finished_runs() == [second]


def test_the_time_cap_stops_mutmut_and_keeps_what_it_checked(fake_tree, capsys):
    fake_tree(hang=True)
    run = mutation.mutate(["services/m.py"], ["services.m.*"], 1, time_cap=0.5)
    assert run is not None and (run / "finished.json").exists()
    assert "time cap reached" in capsys.readouterr().err
    assert (run / "calls").read_text().count("\n") == 1  # no second pass after the cap
