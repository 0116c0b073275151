"""ingest_batch and ``docflow ingest`` on real batch files: counting, duplicates, overlaps, hostile input."""

from __future__ import annotations

import gc
import hashlib
import json
import shutil
import zipfile
from datetime import date, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers.ingest import OTHER, RECIPIENT, SENDER, assert_counters_exact, counters_of, edxml, table, write_edxml
from helpers.vectors import VECTORS

from docflow.cli import ingest as cli_ingest
from docflow.cli.ingest import ingest
from docflow.ingest.run import BatchOutcome, batch_sha256, ingest_batch
from docflow.store.core import Store
from samples.edxml import build_status


def _folder(root: Path, *numbers: int, **fields: object) -> Path:
    for number in numbers:
        write_edxml(root / f"doc-{number}.edxml", number=str(number), **fields)  # type: ignore[arg-type]
    return root


def test_folder_batch_is_ingested_once(tmp_path: Path, store: Store) -> None:
    batch = _folder(tmp_path / "b1", 1, 2, 3, recipients=(RECIPIENT, OTHER))
    seen: list[int] = []
    outcome = ingest_batch(batch, store, None, progress=seen.append)
    assert (outcome.outcome, outcome.documents, outcome.rejected_items) == ("ingested", 3, 0)
    assert seen and seen[-1] >= 3
    assert counters_of(store, SENDER)["outgoing"] == 3
    assert counters_of(store, OTHER)["incoming"] == 3
    assert table(store, "SELECT kind, documents, archived_as FROM batches") == [
        ("folder", 3, f"{outcome.sha256[:16]}-b1")
    ]
    assert table(store, "SELECT code, name, level FROM units ORDER BY code") == [
        (SENDER, "Sở Nội vụ tỉnh Bắc Kạn", "department"),
        (RECIPIENT, f"Đơn vị {RECIPIENT}", "department"),
        (OTHER, f"Đơn vị {OTHER}", "department"),
    ]
    assert_counters_exact(store)


def test_same_batch_again_is_a_duplicate_and_changes_nothing(tmp_path: Path, store: Store) -> None:
    batch = _folder(tmp_path / "b1", 1, 2)
    ingest_batch(batch, store, None)
    before = store.counter_rows()
    copy = shutil.copytree(batch, tmp_path / "b1-copy")
    outcome = ingest_batch(copy, store, None)
    assert outcome.outcome == "duplicate" and "b1" in (outcome.reason or "")
    assert store.counter_rows() == before
    assert table(store, "SELECT count(*) FROM batches") == [(1,)]


def test_overlapping_batch_counts_only_the_new_documents(tmp_path: Path, store: Store) -> None:
    ingest_batch(_folder(tmp_path / "b1", 1, 2), store, None)
    outcome = ingest_batch(_folder(tmp_path / "b2", 2, 3), store, None)
    assert outcome.outcome == "ingested"
    assert counters_of(store, SENDER)["outgoing"] == 3
    assert table(store, "SELECT count(*) FROM document_sources") == [(4,)]
    assert_counters_exact(store)


def test_folder_hash_depends_on_names_and_contents(tmp_path: Path) -> None:
    first = _folder(tmp_path / "a", 1)
    second = _folder(tmp_path / "b", 1)
    assert batch_sha256(first) == batch_sha256(second)
    (second / "doc-1.edxml").rename(second / "renamed.edxml")
    assert batch_sha256(first) != batch_sha256(second)


@pytest.mark.parametrize("count", [1, 7, 300])
def test_folder_hash_is_the_hash_of_its_sorted_names_and_file_hashes(tmp_path: Path, count: int) -> None:
    # The batch identity of every archived batch: hashing it faster (files in runs on threads) must not change it.
    folder = tmp_path / "batch"
    for number in range(count):
        path = folder / f"unit-{number % 3}" / f"cv-{number:03d}.bin"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(number.to_bytes(4, "big") * (number + 1))
    lines = sorted(
        f"{path.relative_to(folder).as_posix()}\0{hashlib.sha256(path.read_bytes()).hexdigest()}\n"
        for path in folder.rglob("*")
        if path.is_file()
    )
    assert batch_sha256(folder) == hashlib.sha256("".join(lines).encode()).hexdigest()


