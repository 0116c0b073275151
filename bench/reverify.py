"""`docflow reverify --all` over an archive of stored signatures, against the engine on the same signatures.

    python bench/reverify.py [--quick] [--signatures N] [--content-bytes B] [--workers W]

The store: N detached CMS signatures (default 100,000; 400 with --quick), RSA-2048/SHA-256, leaf embedded,
three-level chain with CRLs in the trust store, each over its own B-byte content (default 2,000: the size of a
short official letter's text; the rate hardly depends on it, the disk does linearly). It is built the way an
archive fills: folders of 5,000 ``vb-N.docx`` + ``vb-N.docx.p7s`` pairs, signed on every core, each folder
ingested as one batch (``docflow.ingest.run.ingest_batch``, every core), so the signed files are kept beside the
store (``docflow.db.payloads/``) exactly as ingestion keeps them. Its build time is printed, not compared.

Figures, measured in the same run on the same signatures, every figure paired with its baseline:
- ``reverify()`` in-process (``docflow.ingest.reverify.reverify`` with ``ReverifyScope(everything=True)``, the
  code the command runs), 1 worker;
- the command, ``docflow reverify --db … --trust … --all --json --workers W`` in a subprocess, with start-up
  subtracted: the same command over a store of ``START_UP`` signatures is timed too, and the rate is the extra
  signatures over the extra seconds; its peak RSS is the command's own process's (the writer, which holds the
  plan), read from ``/proc/self/status`` (VmHWM) as it exits: ``wait4``'s ru_maxrss would carry this benchmark's
  own peak across fork and exec, and did (every run reported the benchmark's size, not the command's);
- the baseline, the engine in-process: ``signatures.verify_cms`` over the same payload bytes (read back from the
  kept files beforehand, not timed), one core; on W processes, each verifying its share, for the W-worker rows.
  The engine's rate is measured over up to ``ENGINE_SAMPLE`` of the signatures (held in memory), before and after
  the re-verifications; the best window is the baseline, so a ratio is never flattered by a slow baseline.
Every ``--all`` run takes every signature and judges it under the trust store it was ingested with: every
verdict is unchanged, and the run rewrites each row and its document's counters as any re-verification does.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from _common import Row, parse_args, print_rows, rate

from docflow.ingest.reverify import ReverifyScope, reverify
from docflow.ingest.run import IngestOptions, ingest_batch
from docflow.store.core import Store
from docflow.store.payloads import PayloadStore, payload_directory
from samples.pki import Issued, build_pki, issue_organisation, write_trust_dir
from samples.sign import sign_cms
from signatures import TrustStore, verify_cms

FOLDER_PAIRS = 5000
START_UP = 100
ENGINE_SAMPLE = 10_000
_PEAK = "peak KiB:"
_COMMAND_CODE = f"""
import atexit, sys

def _peak() -> None:
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            sys.stderr.write("{_PEAK} " + line.split()[1] + "\\n")

