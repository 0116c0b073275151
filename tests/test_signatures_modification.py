"""What changed after each PDF signature, and the one rule ``docflow verify`` and ingest share."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers.ingest import SENDER, counters_of, table, write_edxml
from helpers.vectors import vectors_or_skip
from pdf_updates import (
    Update,
    add_annotation,
    add_dss,
    add_field_with_signature_dict,
    add_page,
    add_text_field,
    add_to_catalog,
    append_update,
    free_object,
    object_body,
    replace_object,
)

from docflow.cli import main
from docflow.ingest.run import ingest_batch
from docflow.store.core import Store
from samples.pdfgen import make_pdf, sign_pdf
from samples.pki import Issued
from signatures import TrustStore, verify_pdf
from signatures.modification import changes_permitted, permitted
from signatures.verdict import Modification

M = Modification
_DOCMDP = (
    " /Reference [<< /Type /SigRef /TransformMethod /DocMDP"
    " /TransformParams << /Type /TransformParams /P {p} /V /1.2 >> >>]"
)


@pytest.fixture(scope="module")
def nd30_pdf(person: Issued, organisation: Issued, signing_time: datetime) -> bytes:
    pdf = make_pdf("Quyết định", ["Điều 1. Phê duyệt."])
    return sign_pdf(sign_pdf(pdf, person, signing_time=signing_time), organisation, signing_time=signing_time)


def _certified(person: Issued, organisation: Issued, signing_time: datetime, p: int, *, approve: bool) -> bytes:
    # sign_pdf writes the subfilter into the signature dictionary as given: the DocMDP reference rides along.
    certified = sign_pdf(
        make_pdf("Hợp đồng", ["x"]),
        person,
        signing_time=signing_time,
        subfilter="adbe.pkcs7.detached" + _DOCMDP.format(p=p),
    )
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
    size = Update(nd30_pdf).size
    retitled = append_update(nd30_pdf, {size: b"<< /Title (Sua sau khi ky) >>"}, b" /Info %d 0 R" % size)
    assert _changes(retitled, trust)[-1] == (M.OTHER, False)


def test_sample_edited_after_signing_has_a_page_more(nd30_pdf: bytes, trust: TrustStore) -> None:
    """The samples' "page added after signing" (03-them-trang-sau-khi-ky.pdf) is that: a page in the page tree."""
    from pypdf import PdfReader

    from samples.pdfgen import append_after_signature

    edited = append_after_signature(nd30_pdf)
    assert len(PdfReader(io.BytesIO(edited)).pages) == len(PdfReader(io.BytesIO(nd30_pdf)).pages) + 1
    assert _changes(edited, trust) == [(M.OTHER, False), (M.OTHER, False)]


def test_validation_data_after_the_last_signature_is_permitted(nd30_pdf: bytes, trust: TrustStore) -> None:
    assert _changes(add_dss(nd30_pdf), trust) == [(M.FORM_FILLING, True), (M.LTV, True)]


def test_document_timestamp_after_the_last_signature_is_ltv(nd30_pdf: bytes, trust: TrustStore) -> None:
    stamp = b"<< /Type /DocTimeStamp /SubFilter /ETSI.RFC3161 /ByteRange [0 10 20 30] /Contents <00> >>"
    stamped = add_field_with_signature_dict(nd30_pdf, b"<< /FT /Sig /T (Stamp) /V {sig} 0 R /Rect [0 0 0 0] >>", stamp)
    assert _changes(stamped, trust) == [(M.FORM_FILLING, True), (M.LTV, True)]


def test_visible_document_timestamp_after_the_last_signature_is_not_validation_data(
    nd30_pdf: bytes, trust: TrustStore
) -> None:
    """A "timestamp" whose widget draws an appearance on the page shows something new, as a signature would."""
    stamp = b"<< /Type /DocTimeStamp /SubFilter /ETSI.RFC3161 /ByteRange [0 10 20 30] /Contents <00> >>"
    field = (
        b"<< /FT /Sig /Type /Annot /Subtype /Widget /T (Stamp) /V {sig} 0 R /Rect [72 600 300 650]"
        b" /AP << /N 3 0 R >> >>"
    )
    assert _changes(add_field_with_signature_dict(nd30_pdf, field, stamp), trust)[-1] == (M.FORM_FILLING, False)


