"""What changed after each PDF signature, and the one rule ``docflow verify`` and ingest share."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from docflow.cli import main
from docflow.ingest.run import ingest_batch
from docflow.store.core import Store
from helpers.ingest import SENDER, counters_of, table, write_edxml
from pdf_updates import add_annotation, add_dss, add_field_with_signature_dict, add_page, free_object, object_body
from pdf_updates import replace_object
from samples.pdfgen import make_pdf, sign_pdf
from samples.pki import Issued
from signatures import TrustStore, verify_pdf
from signatures.modification import changes_permitted, permitted
from signatures.verdict import Modification

M = Modification
_DOCMDP = " /Reference [<< /Type /SigRef /TransformMethod /DocMDP /TransformParams << /Type /TransformParams /P {p} /V /1.2 >> >>]"


@pytest.fixture(scope="module")
def nd30_pdf(person: Issued, organisation: Issued, signing_time: datetime) -> bytes:
    pdf = make_pdf("Quyết định", ["Điều 1. Phê duyệt."])
    return sign_pdf(sign_pdf(pdf, person, signing_time=signing_time), organisation, signing_time=signing_time)


def _certified(person: Issued, organisation: Issued, signing_time: datetime, p: int, *, approve: bool) -> bytes:
    # sign_pdf writes the subfilter into the signature dictionary as given: the DocMDP reference rides along.
    certified = sign_pdf(make_pdf("Hợp đồng", ["x"]), person, signing_time=signing_time,
                         subfilter="adbe.pkcs7.detached" + _DOCMDP.format(p=p))
    return sign_pdf(certified, organisation, signing_time=signing_time) if approve else certified


def _changes(pdf: bytes, trust: TrustStore) -> list[tuple[Modification | None, bool | None]]:
    verdicts = verify_pdf(pdf, trust=trust)
    assert all(v.passed for v in verdicts), [v.reason for v in verdicts]
    return [(v.modification, changes_permitted(v)) for v in verdicts]


def _empty_signature_field(pdf: bytes) -> bytes:
    return add_field_with_signature_dict(pdf, b"<< /FT /Sig /T (Empty) /Rect [0 0 0 0] >>", None)


def test_nd30_pair_unchanged(nd30_pdf: bytes, trust: TrustStore) -> None:
    assert _changes(nd30_pdf, trust) == [(M.FORM_FILLING, True), (M.NONE, True)]


def test_page_added_after_signing_is_other(nd30_pdf: bytes, trust: TrustStore) -> None:
    changed = _changes(add_page(nd30_pdf), trust)
    assert changed == [(M.OTHER, False), (M.OTHER, False)]


def test_content_stream_replaced_is_other(nd30_pdf: bytes, trust: TrustStore) -> None:
    """The shadow attack: an object of the signed revision written again with other content."""
    text = b"BT /F1 12 Tf 72 770 Td (Noi dung khac) Tj ET"
    shadowed = replace_object(nd30_pdf, 5, b"<< /Length %d >>\nstream\n" % len(text) + text + b"\nendstream")
    assert _changes(shadowed, trust) == [(M.OTHER, False), (M.OTHER, False)]


def test_content_stream_freed_is_other(nd30_pdf: bytes, trust: TrustStore) -> None:
    """Freeing a signed object blanks whatever refers to it, though its old bytes are still in the file."""
    assert _changes(free_object(nd30_pdf, 5), trust) == [(M.OTHER, False), (M.OTHER, False)]


def test_font_replaced_is_other(nd30_pdf: bytes, trust: TrustStore) -> None:
    shadowed = replace_object(nd30_pdf, 3, b"<< /Type /Font /Subtype /Type1 /BaseFont /Courier >>")
    assert _changes(shadowed, trust)[-1] == (M.OTHER, False)


def test_object_written_again_unchanged_is_no_change(nd30_pdf: bytes, trust: TrustStore) -> None:
    assert _changes(replace_object(nd30_pdf, 3, object_body(nd30_pdf, 3)), trust)[-1] == (M.NONE, True)


def test_itext_version_mark_on_the_page_tree_is_no_change(nd30_pdf: bytes, trust: TrustStore) -> None:
    pages = object_body(nd30_pdf, 2)
    marked = replace_object(nd30_pdf, 2, pages.rstrip()[:-2] + b" /ITXT (5.5.13) >>")
    assert _changes(marked, trust)[-1] == (M.NONE, True)


def test_info_title_changed_is_other(nd30_pdf: bytes, trust: TrustStore) -> None:
    from samples.pdfgen import append_after_signature

    assert _changes(append_after_signature(nd30_pdf), trust)[-1] == (M.OTHER, False)


def test_validation_data_after_the_last_signature_is_permitted(nd30_pdf: bytes, trust: TrustStore) -> None:
    assert _changes(add_dss(nd30_pdf), trust) == [(M.FORM_FILLING, True), (M.LTV, True)]


def test_document_timestamp_after_the_last_signature_is_ltv(nd30_pdf: bytes, trust: TrustStore) -> None:
    stamp = b"<< /Type /DocTimeStamp /SubFilter /ETSI.RFC3161 /ByteRange [0 10 20 30] /Contents <00> >>"
    stamped = add_field_with_signature_dict(nd30_pdf, b"<< /FT /Sig /T (Stamp) /V {sig} 0 R /Rect [0 0 0 0] >>", stamp)
    assert _changes(stamped, trust) == [(M.FORM_FILLING, True), (M.LTV, True)]


def test_annotation_after_the_last_signature_is_not_permitted(nd30_pdf: bytes, trust: TrustStore) -> None:
    assert _changes(add_annotation(nd30_pdf), trust) == [(M.ANNOTATIONS, True), (M.ANNOTATIONS, False)]


def test_annotation_between_signatures_is_permitted(person: Issued, organisation: Issued, signing_time: datetime,
                                                     trust: TrustStore) -> None:
    first = sign_pdf(make_pdf("Tờ trình", ["x"]), person, signing_time=signing_time)
    both = sign_pdf(add_annotation(first), organisation, signing_time=signing_time)
    assert _changes(both, trust) == [(M.ANNOTATIONS, True), (M.NONE, True)]


def test_empty_signature_field_after_the_last_signature_is_form_filling(nd30_pdf: bytes, trust: TrustStore) -> None:
    assert _changes(_empty_signature_field(nd30_pdf), trust)[-1] == (M.FORM_FILLING, False)


@pytest.mark.parametrize(("p", "expected"), [(1, False), (2, True), (3, True)])
def test_docmdp_decides_what_may_follow_a_certification(p: int, expected: bool, person: Issued,
                                                        organisation: Issued, signing_time: datetime,
                                                        trust: TrustStore) -> None:
    certified = _certified(person, organisation, signing_time, p, approve=True)
    assert _changes(certified, trust) == [(M.FORM_FILLING, expected), (M.NONE, True)]


def test_docmdp_2_permits_form_filling_after_the_last_signature(person: Issued, organisation: Issued,
                                                                 signing_time: datetime, trust: TrustStore) -> None:
    certified = _certified(person, organisation, signing_time, 2, approve=False)
    assert _changes(_empty_signature_field(certified), trust) == [(M.FORM_FILLING, True)]
    assert _changes(add_annotation(certified), trust) == [(M.ANNOTATIONS, False)]


def test_permitted_rule() -> None:
    assert [permitted(level, last=True, docmdp=None) for level in M] == [True, True, False, False, False]
    assert [permitted(level, last=False, docmdp=None) for level in M] == [True, True, True, True, False]
    assert [permitted(level, last=True, docmdp=3) for level in M] == [True, True, True, True, False]


def _verify_cli(path: Path, trust_dir: Path) -> tuple[int, list[dict[str, object]]]:
    result = CliRunner().invoke(main, ["verify", str(path), "--trust", str(trust_dir), "--json"])
    return result.exit_code, [json.loads(line) for line in result.output.splitlines() if line.startswith("{")]


def test_verify_exits_one_for_pages_added_after_signing(tmp_path: Path, nd30_pdf: bytes, trust_dir: Path) -> None:
    path = tmp_path / "added.pdf"
    path.write_bytes(add_page(nd30_pdf))
    code, rows = _verify_cli(path, trust_dir)
    assert code == 1
    assert [row["modification"] for row in rows] == ["other", "other"]
    assert all(row["indication"] == "TOTAL_PASSED" for row in rows)
    assert "not what was signed" in str(rows[-1]["reason"])


def test_verify_exits_zero_for_validation_data_after_signing(tmp_path: Path, nd30_pdf: bytes, trust_dir: Path) -> None:
    path = tmp_path / "ltv.pdf"
    path.write_bytes(add_dss(nd30_pdf))
    code, rows = _verify_cli(path, trust_dir)
    assert code == 0, rows
    assert [row["modification"] for row in rows] == ["form_filling", "ltv"]


def test_verify_table_shows_the_change_in_words(tmp_path: Path, nd30_pdf: bytes, trust_dir: Path) -> None:
    path = tmp_path / "added.pdf"
    path.write_bytes(add_page(nd30_pdf))
    result = CliRunner(env={"COLUMNS": "250"}).invoke(main, ["verify", str(path), "--trust", str(trust_dir)])
    assert "pages, content or other parts" in result.output and "not permitted" in result.output


def _ingest(tmp_path: Path, pdf: bytes, organisation: Issued, trust: TrustStore) -> Store:
    from cryptography.x509.oid import NameOID

    name = str(organisation.cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value)
    write_edxml(tmp_path / "qd.edxml", sender_name=name, attachment=("qd.pdf", pdf))
    store = Store.open(tmp_path / "docflow.db")
    assert ingest_batch(tmp_path / "qd.edxml", store, trust).outcome == "ingested"
    return store


def test_ingest_counts_pages_added_after_signing_as_tampered(tmp_path: Path, nd30_pdf: bytes, organisation: Issued,
                                                             trust: TrustStore) -> None:
    store = _ingest(tmp_path, add_page(nd30_pdf), organisation, trust)
    try:
        assert table(store, "SELECT modification FROM signatures ORDER BY idx") == [("other",), ("other",)]
        counts = counters_of(store, SENDER)
        assert counts["invalid_tampered"] == 1 and "outgoing_issued_electronic" not in counts
    finally:
        store.close()


def test_ingest_accepts_validation_data_after_signing(tmp_path: Path, nd30_pdf: bytes, organisation: Issued,
                                                      trust: TrustStore) -> None:
    store = _ingest(tmp_path, add_dss(nd30_pdf), organisation, trust)
    try:
        assert table(store, "SELECT modification FROM signatures ORDER BY idx") == [("form_filling",), ("ltv",)]
        counts = counters_of(store, SENDER)
        assert "invalid_tampered" not in counts and counts["outgoing_issued_electronic"] == 1
    finally:
        store.close()


def test_revisions_beyond_the_bound_are_not_called_harmless(nd30_pdf: bytes, trust: TrustStore,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    import signatures.modification as modification

    monkeypatch.setattr(modification, "_MAX_REVISIONS", 1)
    assert _changes(add_dss(nd30_pdf), trust) == [(M.FORM_FILLING, True), (M.OTHER, False)]
