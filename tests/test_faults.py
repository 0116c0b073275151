"""Faults: crashes, a full disk, floods, concurrent readers, slow writers and clock quirks.

Sizes are quick by default and full with ``DOCFLOW_FULL=1`` (see docs/reliability.md for
the commands and the figures measured at full size). Watcher tests poll with generous
timeouts and never assert on timing.
"""

from __future__ import annotations

import errno
import logging
import os
import random
import shutil
import signal
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from helpers.ingest import OTHER, RECIPIENT, SENDER, assert_counters_exact, edxml, write_edxml
from helpers.watch import batch_names, filed, is_receipt, snapshot, watch_once

import docflow.watch.filing as filing_module
import docflow.watch.watcher as watch_module
from docflow.ingest.run import ingest_batch
from docflow.readers.archive import is_temporary
from docflow.reports.audit import open_readonly, run_sql
from docflow.reports.metrics import parse_period
from docflow.reports.summary import summarise
from docflow.store.core import Store
from docflow.watch.watcher import Watcher, WatchSettings
from samples.pdfgen import make_pdf, sign_pdf
from samples.pki import Issued, SamplePKI, build_pki, issue_person, write_trust_dir
from samples.sign import sign_cms
from signatures import TrustStore, verify_cms
from signatures.verdict import CheckName, Indication, SubIndication, TimeSource

FULL = os.environ.get("DOCFLOW_FULL") == "1"
KILLS = 100 if FULL else 15
FLOOD_FILES = 10_000 if FULL else 500
SLOW_WRITE_SECONDS = 30.0 if FULL else 3.0
WAIT_SECONDS = 900 if FULL else 180
"""Upper bound on any wait for the watcher; generous because CI machines stall."""


# -- helpers --------------------------------------------------------------------------------


def wait_for(condition: Callable[[], bool], what: str, timeout: float = WAIT_SECONDS) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up after {timeout:.0f} s waiting for {what}")
        time.sleep(0.05)


@contextmanager
def running(watcher: Watcher) -> Iterator[Watcher]:
    """The watcher in a thread (observer included) until the block ends."""
    failure: list[BaseException] = []

    def target() -> None:
        try:
            watcher.run()
        except BaseException as error:  # noqa: BLE001 - surfaced in the test thread below
            failure.append(error)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    wait_for(lambda: watcher.settings.db.exists() or bool(failure), "the watcher to open its store", 60)
    try:
        yield watcher
    finally:
        watcher.stop()
        thread.join(timeout=60)
    assert not failure, f"the watcher died: {failure[0]!r}"


def fast_settings(inbox: Path, db: Path, **overrides: object) -> WatchSettings:
    values: dict[str, object] = {"settle_seconds": 0.2, "poll_interval": 0.1, "retry_seconds": 0.1}
    values.update(overrides)
    return WatchSettings(inbox=inbox, db=db, **values)  # type: ignore[arg-type]


def archived(inbox: Path) -> list[Path]:
    folder = inbox / "archive"
    return [path for path in folder.iterdir() if not is_receipt(path.name)] if folder.exists() else []


def count(db: Path, sql: str) -> int:
    with Store.open_readonly(db) as store:
        return int(store.conn.execute(sql).fetchone()[0])


def integrity(db: Path) -> str:
    with Store.open_readonly(db) as store:
        return str(store.conn.execute("PRAGMA integrity_check").fetchone()[0])


# -- crash ----------------------------------------------------------------------------------


def _stream_template(folder: Path, batches: int, person: Issued, organisation: Issued) -> list[Path]:
    """Small batches, in drop order; neighbours share a document and every fourth carries a signed PDF."""
    pdf = sign_pdf(sign_pdf(make_pdf("QĐ", ["Điều 1."]), person), organisation)
    paths = []
    for batch in range(batches):
        target = folder / f"s{batch:03d}"
        for number in (2 * batch, 2 * batch + 1, 2 * batch + 2):
            write_edxml(
                target / f"d{number}.edxml",
                number=str(number),
                recipients=(RECIPIENT, OTHER),
                attachment=("qd.signed.pdf", pdf) if number % 4 == 0 else None,
            )
        paths.append(target)
    (folder / "s999-broken.zip").write_bytes(b"PK\x03\x04 truncated")
    return sorted(folder.iterdir())


