"""Issue 14, second round: what is recorded is what was read; nothing hangs on pipes and devices.

Files that change while a batch is read are changed at fixed points (a wrapped ``read_batch`` or
``Store.finish_batch``), never by racing the reader, so each test is deterministic.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from helpers.ingest import RECIPIENT, SENDER, assert_counters_exact, edxml, table, write_edxml
from helpers.watch import batch_names, batches_in

import docflow.ingest.run as ingest_module
from docflow.ingest.run import BatchChanged, batch_sha256, ingest_batch
from docflow.store.core import Store
from docflow.watch.watcher import Watcher, WatchSettings

DOCFLOW = (sys.executable, "-c", "from docflow.cli import main; main()")
_REGISTER_HEADER = "unit_code,direction,number,notation,date,channel,confidential,counterpart,subject,file\n"


def _settings(tmp_path: Path) -> WatchSettings:
    return WatchSettings(
        inbox=tmp_path / "inbox",
        db=tmp_path / "docflow.db",
        settle_seconds=0.05,
        poll_interval=0.05,
        retry_seconds=0.05,
    )


def _rows(first: int, last: int) -> str:
    return "".join(
        f"{SENDER},out,{number},SNV-VP,2024-03-01,electronic,0,{RECIPIENT},CV {number},\n"
        for number in range(first, last + 1)
    )


def _zip(path: Path, *numbers: int) -> bytes:
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as archive:
        for number in numbers:
            archive.writestr(f"{number}.edxml", edxml(number=str(number)))
    return path.read_bytes()


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _before_reading(monkeypatch: pytest.MonkeyPatch, change: Callable[[], None], times: int = 1) -> None:
    """``change`` runs once the batch's hash was taken, just before its items are read."""
    original = ingest_module.read_batch
    left = [times]

    def wrapped(*args: object, **kwargs: object) -> Iterator[object]:
        if left[0]:
            left[0] -= 1
            change()
        return original(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(ingest_module, "read_batch", wrapped)


def _after_first_item(monkeypatch: pytest.MonkeyPatch, change: Callable[[], None]) -> None:
    """``change`` runs once the first item of the batch was read, while the rest are still to come."""
    original = ingest_module.read_batch
    left = [1]

    def wrapped(*args: object, **kwargs: object) -> Iterator[object]:
        for number, item in enumerate(original(*args, **kwargs)):  # type: ignore[arg-type]
            yield item
            if number == 0 and left[0]:
                left[0] -= 1
                change()

    monkeypatch.setattr(ingest_module, "read_batch", wrapped)


def _before_commit(monkeypatch: pytest.MonkeyPatch, change: Callable[[], None], times: int = 1) -> None:
    """``change`` runs once every item was read and written, before the batch's transaction commits."""
    original = Store.finish_batch
    left = [times]

    def wrapped(self: Store, *args: object, **kwargs: object) -> None:
        if left[0]:
            left[0] -= 1
            change()
        original(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Store, "finish_batch", wrapped)


def _batches(db: Path) -> list[tuple[object, ...]]:
    with Store.open(db) as store:
        assert_counters_exact(store)
        return table(store, "SELECT sha256, outcome FROM batches ORDER BY id")


def _documents(db: Path) -> list[tuple[object, ...]]:
    with Store.open(db) as store:
        return table(store, "SELECT number FROM documents ORDER BY CAST(number AS INTEGER)")


# -- item 1: a symlink poisons the real batch ---------------------------------------------


def test_a_symlink_dropped_in_the_inbox_does_not_make_the_real_file_a_duplicate(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    real = write_edxml(tmp_path / "staging" / "cv-1.edxml", number="1")
    settings.inbox.mkdir()
    (settings.inbox / "cv-1.edxml").symlink_to(real)
    report = Watcher(settings, trust=None).run(once=True)
    assert [(outcome.outcome, outcome.sha256) for outcome in report.outcomes] == [("rejected", "")]
    assert "symbolic link" in (report.outcomes[0].reason or "")
    (error_file,) = settings.rejected_dir.glob("*.error.json")
    assert json.loads(error_file.read_text(encoding="utf-8"))["sha256"] is None
    assert (settings.rejected_dir / error_file.name.removesuffix(".error.json")).is_symlink()
    assert _batches(settings.db) == []  # the target was never read, so no hash of it is recorded
    shutil.copy(real, settings.inbox / "cv-1.edxml")
    report = Watcher(settings, trust=None).run(once=True)
    assert [outcome.outcome for outcome in report.outcomes] == ["ingested"]
    assert _batches(settings.db) == [(_sha256(real.read_bytes()), "ingested")]
    assert _documents(settings.db) == [("1",)]


def test_ingesting_a_symlink_records_nothing(tmp_path: Path) -> None:
    real = write_edxml(tmp_path / "cv-1.edxml", number="1")
    (tmp_path / "link.edxml").symlink_to(real)
    with Store.open(tmp_path / "d.db") as store:
        refused = ingest_batch(tmp_path / "link.edxml", store, None)
        assert (refused.outcome, refused.sha256) == ("rejected", "")
        assert "symbolic link" in (refused.reason or "")
        assert table(store, "SELECT count(*) FROM batches") == [(0,)]
        assert ingest_batch(real, store, None).outcome == "ingested"


# -- item 2: a file replaced or grown during ingest ---------------------------------------


def test_a_zip_replaced_before_commit_is_read_again_and_archived_under_its_own_hash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = _settings(tmp_path)
    _zip(settings.inbox / "export.zip", 1)
    newer = _zip(tmp_path / "staging" / "export.zip", 2, 3)
    _before_commit(monkeypatch, lambda: os.replace(tmp_path / "staging" / "export.zip", settings.inbox / "export.zip"))
    report = Watcher(settings, trust=None).run(once=True)
    assert [(outcome.outcome, outcome.sha256, outcome.documents) for outcome in report.outcomes] == [
        ("ingested", _sha256(newer), 2)
    ]
    assert _batches(settings.db) == [(_sha256(newer), "ingested")]
    assert _documents(settings.db) == [("2",), ("3",)]
    (archived,) = batches_in(settings.archive_dir)
    assert archived.name == f"{_sha256(newer)[:16]}-export.zip" and archived.read_bytes() == newer


def test_a_zip_replaced_before_commit_is_read_again_by_ingest(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _zip(tmp_path / "export.zip", 1)
    newer = _zip(tmp_path / "staging" / "export.zip", 2, 3)
    _before_commit(monkeypatch, lambda: os.replace(tmp_path / "staging" / "export.zip", tmp_path / "export.zip"))
    with Store.open(tmp_path / "d.db") as store:
        outcome = ingest_batch(tmp_path / "export.zip", store, None)
    assert (outcome.outcome, outcome.sha256, outcome.documents) == ("ingested", _sha256(newer), 2)
    assert _batches(tmp_path / "d.db") == [(_sha256(newer), "ingested")]


def _grow(path: Path, first: int, last: int) -> Callable[[], None]:
    def grow() -> None:
        with path.open("a", encoding="utf-8") as handle:
            handle.write(_rows(first, last))

    return grow


@pytest.mark.parametrize("when", ["before_reading", "before_commit"])
def test_a_register_that_grows_while_it_is_read_is_stored_whole_under_the_hash_of_what_was_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, when: str
) -> None:
    settings = _settings(tmp_path)
    settings.inbox.mkdir()
    register = settings.inbox / "so-di.csv"
    register.write_text(_REGISTER_HEADER + _rows(1, 2), encoding="utf-8")
    (_before_reading if when == "before_reading" else _before_commit)(monkeypatch, _grow(register, 3, 4))
    report = Watcher(settings, trust=None).run(once=True)
    (archived,) = batches_in(settings.archive_dir)
    data = archived.read_bytes()
    assert data.count(b"\n") == 5 and archived.name == f"{_sha256(data)[:16]}-so-di.csv"
    assert [(outcome.outcome, outcome.documents) for outcome in report.outcomes] == [("ingested", 4)]
    assert _batches(settings.db) == [(_sha256(data), "ingested")]
    assert _documents(settings.db) == [("1",), ("2",), ("3",), ("4",)]


def test_ingest_gives_up_plainly_on_a_file_that_never_stops_changing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    register = tmp_path / "so-di.csv"
    register.write_text(_REGISTER_HEADER + _rows(1, 2), encoding="utf-8")
    counter = iter(range(3, 1000))
    _before_commit(monkeypatch, lambda: _grow(register, next(counter), next(counter))(), times=100)
    with Store.open(tmp_path / "d.db") as store:
        with pytest.raises(BatchChanged) as changed:
            ingest_batch(register, store, None)
        assert "changed while" in str(changed.value)
        assert table(store, "SELECT count(*) FROM batches") == [(0,)]
        assert table(store, "SELECT count(*) FROM documents") == [(0,)]
    from click.testing import CliRunner

    from docflow.cli import main

    result = CliRunner().invoke(
        main,
        [
            "ingest",
            str(register),
            "--db",
            str(tmp_path / "d.db"),
            "--json",
            "--no-trust",
            "--workers",
            "1",
        ],
    )
    line = json.loads(result.output.strip().splitlines()[-1])
    assert result.exit_code == 2 and line["outcome"] == "rejected" and "changed while" in line["reason"]
    assert "Traceback" not in result.output
    assert _batches(tmp_path / "d.db") == []


# -- item 3: a folder batch changed during ingest -----------------------------------------


def _folder(path: Path, *numbers: int) -> Path:
    for number in numbers:
        write_edxml(path / f"cv-{number}.edxml", number=str(number))
    return path


@pytest.mark.parametrize(
    "change",
    [
        "delete_before_reading",
        "delete_mid_read",
        "rewrite_mid_read",
        "delete_before_commit",
        "rewrite_before_commit",
        "add_before_commit",
    ],
)
def test_a_folder_changed_while_it_is_read_is_recorded_as_what_was_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, change: str
) -> None:
    settings = _settings(tmp_path)
    intact = _folder(tmp_path / "intact" / "batch", 1, 2, 3)
    shutil.copytree(intact, settings.inbox / "batch")
    last = settings.inbox / "batch" / "cv-3.edxml"
    action, when = change.split("_", 1)
    if action == "delete":
        act: Callable[[], None] = last.unlink
    elif action == "rewrite":

        def act() -> None:
            last.write_bytes(edxml(number="33"))
    else:

        def act() -> None:
            write_edxml(settings.inbox / "batch" / "cv-4.edxml", number="4")

    {"before_reading": _before_reading, "mid_read": _after_first_item, "before_commit": _before_commit}[when](
        monkeypatch, act
    )
    report = Watcher(settings, trust=None).run(once=True)
    (archived,) = batches_in(settings.archive_dir)
    assert [(outcome.outcome, outcome.sha256, outcome.rejected_items) for outcome in report.outcomes] == [
        ("ingested", batch_sha256(archived), 0)
    ]
    assert _batches(settings.db) == [(batch_sha256(archived), "ingested")]
    numbers = sorted(path.name for path in archived.iterdir())
    expected = {"delete": ["1", "2"], "rewrite": ["1", "2", "33"], "add": ["1", "2", "3", "4"]}[action]
    assert _documents(settings.db) == [(number,) for number in expected]
    assert len(numbers) == len(expected)
    # The intact folder dropped again is other content than what was recorded, not a duplicate of it.
    monkeypatch.undo()
    shutil.copytree(intact, settings.inbox / "batch-again")
    report = Watcher(settings, trust=None).run(once=True)
    assert [(outcome.outcome, outcome.sha256) for outcome in report.outcomes] == [("ingested", batch_sha256(intact))]
    assert _documents(settings.db) == [(number,) for number in sorted({*expected, "1", "2", "3"}, key=int)]


def test_a_streamed_register_rewritten_in_place_is_caught_by_the_hash_of_the_bytes_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Same size, same mtime: only the hash of the bytes streamed can tell (registers are streamed, item 9).
    folder = tmp_path / "batch"
    folder.mkdir()
    register = folder / "so-di.csv"
    register.write_text(_REGISTER_HEADER + _rows(1, 3), encoding="utf-8")
    before = register.stat()

    def rewrite() -> None:
        register.write_text(_REGISTER_HEADER + _rows(1, 3).replace("CV 2", "CV 9"), encoding="utf-8")
        os.utime(register, ns=(before.st_atime_ns, before.st_mtime_ns))

    _before_reading(monkeypatch, rewrite)
    with Store.open(tmp_path / "d.db") as store:
        outcome = ingest_batch(folder, store, None)
        assert (outcome.outcome, outcome.sha256) == ("ingested", batch_sha256(folder))
        assert table(store, "SELECT subject FROM documents ORDER BY CAST(number AS INTEGER)") == [
            ("CV 1",),
            ("CV 9",),
            ("CV 3",),
        ]
        assert table(store, "SELECT count(*) FROM batches") == [(1,)]


# -- item 5: a kill while removing a duplicate folder -------------------------------------


class _Killed(BaseException):
    """Stands for SIGKILL: nothing after it runs, no handler catches it."""


def test_a_kill_while_removing_a_duplicate_folder_leaves_no_phantom_batch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = _settings(tmp_path)
    intact = _folder(tmp_path / "intact" / "batch", 1, 2, 3)
    shutil.copytree(intact, settings.inbox / "batch")
    Watcher(settings, trust=None).run(once=True)
    with Store.open(settings.db) as store:
        before = table(store, "SELECT * FROM document_sources ORDER BY 1, 2")
    shutil.copytree(intact, settings.inbox / "batch")  # the same folder, under the same name: a duplicate
    real_rmtree = shutil.rmtree

    def killed_half_way(path: str | os.PathLike[str], *args: object, **kwargs: object) -> None:
        files = sorted(Path(path).rglob("*.edxml"))
        if not files:  # an empty trash emptied at start
            return real_rmtree(path, *args, **kwargs)  # type: ignore[arg-type]
        files[0].unlink()
        raise _Killed

    monkeypatch.setattr(shutil, "rmtree", killed_half_way)
    with pytest.raises(_Killed):
        Watcher(settings, trust=None).run(once=True)
    monkeypatch.setattr(shutil, "rmtree", real_rmtree)
    report = Watcher(settings, trust=None).run(once=True)
    assert report.outcomes == []
    assert sorted(path.name for path in settings.inbox.iterdir()) == ["archive"]
    assert _batches(settings.db) == [(batch_sha256(intact), "ingested")]
    with Store.open(settings.db) as store:
        assert table(store, "SELECT * FROM document_sources ORDER BY 1, 2") == before


# -- item 6: FIFOs and devices ------------------------------------------------------------


def _ingest_json(tmp_path: Path, *paths: Path) -> list[dict[str, object]]:
    """``docflow ingest --json`` in a child process: a hang fails the test instead of the whole run."""
    (tmp_path / "trust").mkdir(exist_ok=True)
    try:
        done = subprocess.run(
            [
                *DOCFLOW,
                "ingest",
                *map(str, paths),
                "--db",
                str(tmp_path / "d.db"),
                "--json",
                "--no-trust",
                "--workers",
                "1",
            ],
            cwd=tmp_path,
            capture_output=True,
            timeout=60,
        )
    except subprocess.TimeoutExpired:
        pytest.fail("docflow ingest hung")
    return [json.loads(line) for line in done.stdout.decode().splitlines()]


def test_pipes_and_links_to_devices_in_a_folder_are_rejected_items_not_hangs(tmp_path: Path) -> None:
    folder = _folder(tmp_path / "batch", 1)
    os.mkfifo(folder / "pipe.edxml")
    (folder / "zero.edxml").symlink_to("/dev/zero")
    (folder / "pipe-link.edxml").symlink_to(folder / "pipe.edxml")
    (line,) = _ingest_json(tmp_path, folder)
    assert (line["outcome"], line["documents"], line["rejected_items"]) == ("ingested", 1, 3)
    with Store.open(tmp_path / "d.db") as store:
        reasons = dict(table(store, "SELECT item_name, reason FROM rejected_items"))
    assert sorted(reasons) == ["pipe-link.edxml", "pipe.edxml", "zero.edxml"]
    assert "not an ordinary file" in reasons["pipe.edxml"] and "symbolic link" in reasons["zero.edxml"]


def test_a_pipe_or_a_device_given_as_the_batch_is_refused_not_read(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.edxml")
    (tmp_path / "zero.zip").symlink_to("/dev/zero")
    lines = _ingest_json(tmp_path, tmp_path / "pipe.edxml", tmp_path / "zero.zip", Path("/dev/zero"))
    assert [(line["outcome"], line["sha256"]) for line in lines] == [("rejected", "")] * 3
    assert "not an ordinary file" in str(lines[0]["reason"]) and "symbolic link" in str(lines[1]["reason"])
    assert "not an ordinary file" in str(lines[2]["reason"])
    assert _batches(tmp_path / "d.db") == []


def test_a_device_node_in_a_folder_is_a_rejected_item(tmp_path: Path) -> None:
    folder = _folder(tmp_path / "batch", 1)
    try:
        os.mknod(folder / "zero.edxml", stat.S_IFCHR | 0o666, os.makedev(1, 5))
    except OSError as error:
        pytest.skip(f"cannot make a device node here: {error}")
    (line,) = _ingest_json(tmp_path, folder)
    assert (line["outcome"], line["documents"], line["rejected_items"]) == ("ingested", 1, 1)


def test_sigterm_stops_a_watcher_that_was_given_pipes(tmp_path: Path) -> None:
    (tmp_path / "trust").mkdir()
    (tmp_path / "docflow.toml").write_text("[watch]\nsettle_seconds = 0.05\npoll_interval = 0.05\n", encoding="utf-8")
    inbox = tmp_path / "inbox"
    folder = _folder(tmp_path / "staging" / "batch", 1)
    os.mkfifo(folder / "pipe.edxml")
    (folder / "zero.edxml").symlink_to("/dev/zero")
    inbox.mkdir()
    folder.rename(inbox / "batch")
    os.mkfifo(inbox / "dropped-pipe.edxml")
    (inbox / "dropped-zero.zip").symlink_to("/dev/zero")
    process = subprocess.Popen(
        [
            *DOCFLOW,
            "watch",
            str(inbox),
            "--db",
            str(tmp_path / "d.db"),
            "--no-trust",
            "--workers",
            "1",
        ],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and batch_names(inbox) != []:
            time.sleep(0.1)
        process.send_signal(signal.SIGTERM)
        try:
            assert process.wait(timeout=10) == 0
        except subprocess.TimeoutExpired:
            pytest.fail("the watcher ignored SIGTERM")
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    (archived,) = batches_in(inbox / "archive")
    assert archived.name.endswith("-batch")
    filed = sorted(path.name.split("-", 2)[2] for path in batches_in(inbox / "rejected"))
    assert filed == ["dropped-pipe.edxml", "dropped-zero.zip"]
    with Store.open(tmp_path / "d.db") as store:
        assert table(store, "SELECT outcome, documents, rejected_items FROM batches") == [("ingested", 1, 2)]
