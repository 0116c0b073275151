"""Issue 16, "Re-verification": ``docflow reverify`` judges stored signatures again against the current trust store.

The signed files come back from where ingestion kept them (``<db>.payloads/``); new verdicts and counters are
written together, one document per transaction; every change is kept and shown by ``docflow audit``.
"""

from __future__ import annotations

import gc
import hashlib
import json
import shutil
import signal
import sqlite3
import subprocess
import sys
import weakref
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import NameOID
from helpers.ingest import SENDER, assert_counters_exact, write_edxml

import docflow.cli.reverify as reverify_cli
from docflow.cli import main
from docflow.ingest.reverify import ReverifyScope, VerdictChange, plan_reverify, reverify, reverify_part
from docflow.ingest.run import ingest_batch
from docflow.store.core import Store
from docflow.store.payloads import payload_directory
from docflow.store.signatures import SignatureBook
from samples.pki import (
    Issued,
    SamplePKI,
    build_pki,
    issue_organisation,
    issue_person,
    make_crl,
    revoke,
    write_trust_dir,
)
from signatures import TrustStore

AGENCY = "Sở Xây dựng tỉnh Bắc Kạn"
DOCX = b"PK\x03\x04 a word document, signed detached"
VERDICT_COLUMNS = (
    "payload_sha256, idx, document_id, indication, subindication, reason, checks_json, belongs_to_sender,"
    " trust_checked, modification, modification_permitted, cert_sha256, signer_issuer, kind"
)


@dataclass(frozen=True)
class World:
    """One PKI (its own: it is revoked from), a batch signed under it, and trust directories at several moments."""

    pki: SamplePKI
    batch: Path
    full: Path
    """Every certificate and CRL, before the revocation."""
    no_root_crl: Path
    """The same without the root's CRL: every signature INDETERMINATE."""
    revoked: Path
    """After ``later_revoked`` was revoked (before it signed)."""
    later_revoked: Issued


def _pdf(signing: object, title: str, *signers: Issued) -> bytes:
    data = signing.make_pdf(title, ["Điều 1."])  # type: ignore[attr-defined]
    for signer in signers:
        data = signing.sign_pdf(data, signer)  # type: ignore[attr-defined]
    return data


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, signing: object) -> World:
    from samples.sign import sign_cms

    root = tmp_path_factory.mktemp("reverify")
    pki = build_pki()
    person = issue_person(pki, "Trần Văn Bình", agency=AGENCY)
    organisation = issue_organisation(pki, AGENCY)
    later_revoked = issue_person(pki, "Đỗ Thị Hoa", agency=AGENCY)
    batch = root / "batch"
    for number in ("1", "2"):
        signed = _pdf(signing, f"Công văn {number}", person, organisation)
        write_edxml(batch / f"cv-{number}.edxml", number=number, attachment=(f"cv-{number}.pdf", signed))
    signed = _pdf(signing, "Công văn 3", later_revoked, organisation)
    write_edxml(batch / "cv-3.edxml", number="3", attachment=("cv-3.pdf", signed))
    (batch / "cv.docx").write_bytes(DOCX)  # a signed file no record names: stored without a document
    (batch / "cv.docx.p7s").write_bytes(sign_cms(DOCX, organisation))
    full = write_trust_dir(pki, root / "full")
    no_root_crl = root / "no-root-crl"
    shutil.copytree(full, no_root_crl)
    (no_root_crl / "root-g2-mau.crl.pem").unlink()
    revoke(pki, later_revoked, pki.now - timedelta(hours=1))
    revoked = write_trust_dir(pki, root / "revoked")
    return World(pki, batch, full, no_root_crl, revoked, later_revoked)


def _ingested(db: Path, batch: Path, trust: Path | None) -> Store:
    store = Store.open(db)
    outcome = ingest_batch(batch, store, TrustStore.load(trust) if trust else None)
    assert outcome.signatures == 7, outcome
    return store


def _verdicts(store: Store) -> list[tuple[object, ...]]:
    return store.conn.execute(f"SELECT {VERDICT_COLUMNS} FROM signatures ORDER BY payload_sha256, idx").fetchall()


