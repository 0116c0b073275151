"""The province's store on PostgreSQL: the same batches give the same store and the same reports as on SQLite,
and several writers at once count every document once.

Every test needs a real server (the ``postgres_server`` fixture); the batches are a small sample province
(``samples.province``), built once for the module.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from helpers.ingest import assert_counters_exact

from docflow.cli import main
from docflow.i18n import set_language
from docflow.ingest.run import ingest_batch
from docflow.store.connection import open_reader
from docflow.store.core import Store
from docflow.store.errors import StoreError
from docflow.store.location import parse_location
from docflow.store.pg_connection import PgConnection, translate
from samples.province import ProvinceBuild, build_province
from signatures import TrustStore


@pytest.fixture(autouse=True)
def _english() -> None:
    set_language("en")


@pytest.fixture(scope="module")
def province(tmp_path_factory: pytest.TempPathFactory) -> ProvinceBuild:
    return build_province(tmp_path_factory.mktemp("province"), scale=0.15)


@pytest.fixture
def url(postgres_server: Any) -> str:
    return postgres_server.new_database()  # type: ignore[no-any-return]


def _batches(build: ProvinceBuild) -> list[Path]:
    return sorted(build.inbox.iterdir())


def _cli(*args: str) -> Any:
    return CliRunner().invoke(main, ["--lang", "en", *args])


def _ingest_all(where: str, build: ProvinceBuild) -> None:
    trust = TrustStore.load(build.trust_dir)
    with Store.open(where) as store:
        for batch in _batches(build):
            ingest_batch(batch, store, trust)


@pytest.fixture(scope="module")
def sqlite_reference(province: ProvinceBuild, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample province ingested into SQLite, in order, by one writer: what PostgreSQL must hold too."""
    path = tmp_path_factory.mktemp("reference") / "docflow.db"
    _ingest_all(str(path), province)
    return path


def _counters(where: str) -> list[tuple[object, ...]]:
    with Store.open_readonly(where) as store:
        return [(row.unit, row.period, *row.values) for row in store.counter_rows()]


def test_the_same_batches_give_the_same_counters_on_both_engines(
    url: str, province: ProvinceBuild, sqlite_reference: Path
) -> None:
    _ingest_all(url, province)
    assert _counters(url) == _counters(str(sqlite_reference))
    with Store.open(url) as store:
        assert_counters_exact(store)  # the year rows too, kept by the PL/pgSQL trigger
        store.recompute_counters()
        assert_counters_exact(store)


def test_the_large_tables_are_partitioned_and_each_document_is_in_its_years_partition(
    url: str, province: ProvinceBuild
) -> None:
    _ingest_all(url, province)
    with _server(url) as conn:
        partitioned = {
            name: strategy
            for name, strategy in conn.execute(
                "SELECT c.relname, p.partstrat FROM pg_partitioned_table p JOIN pg_class c ON c.oid = p.partrelid"
            )
        }
        assert partitioned == {"documents": "r", "signatures": "h", "recipients": "h"}
        total, in_2025, elsewhere = conn.execute(
            "SELECT (SELECT count(*) FROM documents), (SELECT count(*) FROM documents_2025),"
            " (SELECT count(*) FROM documents_other)"
        ).fetchone()
        assert total > 0 and in_2025 == total and elsewhere == 0
        # One row per document id, though the key is (document_id, period): the writers keep it so.
        assert conn.execute("SELECT count(DISTINCT document_id) FROM documents").fetchone()[0] == total


def test_a_document_id_is_held_once_across_the_period_partitions(url: str) -> None:
    import psycopg

    Store.open(url).close()
    insert = "INSERT INTO documents (document_id, period, channel) VALUES ('X', %s, 'paper')"
    with _server(url) as conn:
        conn.execute(insert, ("2025-01",))
        with pytest.raises(psycopg.errors.UniqueViolation):
            conn.execute(insert, ("2026-03",))  # another year's partition: the key of document_ids refuses it
        assert conn.execute("SELECT count(*) FROM documents").fetchone()[0] == 1


