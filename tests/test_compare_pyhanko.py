"""``bench/compare_pyhanko.py``: docflow and pyHanko over the same signed files, disagreements listed.

The script is how anyone repeats the comparison on files they fetch (EU DSS, pyHanko, iText test
data); these tests hold it to working, and hold docflow to agreeing with pyHanko where both should.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest
from helpers.vectors import vectors_or_skip

from samples.__main__ import write_samples

pytest.importorskip("pyhanko", reason="pyHanko is the reference validator (pip install pyhanko)")

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "bench" / "compare_pyhanko.py"


def _load_script():  # noqa: ANN202 - the module object of a script
    spec = importlib.util.spec_from_file_location("compare_pyhanko", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


def _disagreements(*args: str) -> list[dict[str, object]]:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--json", *args],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=REPO,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]


@pytest.mark.slow
def test_the_sample_documents_agree_with_pyhanko(tmp_path: Path) -> None:
    write_samples(tmp_path)
    found = _disagreements(str(tmp_path / "documents"), "--trust", str(tmp_path / "trust"))
    assert [
        (Path(str(d["file"])).name, d["fact"]) for d in found if d["fact"] in ("count", "integrity", "trusted")
    ] == []


@pytest.mark.slow
def test_the_pyhanko_vectors_agree_on_integrity_and_count() -> None:
    folder = vectors_or_skip("pyhanko", "pdf")
    found = _disagreements(str(folder))
    assert [
        (Path(str(d["file"])).name, d["fact"], d["docflow"], d["pyhanko"]) for d in found if d["fact"] in ("integrity",)
    ] == []


def test_compare_counts_and_lists_each_disagreement() -> None:
    script = _load_script()
    facts = script.Facts
    ours = {
        "a.pdf": [facts("a.pdf", 0, "intact", "none", True), facts("a.pdf", 1, "broken", "other", False)],
        "b.pdf": [facts("b.pdf", 0, "intact")],
    }
    theirs = {
        "a.pdf": [facts("a.pdf", 0, "intact", "none", True), facts("a.pdf", 1, "intact", "ltv", True)],
        "b.pdf": [],
    }
    tally, found = script.compare(ours, theirs, with_trust=True)
    assert tally["count", True] == 1 and tally["count", False] == 1
    assert tally["integrity", True] == 1 and tally["integrity", False] == 1
    assert {(d.file, d.index, d.fact) for d in found} == {
        ("b.pdf", None, "count"),
        ("a.pdf", 1, "integrity"),
        ("a.pdf", 1, "modification"),
        ("a.pdf", 1, "trusted"),
    }


def test_signed_files_pairs_nothing_it_should_not(tmp_path: Path) -> None:
    script = _load_script()
    for name in ("a.pdf", "b.docx", "b.docx.p7s", "c.p7m", "notes.txt"):
        (tmp_path / name).write_bytes(b"x")
    assert [p.name for p in script.signed_files([tmp_path])] == ["a.pdf", "b.docx.p7s", "c.p7m"]
