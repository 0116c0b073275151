"""Issue 14, second round: the store, the watcher and large registers (items 4, 7, 8, 9, 10 and 11)."""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers.ingest import SENDER, assert_counters_exact, write_edxml
from helpers.watch import is_receipt

import docflow.store.connection as store_module
from docflow.cli import main
from docflow.ingest.run import IngestOptions, ingest_batch
from docflow.readers.batch import read_batch
from docflow.store.core import Store, StoreBusy, StoreError
from docflow.watch.watcher import Watcher, WatchSettings

SETTLE = 0.05


def _settings(tmp_path: Path, **overrides: object) -> WatchSettings:
    values: dict[str, object] = dict(
        inbox=tmp_path / "inbox",
        db=tmp_path / "docflow.db",
        settle_seconds=SETTLE,
        poll_interval=0.05,
        retry_seconds=0.05,
        max_retry_seconds=0.1,
    )
    values.update(overrides)
    return WatchSettings(**values)  # type: ignore[arg-type]


def _invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["--lang", "en", *args])  # the messages asserted are the English ones
    return result.exit_code, result.output + (
        repr(result.exception) if result.exception and not isinstance(result.exception, SystemExit) else ""
    )


# -- item 11: a store that is not SQLite, empty, or a folder --------------------------------------------------


def _bad_stores(tmp_path: Path) -> dict[str, Path]:
    text = tmp_path / "notes.db"
    text.write_text("this is a shopping list, not a database\n" * 20)
    empty = tmp_path / "empty.db"
    empty.write_bytes(b"")
    folder = tmp_path / "folder.db"
    folder.mkdir()
    foreign = tmp_path / "foreign.db"
    with sqlite3.connect(foreign) as conn:
        conn.execute("CREATE TABLE recipes (name TEXT)")
    conn.close()
    return {"text": text, "empty": empty, "folder": folder, "foreign": foreign}


READ_COMMANDS = (("summary",), ("sql", "SELECT 1"), ("audit", "X"), ("certs",), ("units",))


@pytest.mark.parametrize("kind", ["text", "empty", "folder", "foreign"])
@pytest.mark.parametrize("command", READ_COMMANDS, ids=lambda c: c[0])
def test_read_commands_on_a_file_that_is_not_a_store_say_so_and_exit_2(
    tmp_path: Path, kind: str, command: tuple[str, ...]
) -> None:
    path = _bad_stores(tmp_path)[kind]
    before = path.read_bytes() if path.is_file() else None
    code, output = _invoke(*command, "--db", str(path))
    assert code == 2, output
    assert "not a docflow store" in output or "is a folder" in output, output
    assert "Traceback" not in output and "DatabaseError" not in output and "OperationalError" not in output
    if before is not None:
        assert path.read_bytes() == before  # a read command never writes, not even a header


@pytest.mark.parametrize("kind", ["text", "folder", "foreign"])
def test_writing_commands_on_a_file_that_is_not_a_store_say_so_and_exit_2(tmp_path: Path, kind: str) -> None:
    path = _bad_stores(tmp_path)[kind]
    batch = write_edxml(tmp_path / "b.edxml")
    units_file = tmp_path / "units.csv"
    units_file.write_text("code,name\n000.00.01.H04,Sở Nội vụ\n", encoding="utf-8")
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for args in (
        ("ingest", str(batch), "--no-trust"),
        ("watch", str(inbox), "--once", "--no-trust"),
        ("units", "import", str(units_file)),
        ("certs", "import", str(units_file)),
    ):
        code, output = _invoke(*args, "--db", str(path))
        assert code == 2, (args, output)
        assert "not a docflow store" in output or "is a folder" in output, (args, output)
        assert "DatabaseError" not in output and "OperationalError" not in output, (args, output)