def _state(store: Store) -> tuple[object, ...]:
    """Everything re-verification may touch: verdicts, document facts, counters, certificate counts."""
    facts = store.conn.execute(
        "SELECT document_id, signature_count, has_valid_signature, has_valid_personal, has_valid_organisation,"
        " invalid_reasons FROM documents ORDER BY document_id"
    ).fetchall()
    certificates = store.conn.execute("SELECT sha256, signature_count, unit FROM certificates ORDER BY 1").fetchall()
    return (_verdicts(store), facts, store.counter_rows(), certificates)


def _run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def _json_lines(result: Result) -> list[dict[str, object]]:
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


@pytest.mark.parametrize("first_trust", ["without the root's CRL", "--no-trust"])
def test_reverify_with_the_full_trust_store_gives_what_a_fresh_ingest_gives(
    tmp_path: Path, world: World, first_trust: str
) -> None:
    trust = world.no_root_crl if first_trust != "--no-trust" else None
    with (
        _ingested(tmp_path / "a.db", world.batch, trust) as store,
        _ingested(tmp_path / "fresh.db", world.batch, world.full) as fresh,
    ):
        before = _verdicts(store)
        assert before != _verdicts(fresh), "the first ingest must judge differently for this test to mean anything"
        result = reverify(store, TrustStore.load(world.full))
        assert_counters_exact(store)
        assert _state(store) == _state(fresh)
        assert (result.checked, result.unavailable) == (7, 0)
        assert result.changed == sum(old[3:5] != new[3:5] for old, new in zip(before, _verdicts(fresh))) > 0
        assert result.changed + result.unchanged == 7
        fingerprint = TrustStore.load(world.full).fingerprint
        assert {row[0] for row in store.conn.execute("SELECT trust_fingerprint FROM signatures")} == {fingerprint}
        again = reverify(store, TrustStore.load(world.full))
        assert again.checked == 0, "a rerun under the same trust store has nothing left to do"


def test_a_revocation_published_after_ingest_fails_the_signature_in_summary_and_audit(
    workdir: Path, world: World
) -> None:
    db = str(workdir / "d.db")
    assert _run("ingest", str(world.batch), "--db", db, "--trust", str(world.full), "--workers", "1").exit_code == 0
    [unit] = [row for row in json.loads(_run("summary", "--db", db, "--json").stdout) if row["unit"] == SENDER]
    assert unit["outgoing_signed_valid"] == 3 and unit["invalid"]["revoked"] == 0

    lines = _json_lines(_run("reverify", "--db", db, "--trust", str(world.revoked), "--json", "--workers", "1"))
    document_id = f"{SENDER},2024/03/01,3/SNV-VP"
    assert lines[:-1] == [
        {
            "document_id": document_id,
            "index": 0,
            "before": {"indication": "TOTAL_PASSED", "subindication": None},
            "after": {"indication": "TOTAL_FAILED", "subindication": "REVOKED"},
            "reason": lines[0]["reason"],
        }
    ]
    assert "revoked" in str(lines[0]["reason"]).lower()
    assert lines[-1] == {"checked": 7, "changed": 1, "unchanged": 6, "unavailable": 0}

    [unit] = [row for row in json.loads(_run("summary", "--db", db, "--json").stdout) if row["unit"] == SENDER]
    assert unit["outgoing_signed_valid"] == 3, "its organisation signature is still valid"
    assert unit["invalid"]["revoked"] == 1
    with Store.open(db) as store:
        assert_counters_exact(store)

    audit = json.loads(_run("audit", "--db", db, document_id, "--json").stdout)
    [change] = audit["verdict_changes"]
    assert (change["index"], change["before"], change["after"]) == (
        0,
        {"indication": "TOTAL_PASSED", "subindication": None},
        {"indication": "TOTAL_FAILED", "subindication": "REVOKED"},
    )
    assert change["trust_before"] == TrustStore.load(world.full).fingerprint
    assert change["trust_after"] == TrustStore.load(world.revoked).fingerprint
    assert change["changed_at"].endswith("+00:00") and change["reason"] == lines[0]["reason"]
    shown = _run("audit", "--db", db, document_id)
    assert "docflow reverify" in shown.output and "TOTAL_FAILED/REVOKED" in shown.output