def test_every_report_reads_the_same_on_both_engines(
    url: str, province: ProvinceBuild, sqlite_reference: Path, tmp_path: Path
) -> None:
    """The commands a supervisor and an auditor run print the same on either engine (times of ingestion aside)."""
    for where in (url, str(sqlite_reference)):
        if where == url:
            _ingest_all(url, province)
        for imported in (("units", province.units_file), ("certs", province.issued_file)):
            done = _cli(imported[0], "import", str(imported[1]), "--db", where)
            assert done.exit_code == 0, done.output
    with sqlite3.connect(sqlite_reference) as conn:
        (document_id,) = conn.execute("SELECT document_id FROM signatures WHERE document_id IS NOT NULL").fetchone()
    commands = (
        ("summary", "--json"),
        ("summary", "--json", "--level", "commune", "--period", "2025-Q1"),
        ("summary",),
        ("units", "--json"),
        ("certs", "--json"),
        ("audit", "--json", document_id),
        ("sql", "--json", "SELECT unit, period, outgoing, invalid_untrusted FROM unit_counters ORDER BY 1, 2"),
    )
    for command in (*commands, ("batches", "--json")):
        on_server, on_file = _cli(*command, "--db", url), _cli(*command, "--db", str(sqlite_reference))
        assert on_server.exit_code == on_file.exit_code == 0, (command, on_server.output)
        if command[0] in ("audit", "batches"):  # they show when each batch was taken: a moment of each run
            assert _timeless(json.loads(on_server.output)) == _timeless(json.loads(on_file.output)), command
        else:
            assert on_server.output == on_file.output, command
    for where, out in ((url, tmp_path / "server"), (str(sqlite_reference), tmp_path / "file")):
        exported = _cli("export", "--period", "2025", "--out", str(out), "--db", where)
        assert exported.exit_code == 0, exported.output
        reported = _cli("report", "--period", "2025", "--out", str(out / "report.html"), "--db", where)
        assert reported.exit_code == 0, reported.output
    sheets = sorted(path.name for path in (tmp_path / "file").glob("*.csv"))
    assert sheets and sheets == sorted(path.name for path in (tmp_path / "server").glob("*.csv"))
    for name in sheets:
        assert (tmp_path / "server" / name).read_bytes() == (tmp_path / "file" / name).read_bytes(), name


def _timeless(value: object) -> object:
    """``value`` without the moments of a run (when a batch was received, processed, judged)."""
    if isinstance(value, dict):
        return {k: _timeless(v) for k, v in value.items() if k not in ("received_at", "processed_at", "judged_at")}
    if isinstance(value, list):
        return [_timeless(item) for item in value]
    return value


def test_two_watchers_on_one_store_count_every_document_once(
    url: str, province: ProvinceBuild, sqlite_reference: Path, tmp_path: Path
) -> None:
    """Two ``docflow watch`` processes, each with its own inbox, write into one store at once. The inboxes share
    batches (the same file dropped in both) and documents (a register and the edXML packages of the same
    documents); whatever the interleaving, the store ends as one writer taking every batch once leaves it."""
    batches = _batches(province)
    inboxes = [tmp_path / "inbox-a", tmp_path / "inbox-b"]
    for number, batch in enumerate(batches):
        chosen = inboxes if number % 3 == 0 else [inboxes[number % 2]]  # every third batch in both inboxes
        for inbox in chosen:
            inbox.mkdir(exist_ok=True)
            copy = shutil.copytree if batch.is_dir() else shutil.copy2
            copy(batch, inbox / batch.name)
    environment = {**os.environ, "DOCFLOW_LANG": "en"}
    watchers = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "docflow",
                "watch",
                "--once",
                str(inbox),
                "--db",
                url,
                "--trust",
                str(province.trust_dir),
                "--workers",
                "1",
            ],
            cwd=tmp_path,
            env=environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        for inbox in inboxes
    ]
    for watcher in watchers:
        _out, err = watcher.communicate(timeout=600)
        assert watcher.returncode == 0, err[-3000:]
    assert _counters(url) == _counters(str(sqlite_reference))
    with Store.open(url) as store:
        assert_counters_exact(store)
        stored = store.conn.execute("SELECT count(*), count(DISTINCT sha256) FROM batches").fetchone()
        documents = store.conn.execute("SELECT count(*) FROM documents").fetchone()[0]
    assert tuple(stored) == (len(batches), len(batches))
    with sqlite3.connect(sqlite_reference) as conn:
        assert documents == conn.execute("SELECT count(*) FROM documents").fetchone()[0]
    for inbox in inboxes:  # each watcher filed what it took, or found the other had taken, in its archive
        assert not [p for p in inbox.iterdir() if p.name not in ("archive", "rejected") and not p.name.startswith(".")]


