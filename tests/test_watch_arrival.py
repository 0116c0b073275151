"""Completeness: a batch still being copied waits, whatever pauses the copy makes; writers that say "done" are
taken at once; a file that stays cut short is judged only after the grace period."""

from __future__ import annotations

import json
import threading
import time
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from helpers.ingest import edxml, write_edxml
from helpers.watch import batches_in

from docflow.store.core import Store
from docflow.watch.completeness import cut_short
from docflow.watch.observers import ObserverChoice, file_system_type, uses_polling
from docflow.watch.watcher import Watcher, WatchSettings
from samples.pdfgen import make_pdf

SETTLE = 0.2
PAUSE = SETTLE * 3
"""Longer than the quiet period: a copy that pauses like this must still never be judged part-way."""
OBSERVERS = [pytest.param(False, id="native"), pytest.param(True, id="polling")]


def _settings(tmp_path: Path, **overrides: object) -> WatchSettings:
    values: dict[str, object] = dict(
        inbox=tmp_path / "inbox", db=tmp_path / "d.db", settle_seconds=SETTLE, poll_interval=0.05, grace_seconds=30.0
    )
    values.update(overrides)
    return WatchSettings(**values)  # type: ignore[arg-type]


@contextmanager
def _running(watcher: Watcher) -> Iterator[Watcher]:
    watcher.settings.inbox.mkdir(parents=True, exist_ok=True)
    thread = threading.Thread(target=watcher.run, daemon=True)
    thread.start()
    try:
        yield watcher
    finally:
        watcher.stop()
        thread.join(timeout=20)
        assert not thread.is_alive(), "the watcher did not stop"


