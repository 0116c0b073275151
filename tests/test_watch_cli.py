"""``docflow watch`` as an operator meets it: one watcher per inbox, no folder made by a typo, times for people."""

from __future__ import annotations

import io
import logging
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers.ingest import write_edxml
from helpers.watch import DOCFLOW
from rich.console import Console

from docflow.cli import main
from docflow.cli.ingest import _setup_logging
from docflow.watch.lock import INBOX_LOCK_NAME, FolderLock, LockHeld
from docflow.watch.watcher import Watcher, WatchSettings

ENV = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200"}


def _watcher(tmp_path: Path, inbox: Path, db: str = "d.db") -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [*DOCFLOW, "watch", str(inbox), "--db", str(tmp_path / db), "--no-trust", "--workers", "1"],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=ENV,
    )


def _stop(process: subprocess.Popen[bytes]) -> int:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        return process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        raise


def test_two_watchers_started_at_once_one_runs_the_other_exits_2(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    first, second = _watcher(tmp_path, inbox), _watcher(tmp_path, inbox)
    try:
        deadline = time.monotonic() + 30
        while first.poll() is None and second.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)  # had both started, the other would have failed by now too
        ended = [process for process in (first, second) if process.poll() is not None]
        assert len(ended) == 1, "exactly one of the two watchers must stop"
        [loser] = ended
        [winner] = [process for process in (first, second) if process is not loser]
        message = loser.stderr.read().decode() if loser.stderr else ""
        assert loser.returncode == 2, message
        assert "đang được một docflow watch khác theo dõi" in message and "Traceback" not in message
        assert re.search(r"\(\S+:\d+\)", message), "the message names the holder as host:pid"
        write_edxml(inbox / "a.edxml")
        deadline = time.monotonic() + 30
        while not (inbox / "archive").exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert (inbox / "archive").exists(), "the winner watches the inbox"
    finally:
        codes = [_stop(first), _stop(second)]
    assert sorted(codes) == [0, 2]
    assert not (inbox / INBOX_LOCK_NAME).exists(), "a clean stop removes the lock file"


def test_a_lock_left_by_a_killed_watcher_does_not_block(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    crashed = _watcher(tmp_path, inbox)
    deadline = time.monotonic() + 30
    while not (inbox / INBOX_LOCK_NAME).exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    crashed.kill()
    crashed.wait()
    assert (inbox / INBOX_LOCK_NAME).exists(), "the killed watcher left its lock file"
    write_edxml(inbox / "a.edxml")
    report = Watcher(WatchSettings(inbox=inbox, db=tmp_path / "d.db", settle_seconds=0.05), None).run(once=True)
    assert [outcome.outcome for outcome in report.outcomes] == ["ingested"]


def test_a_second_watcher_on_the_same_store_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "d.db"
    first = Watcher(WatchSettings(inbox=tmp_path / "one", db=db), None)
    with FolderLock(tmp_path / ".d.db.watch.lock", "held by {holder}"), pytest.raises(LockHeld) as refused:
        first.run(once=True)
    message = str(refused.value)
    assert "đang được một docflow watch khác ghi" in message and f":{os.getpid()})" in message


def test_watch_on_a_missing_folder_exits_2_and_makes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["watch", str(tmp_path / "typo"), "--no-trust", "--once"])
    assert result.exit_code == 2, result.output
    assert "không có thư mục nhận tại" in result.output and "--create" in result.output
    assert sorted(path.name for path in tmp_path.iterdir()) == [], "no folder and no store were made"


def test_watch_gives_the_signal_handlers_back_when_it_returns(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run in-process (a test, a script), the watcher's Ctrl-C handler must not outlive it: it once left
    "stopping after the current batch" as the process's answer to every later Ctrl-C."""
    monkeypatch.chdir(tmp_path)
    before = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    args = ["watch", str(tmp_path / "new"), "--create", "--no-trust", "--once", "--db", str(tmp_path / "d.db")]
    assert CliRunner().invoke(main, args).exit_code == 0
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == before


def test_watch_create_makes_the_inbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    args = ["watch", str(tmp_path / "new"), "--create", "--no-trust", "--once", "--db", str(tmp_path / "d.db")]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "new").is_dir()


def test_log_lines_are_stamped_for_people_in_vietnam_time() -> None:
    output = io.StringIO()
    _setup_logging(Console(file=output, width=200, no_color=True))
    try:
        logging.getLogger("docflow.test").info("hello")
    finally:
        logging.basicConfig(force=True, handlers=[logging.NullHandler()])
    assert re.match(r"\[\d\d/\d\d/\d{4} \d\d:\d\d:\d\d \+07\] +INFO +hello", output.getvalue()), output.getvalue()


def test_an_inbox_docflow_cannot_write_in_is_refused_with_the_reason(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root writes in a read-only folder")
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    inbox.chmod(0o555)
    try:
        with pytest.raises(LockHeld, match="cannot make the lock file|không tạo được tệp khóa"):
            Watcher(WatchSettings(inbox=inbox, db=tmp_path / "d.db"), None).run(once=True)
    finally:
        inbox.chmod(0o755)
