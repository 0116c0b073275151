"""Shared pieces of the benchmarks: options, timing, the sample corpus, the printed table.

Every figure is printed next to a baseline measured in the same run on the same
inputs, because a machine's absolute speed drifts; ratios are what we compare.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table

# Run as `python bench/NAME.py` from the repo root: make the repo importable without installing.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

__all__ = ["Row", "parse_args", "rate", "print_rows", "console", "pyhanko_context", "timed_writers"]

console = Console()


@dataclass(frozen=True)
class Row:
    """One measured figure, its baseline and the target the ratio must meet."""

    what: str
    figure: float
    unit: str
    baseline_name: str = ""
    baseline: float | None = None
    target: float | None = None
    """Minimum ratio figure/baseline (or, with ``lower_is_better``, maximum)."""
    lower_is_better: bool = False

    @property
    def ratio(self) -> float | None:
        if self.baseline in (None, 0):
            return None
        return self.figure / self.baseline

    @property
    def verdict(self) -> str:
        if self.target is None or self.ratio is None:
            return ""
        met = self.ratio <= self.target if self.lower_is_better else self.ratio >= self.target
        return "meets" if met else "MISSES"


def parse_args(description: str, extra: Callable[[argparse.ArgumentParser], None] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="small inputs, for CI: checks the benchmark runs")
    if extra:
        extra(parser)
    return parser.parse_args()


def rate(count: int, work: Callable[[], object], min_seconds: float = 0.0) -> float:
    """Items per second for ``work`` (which processes ``count`` items), repeated to last ``min_seconds``."""
    runs = 0
    started = time.perf_counter()
    while True:
        work()
        runs += 1
        elapsed = time.perf_counter() - started
        if elapsed >= min_seconds:
            return count * runs / elapsed


def print_rows(title: str, rows: list[Row]) -> None:
    table = Table(title=title)
    for column in ("measure", "figure", "baseline", "ratio", "target", ""):
        table.add_column(column, justify="left" if column == "measure" else "right")
    for row in rows:
        table.add_row(
            row.what,
            f"{row.figure:,.1f} {row.unit}",
            f"{row.baseline:,.1f} ({row.baseline_name})" if row.baseline is not None else "",
            f"{row.ratio:.2f}×" if row.ratio is not None else "",
            (f"≤ {row.target}×" if row.lower_is_better else f"≥ {row.target}×") if row.target else "",
            row.verdict,
        )
    console.print(table)
    console.print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}")


def pyhanko_context(trust_dir: Path | None, revocation_mode: str = "hard-fail") -> object:
    """A pyHanko ValidationContext over the same trust directory docflow reads (pyHanko is optional)."""
    from asn1crypto import pem
    from asn1crypto import x509 as asn1_x509
    from pyhanko_certvalidator import ValidationContext

    certificates, crls = [], []
    for file in sorted(trust_dir.iterdir()) if trust_dir else []:
        raw = file.read_bytes()
        der = pem.unarmor(raw)[2] if raw.lstrip().startswith(b"-----BEGIN") else raw
        (crls if ".crl" in file.name else certificates).append(der)
    parsed = [asn1_x509.Certificate.load(der) for der in certificates]
    return ValidationContext(
        trust_roots=[c for c in parsed if c.self_signed != "no"],
        other_certs=[c for c in parsed if c.self_signed == "no"],
        crls=crls,
        allow_fetching=False,
        revocation_mode=revocation_mode,
    )


def timed_writers(
    work: Callable[[str, list[object]], None], where: str, items: Sequence[object], writers: int
) -> float:
    """Seconds for ``writers`` processes at once, each ``work(where, share)`` on its share of ``items`` (dealt out
    in turn), to finish; one writer runs in this process."""
    shares = [list(items[start::writers]) for start in range(writers)]
    started = time.perf_counter()
    if writers == 1:
        work(where, shares[0])
    else:
        with multiprocessing.get_context("fork").Pool(writers) as pool:
            pool.starmap(work, [(where, share) for share in shares])
    return time.perf_counter() - started