def test_the_schema_has_the_same_tables_and_columns_on_both_engines(url: str, tmp_path: Path) -> None:
    Store.open(url).close()
    Store.open(str(tmp_path / "docflow.db")).close()
    with sqlite3.connect(tmp_path / "docflow.db") as conn:
        names = [n for (n,) in conn.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")]
        on_file = {name: [row[1] for row in conn.execute(f"PRAGMA table_info({name})")] for name in names}
    with _server(url) as conn:
        rows = conn.execute(
            "SELECT c.relname, a.attname FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid"
            " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = current_schema()"
            " AND c.relkind IN ('r', 'p', 'v') AND NOT c.relispartition"
            " AND c.relname NOT IN ('store_meta', 'document_ids')"
            " AND a.attnum > 0 AND NOT a.attisdropped ORDER BY c.relname, a.attnum"
        ).fetchall()
    on_server: dict[str, list[str]] = {}
    for table, column in rows:
        on_server.setdefault(table, []).append(column)
    assert on_server == on_file


def test_a_database_that_is_not_docflows_is_refused_and_left_alone(url: str) -> None:
    with _server(url) as conn:
        conn.execute("CREATE TABLE payroll (name TEXT)")
    with pytest.raises(StoreError, match="not a docflow store"):
        Store.open(url)
    refused = _cli("summary", "--db", url)
    assert refused.exit_code != 0 and "not a docflow store" in refused.output
    with _server(url) as conn:
        assert [name for (name,) in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")] == [
            "payroll"
        ]


def test_docflow_sql_on_a_province_store_reads_and_never_writes(url: str, province: ProvinceBuild) -> None:
    _ingest_all(url, province)
    read = _cli("sql", "--db", url, "--json", "SELECT count(*) AS n FROM batches")
    assert read.exit_code == 0 and json.loads(read.output) == [{"n": len(_batches(province))}]
    refused = _cli("sql", "--db", url, "DELETE FROM unit_counters")
    assert refused.exit_code == 1 and "read-only" in refused.output
    assert _counters(url)


def test_signed_files_are_kept_in_the_configured_folder_and_judged_again(
    url: str, province: ProvinceBuild, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "docflow.toml").write_text(f'[store]\nurl = "{url}"\npayloads = "kept"\n', encoding="utf-8")
    batch = _batches(province)[0]
    done = _cli("ingest", "--trust", str(province.trust_dir), str(batch))
    assert done.exit_code in (0, 1), done.output
    assert any((tmp_path / "kept").rglob("*")), "no signed file kept"
    again = _cli("reverify", "--trust", str(province.trust_dir), "--all", "--json")
    assert again.exit_code == 0, again.output
    assert "cannot be read" not in again.output and "not kept" not in again.output


def test_sqlite_spellings_are_rewritten_for_postgresql() -> None:
    assert translate("SELECT 1 FROM t WHERE a = ? AND b = :b AND c LIKE '% x %'") == (
        "SELECT 1 FROM t WHERE a = %s AND b = %(b)s AND c LIKE '%% x %%'"
    )
    assert translate("BEGIN IMMEDIATE") == "BEGIN"
    assert translate("WHERE t IS ?") == "WHERE t IS NOT DISTINCT FROM %s"
    assert translate("x IN (SELECT value FROM json_each(?))") == (
        "x IN (SELECT value FROM json_array_elements_text(%s::json) AS value)"
    )
    assert translate("SELECT '?', ':not_a_name'") == "SELECT '?', ':not_a_name'"


def _server(url: str) -> Any:
    import psycopg

    return psycopg.connect(url, autocommit=True)


def test_a_reader_cannot_write(url: str) -> None:
    Store.open(url).close()
    reader = open_reader(parse_location(url))
    try:
        assert isinstance(reader, PgConnection)
        with pytest.raises(Exception, match="read-only"):
            reader.execute("DELETE FROM batches")
    finally:
        reader.close()


def test_a_batch_meeting_another_writer_is_taken_again_then_given_up_with_a_plain_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What a write conflict does to ``ingest_batch``: the batch is taken again, then, if it never goes through,
    the reason a person reads (the watcher leaves the batch in the inbox, as for a busy store)."""
    from docflow.ingest import run
    from docflow.store.errors import CONFLICT_MESSAGE, StoreBusy, StoreConflict

    tries: list[int] = []

    def meets_another_writer(*_args: object) -> object:
        tries.append(1)
        raise StoreConflict(CONFLICT_MESSAGE)

    monkeypatch.setattr(run, "_ingest_as_read", meets_another_writer)
    with Store.open(tmp_path / "docflow.db") as store, pytest.raises(StoreBusy, match="run the command again"):
        ingest_batch(tmp_path / "batch.csv", store, None)
    assert len(tries) == run._CONFLICT_TRIES
