"""Ingestion throughput: register rows against a raw executemany, and edXML + signed PDF documents.

    python bench/ingest.py [--quick] [--rows N] [--packages N]

- register: N register rows (a sổ văn bản đi export as CSV) ingested into a
  fresh store through ``ingest_batch`` (parse, merge, counters, one
  transaction), against a raw ``sqlite3.executemany`` of the same documents,
  as the store holds them, into a bare table with the documents table's
  columns and key (document_id) and nothing else, in the same run; and the
  store's own writes for the same rows, alone (nothing parsed or merged): the
  ceiling of the schema (documents, recipients, sources, keys and indexes);
- edXML: N packages, each carrying a PDF with the NĐ 30 pair of signatures,
  ingested end to end by ``docflow ingest`` (a subprocess, as an operator runs
  it, with its default ``--workers``, the CPU count), reported in documents per
  second, against the same with ``--workers 1``. Two rates: over the whole run,
  and once started, (N - 1) / (time for N - time for one package): what a
  running ``docflow watch`` sustains, without the start-up (Python, imports,
  opening the store and the trust store) that each ``docflow ingest`` pays once.
"""

from __future__ import annotations

import csv
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from _common import Row, parse_args, print_rows

from docflow.ingest.run import ingest_batch
from docflow.store.core import Store

HEADER = ("ma_don_vi", "huong", "so", "ky_hieu", "ngay_ban_hanh", "loai", "kenh", "mat", "trich_yeu", "noi_nhan")


def register_rows(count: int) -> list[tuple[str, ...]]:
    units = [f"000.{n:02d}.00.H04" for n in range(1, 20)]
    start = date(2026, 1, 1)
    return [
        (
            units[number % len(units)],
            "di",
            str(number),
            "CV-STC",
            (start + timedelta(days=number % 365)).strftime("%d/%m/%Y"),
            "Công văn",
            ("dien_tu", "giay", "ca_hai")[number % 3],
            "0",
            f"Trích yếu văn bản số {number}",
            units[(number + 1) % len(units)],
        )
        for number in range(count)
    ]