def test_an_empty_file_given_to_ingest_is_initialised_as_a_new_store(tmp_path: Path) -> None:
    path = _bad_stores(tmp_path)["empty"]
    batch = write_edxml(tmp_path / "b.edxml")
    code, output = _invoke("ingest", str(batch), "--db", str(path), "--no-trust")
    assert code == 0, output
    assert "ingested: 1 document stored" in output  # _invoke reads English


def test_store_open_refuses_a_foreign_sqlite_database_without_touching_it(tmp_path: Path) -> None:
    path = _bad_stores(tmp_path)["foreign"]
    before = path.read_bytes()
    with pytest.raises(StoreError, match="not a docflow store|không phải kho dữ liệu docflow"):
        Store.open(path)
    assert path.read_bytes() == before


# -- item 10: a busy store is waited for, never a rejection ---------------------------------------------------


@pytest.fixture
def short_busy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store_module, "BUSY_TRY_SECONDS", 0.2, raising=False)
    monkeypatch.setattr(store_module, "BUSY_TRIES", 2, raising=False)


@pytest.fixture
def locked_db(tmp_path: Path) -> Iterator[Path]:
    """A store another writer holds the write lock on for the whole test."""
    path = tmp_path / "docflow.db"
    Store.open(path).close()
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    yield path
    holder.execute("ROLLBACK")
    holder.close()


def test_ingest_into_a_busy_store_says_busy_not_rejected(tmp_path: Path, short_busy: None, locked_db: Path) -> None:
    batch = write_edxml(tmp_path / "b.edxml")
    code, output = _invoke("ingest", str(batch), "--db", str(locked_db), "--no-trust")
    assert code != 0
    assert "rejected" not in output and "Traceback" not in output, output
    assert "the store stayed busy for" in output and "try again later" in output, output
    assert batch.exists()