def test_revocation_takes_the_document_out_of_the_counters(tmp_path: Path, store: Store) -> None:
    ingest_batch(_folder(tmp_path / "b1", 1, 2), store, None)
    revoked = f"{SENDER},2024/03/01,1/SNV-VP"
    write_edxml(tmp_path / "revoke.edxml", number="90", business="revoke", names_document=revoked)
    assert ingest_batch(tmp_path / "revoke.edxml", store, None).outcome == "ingested"
    assert table(store, "SELECT business_status FROM documents WHERE document_id = ?", revoked) == [("revoked",)]
    assert counters_of(store, SENDER)["outgoing"] == 1
    assert_counters_exact(store)


def test_bad_member_becomes_a_rejected_item_beside_the_good_ones(tmp_path: Path, store: Store) -> None:
    batch = _folder(tmp_path / "b1", 1)
    (batch / "broken.edxml").write_bytes(b"<edXML><unclosed>")
    outcome = ingest_batch(batch, store, None)
    assert (outcome.outcome, outcome.documents) == ("ingested", 1)
    assert outcome.rejected_items >= 1
    reasons = table(store, "SELECT item_name, reason FROM rejected_items")
    assert any("broken.edxml" in str(name) and reason for name, reason in reasons)


def test_unreadable_batch_is_rejected_with_a_reason(tmp_path: Path, store: Store) -> None:
    (tmp_path / "export.zip").write_bytes(b"definitely not a zip")
    outcome = ingest_batch(tmp_path / "export.zip", store, None)
    assert outcome.outcome == "rejected" and outcome.reason
    assert table(store, "SELECT outcome, reason FROM batches") == [("rejected", outcome.reason)]
    assert table(store, "SELECT count(*) FROM documents") == [(0,)]