def write_register(path: Path, rows: list[tuple[str, ...]]) -> None:
    with path.open("w", encoding="utf-8-sig", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(HEADER)
        writer.writerows(rows)


def raw_executemany_rate(store_path: Path, folder: Path) -> float:
    """Rows/s of one executemany of the store's documents rows into a bare table with the same columns and key."""
    source = sqlite3.connect(store_path)
    columns = source.execute("PRAGMA table_info(documents)").fetchall()
    rows = source.execute("SELECT * FROM documents").fetchall()
    source.close()
    definitions = [f"{name} {kind}{' PRIMARY KEY' if name == 'document_id' else ''}" for _, name, kind, *_ in columns]
    connection = sqlite3.connect(folder / "bare.db")
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute(f"CREATE TABLE documents ({', '.join(definitions)})")
    started = time.perf_counter()
    with connection:
        connection.executemany(f"INSERT INTO documents VALUES ({', '.join('?' * len(columns))})", rows)
    elapsed = time.perf_counter() - started
    connection.close()
    return len(rows) / elapsed


_STORE_WRITES = ("batches", "units", "documents", "recipients", "document_sources")
"""What a register batch writes, in foreign-key order; the last three grow with every row."""


def store_writes_rate(store_path: Path, folder: Path) -> float:
    """Rows/s of the store's own writes for those documents, with nothing parsed or merged.

    The rows docflow wrote, read back and inserted by one executemany per table into a fresh
    store (same keys, indexes, foreign keys and pragmas): the ceiling of this schema, as a
    ratio to the raw executemany, whatever the Python in front of it does.
    """
    source = sqlite3.connect(store_path)
    tables = {table: source.execute(f"SELECT * FROM {table}").fetchall() for table in _STORE_WRITES}
    source.close()
    store = Store.open(folder / "writes-only.db")
    started = time.perf_counter()
    with store.conn:
        store.conn.execute("BEGIN")
        for table, rows in tables.items():
            if rows:
                store.conn.executemany(f"INSERT INTO {table} VALUES ({', '.join('?' * len(rows[0]))})", rows)
    elapsed = time.perf_counter() - started
    store.close()
    return len(tables["documents"]) / elapsed


def docflow_register_rate(path: Path, count: int, store_path: Path) -> float:
    store = Store.open(store_path)
    started = time.perf_counter()
    outcome = ingest_batch(path, store, None)
    elapsed = time.perf_counter() - started
    store.close()
    assert outcome.outcome == "ingested" and outcome.documents == count, outcome
    return count / elapsed


def write_edxml_batch(folder: Path, packages: int) -> Path:
    """A folder of edXML packages, each with a PDF signed by a person then the organisation."""
    from samples.edxml import Attachment, build_edxml
    from samples.pdfgen import make_pdf, sign_pdf
    from samples.pki import build_pki, issue_organisation, issue_person, write_trust_dir

    pki = build_pki()
    sender_name = "Sở Tư pháp tỉnh Bắc Kạn"
    person = issue_person(pki, "Nguyễn Văn Bình", agency=sender_name)
    organisation = issue_organisation(pki, sender_name)
    write_trust_dir(pki, folder / "trust")
    batch = folder / "batch"
    batch.mkdir()
    signed_at = datetime.now(UTC) - timedelta(days=1)
    for number in range(packages):
        pdf = sign_pdf(make_pdf(f"Cong van {number}/STP", pad_to=30_000), person, signing_time=signed_at)
        pdf = sign_pdf(pdf, organisation, signing_time=signed_at + timedelta(minutes=2))
        data = build_edxml(
            sender="000.07.00.H04",
            sender_name=sender_name,
            recipients=[("000.00.00.H04", "UBND tỉnh Bắc Kạn")],
            number=str(number),
            notation="STP-VP",
            promulgation=date(2026, 1 + number % 12, 10),
            subject=f"Về việc số {number}",
            attachments=[Attachment(f"cv-{number}.signed.pdf", pdf)],
        )
        (batch / f"cv-{number}.edxml").write_bytes(data)
    return batch


def edxml_seconds(batch: Path, folder: Path, packages: int, workers: int | None) -> float:
    store = folder / f"edxml-{batch.name}-{workers or 'default'}.db"
    command = [
        sys.executable,
        "-m",
        "docflow",
        "ingest",
        str(batch),
        "--db",
        str(store),
        "--trust",
        str(folder / "trust"),
        "--json",
    ]
    if workers is not None:
        command += ["--workers", str(workers)]
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    assert result.returncode == 0 and '"ingested"' in result.stdout, result.stdout + result.stderr
    assert f'"signatures": {2 * packages}' in result.stdout, result.stdout
    return elapsed


def one_package_batch(batch: Path) -> Path:
    single = batch.with_name("one-package")
    single.mkdir()
    first = min(batch.iterdir())
    (single / first.name).write_bytes(first.read_bytes())
    return single


def main() -> None:
    def options(parser) -> None:  # noqa: ANN001
        parser.add_argument("--rows", type=int, default=None)
        parser.add_argument("--packages", type=int, default=None)

    args = parse_args(__doc__, options)
    count = args.rows or (2_000 if args.quick else 100_000)
    packages = args.packages or (40 if args.quick else 2_000)
    with tempfile.TemporaryDirectory() as temp:
        folder = Path(temp)
        register = folder / "so-van-ban-di.csv"
        write_register(register, register_rows(count))
        ours = docflow_register_rate(register, count, folder / "docflow.db")
        baseline = raw_executemany_rate(folder / "docflow.db", folder)
        writes_only = store_writes_rate(folder / "docflow.db", folder)
        batch = write_edxml_batch(folder, packages)
        one_package = one_package_batch(batch)
        os.sync()  # the 200 MB just written would otherwise be flushed to disk during the timed runs
        seconds = {
            workers: (edxml_seconds(one_package, folder, 1, workers), edxml_seconds(batch, folder, packages, workers))
            for workers in (1, None)
        }
    whole = {workers: packages / total for workers, (_, total) in seconds.items()}
    started = {workers: (packages - 1) / (total - start) for workers, (start, total) in seconds.items()}
    print_rows(
        f"ingest ({count:,} register rows, {packages:,} edXML packages)",
        [
            Row("register rows into the store", ours, "rows/s", "raw executemany, same columns and key", baseline, 0.5),
            Row("  the store's writes alone (ceiling)", writes_only, "rows/s", "raw executemany", baseline),
            Row("edXML + signed PDF, docflow ingest, whole run", whole[None], "docs/s", "--workers 1", whole[1]),
            Row("edXML + signed PDF, once started", started[None], "docs/s", "--workers 1", started[1]),
        ],
    )
    print(f"start-up of docflow ingest (a one-package batch): {seconds[None][0]:.2f} s")
    for label, figure in (("whole run", whole[None]), ("once started", started[None])):
        print(
            f"edXML target ≥ 1000 docs/s on {os.cpu_count()} cores, {label}: {figure:,.0f} → "
            f"{'meets' if figure >= 1000 else 'MISSES'}"
        )


if __name__ == "__main__":
    main()