def test_units_import_into_a_busy_store_says_busy_without_a_traceback(
    tmp_path: Path, short_busy: None, locked_db: Path
) -> None:
    units_file = tmp_path / "units.csv"
    units_file.write_text("code,name\n000.00.01.H04,Sở Nội vụ\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["units", "import", str(units_file), "--db", str(locked_db)])
    assert result.exit_code != 0
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert "the store stayed busy for" in result.output, result.output


def test_a_busy_store_is_retried_and_written_once_free(
    tmp_path: Path, short_busy: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_module, "BUSY_TRIES", 20)
    path = tmp_path / "docflow.db"
    Store.open(path).close()
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    threading.Timer(0.5, lambda: holder.execute("ROLLBACK")).start()
    with Store.open(path) as store:
        outcome = ingest_batch(write_edxml(tmp_path / "b.edxml"), store, None)
    holder.close()
    assert outcome.outcome == "ingested"


def test_the_watcher_keeps_a_batch_in_the_inbox_while_the_store_is_busy(
    tmp_path: Path, short_busy: None, locked_db: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = _settings(tmp_path, db=locked_db)
    batch = write_edxml(settings.inbox / "b.edxml")
    watcher = Watcher(settings, None)
    thread = threading.Thread(target=watcher.run, daemon=True)
    thread.start()
    time.sleep(2.0)
    watcher.stop()
    thread.join(timeout=10)
    assert batch.exists()
    assert not (settings.inbox / "rejected").exists()
    assert "kho dữ liệu đang bận (một docflow khác đang ghi)" in caplog.text


# -- item 4: the store replaced under a running watcher -------------------------------------------------------


def test_a_store_moved_away_under_the_watcher_stops_it_before_filing_anything(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    first = write_edxml(settings.inbox / "a.edxml")
    watcher = Watcher(settings, None)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            watcher.run()
        except BaseException as error:  # noqa: BLE001 - the test inspects it
            errors.append(error)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while first.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not first.exists()
    moved = tmp_path / "moved-away"
    moved.mkdir()
    for suffix in ("", "-wal", "-shm"):
        source = Path(f"{settings.db}{suffix}")
        if source.exists():
            source.rename(moved / f"docflow.db{suffix}")
    second = write_edxml(settings.inbox / "b.edxml", number="2")
    thread.join(timeout=20)
    if thread.is_alive():
        watcher.stop()
        thread.join(timeout=10)
        pytest.fail("the watcher kept running on a store that was moved away")
    assert second.exists(), "a batch was filed against a store that is no longer there"
    assert errors and isinstance(errors[0], StoreError) and "moved, replaced or deleted" in str(errors[0])


def test_a_store_replaced_under_docflow_ingest_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "docflow.db"
    with Store.open(path) as store:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").rename(tmp_path / f"old.db{suffix}")
        Store.open(path).close()
        with pytest.raises(StoreError, match="moved, replaced or deleted"):
            ingest_batch(write_edxml(tmp_path / "b.edxml"), store, None)


# -- item 8: watch --once when archive/ cannot be made --------------------------------------------------------


def test_watch_once_ends_with_the_reason_when_archive_cannot_be_created(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    write_edxml(inbox / "a.edxml")
    (inbox / "archive").write_text("a file where the archive folder should be")
    try:
        run = subprocess.run(
            [
                sys.executable,
                "-m",
                "docflow",
                "watch",
                str(inbox),
                "--once",
                "--no-trust",
                "--db",
                str(tmp_path / "docflow.db"),
            ],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=tmp_path,
        )
    except subprocess.TimeoutExpired:
        pytest.fail("watch --once never ended")
    assert run.returncode != 0
    assert "archive" in run.stderr and "không cất được lô" in run.stderr, run.stderr
    assert "Traceback" not in run.stderr, run.stderr


# -- item 7: names that are not UTF-8 -------------------------------------------------------------------------


@pytest.mark.skipif(os.name != "posix", reason="only POSIX file systems allow any bytes in a name")
@pytest.mark.parametrize("raw", [b"bad\xff.edxml", b"\xc3(\xa0.zip", b"so-d\xe9n.csv"])
def test_a_name_that_is_not_utf8_is_filed_with_its_bytes_and_a_readable_name(tmp_path: Path, raw: bytes) -> None:
    settings = _settings(tmp_path)
    settings.inbox.mkdir(parents=True)
    name = os.fsdecode(raw)
    if raw.endswith(b".edxml"):
        write_edxml(settings.inbox / name)
    elif raw.endswith(b".csv"):
        (settings.inbox / name).write_text(
            f"ma_don_vi,huong,so,ky_hieu,ngay_ban_hanh,kenh\n{SENDER},di,1,CV,2026-03-01,dien_tu\n", encoding="utf-8"
        )
    else:
        (settings.inbox / name).write_bytes(b"not a zip")
    report = Watcher(settings, None).run(once=True)
    [outcome] = report.outcomes
    filed = [
        entry
        for folder in (settings.archive_dir, settings.rejected_dir)
        if folder.exists()
        for entry in os.listdir(os.fsencode(folder))
        if not is_receipt(os.fsdecode(entry))
    ]
    assert len(filed) == 1 and filed[0].endswith(b"-" + raw), filed
    assert os.listdir(os.fsencode(settings.inbox)) in ([b"archive"], [b"rejected"])
    readable = raw.decode("utf-8", errors="backslashreplace")
    with sqlite3.connect(settings.db) as conn:
        [(file_name, archived_as)] = conn.execute("SELECT file_name, archived_as FROM batches").fetchall()
    conn.close()
    assert file_name == readable and archived_as.endswith(readable)
    assert outcome.file == readable


# -- item 9: a large register is streamed and committed in chunks, each row counted once ---------------------

_REGISTER_HEADER = "ma_don_vi,huong,so,ky_hieu,ngay_ban_hanh,kenh,noi_nhan\n"


def _register(path: Path, rows: int) -> Path:
    """Outgoing and incoming rows of a few units, some describing the same document twice, some bad."""
    units = [f"000.00.{n:02d}.H04" for n in range(1, 8)]
    lines = [_REGISTER_HEADER]
    for number in range(rows):
        unit, other = units[number % 7], units[(number + 3) % 7]
        day = f"2024-{number % 12 + 1:02d}-{number % 28 + 1:02d}"
        if number % 50 == 49:
            lines.append(f"{unit},di,{number},CV,2024-02-31,dien_tu,{other}\n")  # not a real date: rejected
        elif number % 10 == 9:
            # The recipient's copy of an earlier document: merged into it, not a new one.
            sender = units[(number - 1) % 7]
            lines.append(f"{units[(number + 2) % 7]},den,{number - 1},CV,{day},giay,{sender}\n")
        else:
            lines.append(f"{unit},di,{number},CV,{day},{('dien_tu', 'giay', 'ca_hai')[number % 3]},{other}\n")
    path.write_text("".join(lines), encoding="utf-8")
    return path


def _store_state(store: Store) -> dict[str, object]:
    def rows(sql: str) -> list[tuple[object, ...]]:
        return [tuple(row) for row in store.conn.execute(sql)]

    return {
        "batches": rows(
            "SELECT file_name, sha256, outcome, documents, signatures, rejected_items, items_done, owner FROM batches"
        ),
        "documents": rows("SELECT * FROM documents ORDER BY document_id"),
        "recipients": rows("SELECT * FROM recipients ORDER BY document_id, unit"),
        "sources": rows("SELECT document_id, item_name, source FROM document_sources ORDER BY 1, 2, 3"),
        "rejected": rows("SELECT item_name, reason FROM rejected_items ORDER BY 1, 2"),
        "units": rows("SELECT * FROM units ORDER BY code"),
        "counters": store.counter_rows(),
    }


class _Killed(Exception):
    """Stands for a SIGKILL between two chunks."""


def _kill_at(item: int) -> Callable[[int], None]:
    def progress(items: int) -> None:
        if items == item:
            raise _Killed

    return progress


def test_a_register_stopped_between_chunks_resumes_and_counts_each_row_once(tmp_path: Path) -> None:
    register = _register(tmp_path / "so-van-ban.csv", 1_000)
    with Store.open(tmp_path / "clean.db") as clean:
        expected = ingest_batch(register, clean, None)
        clean_state = _store_state(clean)
    chunked = IngestOptions(chunk_items=100)
    with Store.open(tmp_path / "chunked.db") as store:
        with pytest.raises(_Killed):
            ingest_batch(register, store, None, chunked, progress=_kill_at(450))
        [(outcome, done)] = store.conn.execute("SELECT outcome, items_done FROM batches").fetchall()
        assert (outcome, done) == ("in progress", 400)  # four chunks committed, the fifth rolled back
        assert store.conn.execute("SELECT count(*) FROM document_sources").fetchone()[0] > 0
        assert_counters_exact(store)  # a committed chunk is a consistent state
        with pytest.raises(_Killed):  # stopped again, in the middle of the resumed run
            ingest_batch(register, store, None, chunked, progress=_kill_at(730))
        resumed = ingest_batch(register, store, None, chunked)
        again = ingest_batch(register, store, None, chunked)
        assert_counters_exact(store)
        state = _store_state(store)
    assert (resumed.outcome, resumed.documents, resumed.rejected_items) == (
        "ingested",
        expected.documents,
        expected.rejected_items,
    )
    assert again.outcome == "duplicate"
    assert state == clean_state


def test_a_register_being_read_by_a_live_process_is_not_taken_over(tmp_path: Path) -> None:
    register = _register(tmp_path / "so.csv", 300)
    chunked = IngestOptions(chunk_items=100)
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        with Store.open(tmp_path / "d.db") as store:
            with pytest.raises(_Killed):
                ingest_batch(register, store, None, chunked, progress=_kill_at(150))
            store.conn.execute("UPDATE batches SET owner = ?", (f"{socket.gethostname()}:{sleeper.pid}",))
            with pytest.raises(StoreBusy, match="another docflow"):
                ingest_batch(register, store, None, chunked)
            sleeper.kill()
            sleeper.wait()
            outcome = ingest_batch(register, store, None, chunked)
            assert outcome.outcome == "ingested"
            assert_counters_exact(store)
            assert store.conn.execute("SELECT count(*) FROM batches WHERE outcome = 'ingested'").fetchone()[0] == 1
    finally:
        sleeper.kill()
        sleeper.wait()


def test_a_register_is_read_as_a_stream_not_held_whole(tmp_path: Path) -> None:
    register = _register(tmp_path / "so.csv", 200_000)  # about 9 MB of CSV
    tracemalloc.start()
    try:
        items = read_batch(register)
        first = [next(items) for _ in range(10)]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(first) == 10
    assert peak < register.stat().st_size / 2, f"{peak:,} bytes held to read the first rows"


_SLOW_INGEST = """
import sys, time
from pathlib import Path
from docflow.ingest.run import IngestOptions, ingest_batch
from docflow.store.core import Store
with Store.open(Path(sys.argv[2])) as store:
    ingest_batch(Path(sys.argv[1]), store, None, IngestOptions(chunk_items=100), progress=lambda _: time.sleep(0.002))
"""


def test_a_register_sigkilled_between_chunks_resumes_and_counts_each_row_once(tmp_path: Path) -> None:
    register = _register(tmp_path / "so.csv", 2_000)
    with Store.open(tmp_path / "clean.db") as clean:
        ingest_batch(register, clean, None)
        clean_state = _store_state(clean)
    db = tmp_path / "killed.db"
    child = subprocess.Popen([sys.executable, "-c", _SLOW_INGEST, str(register), str(db)])
    try:
        deadline = time.monotonic() + 60
        done = 0
        while done < 300 and time.monotonic() < deadline and child.poll() is None:
            time.sleep(0.05)
            if db.exists():
                reader = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
                try:
                    done = (reader.execute("SELECT max(items_done) FROM batches").fetchone() or (0,))[0] or 0
                except sqlite3.OperationalError:
                    done = 0  # not migrated yet
                finally:
                    reader.close()
        assert child.poll() is None and done >= 300, "the child did not commit chunks in time"
        child.kill()
    finally:
        child.kill()
        child.wait()
    with Store.open(db) as store:
        assert store.conn.execute("SELECT outcome FROM batches").fetchone()[0] == "in progress"
        assert ingest_batch(register, store, None, IngestOptions(chunk_items=100)).outcome == "ingested"
        assert_counters_exact(store)
        assert _store_state(store) == clean_state
        assert store.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


@pytest.mark.skipif(os.name != "posix", reason="only POSIX file systems allow any bytes in a name")
def test_a_folder_holding_a_name_that_is_not_utf8_is_ingested_with_readable_item_names(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    folder = settings.inbox / "lo"
    write_edxml(Path(os.fsdecode(os.fsencode(folder) + b"/bad\xff.edxml")))
    write_edxml(folder / "good.edxml", number="2")
    [outcome] = Watcher(settings, None).run(once=True).outcomes
    assert (outcome.outcome, outcome.documents) == ("ingested", 2)
    with Store.open(settings.db) as store:
        names = sorted(name for (name,) in store.conn.execute("SELECT item_name FROM document_sources"))
    assert names == ["bad\\xff.edxml", "good.edxml"]
    [archived] = [
        entry for entry in os.listdir(os.fsencode(settings.archive_dir)) if not is_receipt(os.fsdecode(entry))
    ]
    assert sorted(os.listdir(os.fsencode(settings.archive_dir) + b"/" + archived)) == [b"bad\xff.edxml", b"good.edxml"]