def test_annotation_after_the_last_signature_is_not_permitted(nd30_pdf: bytes, trust: TrustStore) -> None:
    assert _changes(add_annotation(nd30_pdf), trust) == [(M.ANNOTATIONS, True), (M.ANNOTATIONS, False)]


def test_annotation_between_signatures_is_permitted(
    person: Issued, organisation: Issued, signing_time: datetime, trust: TrustStore
) -> None:
    first = sign_pdf(make_pdf("Tờ trình", ["x"]), person, signing_time=signing_time)
    both = sign_pdf(add_annotation(first), organisation, signing_time=signing_time)
    assert _changes(both, trust) == [(M.ANNOTATIONS, True), (M.NONE, True)]


def test_empty_signature_field_after_the_last_signature_is_form_filling(nd30_pdf: bytes, trust: TrustStore) -> None:
    assert _changes(_empty_signature_field(nd30_pdf), trust)[-1] == (M.FORM_FILLING, False)


@pytest.mark.parametrize(("p", "expected"), [(1, False), (2, True), (3, True)])
def test_docmdp_decides_what_may_follow_a_certification(
    p: int, expected: bool, person: Issued, organisation: Issued, signing_time: datetime, trust: TrustStore
) -> None:
    certified = _certified(person, organisation, signing_time, p, approve=True)
    assert _changes(certified, trust) == [(M.FORM_FILLING, expected), (M.NONE, True)]


def test_docmdp_2_permits_form_filling_after_the_last_signature(
    person: Issued, organisation: Issued, signing_time: datetime, trust: TrustStore
) -> None:
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
    assert "trang, nội dung hoặc phần khác" in result.output and "không được phép" in result.output


def _ingest(tmp_path: Path, pdf: bytes, organisation: Issued, trust: TrustStore) -> Store:
    from cryptography.x509.oid import NameOID

    name = str(organisation.cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value)
    write_edxml(tmp_path / "qd.edxml", sender_name=name, attachment=("qd.pdf", pdf))
    store = Store.open(tmp_path / "docflow.db")
    assert ingest_batch(tmp_path / "qd.edxml", store, trust).outcome == "ingested"
    return store


def test_ingest_counts_pages_added_after_signing_as_tampered(
    tmp_path: Path, nd30_pdf: bytes, organisation: Issued, trust: TrustStore
) -> None:
    store = _ingest(tmp_path, add_page(nd30_pdf), organisation, trust)
    try:
        assert table(store, "SELECT modification FROM signatures ORDER BY idx") == [("other",), ("other",)]
        counts = counters_of(store, SENDER)
        assert counts["invalid_tampered"] == 1 and "outgoing_issued_electronic" not in counts
    finally:
        store.close()


def test_ingest_accepts_validation_data_after_signing(
    tmp_path: Path, nd30_pdf: bytes, organisation: Issued, trust: TrustStore
) -> None:
    store = _ingest(tmp_path, add_dss(nd30_pdf), organisation, trust)
    try:
        assert table(store, "SELECT modification FROM signatures ORDER BY idx") == [("form_filling",), ("ltv",)]
        counts = counters_of(store, SENDER)
        assert "invalid_tampered" not in counts and counts["outgoing_issued_electronic"] == 1
    finally:
        store.close()