@pytest.mark.slow
def test_stream_under_random_sigkills_equals_a_clean_run(
    tmp_path: Path, trust_dir: Path, person: Issued, organisation: Issued
) -> None:
    (tmp_path / "docflow.toml").write_text("[watch]\nsettle_seconds = 0.05\npoll_interval = 0.05\n", encoding="utf-8")
    stream = _stream_template(tmp_path / "template", 2 * KILLS, person, organisation)

    clean_inbox = tmp_path / "clean"
    shutil.copytree(tmp_path / "template", clean_inbox)
    clean = watch_once(tmp_path, clean_inbox, tmp_path / "clean.db", trust_dir)
    assert clean.wait(timeout=WAIT_SECONDS) == 0, clean.stderr.read() if clean.stderr else ""
    reference = snapshot(tmp_path / "clean.db")

    inbox, db = tmp_path / "crashing", tmp_path / "crashing.db"
    inbox.mkdir()
    chance = random.Random(5)
    arrivals = iter(stream)
    for _ in range(KILLS):
        for batch in [next(arrivals, None), next(arrivals, None)]:
            if batch is not None:
                shutil.copytree(batch, inbox / batch.name) if batch.is_dir() else shutil.copy2(batch, inbox)
        process = watch_once(tmp_path, inbox, db, trust_dir)
        time.sleep(chance.uniform(0.0, 2.0))
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    for batch in arrivals:
        shutil.copytree(batch, inbox / batch.name) if batch.is_dir() else shutil.copy2(batch, inbox)
    final = watch_once(tmp_path, inbox, db, trust_dir)
    assert final.wait(timeout=WAIT_SECONDS) == 0, final.stderr.read() if final.stderr else ""

    assert batch_names(inbox) == []
    assert filed(inbox) == sorted(path.name for path in stream)
    assert snapshot(db) == reference
    assert integrity(db) == "ok"


# -- disk full ------------------------------------------------------------------------------


class _Disk:
    """A disk that can be filled: SQLite's max_page_count makes every write past it fail with SQLITE_FULL."""

    def __init__(self) -> None:
        self.stores: list[Store] = []
        self.full = True

    def open(self, path: Path | str, *, payloads: Path | None = None) -> Store:
        store = Store.open(path, payloads=payloads)
        self.stores.append(store)
        if self.full:
            pages = store.conn.execute("PRAGMA page_count").fetchone()[0]
            store.conn.execute(f"PRAGMA max_page_count = {pages}")
        return store

    def free(self) -> None:
        self.full = False
        for store in self.stores:
            store.conn.execute("PRAGMA max_page_count = 1073741823")


def _full_disk(monkeypatch: pytest.MonkeyPatch, db: Path) -> _Disk:
    Store.open(db).close()  # the schema fits; the batches will not
    disk = _Disk()
    fake = type("FullDiskStore", (), {"open": staticmethod(disk.open)})
    monkeypatch.setattr(watch_module, "Store", fake)
    return disk


def _many_documents(path: Path, documents: int = 60) -> Path:
    for number in range(documents):
        write_edxml(path / f"d{number}.edxml", number=str(number), recipients=(RECIPIENT, OTHER))
    return path


def test_disk_full_keeps_the_batch_in_the_inbox_and_resumes_when_space_returns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    inbox, db = tmp_path / "inbox", tmp_path / "d.db"
    disk = _full_disk(monkeypatch, db)
    batch = _many_documents(inbox / "big")
    caplog.set_level(logging.ERROR, logger="docflow")
    with running(Watcher(fast_settings(inbox, db, max_attempts=1_000, retry_seconds=0.2), None)):
        wait_for(lambda: any(r.name == "docflow.watch.watcher" for r in caplog.records), "the failure to be logged", 60)
        assert batch.exists() and archived(inbox) == []
        assert count(db, "SELECT count(*) FROM documents") == 0
        disk.free()
        wait_for(lambda: len(archived(inbox)) == 1, "the batch to be ingested once space returned")
    assert not batch.exists()
    assert count(db, "SELECT count(*) FROM documents") == 60
    assert count(db, "SELECT count(*) FROM batches") == 1
    assert integrity(db) == "ok"
    with Store.open_readonly(db) as store:
        assert_counters_exact(store)