_KILLED_MID_DOCUMENT = """
import os, signal, sys
from docflow.ingest.reverify import reverify
from docflow.store.core import Store
from docflow.store.signatures import SignatureBook
from signatures import TrustStore

real, written = SignatureBook._rejudge_rows, []

def dies_mid_document(self, *args):
    result = real(self, *args)
    written.append(1)
    if len(written) == 2:
        os.kill(os.getpid(), signal.SIGKILL)  # no rollback, no clean-up: what a power cut leaves
    return result

SignatureBook._rejudge_rows = dies_mid_document
reverify(Store.open(sys.argv[1]), TrustStore.load(sys.argv[2]), payloads_per_commit=1)
"""


def _interrupted(store: Store, trust: TrustStore, monkeypatch: pytest.MonkeyPatch) -> None:
    written = 0
    real = SignatureBook._rejudge_rows

    def dies_mid_document(self: SignatureBook, *args: object) -> object:
        nonlocal written
        result = real(self, *args)  # type: ignore[arg-type]
        written += 1
        if written == 2:
            raise KeyboardInterrupt
        return result

    monkeypatch.setattr(SignatureBook, "_rejudge_rows", dies_mid_document)
    with pytest.raises(KeyboardInterrupt):
        reverify(store, trust, payloads_per_commit=1)
    monkeypatch.undo()