def _wait_for(condition: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def _filed(folder: Path) -> list[str]:
    return [path.name.split("-", 1)[1] for path in batches_in(folder)] if folder.exists() else []


def _copy_in_chunks(path: Path, data: bytes, chunks: int = 3, pause: float = PAUSE) -> None:
    step = len(data) // chunks + 1
    with path.open("wb") as handle:
        for start in range(0, len(data), step):
            handle.write(data[start : start + step])
            handle.flush()
            if start + step < len(data):
                time.sleep(pause)


def _zip_bytes(tmp_path: Path) -> bytes:
    source = tmp_path / "source.zip"
    with zipfile.ZipFile(source, "w", zipfile.ZIP_STORED) as archive:
        for number in range(3):
            archive.writestr(f"d{number}.edxml", edxml(number=str(number)))
    return source.read_bytes()


def _one_batch_of(db: Path, data: bytes) -> None:
    with Store.open_readonly(db) as store:
        rows = store.conn.execute("SELECT outcome, size_bytes FROM batches").fetchall()
    assert rows == [("ingested", len(data))], "the batch was read before it was complete"


@pytest.mark.parametrize("polling", OBSERVERS)
@pytest.mark.parametrize("kind", ["zip", "edxml"])
def test_a_copy_pausing_longer_than_the_quiet_period_never_ends_in_rejected(
    tmp_path: Path, polling: bool, kind: str
) -> None:
    settings = _settings(tmp_path, polling=polling)
    data = _zip_bytes(tmp_path) if kind == "zip" else edxml(attachment=("scan.pdf", make_pdf("scan", pad_to=30_000)))
    with _running(Watcher(settings, trust=None)):
        _copy_in_chunks(settings.inbox / f"copy.{kind}", data)
        _wait_for(lambda: _filed(settings.archive_dir) == [f"copy.{kind}"], "the copy to be archived")
    assert _filed(settings.rejected_dir) == []
    _one_batch_of(settings.db, data)


def test_a_file_that_stays_cut_short_is_rejected_after_the_grace_period(tmp_path: Path) -> None:
    settings = _settings(tmp_path, grace_seconds=1.0)
    data = _zip_bytes(tmp_path)
    with _running(Watcher(settings, trust=None)):
        (settings.inbox / "half.zip").write_bytes(data[: len(data) // 2])
        time.sleep(SETTLE * 3)
        assert (settings.inbox / "half.zip").exists(), "judged before the grace period"
        _wait_for(lambda: _filed(settings.rejected_dir) == ["half.zip"], "the cut-short zip to be rejected")
    receipt = json.loads(next(settings.rejected_dir.glob("*.receipt.json")).read_text(encoding="utf-8"))
    assert receipt["outcome"] == "rejected" and receipt["rejected_items"]


def test_once_takes_what_is_present_as_complete(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    settings.inbox.mkdir()
    (settings.inbox / "half.zip").write_bytes(_zip_bytes(tmp_path)[:200])
    report = Watcher(settings, trust=None).run(once=True)
    assert [outcome.outcome for outcome in report.outcomes] == ["rejected"]


@pytest.mark.parametrize("polling", OBSERVERS)
def test_a_done_marker_takes_the_batch_at_once_and_goes_with_it(tmp_path: Path, polling: bool) -> None:
    settings = _settings(tmp_path, polling=polling, settle_seconds=60.0)
    with _running(Watcher(settings, trust=None)):
        write_edxml(settings.inbox / "marked.edxml", number="1")
        write_edxml(settings.inbox / "unmarked.edxml", number="2")
        (settings.inbox / "marked.edxml.done").write_bytes(b"")
        _wait_for(lambda: _filed(settings.archive_dir) == ["marked.edxml"], "the marked batch", timeout=10)
        (settings.inbox / "early.edxml.done").write_bytes(b"")  # a marker written before its batch
        write_edxml(tmp_path / "early.edxml", number="3").rename(settings.inbox / "early.edxml")
        _wait_for(lambda: len(_filed(settings.archive_dir)) == 2, "the batch whose marker came first", timeout=10)
    assert not (settings.inbox / "marked.edxml.done").exists() and not (settings.inbox / "early.edxml.done").exists()
    assert (settings.inbox / "unmarked.edxml").exists(), "a batch without a marker waits its quiet period"


@pytest.mark.parametrize("polling", OBSERVERS)
def test_a_rename_from_a_temporary_name_is_taken_at_once(tmp_path: Path, polling: bool) -> None:
    settings = _settings(tmp_path, polling=polling, settle_seconds=60.0)
    with _running(Watcher(settings, trust=None)):
        time.sleep(0.2)  # the observer is listening
        write_edxml(settings.inbox / "export.edxml.part", number="1")
        time.sleep(0.3)  # the copy takes a while: the poller sees the temporary name before the rename
        (settings.inbox / "export.edxml.part").rename(settings.inbox / "export.edxml")
        _wait_for(lambda: _filed(settings.archive_dir) == ["export.edxml"], "the renamed batch", timeout=10)


def test_the_periodic_rescan_finds_what_no_event_announced(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    class Deaf:
        def stop(self) -> None: ...

        def join(self, timeout: float | None = None) -> None: ...

    monkeypatch.setattr(Watcher, "_start_observer", lambda self: Deaf())
    settings = _settings(tmp_path, rescan_seconds=0.3)
    with _running(Watcher(settings, trust=None)):
        time.sleep(0.2)  # after the first listing
        write_edxml(settings.inbox / "late.edxml")
        _wait_for(lambda: _filed(settings.archive_dir) == ["late.edxml"], "the rescan to find it", timeout=10)


def test_a_batch_changed_while_read_waits_and_is_read_again_complete(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    folder = tmp_path / "staging" / "batch"
    write_edxml(folder / "a.edxml", number="1")
    write_edxml(folder / "b.edxml", number="2")
    changed: list[bool] = []

    @contextmanager
    def grow_once(_name: str) -> Iterator[Callable[[int], None]]:
        def progress(_items: int) -> None:
            if not changed:
                changed.append(True)
                write_edxml(settings.inbox / "batch" / "c.edxml", number="3")  # still arriving

        yield progress

    settings.inbox.mkdir()
    folder.rename(settings.inbox / "batch")
    with _running(Watcher(settings, trust=None, progress=grow_once)):
        _wait_for(lambda: _filed(settings.archive_dir) == ["batch"], "the batch, complete")
    assert changed and _filed(settings.rejected_dir) == []
    with Store.open_readonly(settings.db) as store:
        assert store.conn.execute("SELECT count(*), sum(documents) FROM batches").fetchone() == (1, 3)


@pytest.mark.parametrize(
    ("name", "data", "short"),
    [
        ("a.zip", b"PK\x03\x04" + b"\0" * 100, True),
        ("a.edxml", edxml()[:-200], True),
        ("a.edxml", edxml(), False),
        ("a.pdf", make_pdf("x")[:-50], True),
        ("a.pdf", make_pdf("x"), False),
        ("a.csv", b"unit_code,direction\n1,", False),
    ],
)
def test_cut_short_reads_only_the_ends(tmp_path: Path, name: str, data: bytes, short: bool) -> None:
    (tmp_path / name).write_bytes(data)
    assert (cut_short(tmp_path / name) is not None) is short


def test_a_complete_zip_is_not_cut_short(tmp_path: Path) -> None:
    (tmp_path / "a.zip").write_bytes(_zip_bytes(tmp_path))
    assert cut_short(tmp_path / "a.zip") is None


@pytest.mark.parametrize(
    ("kind", "polling"),
    [("nfs4", True), ("cifs", True), ("fuse.sshfs", True), ("smb3", True), ("ext4", False), ("tmpfs", False)],
)
def test_network_file_systems_are_polled(tmp_path: Path, kind: str, polling: bool) -> None:
    mounts = tmp_path / "mounts"
    share = tmp_path / "share"
    mounts.write_text(f"/dev/sda1 / ext4 rw 0 0\nserver:/x {share} {kind} rw 0 0\n", encoding="utf-8")
    assert file_system_type(share / "inbox", mounts) == kind
    assert uses_polling(ObserverChoice.AUTO, share / "inbox", mounts) is polling
    assert uses_polling(ObserverChoice.NATIVE, share / "inbox", mounts) is False
    assert uses_polling(ObserverChoice.POLLING, tmp_path, mounts) is True


def test_the_log_file_holds_one_json_line_per_batch(tmp_path: Path) -> None:
    log_file = tmp_path / "logs" / "watch.jsonl"
    settings = _settings(tmp_path, log_file=log_file)
    write_edxml(settings.inbox / "a.edxml", number="1")
    (settings.inbox / "b.zip").write_bytes(b"not a zip")
    Watcher(settings, trust=None).run(once=True)
    events = [json.loads(line) for line in log_file.read_text(encoding="utf-8").splitlines()]
    assert [(event["batch"], event["outcome"], event["documents"]) for event in events] == [
        ("a.edxml", "ingested", 1),
        ("b.zip", "rejected", 0),
    ]
    assert events[1]["rejected_items"] == 1 and events[1]["archived_as"].startswith("rejected/")
    assert all(event["time"][-6] in "+-" and len(event["sha256"]) == 64 for event in events)