def test_revisions_beyond_the_bound_are_not_called_harmless(
    nd30_pdf: bytes, trust: TrustStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    import signatures.modification as modification

    monkeypatch.setattr(modification, "_MAX_REVISIONS", 1)
    assert _changes(add_dss(nd30_pdf), trust) == [(M.FORM_FILLING, True), (M.OTHER, False)]


# -- an object of the signed revision that plays two parts is judged by the stricter ---------------------------

_STREAM = b"<< /Length %d >>\nstream\n%s\nendstream"


def _stream(text: bytes) -> bytes:
    return _STREAM % (len(text), text)


_OTHER_TEXT = _stream(b"BT /F1 12 Tf 72 770 Td (Noi dung khac) Tj ET")


def _signed_around(
    person: Issued,
    organisation: Issued,
    signing_time: datetime,
    prepare: Callable[[bytes], bytes],
    between: Callable[[bytes], bytes],
) -> bytes:
    """``prepare`` shapes the document the person signs; ``between`` is the update before the organisation signs."""
    first = sign_pdf(prepare(make_pdf("Quyết định", ["Điều 1. Phê duyệt."])), person, signing_time=signing_time)
    return sign_pdf(between(first), organisation, signing_time=signing_time)


def _first_change(pdf: bytes, trust: TrustStore) -> Modification | None:
    return verify_pdf(pdf, trust=trust)[0].modification


def test_field_appearance_rewritten_in_place_is_form_filling(
    person: Issued, organisation: Issued, signing_time: datetime, trust: TrustStore
) -> None:
    """The control for the cases below: a widget's own appearance stream written again is filling the form."""
    pdf = _signed_around(
        person,
        organisation,
        signing_time,
        lambda pdf: add_text_field(pdf, b"<< /N {0} 0 R >>", [_stream(b"(a) Tj")]),
        lambda pdf: replace_object(pdf, 7, _stream(b"(b) Tj")),
    )
    assert _changes(pdf, trust) == [(M.FORM_FILLING, True), (M.NONE, True)]


def test_page_content_that_is_also_an_appearance_is_content(
    person: Issued, organisation: Issued, signing_time: datetime, trust: TrustStore
) -> None:
    """The page's content stream doubles as a widget's appearance: rewriting it rewrites the page."""
    pdf = _signed_around(
        person,
        organisation,
        signing_time,
        lambda pdf: add_text_field(pdf, b"<< /N 5 0 R >>"),
        lambda pdf: replace_object(pdf, 5, _OTHER_TEXT),
    )
    assert _changes(pdf, trust) == [(M.OTHER, False), (M.NONE, True)]


def test_appearance_stream_referred_to_elsewhere_is_other(
    person: Issued, organisation: Issued, signing_time: datetime, trust: TrustStore
) -> None:
    """pyHanko's form-update-override-appearance-stream-sneaky, built here: the stream is also a catalog entry."""

    def prepare(pdf: bytes) -> bytes:
        return add_to_catalog(add_text_field(pdf, b"<< /N {0} 0 R >>", [_stream(b"(a) Tj")]), b"/FooBar 7 0 R")

    pdf = _signed_around(person, organisation, signing_time, prepare, lambda pdf: replace_object(pdf, 7, _OTHER_TEXT))
    assert _first_change(pdf, trust) is M.OTHER


@pytest.mark.parametrize("reroute", [False, True])
def test_shared_appearance_dictionary_is_other(
    reroute: bool, person: Issued, organisation: Issued, signing_time: datetime, trust: TrustStore
) -> None:
    """pyHanko's *-ap-indirect-sneaky files, built here: the widget's /AP dictionary is shared with another entry,
    and the update rewrites its stream or points the widget at a new dictionary."""

    def prepare(pdf: bytes) -> bytes:
        field = add_text_field(pdf, b"{0} 0 R", [b"<< /N {1} 0 R >>", _stream(b"(a) Tj")])
        return add_to_catalog(field, b"/FooBar 7 0 R")

    def between(pdf: bytes) -> bytes:
        if not reroute:
            return replace_object(pdf, 8, _OTHER_TEXT)
        widget = object_body(pdf, 6).replace(b"/AP 7 0 R", b"/AP << /N 12 0 R >>")
        return append_update(pdf, {6: widget, 12: _OTHER_TEXT})

    pdf = _signed_around(person, organisation, signing_time, prepare, between)
    assert _first_change(pdf, trust) is M.OTHER


def test_signed_field_appearance_changed_later_is_other(
    person: Issued, organisation: Issued, signing_time: datetime, trust: TrustStore
) -> None:
    """What a signed signature field shows is part of what was signed (pyHanko: a signed field may not change)."""

    def between(pdf: bytes) -> bytes:
        field = max(int(n) for n in re.findall(rb"(\d+) 0 obj\n<< /Type /Annot /Subtype /Widget /FT /Sig", pdf))
        body = object_body(pdf, field).rstrip()[:-2] + b" /AP << /N 30 0 R >> >>"
        return append_update(pdf, {field: body, 30: _OTHER_TEXT})

    pdf = _signed_around(person, organisation, signing_time, lambda pdf: pdf, between)
    assert _first_change(pdf, trust) is M.OTHER


@pytest.mark.parametrize("decoy", [b"/Type /ObjStm /N 0 /First 0", b"/Type /XRef"])
def test_content_stream_typed_as_file_structure_is_content(
    decoy: bytes, person: Issued, organisation: Issued, signing_time: datetime, trust: TrustStore
) -> None:
    """A stream the page uses is content whatever /Type it claims; only unreferenced ones are file structure."""

    def prepare(pdf: bytes) -> bytes:
        text = b"BT /F1 12 Tf 72 770 Td (Quyet dinh) Tj ET"
        return replace_object(pdf, 5, b"<< /Length %d %s >>\nstream\n%s\nendstream" % (len(text), decoy, text))

    pdf = _signed_around(person, organisation, signing_time, prepare, lambda pdf: replace_object(pdf, 5, _OTHER_TEXT))
    assert _first_change(pdf, trust) is M.OTHER


@pytest.mark.parametrize("entry", [b"/DSS << /Certs [5 0 R] >>", b"/Metadata 5 0 R"])
def test_content_stream_listed_as_validation_data_is_content(
    entry: bytes, person: Issued, organisation: Issued, signing_time: datetime, trust: TrustStore
) -> None:
    """A DSS or XMP entry naming the page's content stream does not make rewriting that stream validation data."""
    pdf = _signed_around(
        person,
        organisation,
        signing_time,
        lambda pdf: add_to_catalog(pdf, entry),
        lambda pdf: replace_object(pdf, 5, _OTHER_TEXT),
    )
    assert _first_change(pdf, trust) is M.OTHER


def test_resources_dressed_as_an_annotation_are_content(
    person: Issued, organisation: Issued, signing_time: datetime, trust: TrustStore
) -> None:
    """A /Resources dictionary carrying /Subtype and /Rect is still the page's resources."""

    def prepare(pdf: bytes) -> bytes:
        page = object_body(pdf, 4).replace(b"/Resources << /Font << /F1 3 0 R >> >>", b"/Resources 6 0 R")
        return append_update(pdf, {4: page, 6: b"<< /Font << /F1 3 0 R >> /Subtype /Text /Rect [0 0 0 0] >>"})

    courier = (
        b"<< /Font << /F1 << /Type /Font /Subtype /Type1 /BaseFont /Courier >> >> /Subtype /Text /Rect [0 0 0 0] >>"
    )
    pdf = _signed_around(person, organisation, signing_time, prepare, lambda pdf: replace_object(pdf, 6, courier))
    assert _first_change(pdf, trust) is M.OTHER


@pytest.mark.parametrize(("flags", "expected"), [(132, M.FORM_FILLING), (6, M.OTHER)])
def test_widget_flags_changed_when_signed(
    flags: int, expected: Modification, person: Issued, organisation: Issued, signing_time: datetime, trust: TrustStore
) -> None:
    """Acrobat sets the Locked flag (/F 4 → 132) on the empty field it signs (pyHanko's
    minimal-two-fields-signed-twice): filling the form; hiding the widget (flag 2) changes what the page shows."""
    field = b"<< /FT /Sig /Type /Annot /Subtype /Widget /T (Empty) /Rect [0 0 0 0] /F %d%s >>"
    number: list[int] = []

    def prepare(pdf: bytes) -> bytes:
        number.append(Update(pdf).size)
        return add_field_with_signature_dict(pdf, field % (4, b""), None)

    def between(pdf: bytes) -> bytes:
        value = Update(pdf).size
        sig = b"<< /Type /Sig /Filter /Adobe.PPKLite /SubFilter /adbe.pkcs7.detached /Contents <00> >>"
        return append_update(pdf, {number[0]: field % (flags, b" /V %d 0 R" % value), value: sig})

    pdf = _signed_around(person, organisation, signing_time, prepare, between)
    assert _first_change(pdf, trust) is expected


_SNEAKY = [
    "form-update-ap-indirect-sneaky-trailer.pdf",
    "form-update-no-override-appearance-stream-ap-indirect-sneaky.pdf",
    "form-update-override-appearance-stream-ap-indirect-sneaky.pdf",
    "form-update-override-appearance-stream-sneaky.pdf",
]
_LEGITIMATE = [
    "form-update-no-override-appearance-stream-ap-indirect.pdf",
    "form-update-override-appearance-stream-ap-indirect.pdf",
    "form-update-override-appearance-stream.pdf",
    "minimal-two-fields-signed-twice.pdf",
    "extensions-update-indirect.pdf",
    "extensions-update-direct.pdf",
]


def _vector_changes(name: str, trust: TrustStore) -> list[Modification | None]:
    return [
        verdict.modification
        for verdict in verify_pdf(vectors_or_skip("pyhanko", "pdf", name).read_bytes(), trust=trust)
    ]


@pytest.mark.parametrize("name", _SNEAKY)
def test_pyhanko_sneaky_appearance_updates_are_other(name: str, trust: TrustStore) -> None:
    assert _vector_changes(name, trust) == [M.OTHER, M.NONE]


@pytest.mark.parametrize("name", _LEGITIMATE)
def test_pyhanko_legitimate_second_signatures_are_form_filling(name: str, trust: TrustStore) -> None:
    assert _vector_changes(name, trust) == [M.FORM_FILLING, M.NONE]


def test_widget_of_no_field_is_content(
    person: Issued, organisation: Issued, signing_time: datetime, trust: TrustStore
) -> None:
    """A widget added to the page that no form field owns draws there as content would (iText's
    danglingWidgetAnnotation)."""
    widget = b"<< /Type /Annot /Subtype /Widget /Rect [100 550 200 600] /MK << /BG [1 0 0] >> >>"
    pdf = _signed_around(person, organisation, signing_time, lambda pdf: pdf, lambda pdf: add_annotation(pdf, widget))
    assert _changes(pdf, trust) == [(M.OTHER, False), (M.NONE, True)]


_FIELD_MDP = (
    " /Reference [<< /Type /SigRef /TransformMethod /FieldMDP /TransformParams << /Type /TransformParams"
    " /Action /{action} /Fields [({field})] /V /1.2 >> >>]"
)


@pytest.mark.parametrize(
    ("action", "field", "expected"),
    [
        ("Include", "Ghi chu", M.OTHER),
        ("Include", "Khac", M.FORM_FILLING),
        ("Exclude", "Khac", M.OTHER),
        ("All", "Khac", M.OTHER),
    ],
)
def test_field_locked_by_the_signature_changed_later_is_other(
    action: str,
    field: str,
    expected: Modification,
    person: Issued,
    organisation: Issued,
    signing_time: datetime,
    trust: TrustStore,
) -> None:
    """A FieldMDP lock makes the locked fields' values part of what was signed (iText's fieldLock* files)."""
    filled = add_text_field(make_pdf("Phiếu", ["x"]), b"<< >>")
    locking = sign_pdf(
        filled,
        person,
        signing_time=signing_time,
        subfilter="adbe.pkcs7.detached" + _FIELD_MDP.format(action=action, field=field),
    )
    changed = replace_object(locking, 6, object_body(locking, 6).replace(b"/V (Da xem)", b"/V (Tu choi)"))
    pdf = sign_pdf(changed, organisation, signing_time=signing_time)
    assert _first_change(pdf, trust) is expected