@pytest.mark.parametrize("how", ["Ctrl-C", "SIGKILL"])
def test_a_killed_reverify_leaves_each_signature_old_or_new_and_a_rerun_finishes(
    tmp_path: Path, world: World, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    full = TrustStore.load(world.full)
    with _ingested(tmp_path / "done.db", world.batch, world.no_root_crl) as done:
        reverify(done, full)
        new = _state(done)
        new_verdicts = set(_verdicts(done))
    store = _ingested(tmp_path / "a.db", world.batch, world.no_root_crl)
    old_verdicts = set(_verdicts(store))
    # Killed once the second unit's rows (a document's) are written, before its counters and its commit.
    if how == "Ctrl-C":
        _interrupted(store, full, monkeypatch)
        store.close()
    else:
        store.close()
        script = [sys.executable, "-c", _KILLED_MID_DOCUMENT, str(tmp_path / "a.db"), str(world.full)]
        assert subprocess.run(script, check=False, timeout=120).returncode == -signal.SIGKILL

    with Store.open(tmp_path / "a.db") as reopened:
        rows = _verdicts(reopened)
        assert all(row in old_verdicts or row in new_verdicts for row in rows)
        # The first unit is the signed file of no document (those are read first); the document being written
        # when the run died is rolled back whole.
        assert sum(row in new_verdicts and row not in old_verdicts for row in rows) == 1, "the first unit only"
        assert_counters_exact(reopened)
        result = reverify(reopened, full)
        assert result.checked == 6, "the rerun takes what was not judged under this trust store yet"
        assert _state(reopened) == new


def test_a_signed_file_that_cannot_be_read_back_is_reported_and_keeps_its_verdict(workdir: Path, world: World) -> None:
    db = workdir / "d.db"
    with _ingested(db, world.batch, world.no_root_crl) as store:
        hashes = [row[0] for row in store.conn.execute("SELECT sha256 FROM payloads WHERE kind = 'pdf' ORDER BY 1")]
        assert store.payloads is not None
        store.payloads.path_of(hashes[0]).unlink()
        store.payloads.path_of(hashes[1]).write_bytes(b"%PDF-1.7 not what was signed")
        store.conn.execute("DELETE FROM payloads WHERE kind = 'cms-detached'")  # as if kept before migration 10
        before = _verdicts(store)

    lines = _json_lines(_run("reverify", "--db", str(db), "--trust", str(world.full), "--json", "--workers", "1"))
    unavailable = [line for line in lines[:-1] if "unavailable" in line]
    assert lines[-1] == {"checked": 7, "changed": 2, "unchanged": 0, "unavailable": 5}
    assert all(set(line) == {"document_id", "index", "unavailable"} for line in unavailable)
    reasons = [str(line["unavailable"]) for line in unavailable]
    directory = str(payload_directory(db))
    assert sum("missing" in reason and directory in reason and "backup" in reason for reason in reasons) == 2
    assert sum("damaged" in reason and "backup" in reason for reason in reasons) == 2
    assert sum("kept no copy" in reason for reason in reasons) == 1
    with Store.open(db) as store:
        unavailable_rows = {(line["document_id"], line["index"]) for line in unavailable}
        after = _verdicts(store)
        kept = [(old, new) for old, new in zip(before, after) if (old[2], old[1]) in unavailable_rows]
        assert len(kept) == 5 and all(old == new for old, new in kept)
        assert_counters_exact(store)


def test_a_store_without_a_file_keeps_no_signed_files_and_says_so(world: World) -> None:
    store = Store(sqlite3.connect(":memory:"))
    from docflow.store.connection import migrate

    migrate(store.conn)
    ingest_batch(world.batch, store, TrustStore.load(world.no_root_crl))
    assert store.payloads is None and store.conn.execute("SELECT COUNT(*) FROM payloads").fetchone()[0] == 0
    result = reverify(store, TrustStore.load(world.full))
    assert (result.checked, result.unavailable) == (7, 7)
    assert all("no file" in missing.reason for missing in result.unavailable_signatures)


def _unrelated_crl(pki: SamplePKI) -> bytes:
    """A CRL by a CA no stored signature's chain goes through."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "CA không liên quan")])
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(name)
        .last_update(pki.now - timedelta(days=1))
        .next_update(pki.now + timedelta(days=30))
    )
    return builder.sign(pki.tsa.key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)


def test_default_selection_takes_only_what_a_trust_store_change_touches(
    tmp_path: Path, world: World, signing: object
) -> None:
    pki = build_pki(seed_name="reverify-two")
    other = issue_person(pki, "Vũ Văn Sơn", agency="Công ty ABC", issuer=pki.untrusted_intermediate)
    write_edxml(
        tmp_path / "batch" / "cv-9.edxml", number="9", attachment=("cv-9.pdf", _pdf(signing, "Công văn 9", other))
    )
    pdf = _pdf(signing, "Công văn 8", issue_person(pki, "Lý Văn Tâm", agency=AGENCY))
    write_edxml(tmp_path / "batch" / "cv-8.edxml", number="8", attachment=("cv-8.pdf", pdf))
    first = write_trust_dir(pki, tmp_path / "first")  # both hierarchies trusted, each with its CRLs
    pem, der = serialization.Encoding.PEM, serialization.Encoding.DER
    (first / "other-root.pem").write_bytes(pki.untrusted_root.cert.public_bytes(pem))
    (first / "other-ca.cer").write_bytes(pki.untrusted_intermediate.cert.public_bytes(der))
    (first / "other-root.crl").write_bytes(make_crl(pki, issuer=pki.untrusted_root).public_bytes(der))
    (first / "other-ca.crl").write_bytes(make_crl(pki, issuer=pki.untrusted_intermediate).public_bytes(der))
    store = Store.open(tmp_path / "d.db")
    ingest_batch(tmp_path / "batch", store, TrustStore.load(first))
    assert {row[0] for row in store.conn.execute("SELECT indication FROM signatures")} == {"TOTAL_PASSED"}

    assert reverify(store, TrustStore.load(first)).checked == 0, "everything is judged under this state already"

    unrelated = tmp_path / "unrelated"
    shutil.copytree(first, unrelated)
    (unrelated / "unrelated.crl.pem").write_bytes(_unrelated_crl(pki))
    assert reverify(store, TrustStore.load(unrelated)).checked == 0, "no stored chain goes through that CA"

    newer = tmp_path / "newer"
    shutil.copytree(unrelated, newer)
    crl = make_crl(pki, issuer=pki.untrusted_intermediate, this_update=pki.now - timedelta(hours=2))
    (newer / "other-ca.crl").write_bytes(crl.public_bytes(der))
    result = reverify(store, TrustStore.load(newer))
    assert (result.checked, result.changed) == (1, 0), "only the signature under the CA whose CRL was replaced"
    assert reverify(store, TrustStore.load(newer), ReverifyScope(everything=True)).checked == 2
    assert reverify(store, TrustStore.load(newer), ReverifyScope(months=("2024-03",), everything=True)).checked == 2
    assert reverify(store, TrustStore.load(newer), ReverifyScope(months=("2025-01",), everything=True)).checked == 0
    assert reverify(store, TrustStore.load(newer), ReverifyScope(unit="000.99.99.H04", everything=True)).checked == 0
    store.close()


def test_reverify_refuses_without_a_usable_trust_store(workdir: Path, world: World) -> None:
    db = workdir / "d.db"
    _ingested(db, world.batch, world.full).close()
    for trust in ([], ["--trust", str(workdir / "nowhere")]):
        result = _run("--lang", "en", "reverify", "--db", str(db), *trust)
        assert result.exit_code == 2, result.output
        assert "--trust DIR" in result.output and "--no-trust" not in result.output
    result = _run("reverify", "--db", str(db), "--trust", str(world.full), "--period", "March")
    assert result.exit_code == 2 and "--period" in result.output
    missing = _run("reverify", "--db", str(workdir / "none.db"), "--trust", str(world.full))
    assert missing.exit_code == 2 and "không có kho dữ liệu tại" in missing.output
    assert not (workdir / "none.db").exists(), "no empty store is made"


def test_reverify_prints_its_changes_and_totals(workdir: Path, world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    db = workdir / "d.db"
    _ingested(db, world.batch, world.no_root_crl).close()
    monkeypatch.setattr(reverify_cli, "_TABLE_ROWS", 4)
    result = _run("reverify", "--db", str(db), "--trust", str(world.full), "--period", "2024-03", "--unit", SENDER)
    assert result.exit_code == 0, result.output
    assert "INDETERMINATE/CERTIFICATE_CHAIN_GENERAL_FAILURE" in result.output and "TOTAL_PASSED" in result.output
    assert result.output.count("TOTAL_PASSED") == 4 and "… và 2 mục nữa: docflow sql" in result.output
    assert result.output.strip().splitlines()[-1] == "đã kiểm tra 6, thay đổi 6, không đổi 0, không kiểm tra được 0"


def test_ingest_keeps_every_signed_file_and_the_detached_content(tmp_path: Path, world: World) -> None:
    db = tmp_path / "d.db"
    with _ingested(db, world.batch, world.full) as store:
        assert store.payloads is not None and store.payloads.directory == tmp_path / "d.db.payloads"
        kept = store.conn.execute("SELECT sha256, kind, content_sha256, size_bytes FROM payloads").fetchall()
        signed = {row[0] for row in store.conn.execute("SELECT payload_sha256 FROM signatures")}
        assert {row[0] for row in kept} == signed
        for sha256, kind, content_sha256, size in kept:
            data = store.payloads.path_of(sha256).read_bytes()
            assert hashlib.sha256(data).hexdigest() == sha256 and len(data) == size
            if kind == "cms-detached":
                assert content_sha256 == hashlib.sha256(DOCX).hexdigest()
                assert store.payloads.path_of(content_sha256).read_bytes() == DOCX
            else:
                assert kind == "pdf" and content_sha256 is None
        assert sorted(row[1] for row in kept) == ["cms-detached", "pdf", "pdf", "pdf"]
        assert not list(store.payloads.directory.rglob(".tmp-*")), "no temporary file is left behind"
        fingerprint = TrustStore.load(world.full).fingerprint
        judged = store.conn.execute("SELECT DISTINCT trust_fingerprint, substr(judged_at, 20) FROM signatures")
        assert judged.fetchall() == [(fingerprint, "+00:00")]
        [state] = store.conn.execute("SELECT fingerprint, source, members_json FROM trust_states").fetchall()
        members = json.loads(state[2])
        assert state[:2] == (fingerprint, str(world.full))
        assert sorted(member["role"] for member in members) == ["anchor", "crl", "crl", "intermediate", "intermediate"]


def test_verdicts_already_written_are_let_go_before_the_run_ends(
    tmp_path: Path, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run held every verdict it had written until it ended, so its memory grew with the archive (a verdict
    is some sixty objects). Once a part is written its verdicts must be free for the collector."""
    written: list[weakref.ref[object]] = []
    alive_later: list[int] = []
    real = Store.rejudge

    def watching(self: Store, judged: list[tuple[int, object]], judgement: object) -> object:
        gc.collect()
        alive_later.append(sum(ref() is not None for ref in written))
        written.extend(weakref.ref(verdict) for _, verdict in judged)
        return real(self, judged, judgement)  # type: ignore[arg-type]

    with _ingested(tmp_path / "a.db", world.batch, world.no_root_crl) as store:
        monkeypatch.setattr(Store, "rejudge", watching)
        result = reverify(store, TrustStore.load(world.full), payloads_per_commit=1)
    assert result.checked == 7 and len(alive_later) >= 3, (result, alive_later)
    assert alive_later == [0] * len(alive_later), "verdicts of parts already written were still held"


@pytest.mark.parametrize("window", [1, 2, 5])
def test_a_plan_reads_the_store_a_window_at_a_time_and_judges_as_a_whole_read_would(
    tmp_path: Path, world: World, window: int
) -> None:
    """A plan held every stored signature in scope from the start (about 2.3 KB each: gigabytes for a
    province-year). It reads a window of rows at a time now, a unit never split, and judges the same."""
    full = TrustStore.load(world.full)
    with (
        _ingested(tmp_path / "a.db", world.batch, world.no_root_crl) as store,
        _ingested(tmp_path / "whole.db", world.batch, world.no_root_crl) as whole,
    ):
        reverify(whole, full)
        plan = plan_reverify(store, full, window_rows=window)
        assert (plan.signatures, len(plan.units)) == (7, 0), "counted, nothing held yet"
        assert plan_reverify(store, full, ReverifyScope(everything=True), window_rows=window).signatures == 7
        for scope in (ReverifyScope(unit=SENDER), ReverifyScope(unit=SENDER, everything=True)):
            # A unit's scope reads documents only (the signed file of no document is no unit's), windowed the same.
            assert plan_reverify(store, full, scope, window_rows=window).signatures == 6
        checked, held = 0, []
        while plan.has_units(store):
            held.append(sum(len(job.rows) for unit in plan.units for job in unit))
            checked += reverify_part(store, full, plan, 1).checked
        assert checked == 7 and plan.signatures == 0
        assert max(held) <= max(window, 2), f"at most a window, or one whole document of 2, held: {held}"
        assert_counters_exact(store)
        assert _state(store) == _state(whole)


def test_a_run_takes_units_as_it_reaches_them_not_the_whole_plan_first(
    tmp_path: Path, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reading the plan a window at a time is worth nothing if a run takes every unit before judging the first:
    then it holds the whole archive again. When the first unit is written, the plan must still be unread."""
    full = TrustStore.load(world.full)
    reader_done_at_write: list[bool] = []
    real = Store.rejudge
    with _ingested(tmp_path / "a.db", world.batch, world.no_root_crl) as store:
        plan = plan_reverify(store, full, window_rows=1)

        def watching(self: Store, judged: list[tuple[int, object]], judgement: object) -> object:
            assert plan.reader is not None
            reader_done_at_write.append(plan.reader.done)
            return real(self, judged, judgement)  # type: ignore[arg-type]

        monkeypatch.setattr(Store, "rejudge", watching)
        result = reverify_part(store, full, plan, payloads_per_commit=1)
    assert result.checked == 7 and plan.signatures == 0
    assert reader_done_at_write[0] is False and reader_done_at_write[-1] is True, reader_done_at_write


def test_changes_go_to_a_listener_as_they_are_written_and_are_not_kept(tmp_path: Path, world: World) -> None:
    """After a first ingest without a trust store every verdict changes: kept in the result, a province-year's
    changes would be millions of objects. Given a listener, the run hands each change (and each signature it could
    not verify again) over as it is written and keeps only the counts."""
    heard: list[object] = []
    with _ingested(tmp_path / "a.db", world.batch, None) as store:
        result = reverify(store, TrustStore.load(world.full), listener=heard.append)
    assert (result.checked, result.changed, result.unavailable) == (7, 7, 0)
    assert result.changes == () and result.unavailable_signatures == ()
    assert len(heard) == 7 and all(isinstance(change, VerdictChange) for change in heard)