def test_a_long_disk_full_never_quarantines_good_batches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    inbox, db = tmp_path / "inbox", tmp_path / "d.db"
    _full_disk(monkeypatch, db)
    batch = _many_documents(inbox / "big")
    with running(Watcher(fast_settings(inbox, db, max_attempts=3, retry_seconds=0.05), None)):
        time.sleep(2.0)  # many more retries than max_attempts at 0.05 s, 0.1 s, 0.2 s
    assert batch.exists(), f"quarantined: {sorted(p.name for p in (inbox / 'rejected').glob('*'))}"


def test_disk_full_is_reported_as_a_full_disk(tmp_path: Path) -> None:
    batch = _many_documents(tmp_path / "big")
    with Store.open(tmp_path / "d.db") as store:
        pages = store.conn.execute("PRAGMA page_count").fetchone()[0]
        store.conn.execute(f"PRAGMA max_page_count = {pages}")
        with pytest.raises(sqlite3.OperationalError, match="full"):
            ingest_batch(batch, store, None)


def _enospc_once(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    failed: list[str] = []
    real_move = shutil.move

    def move(source: str, target: str) -> object:
        if not failed:
            failed.append(source)
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), target)
        return real_move(source, target)

    monkeypatch.setattr(filing_module.shutil, "move", move)
    return failed


