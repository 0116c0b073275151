"""Issue 16: the watcher judges the stored signatures again when its trust directory changes.

A store ingested by the watcher under a trust directory lacking the issuing CA's CRL holds INDETERMINATE verdicts;
the CRL (revoking one signer) dropped into the directory makes the running watcher judge them again, between
batches, a bounded part at a time, with the same verdicts and counters as a fresh ingest under the new directory.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers.ingest import SENDER, assert_counters_exact, counters_of, write_edxml

import docflow.watch.trust_watch as trust_watch
import docflow.watch.watcher as watcher_module
from docflow.cli import main
from docflow.i18n import _
from docflow.ingest.reverify import ReverifyResult
from docflow.ingest.run import ingest_batch
from docflow.store.core import Store, StoreBusy
from docflow.store.signatures import SignatureBook
from docflow.watch.watcher import Watcher, WatchSettings
from samples.pki import Issued, build_pki, issue_organisation, issue_person, revoke, write_trust_dir
from signatures import TrustStore

AGENCY = "Sở Tư pháp tỉnh Bắc Kạn"
SETTLE = 0.3
CA_CRL = "ca-nha-nuoc-g2-mau.crl"
"""The issuing CA's CRL in ``write_trust_dir``: without it no signer's revocation can be checked."""
VERDICT_COLUMNS = (
    "payload_sha256, idx, document_id, indication, subindication, reason, belongs_to_sender, trust_checked,"
    " cert_sha256, trust_fingerprint"
)


@dataclass(frozen=True)
class World:
    batch: Path
    """Three documents: two signed twice, one once (5 signatures); one signer is revoked by ``crl``."""
    second_batch: Path
    lacking: Path
    """The trust directory without the issuing CA's CRL."""
    crl: bytes
    """The issuing CA's CRL, revoking the signer of document 2 before it signed."""


def _pdf(signing: object, title: str, *signers: Issued) -> bytes:
    data = signing.make_pdf(title, ["Điều 1."])  # type: ignore[attr-defined]
    for signer in signers:
        data = signing.sign_pdf(data, signer)  # type: ignore[attr-defined]
    return data


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, signing: object) -> World:
    root = tmp_path_factory.mktemp("watch-reverify")
    pki = build_pki()
    person = issue_person(pki, "Lý Văn Cường", agency=AGENCY)
    organisation = issue_organisation(pki, AGENCY)
    revoked = issue_person(pki, "Hà Thị Mai", agency=AGENCY)
    batch = root / "batch"
    for number, signers in (("1", (person, organisation)), ("2", (revoked, organisation)), ("3", (person,))):
        signed = _pdf(signing, f"Quyết định {number}", *signers)
        write_edxml(batch / f"qd-{number}.edxml", number=number, attachment=(f"qd-{number}.pdf", signed))
    second_batch = root / "second"
    write_edxml(second_batch / "qd-4.edxml", number="4", attachment=("qd-4.pdf", _pdf(signing, "QĐ 4", organisation)))
    lacking = write_trust_dir(pki, root / "lacking")
    (lacking / CA_CRL).unlink()
    revoke(pki, revoked, pki.now - timedelta(hours=1))
    crl = (write_trust_dir(pki, root / "revoked") / CA_CRL).read_bytes()
    return World(batch, second_batch, lacking, crl)


def _trust_dir(world: World, tmp_path: Path) -> Path:
    return Path(shutil.copytree(world.lacking, tmp_path / "trust"))


def _settings(tmp_path: Path, trust_dir: Path, **overrides: object) -> WatchSettings:
    values: dict[str, object] = dict(
        inbox=tmp_path / "inbox",
        db=tmp_path / "docflow.db",
        settle_seconds=SETTLE,
        poll_interval=0.05,
        trust_dir=trust_dir,
        log_file=tmp_path / "watch.jsonl",
    )
    values.update(overrides)
    settings = WatchSettings(**values)  # type: ignore[arg-type]
    settings.inbox.mkdir(parents=True, exist_ok=True)
    return settings


@contextmanager
def _running(watcher: Watcher) -> Iterator[Watcher]:
    failures: list[BaseException] = []

    def run() -> None:
        try:
            watcher.run()
        except BaseException as error:  # noqa: BLE001 - handed to the test below
            failures.append(error)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield watcher
    finally:
        watcher.stop()
        thread.join(timeout=30)
        assert not thread.is_alive(), "the watcher did not stop"
    assert not failures, f"the watcher failed: {failures!r}"