atexit.register(_peak)
from docflow.cli import main
main()
"""
COMMAND = [sys.executable, "-c", _COMMAND_CODE, "reverify"]


def _options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--signatures", type=int, default=None, help="signatures stored (default 100000)")
    parser.add_argument("--content-bytes", type=int, default=2000, help="bytes of each signed content")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2, help="workers of the parallel rows")


# -- building the store ----------------------------------------------------------------------------------------

_signer: Issued | None = None
"""The signing certificate, inherited by the forked signing processes (a private key does not pickle)."""


def _sign_range(start: int, stop: int, content_bytes: int, folder: str) -> None:
    assert _signer is not None
    for number in range(start, stop):
        content = (b"PK\x03\x04 van ban %d " % number).ljust(content_bytes, b"x")
        (Path(folder) / f"vb-{number}.docx").write_bytes(content)
        (Path(folder) / f"vb-{number}.docx.p7s").write_bytes(sign_cms(content, _signer))


def build_store(root: Path, name: str, count: int, content_bytes: int, trust: TrustStore, first: int = 0) -> Path:
    """A store of ``count`` signatures ingested in folders of ``FOLDER_PAIRS``; returns its file."""
    database = root / f"{name}.db"
    fork = multiprocessing.get_context("fork")
    workers = os.cpu_count() or 1
    with Store.open(database) as store, ProcessPoolExecutor(workers, mp_context=fork) as pool:
        for start in range(first, first + count, FOLDER_PAIRS):
            stop = min(start + FOLDER_PAIRS, first + count)
            folder = root / f"{name}-batch-{start}"
            folder.mkdir()
            step = max(1, (stop - start) // (workers * 4))
            bounds = [(low, min(low + step, stop)) for low in range(start, stop, step)]
            lows, highs = zip(*bounds, strict=True)
            list(pool.map(_sign_range, lows, highs, [content_bytes] * len(bounds), [str(folder)] * len(bounds)))
            _ingest(folder, store, trust, workers)
    return database


def _ingest(folder: Path, store: Store, trust: TrustStore, workers: int) -> None:
    ingest_batch(folder, store, trust, IngestOptions(workers=workers))
    for file in folder.iterdir():  # the kept copies are what re-verification reads; the clerk's folder goes
        file.unlink()
    folder.rmdir()


def disk_bytes(database: Path) -> int:
    """Bytes on disk of the store file (with its write-ahead log) and of its kept signed files."""
    files = [database, database.with_name(database.name + "-wal")]
    files += [path for path in payload_directory(database).rglob("*") if path.is_file()]
    return sum(path.stat().st_blocks * 512 for path in files if path.exists())


# -- the engine's baseline --------------------------------------------------------------------------------------

_pairs: list[tuple[bytes, bytes]] = []
_trust: TrustStore | None = None


def kept_pairs(database: Path, limit: int) -> list[tuple[bytes, bytes]]:
    """(content, detached CMS) of the first ``limit`` stored signatures, read back from the kept files."""
    payloads = PayloadStore(payload_directory(database))
    with Store.open(database) as store:
        rows = store.conn.execute(
            "SELECT sha256, content_sha256 FROM payloads WHERE content_sha256 IS NOT NULL ORDER BY sha256 LIMIT ?",
            (limit,),
        ).fetchall()
    pairs = []
    for signature_sha, content_sha in rows:
        signature, content = payloads.get(signature_sha), payloads.get(content_sha)
        assert isinstance(signature, bytes) and isinstance(content, bytes), (signature, content)
        pairs.append((content, signature))
    return pairs


def _verify_range(start: int, stop: int) -> int:
    assert _trust is not None
    return sum(verify_cms(der, content, trust=_trust)[0].passed for content, der in _pairs[start:stop])


def engine_work(processes: int, pool: ProcessPoolExecutor | None) -> Callable[[], None]:
    count = len(_pairs)
    if pool is None:
        return lambda: _check(_verify_range(0, count), count)
    step = max(1, count // (processes * 4))
    starts = list(range(0, count, step))
    stops = [min(start + step, count) for start in starts]
    return lambda: _check(sum(pool.map(_verify_range, starts, stops)), count)


def _check(passed: int, count: int) -> None:
    assert passed == count, f"{passed} of {count} signatures passed"


# -- re-verification: in-process and the command ---------------------------------------------------------------


def in_process_seconds(database: Path, trust: TrustStore, count: int, workers: int) -> float:
    with Store.open(database) as store:
        started = time.perf_counter()
        result = reverify(store, trust, ReverifyScope(everything=True), workers=workers)
        seconds = time.perf_counter() - started
    assert (result.checked, result.unchanged) == (count, count), result
    return seconds


def command_run(database: Path, trust_dir: Path, workers: int, count: int) -> tuple[float, int]:
    """(wall-clock seconds, peak RSS in bytes of its own process) of ``docflow reverify --all --json``."""
    arguments = ["--db", str(database), "--trust", str(trust_dir), "--all", "--json", "--workers", str(workers)]
    with tempfile.TemporaryFile("w+") as output, tempfile.TemporaryFile("w+") as errors:
        started = time.perf_counter()
        process = subprocess.Popen([*COMMAND, *arguments], stdout=output, stderr=errors, cwd=database.parent)
        _, status, _usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        output.seek(0)
        errors.seek(0)
        text, said = output.read(), errors.read()
        assert process.returncode == 0, said[-2000:]
    assert f'"checked": {count}' in text and f'"unchanged": {count}' in text, text[-500:]
    peaks = [int(line.split()[-1]) for line in said.splitlines() if line.startswith(_PEAK)]
    return seconds, peaks[-1] * 1024 if peaks else 0


def command_rate(main: Path, small: Path, trust_dir: Path, workers: int, counts: tuple[int, int]) -> tuple[float, int]:
    """Signatures per second through the command, start-up subtracted, and its peak RSS on the main store."""
    start_up, _ = command_run(small, trust_dir, workers, counts[1])
    total, peak = command_run(main, trust_dir, workers, counts[0])
    return (counts[0] - counts[1]) / max(total - start_up, 1e-9), peak


def main() -> None:
    global _pairs, _trust, _signer
    args = parse_args(__doc__ or "", _options)
    count = args.signatures or (400 if args.quick else 100_000)
    workers = args.workers
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        pki = build_pki()
        _signer = issue_organisation(pki, "Sở Tư pháp tỉnh Bắc Kạn")
        trust_dir = write_trust_dir(pki, root / "trust")
        _trust = TrustStore.load(trust_dir)
        started = time.perf_counter()
        database = build_store(root, "archive", count, args.content_bytes, _trust)
        built = time.perf_counter() - started
        small_count = min(START_UP, count // 4)
        small = build_store(root, "start-up", small_count, args.content_bytes, _trust, first=count)
        disk = disk_bytes(database)
        _pairs = kept_pairs(database, min(count, ENGINE_SAMPLE))
        engine = {1: 0.0, workers: 0.0}
        fork = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(workers, mp_context=fork) as pool:
            list(pool.map(_verify_range, [0] * workers, [1] * workers))  # every process started and warm
            works = {1: engine_work(1, None), workers: engine_work(workers, pool)}
            works[1]()  # warm the path cache, as a long-running process's would be
            seconds = 0.5 if args.quick else 5.0

            def measure_engine() -> None:
                for processes, work in works.items():
                    engine[processes] = max(engine[processes], rate(len(_pairs), work, seconds))

            load = os.getloadavg()
            measure_engine()
            in_process = count / in_process_seconds(database, _trust, count, 1)
            command_one, peak_one = command_rate(database, small, trust_dir, 1, (count, small_count))
            command_many, peak_many = command_rate(database, small, trust_dir, workers, (count, small_count))
            measure_engine()
            load_after = os.getloadavg()
    one, many = engine[1], engine[workers]
    rows = [
        Row("reverify --all in-process, 1 worker", in_process, "sig/s", "engine, 1 core", one, 0.8),
        Row("`docflow reverify --all`, 1 worker", command_one, "sig/s", "engine, 1 core", one, 0.8),
        Row(f"`docflow reverify --all`, {workers} workers", command_many, "sig/s", f"engine, {workers} proc", many),
        Row(f"`docflow reverify --all`, {workers} workers", command_many, "sig/s", "engine, 1 core", one),
        Row("peak RSS of the command, 1 worker", peak_one / 2**20, "MB"),
        Row(f"peak RSS of the command, {workers} workers (writer)", peak_many / 2**20, "MB"),
        Row("disk per signature (store + kept files)", disk / count, "bytes"),
        Row("store build (sign + ingest)", built, "s"),
    ]
    title = f"reverify ({'quick' if args.quick else 'full'}: {count:,} signatures over {args.content_bytes:,} B)"
    print_rows(title, rows)
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    before, after = " ".join(f"{x:.2f}" for x in load), " ".join(f"{x:.2f}" for x in load_after)
    print(f"load average before {before}, after {after}; the benchmark's own peak RSS {own} MB")


if __name__ == "__main__":
    main()