def test_a_bug_rolls_back_the_whole_batch(tmp_path: Path, store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise ZeroDivisionError("bug")

    monkeypatch.setattr(Store, "add_status_event", broken)
    monkeypatch.setattr(Store, "finish_batch", broken)
    with pytest.raises(ZeroDivisionError):
        ingest_batch(_folder(tmp_path / "b1", 1, 2), store, None)
    assert table(store, "SELECT (SELECT count(*) FROM batches), (SELECT count(*) FROM documents)") == [(0, 0)]
    assert store.counter_rows() == []


def test_vanished_path_is_rejected_without_touching_the_store(tmp_path: Path, store: Store) -> None:
    outcome = ingest_batch(tmp_path / "gone.edxml", store, None)
    assert outcome.outcome == "rejected" and "cannot read" in (outcome.reason or "")
    assert table(store, "SELECT count(*) FROM batches") == [(0,)]


def test_real_vpcp_sample_ingests(tmp_path: Path, store: Store) -> None:
    sample = VECTORS / "edxml" / "edxml-qcvn102-edoc-sample-vpcp.edxml"
    if not sample.exists():
        pytest.skip(f"shared vectors absent: {sample}")
    outcome = ingest_batch(sample, store, None)
    assert outcome.outcome == "ingested" and outcome.documents == 1
    assert table(store, "SELECT count(*) FROM recipients") == [(3,)]
    assert_counters_exact(store)


def _assert_refused_with_reasons(outcome: BatchOutcome, store: Store) -> None:
    """Nothing was counted, and whatever was refused says why: the whole batch, or each bad item."""
    reasons = [reason for (reason,) in table(store, "SELECT reason FROM rejected_items")]
    if outcome.outcome == "rejected":
        assert outcome.reason
    else:
        assert outcome.rejected_items >= 1 and all(reasons)
    assert table(store, "SELECT count(*) FROM documents") == [(0,)]


def test_real_malformed_sample_is_rejected_with_the_reason(tmp_path: Path, store: Store) -> None:
    sample = VECTORS / "edxml" / "edxml-qcvn102-edoc-sample-test-D77.edxml"
    if not sample.exists():
        pytest.skip(f"shared vectors absent: {sample}")
    _assert_refused_with_reasons(ingest_batch(sample, store, None), store)


def test_cli_ingest_freezes_start_up_objects_only_while_it_ingests(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    frozen_during: list[int] = []
    real_ingest_batch = cli_ingest.ingest_batch

    def watching_ingest_batch(*args: object, **kwargs: object) -> BatchOutcome:
        frozen_during.append(gc.get_freeze_count())
        return real_ingest_batch(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(cli_ingest, "ingest_batch", watching_ingest_batch)
    monkeypatch.chdir(tmp_path)
    before = gc.get_freeze_count()
    result = CliRunner().invoke(
        ingest, [str(_folder(tmp_path / "b", 1)), "--db", str(tmp_path / "s.db"), "--json", "--no-trust"]
    )
    assert result.exit_code == 0, result.output
    assert frozen_during and frozen_during[0] > before  # the loaded modules were out of the collector's reach
    assert gc.get_freeze_count() == before  # and are back in it: a test process keeps a normal collector


def test_cli_ingest_json_lines_and_exit_codes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    good = _folder(tmp_path / "good", 1, 2)
    (tmp_path / "bad.zip").write_bytes(b"nope")
    db = tmp_path / "cli.db"
    runner = CliRunner()
    monkeypatch.chdir(tmp_path)  # no docflow.toml from the developer's working directory
    result = runner.invoke(ingest, [str(good), str(tmp_path / "bad.zip"), "--db", str(db), "--no-trust", "--json"])
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    again = runner.invoke(ingest, [str(good), "--db", str(db), "--no-trust", "--json"])
    usage = runner.invoke(ingest, ["--db", str(db)])
    assert result.exit_code == 2  # one batch refused whole (issue 17)
    assert [line["outcome"] for line in lines] == ["ingested", "rejected"]
    assert set(lines[0]) >= {"file", "sha256", "outcome", "documents", "signatures", "rejected_items", "reason"}
    assert lines[0]["documents"] == 2
    assert again.exit_code == 0 and json.loads(again.stdout.splitlines()[-1])["outcome"] == "duplicate"
    assert usage.exit_code == 2
    assert good.exists(), "docflow ingest must not move the user's files"


def test_cli_rebuild_counters_keeps_them_equal(tmp_path: Path) -> None:
    db = tmp_path / "cli.db"
    with Store.open(db) as store:
        ingest_batch(_folder(tmp_path / "b", 1), store, None)
        before = store.counter_rows()
        store.conn.execute("DELETE FROM unit_counters")
    result = CliRunner().invoke(ingest, ["--rebuild-counters", "--db", str(db)])
    assert result.exit_code == 0
    with Store.open(db) as store:
        assert store.counter_rows() == before


def _common_name(issued: object) -> str:
    from cryptography.x509.oid import NameOID

    return str(issued.cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value)  # type: ignore[attr-defined]


def test_edxml_with_nd30_signed_pdf_counts_as_issued_electronically(
    tmp_path: Path, store: Store, signing: object, trust_dir: Path, person: object, organisation: object
) -> None:
    from signatures import TrustStore

    pdf = signing.make_pdf("Quyết định", ["Điều 1."])  # type: ignore[attr-defined]
    signed = signing.sign_pdf(signing.sign_pdf(pdf, person), organisation)  # type: ignore[attr-defined]
    batch = tmp_path / "b1"
    write_edxml(batch / "qd.edxml", sender_name=_common_name(organisation), attachment=("qd.signed.pdf", signed))
    (batch / "stray.signed.pdf").write_bytes(signing.sign_pdf(pdf, person))  # type: ignore[attr-defined]
    outcome = ingest_batch(batch, store, TrustStore.load(trust_dir))
    assert (outcome.outcome, outcome.documents, outcome.signatures) == ("ingested", 1, 3)
    assert table(store, "SELECT kind, indication FROM signatures WHERE document_id IS NOT NULL ORDER BY idx") == [
        ("person", "TOTAL_PASSED"),
        ("organisation", "TOTAL_PASSED"),
    ]
    assert table(store, "SELECT count(*) FROM signatures WHERE document_id IS NULL") == [(1,)]
    counts = counters_of(store, SENDER)
    assert counts["outgoing_nd30"] == 1 and counts["outgoing_issued_electronic"] == 1
    assert table(store, "SELECT count(*) FROM certificates") == [(2,)]
    assert_counters_exact(store)


def test_pdf_changed_after_signing_is_tampered(
    tmp_path: Path, store: Store, signing: object, trust_dir: Path, organisation: object
) -> None:
    from signatures import TrustStore

    signed = signing.sign_pdf(signing.make_pdf("Công văn", ["Nội dung"]), organisation)  # type: ignore[attr-defined]
    changed = signing.append_after_signature(signed)  # type: ignore[attr-defined]
    write_edxml(tmp_path / "cv.edxml", sender_name=_common_name(organisation), attachment=("cv.pdf", changed))
    assert ingest_batch(tmp_path / "cv.edxml", store, TrustStore.load(trust_dir)).outcome == "ingested"
    counts = counters_of(store, SENDER)
    assert counts["invalid_tampered"] == 1 and "outgoing_issued_electronic" not in counts


def _zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def _hostile_zip_slip(root: Path) -> Path:
    return _zip(root / "slip.zip", {"../../evil.edxml": edxml(number="66")})


def _hostile_zip_bomb(root: Path) -> Path:
    return _zip(root / "bomb.zip", {"huge.edxml": b"\0" * (40 << 20)})


def _hostile_symlink(root: Path) -> Path:
    folder = root / "linked"
    folder.mkdir()
    outside = write_edxml(root / "outside.edxml", number="67")
    (folder / "doc.edxml").symlink_to(outside)
    return folder


def _hostile_external_entity(root: Path) -> Path:
    (root / "secret.txt").write_text("secret")
    text = (
        edxml(number="68")
        .decode()
        .replace(
            '<?xml version="1.0" encoding="UTF-8"?>',
            f'<?xml version="1.0" encoding="UTF-8"?><!DOCTYPE edXML [<!ENTITY x SYSTEM "file://{root}/secret.txt">]>',
        )
        .replace("Về việc thử nghiệm 68", "&x;")
    )
    (root / "xxe.edxml").write_text(text, encoding="utf-8")
    return root / "xxe.edxml"


def _hostile_empty_folder(root: Path) -> Path:
    (root / "empty").mkdir()
    return root / "empty"


def _hostile_unknown_type(root: Path) -> Path:
    (root / "notes.docx").write_bytes(b"PK\x03\x04 not really a word file")
    return root / "notes.docx"


@pytest.mark.parametrize(
    "make",
    [
        _hostile_zip_slip,
        _hostile_zip_bomb,
        _hostile_symlink,
        _hostile_external_entity,
        _hostile_empty_folder,
        _hostile_unknown_type,
    ],
    ids=lambda make: make.__name__.removeprefix("_hostile_"),
)
def test_hostile_batch_is_rejected_or_its_bad_items_are(tmp_path: Path, store: Store, make: object) -> None:
    hostile = tmp_path / "hostile"
    hostile.mkdir()
    _assert_refused_with_reasons(ingest_batch(make(hostile), store, None), store)  # type: ignore[operator]
    assert not (tmp_path / "evil.edxml").exists()


_REGISTER_HEADER = "unit_code,direction,number,notation,date,channel,confidential,counterpart,subject,file\n"


def _register(path: Path, *rows: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(_REGISTER_HEADER + "".join(f"{row}\n" for row in rows), encoding="utf-8")
    return path


def test_sender_register_counts_paper_and_confidential_documents(tmp_path: Path, store: Store) -> None:
    batch = _register(
        tmp_path / "so-di.csv",
        f"{SENDER},out,10,SNV-VP,2024-03-05,paper,0,{RECIPIENT},Giấy mời,",
        f"{SENDER},out,11,SNV-VP,2024-03-06,electronic,1,{RECIPIENT},Mật,",
        f"{SENDER},out,12,SNV-VP,31/02/2024,electronic,0,{RECIPIENT},Ngày sai,",
    )
    outcome = ingest_batch(batch, store, None)
    assert (outcome.outcome, outcome.documents, outcome.rejected_items) == ("ingested", 2, 1)
    assert counters_of(store, SENDER) == {"outgoing": 1, "outgoing_paper": 1, "outgoing_confidential": 1}
    assert counters_of(store, RECIPIENT) == {"incoming": 1, "incoming_confidential": 1}
    assert_counters_exact(store)


def test_sender_register_and_edxml_of_one_document_are_one_document(tmp_path: Path, store: Store) -> None:
    ingest_batch(write_edxml(tmp_path / "e" / "doc.edxml", number="7", paper=0), store, None)
    register = _register(tmp_path / "r" / "so-di.csv", f"{SENDER},out,7,SNV-VP,2024-03-01,both,0,{RECIPIENT},x,")
    ingest_batch(register, store, None)
    incoming = _register(tmp_path / "r2" / "so-den.csv", f"{RECIPIENT},in,7,SNV-VP,2024-03-01,paper,0,{SENDER},x,")
    ingest_batch(incoming, store, None)
    assert table(store, "SELECT count(*), channel, sent_over_axis FROM documents") == [(1, "both", 1)]
    assert table(store, "SELECT unit, received_electronic FROM recipients") == [(RECIPIENT, 1)]
    assert counters_of(store, SENDER)["outgoing"] == 1 and counters_of(store, RECIPIENT)["incoming"] == 1
    assert_counters_exact(store)


def test_register_row_naming_a_signed_file_gets_its_signatures(
    tmp_path: Path, store: Store, signing: object, trust_dir: Path, person: object, organisation: object
) -> None:
    from signatures import TrustStore

    signed = signing.sign_pdf(signing.sign_pdf(signing.make_pdf("QĐ", ["1"]), person), organisation)  # type: ignore[attr-defined]
    batch = tmp_path / "batch"
    (batch / "pdf").mkdir(parents=True)
    (batch / "pdf" / "qd-20.pdf").write_bytes(signed)
    _register(batch / "so-di.csv", f"{SENDER},out,20,SNV-VP,2024-03-01,electronic,0,{RECIPIENT},QĐ,pdf/qd-20.pdf")
    store.upsert_unit(SENDER, _common_name(organisation), "import")
    outcome = ingest_batch(batch, store, TrustStore.load(trust_dir))
    assert (outcome.documents, outcome.signatures) == (1, 2)
    assert table(store, "SELECT count(*) FROM signatures WHERE document_id IS NULL") == [(0,)]
    assert counters_of(store, SENDER)["outgoing_nd30"] == 1


@pytest.mark.parametrize(
    ("finished", "on_time"), [(datetime(2024, 3, 10, 16, 0), True), (datetime(2024, 3, 11, 8), False)]
)
def test_completion_status_decides_on_time_handling(
    tmp_path: Path, store: Store, finished: datetime, on_time: bool
) -> None:
    document_id = f"{SENDER},2024/03/01,5/SNV-VP"
    status = tmp_path / "status.edxml"
    status.write_bytes(build_status(document_id=document_id, reporter=RECIPIENT, code="06", timestamp=finished))
    assert ingest_batch(status, store, None).outcome == "ingested"  # the status may come first
    ingest_batch(write_edxml(tmp_path / "doc.edxml", number="5", due=date(2024, 3, 10)), store, None)
    counts = counters_of(store, RECIPIENT)
    assert counts["incoming_due"] == 1
    assert counts.get("incoming_due_on_time", 0) == int(on_time)
    assert_counters_exact(store)