def _wait_for(condition: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def _archived(settings: WatchSettings) -> int:
    folder = settings.archive_dir
    return sum(1 for path in folder.iterdir() if path.is_dir()) if folder.exists() else 0


def _indications(db: Path) -> list[str]:
    """Read beside the running watcher, read-only."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        return [row[0] for row in conn.execute("SELECT indication FROM signatures ORDER BY payload_sha256, idx")]


def _verdicts(store: Store) -> list[tuple[object, ...]]:
    return store.conn.execute(f"SELECT {VERDICT_COLUMNS} FROM signatures ORDER BY payload_sha256, idx").fetchall()


def _fresh(db: Path, batches: list[Path], trust_dir: Path) -> Store:
    store = Store.open(db)
    for batch in batches:
        ingest_batch(batch, store, TrustStore.load(trust_dir))
    return store


def _reverified(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.msg == _(trust_watch.REVERIFIED)]


def _events(settings: WatchSettings, kind: str) -> list[dict[str, object]]:
    assert settings.log_file is not None
    lines = settings.log_file.read_text(encoding="utf-8").splitlines() if settings.log_file.exists() else []
    return [event for event in map(json.loads, lines) if event["event"] == kind]


def test_the_watcher_reverifies_after_a_crl_is_dropped_into_its_trust_directory(
    tmp_path: Path, world: World, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="docflow")
    trust_dir = _trust_dir(world, tmp_path)
    settings = _settings(tmp_path, trust_dir)
    with _running(Watcher(settings, TrustStore.load(trust_dir))):
        shutil.copytree(world.batch, settings.inbox / "lo-1")
        _wait_for(lambda: _archived(settings) == 1, "the batch to be filed away")
        assert _indications(settings.db) == ["INDETERMINATE"] * 5, "no CRL of the issuing CA yet"
        (trust_dir / CA_CRL).write_bytes(world.crl)
        _wait_for(lambda: bool(_reverified(caplog)), "the re-verification's log line")
        assert sorted(_indications(settings.db)) == ["TOTAL_FAILED"] + ["TOTAL_PASSED"] * 4

    with (
        Store.open(settings.db) as store,
        _fresh(tmp_path / "before.db", [world.batch], world.lacking) as before,
        _fresh(tmp_path / "after.db", [world.batch], trust_dir) as after,
    ):
        assert_counters_exact(store)
        assert _verdicts(store) == _verdicts(after)
        assert store.counter_rows() == after.counter_rows()
        assert counters_of(store, SENDER) != counters_of(before, SENDER), "the unit's counters moved"
        revoked = store.conn.execute("SELECT count(*) FROM signatures WHERE subindication = 'REVOKED'").fetchone()
        assert revoked == (1,)
    [record] = _reverified(caplog)
    assert record.args == (5, 5, 0, 0)
    assert "5" in record.getMessage()
    [event] = _events(settings, "reverified")
    assert {key: event[key] for key in ("checked", "changed", "unchanged", "unavailable")} == {
        "checked": 5,
        "changed": 5,
        "unchanged": 0,
        "unavailable": 0,
    }
    assert event["trust_fingerprint"] == TrustStore.load(trust_dir).fingerprint


def test_a_long_reverification_goes_a_part_at_a_time_and_a_waiting_batch_is_taken_between_parts(
    tmp_path: Path, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    trust_dir = _trust_dir(world, tmp_path)
    settings = _settings(tmp_path, trust_dir, reverify_part=1)
    happened: list[str] = []
    real_part, real_ingest = trust_watch.reverify_part, watcher_module.ingest_batch

    def part(*args: object, **kwargs: object) -> ReverifyResult:
        result = real_part(*args, **kwargs)  # type: ignore[arg-type]
        happened.append(f"part of {result.checked}")
        if len(happened) == 2:  # the first batch, then the first part: a clerk drops the next batch now
            shutil.copytree(world.second_batch, settings.inbox / "lo-2")
            (settings.inbox / "lo-2.done").touch()
            time.sleep(0.5)  # the event reaches the watcher while this part "runs"
        return result

    def ingest(path: Path, *args: object, **kwargs: object) -> object:
        happened.append(f"batch {path.name}")
        return real_ingest(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(trust_watch, "reverify_part", part)
    monkeypatch.setattr(watcher_module, "ingest_batch", ingest)
    with _running(Watcher(settings, TrustStore.load(trust_dir))):
        shutil.copytree(world.batch, settings.inbox / "lo-1")
        _wait_for(lambda: _archived(settings) == 1, "the first batch to be filed away")
        (trust_dir / CA_CRL).write_bytes(world.crl)
        _wait_for(lambda: bool(_events(settings, "reverified")), "the re-verification to finish")
        _wait_for(lambda: _archived(settings) == 2, "the second batch to be filed away")

    # Whole documents, one per part (the bound is 1 signature; a document is never split).
    assert happened == ["batch lo-1", "part of 2", "batch lo-2", "part of 2", "part of 1"]
    with (
        Store.open(settings.db) as store,
        _fresh(tmp_path / "fresh.db", [world.batch, world.second_batch], trust_dir) as fresh,
    ):
        assert_counters_exact(store)
        assert _verdicts(store) == _verdicts(fresh), "the second batch was judged under the new trust store"
        assert store.counter_rows() == fresh.counter_rows()


def test_a_part_that_fails_is_rolled_back_whole_and_tried_again(
    tmp_path: Path, world: World, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="docflow")
    trust_dir = _trust_dir(world, tmp_path)
    settings = _settings(tmp_path, trust_dir, reverify_part=4, retry_seconds=0.1)
    with _running(Watcher(settings, TrustStore.load(trust_dir))):
        shutil.copytree(world.batch, settings.inbox / "lo-1")
        _wait_for(lambda: _archived(settings) == 1, "the batch to be filed away")
        calls = 0
        real = SignatureBook._rejudge_rows

        def busy_once(self: SignatureBook, *args: object) -> object:
            nonlocal calls
            calls += 1
            if calls == 2:  # the second document of the first part: the first is written, not committed
                raise StoreBusy("the store stayed busy")
            return real(self, *args)  # type: ignore[arg-type]

        monkeypatch.setattr(SignatureBook, "_rejudge_rows", busy_once)
        (trust_dir / CA_CRL).write_bytes(world.crl)
        _wait_for(lambda: bool(_reverified(caplog)), "the re-verification's log line")

    [failed] = [record for record in caplog.records if record.levelno == logging.ERROR]
    assert "the store stayed busy" in failed.getMessage()
    [record] = _reverified(caplog)
    assert record.args == (5, 5, 0, 0), "the failed part was judged again whole, and counted once"
    with Store.open(settings.db) as store, _fresh(tmp_path / "fresh.db", [world.batch], trust_dir) as fresh:
        assert_counters_exact(store)
        assert _verdicts(store) == _verdicts(fresh)
        changes = store.conn.execute("SELECT count(*) FROM verdict_changes").fetchone()
        assert changes == (5,), "no change recorded twice"


def test_no_change_in_the_trust_directory_means_no_reverification(
    tmp_path: Path, world: World, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="docflow")
    trust_dir = _trust_dir(world, tmp_path)
    settings = _settings(tmp_path, trust_dir)
    watcher = Watcher(settings, TrustStore.load(trust_dir))
    shutil.copytree(world.batch, settings.inbox / "lo-1")
    watcher.run(once=True)
    planned: list[object] = []

    def plan(*args: object, **kwargs: object) -> None:
        planned.append(args)
        raise AssertionError("nothing changed: nothing to plan")

    monkeypatch.setattr(trust_watch, "plan_reverify", plan)

    watcher.run(once=True)
    touched = trust_dir / "root-g2-mau.pem"
    stat = touched.stat()
    os.utime(touched, ns=(stat.st_atime_ns, stat.st_mtime_ns + 5 * 10**9))  # touched, its content the same
    watcher.run(once=True)

    assert planned == []
    assert _reverified(caplog) == [] and _events(settings, "reverified") == []
    assert _indications(settings.db) == ["INDETERMINATE"] * 5


def test_a_broken_or_vanished_trust_directory_is_logged_and_the_old_trust_store_kept(
    tmp_path: Path, world: World, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="docflow")
    trust_dir = _trust_dir(world, tmp_path)
    settings = _settings(tmp_path, trust_dir)
    first = TrustStore.load(trust_dir)
    watcher = Watcher(settings, first)

    (trust_dir / "moi.crl").write_bytes(b"-----BEGIN X509 CRL-----\ncut short")
    shutil.copytree(world.batch, settings.inbox / "lo-1")
    report = watcher.run(once=True)
    assert [outcome.outcome for outcome in report.outcomes] == ["ingested"]
    [refused] = [record for record in caplog.records if "moi.crl" in record.getMessage()]
    assert refused.levelno == logging.WARNING and str(trust_dir) in refused.getMessage()
    with Store.open(settings.db) as store:
        fingerprints = {row[0] for row in store.conn.execute("SELECT trust_fingerprint FROM signatures")}
    assert fingerprints == {first.fingerprint}, "the batch was judged under the trust store the watcher had"

    caplog.clear()
    trust_dir.rename(tmp_path / "moved")
    watcher.run(once=True)
    [gone] = [record for record in caplog.records if record.levelno == logging.WARNING]
    assert str(trust_dir) in gone.getMessage()

    (tmp_path / "moved").rename(trust_dir)
    (trust_dir / "moi.crl").unlink()
    (trust_dir / CA_CRL).write_bytes(world.crl)
    watcher.run(once=True)
    [record] = _reverified(caplog)
    assert record.args == (5, 5, 0, 0), "repaired, the directory is used again"


@pytest.mark.parametrize("no_trust", [False, True], ids=["--trust", "--no-trust"])
def test_docflow_watch_watches_the_trust_directory_it_loaded(
    tmp_path: Path, world: World, monkeypatch: pytest.MonkeyPatch, no_trust: bool
) -> None:
    monkeypatch.chdir(tmp_path)
    trust_dir = _trust_dir(world, tmp_path)
    watched: list[Path | None] = []

    def run(self: Watcher, once: bool = False) -> watcher_module.WatchReport:
        watched.append(self.settings.trust_dir)
        return watcher_module.WatchReport()

    monkeypatch.setattr(Watcher, "run", run)
    (tmp_path / "inbox").mkdir()
    trust_option = ["--no-trust"] if no_trust else ["--trust", str(trust_dir)]
    result = CliRunner().invoke(main, ["watch", "inbox", "--db", str(tmp_path / "d.db"), *trust_option, "--once"])
    assert result.exit_code == 0, result.output
    assert watched == [None if no_trust else trust_dir], "--no-trust has no trust store to keep current"
