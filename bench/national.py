"""`docflow rollup` and the national summary, on SQLite and on PostgreSQL, against reading the exports alone.

    python bench/national.py [--quick] [--units N] [--postgres URL]

Writes 34 provinces' monthly exports of one year (`docflow summary --all --json`'s shape; N units in all,
default 10,000, so 120,000 unit rows in 408 files; --quick 1,000 units and 2 months), then times:
- reading and checking the files without writing them (`read_export`): the baseline of the roll-ups;
- rolling them into an SQLite national store, one writer;
- rolling them into a PostgreSQL national store with 1, 2 and 4 writer processes (the files shared out);
- `docflow summary` of the year on each national store (every month of every province summed by province and
  level, median of 5), against the 300 ms target of issue 20.
PostgreSQL: the server of --postgres or DOCFLOW_TEST_POSTGRES, else a throw-away one started as the tests start
theirs (tests/helpers/postgres.py); where none can be had, only SQLite is measured, and the table says so.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

from _common import Row, parse_args, print_rows, timed_writers

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from docflow.reports.metrics import parse_period  # noqa: E402
from docflow.reports.national import national_summary, read_export  # noqa: E402
from docflow.store.database import open_database  # noqa: E402
from docflow.store.location import parse_location  # noqa: E402
from docflow.store.national import prepare_national, roll_up  # noqa: E402
from docflow.store.schema import COUNTER_COLUMNS, REASON_WORDS  # noqa: E402

PERIOD = parse_period("2025")
PROVINCES = 34
LEVELS = ("province", "department", "district", "commune")


def write_exports(folder: Path, units: int, months: int) -> list[tuple[Path, str]]:
    """34 provinces' exports of ``months`` months, about ``units / 34`` units each, with their month."""
    paths = []
    per_province = max(units // PROVINCES, 4)
    for number, month in ((n, m) for m in range(1, months + 1) for n in range(1, PROVINCES + 1)):
        province = f"H{number:02d}"
        rows = []
        for index in range(per_province):
            code = f"{index // 10_000:03d}.{index // 100 % 100:02d}.{index % 100:02d}.{province}"
            counts = {name: 0 for name in COUNTER_COLUMNS if not name.startswith("invalid_")}
            counts.update(outgoing=100 + index % 50, outgoing_issued_electronic=80 + index % 20, incoming=90)
            level = "province" if index == 0 else LEVELS[1 + index % 3]
            rows.append({"unit": code, "name": f"Đơn vị {code}", "level": level, "on_list": True, **counts,
                         "invalid": {reason: 0 for reason in REASON_WORDS}})  # fmt: skip
        path = folder / f"{province}-2025-{month:02d}.json"
        path.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
        paths.append((path, f"2025-{month:02d}"))
    return paths


def _writer(url: str, paths: list[tuple[str, str]]) -> None:
    with open_database(parse_location(url)) as db:
        for path, month in paths:
            roll_up(db, read_export(Path(path), parse_period(month)))


def roll_up_all(location: str, paths: list[tuple[Path, str]], writers: int) -> float:
    """Seconds to roll every export into a new national store at ``location`` with ``writers`` processes."""
    with open_database(parse_location(location)) as db:
        prepare_national(db, create=True)
    return timed_writers(_writer, location, [(str(p), m) for p, m in paths], writers)  # type: ignore[arg-type]


def summary_ms(location: str) -> float:
    with open_database(parse_location(location), readonly=True) as db:
        times = []
        for _ in range(5):
            started = time.perf_counter()
            national_summary(db, PERIOD)
            times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main() -> None:
    args = parse_args(__doc__.splitlines()[0], lambda p: (p.add_argument("--units", type=int),
                                                           p.add_argument("--postgres")))  # fmt: skip
    units = args.units or (1_000 if args.quick else 10_000)
    months = 2 if args.quick else 12
    with tempfile.TemporaryDirectory() as folder, ExitStack() as stack:
        paths = write_exports(Path(folder), units, months)
        started = time.perf_counter()
        for path, month in paths:
            read_export(path, parse_period(month))
        reading = time.perf_counter() - started
        rows_written = units * months
        sqlite_seconds = roll_up_all(str(Path(folder) / "national.db"), paths, 1)
        rows = [
            Row(f"roll up {len(paths)} exports, {rows_written:,} unit rows: SQLite, 1 writer",
                rows_written / sqlite_seconds, "rows/s", "reading the exports alone", rows_written / reading),
            Row("national summary: SQLite", summary_ms(str(Path(folder) / "national.db")), "ms", "target", 300.0,
                target=1.0, lower_is_better=True),
        ]  # fmt: skip
        server = _server(args.postgres, stack)
        if server is None:
            rows.append(Row("PostgreSQL: no server here, not measured", 0.0, ""))
        for writers in (1, 2, 4) if server is not None else ():
            url = server.new_database()  # type: ignore[attr-defined]
            seconds = roll_up_all(url, paths, writers)
            target = 1.5 if writers == 2 else None
            rows.append(Row(f"roll up: PostgreSQL, {writers} writer(s)", rows_written / seconds, "rows/s",
                            "SQLite, 1 writer", rows_written / sqlite_seconds, target=target))  # fmt: skip
            if writers == 1:
                rows.append(Row("national summary: PostgreSQL", summary_ms(url), "ms", "target", 300.0,
                                target=1.0, lower_is_better=True))  # fmt: skip
    print_rows("docflow rollup and the national summary", rows)


def _server(given: str | None, stack: ExitStack) -> object | None:
    from helpers.postgres import PostgresServer, PostgresUnavailable, throwaway_server

    if given:
        return PostgresServer(given)
    try:
        # Durable as a real server (fsync on), unlike the tests' throw-away ones: the figures are compared with
        # SQLite committing to disk.
        return stack.enter_context(throwaway_server(durable=True))
    except PostgresUnavailable as why:
        print(f"no PostgreSQL server: {why}", file=sys.stderr)
        return None


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
