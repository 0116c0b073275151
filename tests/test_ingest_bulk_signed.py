"""New edXML documents and their signatures, merged in bulk, leave the store as merging one by one would."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from helpers.ingest import OTHER, RECIPIENT, SENDER, SIGNATURES_COMPARED, ingest_all, table, write_edxml

import docflow.ingest.batch_run as batch_run_module
from docflow.store.core import Store
from samples.edxml import build_status
from signatures import TrustStore

AGENCY_NAME = "Sở Tài chính tỉnh Bắc Kạn"
"""The organisation certificate's name (conftest's AGENCY): the sender's name in the packages below."""

_COMPARED = (
    "SELECT * FROM documents ORDER BY document_id",
    "SELECT * FROM recipients ORDER BY document_id, unit",
    "SELECT * FROM document_sources ORDER BY document_id, batch_id, item_name",
    "SELECT * FROM units ORDER BY code",
    SIGNATURES_COMPARED,
    "SELECT * FROM certificates ORDER BY sha256",
    "SELECT * FROM unit_counters ORDER BY unit, period",
    "SELECT batch_id, item_name, reason FROM rejected_items ORDER BY id",
    "SELECT documents, signatures, rejected_items FROM batches ORDER BY id",
)


@pytest.fixture(scope="module")
def batches(tmp_path_factory: pytest.TempPathFactory, person: object, organisation: object) -> list[Path]:
    """Two batches that take every branch: bulk, a pending document or file seen again, a file stored before,
    a register row for a document before and after its package."""
    signing = pytest.importorskip("samples.pdfgen", reason="the sample PDF signer (samples.pdfgen) is not available")
    root = tmp_path_factory.mktemp("bulk-signed")

    def signed(title: str, *signers: object) -> bytes:
        pdf = signing.make_pdf(title, ["Điều 1."])
        for signer in signers or (person, organisation):
            pdf = signing.sign_pdf(pdf, signer)
        return pdf

    first, second = root / "1", root / "2"
    shared = signed("Công văn 1")
    stored_later = signed("Công văn 2")
    # Signed by the organisation certificate before any package has named its unit: no evidence either way
    # yet, where evidence gathered later in the batch would say "another unit".
    write_edxml(
        first / "a-other.edxml",
        sender=OTHER,
        sender_name="Đơn vị lạ",
        number="50",
        attachment=("cv-50.pdf", signed("Công văn 50", organisation)),
    )
    write_edxml(
        first / "b-1.edxml",
        sender_name=AGENCY_NAME,
        number="1",
        recipients=(RECIPIENT, OTHER),
        attachment=("cv-1.pdf", shared),
    )
    write_edxml(first / "b-2.edxml", sender_name=AGENCY_NAME, number="2", attachment=("cv-2.pdf", stored_later))
    write_edxml(first / "b-3.edxml", sender_name=AGENCY_NAME, number="3", attachment=("cv-3.pdf", signed("3")))
    write_edxml(first / "c-same-file.edxml", sender_name=AGENCY_NAME, number="4", attachment=("cv-4.pdf", shared))
    write_edxml(
        first / "d-same-document.edxml",
        sender_name=AGENCY_NAME,
        number="1",
        paper=1,
        attachment=("cv-1b.pdf", signed("Công văn 1, bản 2")),
    )
    write_edxml(
        first / "e-unsigned.edxml",
        sender_name=AGENCY_NAME,
        number="5",
        attachment=("cv-5.pdf", signing.make_pdf("Không ký", ["Điều 1."])),
    )
    (first / "f-status.edxml").write_bytes(
        build_status(
            document_id=f"{SENDER},2024/03/01,3/SNV-VP",
            reporter=RECIPIENT,
            code="06",
            timestamp=datetime(2024, 3, 4, 10, 0),
        )
    )
    write_edxml(first / "g-6.edxml", sender_name=AGENCY_NAME, number="6", attachment=("cv-6.pdf", signed("6")))
    # The sender's register lists one document before its package arrives and one after.
    header = "unit_code,direction,number,notation,date,channel,confidential,counterpart,subject,file\n"
    (first / "0-so-di.csv").write_text(
        header + f"{SENDER},out,6,SNV-VP,2024-03-01,both,0,{RECIPIENT},before,\n", encoding="utf-8"
    )
    (first / "z-so-di.csv").write_text(
        header + f"{SENDER},out,3,SNV-VP,2024-03-01,paper,0,{OTHER},after,\n", encoding="utf-8"
    )
    write_edxml(
        second / "h-stored-file.edxml", sender_name=AGENCY_NAME, number="7", attachment=("cv-7.pdf", stored_later)
    )
    write_edxml(second / "i-8.edxml", sender_name=AGENCY_NAME, number="8", attachment=("cv-8.pdf", signed("8")))
    return [first, second]


@pytest.mark.parametrize("bulk_rows", [1, 2, 5_000])
def test_bulk_merge_of_signed_documents_equals_merging_one_by_one(
    tmp_path: Path, batches: list[Path], trust_dir: Path, monkeypatch: pytest.MonkeyPatch, bulk_rows: int
) -> None:
    with monkeypatch.context() as patch:
        patch.setattr(batch_run_module, "_new_signed_candidate", lambda record: False)
        reference = ingest_all(tmp_path / "reference.db", batches, TrustStore.load(trust_dir))
    monkeypatch.setattr(batch_run_module, "_BULK_ROWS", bulk_rows)
    bulk = ingest_all(tmp_path / "bulk.db", batches, TrustStore.load(trust_dir))
    for query in _COMPARED:
        assert table(bulk, query) == table(reference, query), query
    # The cases above were really taken: a wrong-unit verdict would show had "a-other" waited for later names.
    assert table(bulk, "SELECT count(*), count(DISTINCT payload_sha256) FROM signatures") == [(13, 7)]
    assert table(bulk, "SELECT belongs_to_sender FROM signatures WHERE item_name LIKE 'a-other%'") == [(None,)]
    assert table(bulk, "SELECT count(*) FROM rejected_items WHERE reason LIKE '%no digital signature%'") == [(1,)]
    reference.close()
    bulk.close()


@pytest.mark.slow
def test_the_demo_province_comes_out_the_same_in_bulk_and_one_by_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A year of a province's batches mixes registers and packages, units named late, certificates of other
    # units and revocations: the interplay the hand-made batches above may miss.
    from docflow.reports.certs import import_issued
    from docflow.reports.units import import_units
    from samples.province import build_province

    build = build_province(tmp_path / "province", scale=0.3)
    batches = sorted(build.inbox.iterdir())

    def ingest(db: Path) -> Store:
        with Store.open(db) as store:
            import_units(store.conn, build.units_file)
            import_issued(store.conn, build.issued_file)
        return ingest_all(db, batches, TrustStore.load(build.trust_dir))

    with monkeypatch.context() as patch:
        patch.setattr(batch_run_module, "_new_signed_candidate", lambda record: False)
        reference = ingest(tmp_path / "reference.db")
    bulk = ingest(tmp_path / "bulk.db")
    assert table(bulk, "SELECT count(*) FROM batches WHERE outcome = 'ingested'") == [(len(batches),)]
    for query in _COMPARED:
        assert table(bulk, query) == table(reference, query), query
    reference.close()
    bulk.close()
