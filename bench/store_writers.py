"""The province's store on PostgreSQL: several writers at once against one SQLite writer, and the summary.

    python bench/store_writers.py [--quick] [--batches N] [--rows N] [--documents N] [--units N] [--postgres URL]

Ingestion: N register batches (default 8 of 20,000 rows; --quick 4 of 500), each the sổ văn bản đi of its own
group of senders, every batch naming recipients among all the province's units (so that writers share the
counters' rows, as a province's inboxes do). The same batches are ingested, each through ``ingest_batch`` in one
transaction, into a store that already has its units (as after ``docflow units import``):
- into a new SQLite store by one writer: the baseline;
- into a new PostgreSQL store by 1, 2 and 4 writer processes at once (the batches shared out), against the SQLite
  writer; issue 20's target is two PostgreSQL writers at least 1.5 times one SQLite writer.
Summary: ``docflow summary`` of a year over the store of ``bench/summary.py`` (10 million documents, 10,000 units;
--quick 100,000 and 1,000), copied into PostgreSQL, against the same on SQLite, measured in the same run; the
target is 300 ms. The PostgreSQL copy is kept in the server of --postgres between runs; a throw-away server keeps
nothing.
PostgreSQL: the server of --postgres or DOCFLOW_TEST_POSTGRES, else a throw-away one, durable (fsync on) as a real
server is (tests/helpers/postgres.py); where none can be had, only SQLite is measured, and the table says so.
"""

from __future__ import annotations

import io
import os
import sqlite3
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

from _common import Row, parse_args, print_rows, timed_writers
from ingest import register_rows, write_register
from national import _server
from rich.console import Console
from summary import build_store, time_best

from docflow.cli.report import SUMMARY_ROWS_PER_LEVEL
from docflow.cli.summary_view import render_summary
from docflow.ingest.run import ingest_batch
from docflow.reports.audit import open_readonly
from docflow.reports.metrics import parse_period
from docflow.reports.summary import summarise
from docflow.store.core import Store
from docflow.store.location import parse_location

_COPIED = ("units", "documents", "unit_counters")
"""What the summary store holds (``bench/summary.py``): the rest of its tables are empty."""


def write_batches(folder: Path, batches: int, rows: int) -> list[Path]:
    """``batches`` registers of ``rows`` documents each; batch k's senders are the k-th share of the units."""
    everything = register_rows(batches * rows)
    paths = []
    for number in range(batches):
        path = folder / f"so-van-ban-di-{number:02d}.csv"
        write_register(path, [row for index, row in enumerate(everything) if index % batches == number])
        paths.append(path)
    return paths


def _writer(where: str, paths: list[str]) -> None:
    with Store.open(where) as store:
        for path in paths:
            ingest_batch(Path(path), store, None)


def ingest_all(where: str, paths: list[Path], writers: int) -> float:
    """Seconds for ``writers`` processes to ingest ``paths`` (shared out) into the new store ``where``."""
    # Before the clock starts, as a running province's store has them: the schema, and the units (imported from
    # the province's list; otherwise the first writer to see a unit holds its new row until it commits).
    with Store.open(where) as store, store.transaction():
        for code in sorted({row[0] for row in register_rows(100)} | {row[9] for row in register_rows(100)}):
            store.upsert_unit(code, f"Đơn vị {code}", "import")
    return timed_writers(_writer, where, [str(path) for path in paths], writers)  # type: ignore[arg-type]


def summary_ms(connection: sqlite3.Connection) -> float:
    """``docflow summary`` of the year, computed and rendered as for its table (``bench/summary.py``)."""
    period = parse_period("2026")

    def work() -> None:
        summary = summarise(connection, period, rows_per_level=SUMMARY_ROWS_PER_LEVEL)
        render_summary(summary, Console(file=io.StringIO(), width=160), SUMMARY_ROWS_PER_LEVEL)

    return time_best(work) * 1000


def summary_store(documents: int, units: int) -> Path:
    """``bench/summary.py``'s store, kept under /tmp between runs."""
    folder = Path(tempfile.gettempdir()) / "docflow-bench"
    folder.mkdir(exist_ok=True)
    path = folder / f"summary-{documents}-{units}.db"
    if not path.exists():
        partial = path.with_suffix(".partial")
        build_store(partial, documents, units)
        partial.rename(path)
    Store.open(path).close()
    return path


def copy_to_server(path: Path, url: str) -> None:
    """The summary store's rows into a new PostgreSQL store at ``url``, by COPY (the year rows by the trigger)."""
    Store.open(url).close()
    source = sqlite3.connect(path)
    with Store.open(url) as target:
        raw = target.conn.raw  # type: ignore[attr-defined]
        with raw.transaction():
            for table in _COPIED:
                names = [row[1] for row in source.execute(f"PRAGMA table_info({table})")]
                with raw.cursor().copy(f"COPY {table} ({', '.join(names)}) FROM STDIN") as copy:
                    for row in source.execute(f"SELECT {', '.join(names)} FROM {table}"):
                        copy.write_row(row)
        raw.execute("ANALYZE")
    source.close()


def main() -> None:
    def options(parser) -> None:  # noqa: ANN001
        for name in ("--batches", "--rows", "--documents", "--units"):
            parser.add_argument(name, type=int)
        parser.add_argument("--postgres")

    args = parse_args(__doc__.splitlines()[0], options)
    batches, rows_each = args.batches or (4 if args.quick else 8), args.rows or (500 if args.quick else 20_000)
    documents = args.documents or (100_000 if args.quick else 10_000_000)
    units = args.units or (1_000 if args.quick else 10_000)
    total = batches * rows_each
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as folder, ExitStack() as stack:
        paths = write_batches(Path(folder), batches, rows_each)
        sqlite_seconds = ingest_all(str(Path(folder) / "docflow.db"), paths, 1)
        rows.append(Row(f"ingest {batches} registers, {total:,} rows: SQLite, 1 writer", total / sqlite_seconds,
                        "rows/s"))  # fmt: skip
        server = _server(args.postgres, stack)
        if server is None:
            rows.append(Row("PostgreSQL: no server here, not measured", 0.0, ""))
        for writers in (1, 2, 4) if server is not None else ():
            seconds = ingest_all(server.new_database(), paths, writers)  # type: ignore[attr-defined]
            target = 1.5 if writers == 2 else None
            rows.append(Row(f"ingest: PostgreSQL, {writers} writer(s) at once", total / seconds, "rows/s",
                            "SQLite, 1 writer", total / sqlite_seconds, target=target))  # fmt: skip
        path = summary_store(documents, units)
        on_file = open_readonly(path)
        rows.append(Row(f"summary, {documents:,} documents, {units:,} units: SQLite", summary_ms(on_file), "ms",
                        "target", 300.0, target=1.0, lower_is_better=True))  # fmt: skip
        on_file.close()
        if server is not None:
            url = server.new_database()  # type: ignore[attr-defined]
            started = time.perf_counter()
            copy_to_server(path, url)
            print(f"copied {path.name} into PostgreSQL in {time.perf_counter() - started:.0f} s", file=sys.stderr)
            on_server = open_readonly(parse_location(url))
            rows.append(Row("summary: PostgreSQL", summary_ms(on_server), "ms", "target", 300.0, target=1.0,
                            lower_is_better=True))  # fmt: skip
            on_server.close()
    print_rows("the province's store: writers at once, and the summary, on PostgreSQL and SQLite", rows)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
