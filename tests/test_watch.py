"""The watcher on a real folder: both observers, settling, temp names, filing away, retries."""

from __future__ import annotations

import json
import logging
import threading
import time
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from helpers.ingest import SENDER, assert_counters_exact, counters_of, edxml, table, write_edxml
from helpers.watch import is_receipt

import docflow.watch.watcher as watch_module
from docflow.ingest.run import ingest_batch
from docflow.readers.archive import is_temporary as is_temporary_name
from docflow.store.core import Store
from docflow.watch.watcher import Watcher, WatchSettings

SETTLE = 0.3


def _settings(tmp_path: Path, **overrides: object) -> WatchSettings:
    values: dict[str, object] = dict(
        inbox=tmp_path / "inbox", db=tmp_path / "docflow.db", settle_seconds=SETTLE, poll_interval=0.1
    )
    values.update(overrides)
    return WatchSettings(**values)  # type: ignore[arg-type]


def _wait_for(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for the watcher")
        time.sleep(0.05)


def _archived(settings: WatchSettings) -> list[str]:
    folder = settings.archive_dir
    if not folder.exists():
        return []
    return sorted(path.name.split("-", 1)[1] for path in folder.iterdir() if not is_receipt(path.name))


@pytest.fixture
def running() -> Iterator[Callable[[Watcher], threading.Thread]]:
    started: list[tuple[Watcher, threading.Thread]] = []

    def start(watcher: Watcher) -> threading.Thread:
        thread = threading.Thread(target=watcher.run, daemon=True)
        thread.start()
        started.append((watcher, thread))
        return thread

    yield start
    for watcher, thread in started:
        watcher.stop()
        thread.join(timeout=10)
        assert not thread.is_alive(), "the watcher did not stop"


def test_temporary_names_are_never_batches() -> None:
    assert all(
        is_temporary_name(name)
        for name in ("a.pdf.part", "~$so-di.xlsx", "x.TMP", ".hidden", "b.crdownload", "c.zip.download")
    )
    assert not is_temporary_name("so-di-2024-03.csv")


@pytest.mark.parametrize("polling", [False, True], ids=["native", "polling"])
def test_dropped_files_and_folders_are_ingested_and_archived(
    tmp_path: Path, polling: bool, running: Callable[[Watcher], threading.Thread]
) -> None:
    settings = _settings(tmp_path, polling=polling)
    settings.inbox.mkdir()
    running(Watcher(settings, trust=None))
    time.sleep(0.2)
    write_edxml(settings.inbox / "one.edxml", number="1")
    folder = tmp_path / "staging" / "batch-folder"
    write_edxml(folder / "two.edxml", number="2")
    write_edxml(folder / "sub" / "three.edxml", number="3")
    folder.rename(settings.inbox / "batch-folder")
    _write_slowly(settings.inbox / "slow.edxml", edxml(number="4"))
    (settings.inbox / "copying.edxml.part").write_bytes(edxml(number="5"))
    _wait_for(lambda: len(_archived(settings)) == 3)
    assert _archived(settings) == ["batch-folder", "one.edxml", "slow.edxml"]
    assert (settings.inbox / "copying.edxml.part").exists()
    with Store.open_readonly(settings.db) as store:
        assert table(store, "SELECT count(*) FROM documents") == [(4,)]
        assert counters_of(store, SENDER)["outgoing"] == 4
        assert table(store, "SELECT count(*), sum(outcome = 'ingested') FROM batches") == [(3, 3)]


def _write_slowly(path: Path, data: bytes) -> None:
    """A clerk's slow copy: chunks with pauses shorter than the settle time."""
    with path.open("wb") as handle:
        for start in range(0, len(data), len(data) // 4 + 1):
            handle.write(data[start : start + len(data) // 4 + 1])
            handle.flush()
            time.sleep(SETTLE / 3)


def test_once_processes_what_is_there_and_exits(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    settings = _settings(tmp_path)
    write_edxml(settings.inbox / "a.edxml", number="1")
    with zipfile.ZipFile(settings.inbox / "b.zip", "w") as archive:
        archive.writestr("b.edxml", edxml(number="2"))
    with caplog.at_level(logging.INFO, logger="docflow.watch.watcher"):
        report = Watcher(settings, trust=None).run(once=True)
    assert [outcome.outcome for outcome in report.outcomes] == ["ingested", "ingested"]
    assert _archived(settings) == ["a.edxml", "b.zip"]
    assert sorted(path.name for path in settings.inbox.iterdir()) == ["archive"]
    lines = [record.getMessage() for record in caplog.records if record.name == "docflow.watch.watcher"]
    assert len(lines) == 2 and all("đã lưu 1 văn bản (1 mới, 0 cập nhật), 0 chữ ký" in line for line in lines)


def test_stopping_mid_batch_rolls_it_back_and_leaves_it_in_the_inbox(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    batch = tmp_path / "staging" / "big"
    for number in range(5):
        write_edxml(batch / f"{number}.edxml", number=str(number))
    settings.inbox.mkdir(parents=True)
    batch.rename(settings.inbox / "big")
    watcher: Watcher

    @contextmanager
    def stop_on_first_item(_name: str) -> Iterator[Callable[[int], None]]:
        yield lambda _items: watcher.stop()

    watcher = Watcher(settings, trust=None, progress=stop_on_first_item)
    report = watcher.run(once=True)
    assert report.outcomes == []
    assert (settings.inbox / "big").is_dir()
    with Store.open(settings.db) as store:
        assert table(store, "SELECT (SELECT count(*) FROM batches), (SELECT count(*) FROM documents)") == [(0, 0)]


def test_redropped_batch_is_a_duplicate_and_changes_nothing(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    write_edxml(settings.inbox / "a.edxml")
    Watcher(settings, trust=None).run(once=True)
    with Store.open(settings.db) as store:
        before = store.counter_rows()
    write_edxml(settings.inbox / "a-again.edxml")
    report = Watcher(settings, trust=None).run(once=True)
    assert [outcome.outcome for outcome in report.outcomes] == ["duplicate"]
    with Store.open(settings.db) as store:
        assert store.counter_rows() == before
        assert_counters_exact(store)
    assert _archived(settings) == ["a-again.edxml", "a.edxml"]


def test_crash_after_commit_before_move_is_filed_without_recount(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    batch = write_edxml(settings.inbox / "a.edxml")
    with Store.open(settings.db) as store:
        assert ingest_batch(batch, store, None).outcome == "ingested"  # committed; "killed" before the move
        before = store.counter_rows()
    report = Watcher(settings, trust=None).run(once=True)
    assert [outcome.outcome for outcome in report.outcomes] == ["duplicate"]
    assert _archived(settings) == ["a.edxml"]
    with Store.open(settings.db) as store:
        assert store.counter_rows() == before
        assert table(store, "SELECT count(*) FROM batches") == [(1,)]


def test_unreadable_batch_goes_to_rejected_with_a_reason(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    settings.inbox.mkdir(parents=True)
    (settings.inbox / "export.zip").write_bytes(b"this is not a zip archive")
    report = Watcher(settings, trust=None).run(once=True)
    assert [outcome.outcome for outcome in report.outcomes] == ["rejected"]
    errors = list(settings.rejected_dir.glob("*.error.json"))
    assert len(errors) == 1
    error = json.loads(errors[0].read_text(encoding="utf-8"))
    assert error["file"] == "export.zip" and error["reason"] and error["what_to_do"] and error["sha256"]
    assert (settings.rejected_dir / errors[0].name.removesuffix(".error.json")).read_bytes().startswith(b"this is")
    with Store.open(settings.db) as store:
        assert table(store, "SELECT outcome, reason IS NOT NULL FROM batches") == [("rejected", 1)]


def test_a_bug_is_retried_then_quarantined_and_nothing_is_stored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[Path] = []

    def broken(path: Path, *args: object, **kwargs: object) -> object:
        calls.append(path)
        raise ZeroDivisionError("a bug in docflow")

    monkeypatch.setattr(watch_module, "ingest_batch", broken)
    settings = _settings(tmp_path, max_attempts=3, retry_seconds=0.05)
    write_edxml(settings.inbox / "a.edxml")
    report = Watcher(settings, trust=None).run(once=True)
    assert len(calls) == 3
    assert [outcome.outcome for outcome in report.outcomes] == ["rejected"]
    (error_file,) = settings.rejected_dir.glob("*.error.json")
    error = json.loads(error_file.read_text(encoding="utf-8"))
    assert "ZeroDivisionError" in error["reason"] and "administrator" in error["what_to_do"]
    assert (settings.rejected_dir / error_file.name.removesuffix(".error.json")).exists()
    with Store.open(settings.db) as store:
        assert table(store, "SELECT count(*) FROM batches") == [(0,)]


def test_stop_ends_a_running_watcher_promptly(tmp_path: Path) -> None:
    watcher = Watcher(_settings(tmp_path), trust=None)
    thread = threading.Thread(target=watcher.run, daemon=True)
    thread.start()
    time.sleep(0.3)
    watcher.stop()
    thread.join(timeout=5)
    assert not thread.is_alive()


def test_own_folders_are_not_batches(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    write_edxml(settings.archive_dir / "0000000000000000-old.edxml")
    write_edxml(settings.rejected_dir / "0000000000000000-bad.edxml")
    report = Watcher(settings, trust=None).run(once=True)
    assert report.outcomes == []