def test_disk_full_while_archiving_keeps_the_watcher_alive(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    inbox, db = tmp_path / "inbox", tmp_path / "d.db"
    failed = _enospc_once(monkeypatch)
    write_edxml(inbox / "a.edxml", number="1")
    with running(Watcher(fast_settings(inbox, db), None)):
        wait_for(lambda: bool(failed), "the move to fail", 60)
        write_edxml(inbox / "b.edxml", number="2")
        wait_for(lambda: len(archived(inbox)) == 2, "both batches to be archived", 15)
    assert count(db, "SELECT count(*) FROM batches") == 2


def test_disk_full_mid_batch_rolls_back_whole_and_ingests_once_later(tmp_path: Path) -> None:
    db = tmp_path / "d.db"
    batch = _many_documents(tmp_path / "big")
    with Store.open(db) as store:
        pages = store.conn.execute("PRAGMA page_count").fetchone()[0]
        store.conn.execute(f"PRAGMA max_page_count = {pages + 2}")
        with pytest.raises(sqlite3.OperationalError):
            ingest_batch(batch, store, None)
        assert store.conn.execute("SELECT count(*) FROM batches").fetchone()[0] == 0
        store.conn.execute("PRAGMA max_page_count = 1073741823")
        outcome = ingest_batch(batch, store, None)
        assert (outcome.outcome, outcome.documents) == ("ingested", 60)
        assert ingest_batch(batch, store, None).outcome == "duplicate"
        assert_counters_exact(store)
    assert integrity(db) == "ok"


# -- flood ----------------------------------------------------------------------------------


def _drop(inbox: Path, first: int, files: int) -> list[str]:
    names = []
    for number in range(first, first + files):
        name = f"f{number:05d}.edxml"
        (inbox / name).write_bytes(edxml(number=str(number)))
        names.append(name)
    return names


def _assert_each_once(inbox: Path, db: Path, names: list[str]) -> None:
    assert sorted(p.name.split("-", 1)[1] for p in archived(inbox)) == sorted(names)
    assert [p.name for p in inbox.iterdir() if p.name != "archive"] == []
    with Store.open_readonly(db) as store:
        assert store.conn.execute("SELECT count(*), count(DISTINCT sha256) FROM batches").fetchone() == (
            len(names),
            len(names),
        )
        assert store.conn.execute("SELECT count(*) FROM documents").fetchone()[0] == len(names)
        assert store.conn.execute("SELECT count(*) FROM batches WHERE outcome != 'ingested'").fetchone()[0] == 0
        assert_counters_exact(store)


@pytest.mark.slow
@pytest.mark.parametrize("polling", [False, True], ids=["native", "polling"])
def test_flood_of_files_dropped_at_once_each_ingested_exactly_once(tmp_path: Path, polling: bool) -> None:
    inbox, db = tmp_path / "inbox", tmp_path / "d.db"
    inbox.mkdir()
    with running(Watcher(fast_settings(inbox, db, polling=polling), None)):
        names = _drop(inbox, 0, FLOOD_FILES)
        wait_for(lambda: len(archived(inbox)) >= len(names), f"{len(names)} files to be archived")
    _assert_each_once(inbox, db, names)


@pytest.mark.slow
@pytest.mark.parametrize("polling", [False, True], ids=["native", "polling"])
def test_files_dropped_while_a_large_batch_is_in_progress_are_each_ingested_once(tmp_path: Path, polling: bool) -> None:
    inbox, db = tmp_path / "inbox", tmp_path / "d.db"
    staging = _many_documents(tmp_path / "staging" / "large", 200 if not FULL else 2000)
    dropped: list[str] = []

    @contextmanager
    def drop_during(name: str) -> Iterator[Callable[[int], None]]:
        def progress(items: int) -> None:
            if name == "large" and items == 10:
                dropped.extend(_drop(inbox, 0, FLOOD_FILES // 3))

        yield progress

    inbox.mkdir()
    with running(Watcher(fast_settings(inbox, db, polling=polling), None, progress=drop_during)):
        shutil.move(str(staging), str(inbox / "large"))  # a rename: the folder appears whole
        wait_for(lambda: bool(dropped) and len(archived(inbox)) >= len(dropped) + 1, "every batch to be archived")
    _assert_each_once_with_large(inbox, db, dropped)


def _assert_each_once_with_large(inbox: Path, db: Path, dropped: list[str]) -> None:
    assert len(dropped) == FLOOD_FILES // 3
    assert sorted(p.name.split("-", 1)[1] for p in archived(inbox)) == sorted([*dropped, "large"])
    assert count(db, "SELECT count(*) FROM batches") == len(dropped) + 1
    assert count(db, "SELECT count(DISTINCT sha256) FROM batches") == len(dropped) + 1


# -- concurrency ----------------------------------------------------------------------------

DOCS_PER_BATCH = 5


def test_summaries_and_auditor_queries_while_the_watcher_writes(tmp_path: Path) -> None:
    inbox, db = tmp_path / "inbox", tmp_path / "d.db"
    batches = 200 if not FULL else 2000
    inbox.mkdir()
    period = parse_period("2024-03")
    reads = 0
    with running(Watcher(fast_settings(inbox, db, settle_seconds=0.05), None)):
        for batch in range(batches):
            folder = tmp_path / "staging" / f"b{batch:04d}"
            for doc in range(DOCS_PER_BATCH):
                write_edxml(folder / f"d{doc}.edxml", number=f"{batch}-{doc}")
            folder.rename(inbox / folder.name)
        while len(archived(inbox)) < batches:
            reads += _read_consistently(db, period)
    assert reads > 0
    assert count(db, "SELECT count(*) FROM documents") == batches * DOCS_PER_BATCH


def _read_consistently(db: Path, period: object) -> int:
    """One summary and two auditor queries; each must show whole batches only, and agree with itself."""
    conn = open_readonly(db)
    try:
        summary = summarise(conn, period)  # type: ignore[arg-type]
        by_code = {row.unit.code: row.counters for row in summary.units}
        sent = by_code[SENDER].outgoing if SENDER in by_code else 0
        received = by_code[RECIPIENT].incoming if RECIPIENT in by_code else 0
        assert sent % DOCS_PER_BATCH == 0, f"a summary saw part of a batch ({sent} documents)"
        assert sent == received, "a summary mixed two committed states"
        documents = run_sql(conn, "SELECT count(*) FROM documents").rows[0][0]
        batches = run_sql(conn, "SELECT count(*) FROM batches").rows[0][0]
        assert documents % DOCS_PER_BATCH == 0 and documents >= sent
        assert isinstance(batches, int)
    finally:
        conn.close()
    return 1


# -- slow writers ---------------------------------------------------------------------------


def _write_slowly(path: Path, data: bytes, seconds: float, chunks: int = 30) -> None:
    step = max(1, len(data) // chunks)
    with path.open("wb") as handle:
        for start in range(0, len(data), step):
            handle.write(data[start : start + step])
            handle.flush()
            time.sleep(seconds / chunks)


def _one_complete_batch(inbox: Path, db: Path, data: bytes) -> None:
    with Store.open_readonly(db) as store:
        rows = store.conn.execute("SELECT outcome, size_bytes FROM batches").fetchall()
    assert rows == [("ingested", len(data))], "the file was read before it was complete"
    assert len(archived(inbox)) == 1


def _padded_edxml() -> bytes:
    # Big enough that a half-copied file is malformed XML (a partial read would be rejected, not ingested).
    return edxml(attachment=("scan.pdf", make_pdf("scan", pad_to=200_000)))


def test_file_copied_in_slowly_is_read_once_complete(tmp_path: Path) -> None:
    inbox, db = tmp_path / "inbox", tmp_path / "d.db"
    data = _padded_edxml()
    inbox.mkdir()
    pause = SLOW_WRITE_SECONDS / 30
    with running(Watcher(fast_settings(inbox, db, settle_seconds=pause * 4, poll_interval=pause / 2), None)):
        _write_slowly(inbox / "slow.edxml", data, SLOW_WRITE_SECONDS)
        wait_for(lambda: len(archived(inbox)) == 1, "the slow file to be archived")
    _one_complete_batch(inbox, db, data)


def test_share_that_writes_a_temporary_name_and_renames_in_place_is_read_once(tmp_path: Path) -> None:
    inbox, db = tmp_path / "inbox", tmp_path / "d.db"
    data = _padded_edxml()
    inbox.mkdir()
    # settle_seconds far below the write pauses: only the temporary name protects the partial file.
    with running(Watcher(fast_settings(inbox, db, settle_seconds=0.05, poll_interval=0.05), None)):
        for temporary in ("slow.edxml.part", "~$slow.edxml", ".slow.edxml.tmp"):
            assert is_temporary(temporary)
        _write_slowly(inbox / "slow.edxml.part", data, SLOW_WRITE_SECONDS)
        (inbox / "slow.edxml.part").rename(inbox / "slow.edxml")
        wait_for(lambda: len(archived(inbox)) == 1, "the renamed file to be archived")
    _one_complete_batch(inbox, db, data)


def test_folder_batch_filled_slowly_is_read_once_complete(tmp_path: Path) -> None:
    inbox, db = tmp_path / "inbox", tmp_path / "d.db"
    inbox.mkdir()
    files = 10
    pause = SLOW_WRITE_SECONDS / files
    with running(Watcher(fast_settings(inbox, db, settle_seconds=pause * 4, poll_interval=pause / 2), None)):
        for number in range(files):
            write_edxml(inbox / "folder" / f"d{number}.edxml", number=str(number))
            time.sleep(pause)
        wait_for(lambda: len(archived(inbox)) == 1, "the folder to be archived")
    assert count(db, "SELECT count(*) FROM batches") == 1
    assert count(db, "SELECT count(*) FROM documents") == files


# -- clock and time quirks ------------------------------------------------------------------

VIETNAM_OFFSET = timedelta(hours=7)


def test_local_time_tagged_as_utc_is_corrected_by_the_timestamp(
    pki: SamplePKI, person: Issued, trust_dir: Path
) -> None:
    really = pki.now - timedelta(days=2)
    signature = sign_cms(
        b"van ban", person, signing_time=really + VIETNAM_OFFSET, timestamp_by=pki.tsa, timestamp_time=really
    )
    verdict = verify_cms(signature, b"van ban", trust=trust_dir)[0]
    assert verdict.passed, verdict.reason
    assert verdict.signing_time == really and verdict.signing_time_source is TimeSource.TIMESTAMP
    check = verdict.check(CheckName.TIMESTAMP)
    assert check is not None and "local time" in check.detail


def test_local_time_tagged_as_utc_without_timestamp_passes_and_keeps_the_claimed_time(
    pki: SamplePKI, person: Issued, trust_dir: Path
) -> None:
    # Signed an hour ago in Hà Nội by a tool writing local time as UTC: the claim is six hours ahead.
    # An honest signature must not fail for its tool's clock habit; the claimed time is kept as claimed
    # (UTCTime has whole seconds) so an auditor sees exactly what the file says.
    claimed = (pki.now - timedelta(hours=1) + VIETNAM_OFFSET).replace(microsecond=0)
    verdict = verify_cms(sign_cms(b"van ban", person, signing_time=claimed), b"van ban", trust=trust_dir, now=pki.now)[
        0
    ]
    assert verdict.passed, verdict.reason
    assert verdict.signing_time == claimed
    assert verdict.signing_time_source is TimeSource.SIGNED_ATTRIBUTE
    validity = verdict.check(CheckName.VALIDITY)
    assert validity is not None and "Vietnam local time" in validity.detail


def test_a_signing_time_claimed_in_the_future_cannot_make_a_future_certificate_valid(
    trust_dir: Path, pki: SamplePKI
) -> None:
    future = issue_person(
        pki,
        "Đỗ Tương Lai",
        agency="Sở Tư pháp",
        not_before=pki.now + timedelta(days=30),
        not_after=pki.now + timedelta(days=400),
    )
    claimed = (pki.now + timedelta(days=60)).replace(microsecond=0)
    verdict = verify_cms(sign_cms(b"van ban", future, signing_time=claimed), b"van ban", trust=trust_dir, now=pki.now)[
        0
    ]
    assert verdict.subindication is SubIndication.NOT_YET_VALID
    assert verdict.signing_time == claimed


def test_crl_past_its_next_update_is_not_taken_as_proof_of_good_standing(
    tmp_path: Path, pki: SamplePKI, person: Issued
) -> None:
    stale = write_trust_dir(
        pki, tmp_path / "stale", this_update=pki.now - timedelta(days=60), next_update=pki.now - timedelta(days=30)
    )
    signature = sign_cms(b"van ban", person, signing_time=pki.now - timedelta(days=2))
    verdict = verify_cms(signature, b"van ban", trust=TrustStore.load(stale), now=pki.now)[0]
    assert not verdict.passed
    assert verdict.indication is Indication.INDETERMINATE
    assert verdict.subindication in (
        SubIndication.TRY_LATER,
        SubIndication.REVOKED_NO_POE,
        SubIndication.OUT_OF_BOUNDS_NO_POE,
    )


def test_certificate_valid_only_in_the_future_is_not_yet_valid(trust_dir: Path, pki: SamplePKI) -> None:
    future = issue_person(
        pki,
        "Đỗ Tương Lai",
        agency="Sở Tư pháp",
        not_before=pki.now + timedelta(days=30),
        not_after=pki.now + timedelta(days=400),
    )
    verdict = verify_cms(sign_cms(b"van ban", future, signing_time=pki.now), b"van ban", trust=trust_dir, now=pki.now)[
        0
    ]
    assert verdict.indication is Indication.TOTAL_FAILED
    assert verdict.subindication is SubIndication.NOT_YET_VALID


def test_a_pki_built_in_another_year_still_verifies(tmp_path: Path) -> None:
    # Clocks differ between the clerk's PC and the server: verification is pinned to the given instant.
    then = datetime(2021, 6, 1, 3, 0, tzinfo=UTC)
    old = build_pki(now=then, seed_name="old-year")
    signer = issue_person(old, "Vũ Thị Cũ", agency="Sở Cũ")
    trust = write_trust_dir(old, tmp_path / "old")
    signature = sign_cms(b"van ban", signer, signing_time=then - timedelta(days=1))
    assert verify_cms(signature, b"van ban", trust=trust, now=then)[0].passed
