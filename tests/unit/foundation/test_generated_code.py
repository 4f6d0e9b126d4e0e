"""Generated code is committed; this fails when it is stale against protos/."""

import filecmp
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[3]


def _files(folder: pathlib.Path) -> set[str]:
    return {
        str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts
    }


def test_generated_code_matches_the_proto_sources(tmp_path):
    subprocess.run([sys.executable, str(ROOT / "scripts" / "gen_protos.py"), str(tmp_path)], check=True)
    committed, fresh = ROOT / "gen", tmp_path
    assert _files(committed) == _files(fresh), "run `make protos`: generated files differ"
    stale = [f for f in _files(fresh) if not filecmp.cmp(committed / f, fresh / f, shallow=False)]
    assert not stale, f"run `make protos`: stale generated files {stale}"
