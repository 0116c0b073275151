"""Every benchmark still runs: `python bench/NAME.py --quick` exits 0 and prints its table.

This guards the benchmarks against breaking silently as the code changes. It fails on a
broken benchmark, never on a slow machine: the figures and their "MISSES" are for people
(docs/performance.md), not for CI.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# compare_pyhanko is a comparison tool over folders of signed files, not a benchmark: test_compare_pyhanko runs it.
BENCHES = sorted(
    path.stem
    for path in (REPO / "bench").glob("*.py")
    if not path.name.startswith("_") and path.stem != "compare_pyhanko"
)


def test_every_benchmark_is_covered() -> None:
    assert {"verify", "ingest", "summary", "memory", "reverify"} <= set(BENCHES)


@pytest.mark.slow
@pytest.mark.parametrize("name", BENCHES)
def test_benchmark_runs_in_quick_mode(name: str, tmp_path: Path) -> None:
    completed = subprocess.run(
        [sys.executable, str(REPO / "bench" / f"{name}.py"), "--quick"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "COLUMNS": "200", "NO_COLOR": "1", "TMPDIR": str(tmp_path)},
    )
    assert completed.returncode == 0, completed.stderr[-4000:]
    assert "Traceback" not in completed.stderr, completed.stderr[-4000:]
    assert "machine:" in completed.stdout, completed.stdout[-2000:]
