"""edXML documents and status packages: real samples, every namespace variant, hostile XML."""

from __future__ import annotations

import unicodedata
from datetime import date, datetime
from pathlib import Path

import pytest
from helpers.edxml import PDF, RECIPIENTS, SENDER, attachment, document, own_id, zip_bytes
from helpers.vectors import VECTORS

from docflow.readers.edxml import read_edxml
from docflow.readers.limits import Limits
from docflow.readers.text import parse_document_date, parse_timestamp
from docflow.records import BusinessType, Channel, DocumentRecord, RejectedItem, SignedPayload, StatusEvent
from samples.edxml import VARIANTS, build_status

EDXML_VECTORS = VECTORS / "edxml"


def _vector(suffix: str) -> Path:
    if not EDXML_VECTORS.is_dir():
        pytest.skip(f"shared edXML vectors not found at {EDXML_VECTORS}")
    return next(EDXML_VECTORS.glob(f"*{suffix}"))


def _one(items: list, kind: type) -> object:
    matching = [item for item in items if isinstance(item, kind)]
    assert len(matching) == 1, items
    return matching[0]


def test_real_vpcp_sample_parses_with_three_recipients_and_its_zipped_attachment() -> None:
    path = _vector("-vpcp.edxml")
    items = read_edxml(path.name, path.read_bytes())
    record = _one(items, DocumentRecord)
    assert record.document_id == "000.00.00.G22,2015/09/30,7816/VPCP-TTĐT"
    assert record.recipients == ("000.00.00.H41", "000.00.00.H14", "000.00.00.G17")
    assert (record.number, record.notation, record.type_name) == ("7816", "VPCP-TTĐT", "Công văn")
    # The one attachment is a zip; what it holds is not a signed file, and says so.
    attachment_items = [item for item in items if isinstance(item, RejectedItem)]
    assert len(attachment_items) == 1 and attachment_items[0].item_name.startswith(f"{path.name}/")


def test_real_broken_sample_is_rejected_with_the_line() -> None:
    path = _vector("-D77.edxml")
    [item] = read_edxml(path.name, path.read_bytes())
    assert isinstance(item, RejectedItem)
    assert "not well-formed XML (line" in item.reason and "re-export" in item.reason


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("shuffle_seed", [None, 1, 7])
def test_every_variant_and_element_order_reads_the_same(variant: str, shuffle_seed: int | None) -> None:
    data = document(variant=variant, shuffle_seed=shuffle_seed, due=date(2026, 3, 20), attachments=[attachment()])
    record = _one(read_edxml("cv-12.edxml", data), DocumentRecord)
    assert record.document_id == own_id()
    assert record.sender == SENDER and record.sender_name == "Sở Nội vụ tỉnh Bắc Kạn"
    assert set(record.recipients) == {code for code, _ in RECIPIENTS}
    assert dict(record.recipient_names) == dict(RECIPIENTS)
    assert record.promulgation_date == date(2026, 3, 2) and record.due_date == date(2026, 3, 20)
    assert record.sent_at == datetime(2026, 3, 2, 8, 0, 0)
    assert record.business_type is BusinessType.NEW and record.channel is Channel.ELECTRONIC
    assert [(p.name, p.kind, p.data) for p in record.payloads] == [("cv-12.edxml/QD-12.signed.pdf", "pdf", PDF)]


def test_document_id_is_derived_when_absent() -> None:
    record = _one(read_edxml("a.edxml", document(include_document_id=False)), DocumentRecord)
    assert record.document_id == own_id()


def test_uuid_document_id_is_kept() -> None:
    record = _one(read_edxml("a.edxml", document(document_id="9fbfbad2-1111-2222-3333-444455556666")), DocumentRecord)
    assert record.document_id == "9fbfbad2-1111-2222-3333-444455556666"


@pytest.mark.parametrize(
    ("business", "expected"), [(1, BusinessType.REVOKE), (2, BusinessType.UPDATE), (3, BusinessType.REPLACE)]
)
def test_revocation_update_and_replacement_name_the_document_they_act_on(business: int, expected: BusinessType) -> None:
    old = f"{SENDER},2026/02/01,3/SNV-VP"
    record = _one(read_edxml("r.edxml", document(number="13", business=business, names_document=old)), DocumentRecord)
    assert record.business_type is expected and record.replaces == (old,)


def test_paper_flag_means_both_channels() -> None:
    record = _one(read_edxml("p.edxml", document(paper=True)), DocumentRecord)
    assert record.paper_copy and record.channel is Channel.BOTH


def test_unknown_business_type_is_rejected() -> None:
    [item] = read_edxml("b.edxml", document(business=9))
    assert isinstance(item, RejectedItem) and "BussinessDocType '9'" in item.reason


def test_zipped_attachment_with_detached_signature_gives_both_payloads() -> None:
    inner = zip_bytes({"QD-12.pdf": PDF, "cv.docx": b"word", "cv.docx.p7s": b"\x30\x80cms"})
    items = read_edxml("z.edxml", document(attachments=[attachment("goi.zip", inner)]))
    record = _one(items, DocumentRecord)
    kinds = {(p.name, p.kind) for p in record.payloads}
    assert kinds == {("z.edxml/goi.zip/QD-12.pdf", "pdf"), ("z.edxml/goi.zip/cv.docx.p7s", "cms-detached")}
    detached = next(p for p in record.payloads if p.kind == "cms-detached")
    assert detached.content == b"word"


def test_attachment_that_is_not_base64_is_rejected_but_the_document_kept() -> None:
    data = document(attachments=[attachment()]).replace(b"JVBERi0x", b"!!!!!!!!")
    items = read_edxml("x.edxml", data)
    assert _one(items, DocumentRecord).payloads == ()
    assert "not valid base64" in _one(items, RejectedItem).reason


def test_oversized_attachment_is_not_decoded() -> None:
    items = read_edxml("big.edxml", document(attachments=[attachment(data=PDF * 100)]), Limits(max_member_bytes=1000))
    assert _one(items, DocumentRecord).payloads == ()
    assert "limit for one file" in _one(items, RejectedItem).reason


def test_text_is_normalised_to_nfc() -> None:
    decomposed = unicodedata.normalize("NFD", "Về việc tổng kết")
    record = _one(read_edxml("n.edxml", document(subject=decomposed)), DocumentRecord)
    assert record.subject == unicodedata.normalize("NFC", "Về việc tổng kết") != decomposed


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("stamp_format", ["%Y/%m/%d %H:%M:%S", "%d/%m/%Y %H:%M:%S"])
def test_status_packages_in_every_variant(variant: str, stamp_format: str) -> None:
    data = build_status(
        document_id=own_id(),
        reporter="000.00.02.h04",
        code="05",
        variant=variant,
        timestamp=datetime(2026, 3, 4, 14, 5, 6),
        timestamp_format=stamp_format,
    )
    [event] = read_edxml("status.edxml", data)
    assert event == StatusEvent(
        own_id(), "000.00.02.H04", "05", "Đã tiếp nhận", datetime(2026, 3, 4, 14, 5, 6), "status.edxml"
    )


def test_soap_wrapped_base64_status_is_read() -> None:
    data = build_status(document_id=own_id(), reporter="000.00.02.H04", code="06", soap_base64=True)
    [event] = read_edxml("legacy.edxml", data)
    assert isinstance(event, StatusEvent) and event.code == "06" and event.document_id == own_id()


@pytest.mark.parametrize(("code", "fragment"), [("42", "StatusCode '42'"), ("", "StatusCode ''")])
def test_bad_status_code_is_rejected(code: str, fragment: str) -> None:
    [item] = read_edxml("s.edxml", build_status(document_id=own_id(), reporter="000.00.02.H04", code=code))
    assert isinstance(item, RejectedItem) and fragment in item.reason


def test_status_with_bad_timestamp_is_rejected() -> None:
    data = build_status(document_id=own_id(), reporter="000.00.02.H04", code="01").replace(
        b"2026/03/02 09:30:00", b"hom qua"
    )
    [item] = read_edxml("s.edxml", data)
    assert isinstance(item, RejectedItem) and "Timestamp 'hom qua'" in item.reason


_BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<edXML><Subject>&lol3;</Subject></edXML>"""


def test_billion_laughs_is_refused(tmp_path: Path) -> None:
    [item] = read_edxml("lol.edxml", _BILLION_LAUGHS)
    assert isinstance(item, RejectedItem) and "DOCTYPE" in item.reason


def test_external_entity_is_refused_and_never_read(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP SECRET")
    data = document().replace(
        b'<?xml version="1.0" encoding="UTF-8"?>',
        f'<?xml version="1.0"?><!DOCTYPE edXML [<!ENTITY x SYSTEM "file://{secret}">]>'.encode(),
    )
    data = data.replace("Về việc báo cáo".encode(), b"&x;")
    [item] = read_edxml("xxe.edxml", data)
    assert isinstance(item, RejectedItem) and "TOP SECRET" not in item.reason


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (b"<edXML><From>", "not well-formed XML (line 1)"),
        (b"\xff\xfe garbage", "not XML"),
        (b"<edXML><MessageHeader><Subject>x</Subject></MessageHeader></edXML>", "no sender code"),
        (
            b"<edXML><MessageHeader><From><OrganId>000.00.01.H04</OrganId></From></MessageHeader></edXML>",
            "neither a DocumentId",
        ),
    ],
)
def test_broken_packages_are_rejected_with_a_reason(data: bytes, fragment: str) -> None:
    [item] = read_edxml("bad.edxml", data)
    assert isinstance(item, RejectedItem) and fragment in item.reason


def test_huge_field_and_huge_file_are_rejected() -> None:
    [field] = read_edxml("f.edxml", document(subject="x" * 200), Limits(max_field_chars=100))
    assert isinstance(field, RejectedItem) and "subject is 200 characters" in field.reason
    [whole] = read_edxml("w.edxml", document(), Limits(max_xml_bytes=100))
    assert isinstance(whole, RejectedItem) and "byte limit" in whole.reason


def test_dates_and_timestamps_in_every_accepted_form() -> None:
    assert parse_document_date("2026/03/02") == parse_document_date("2026-03-02") == date(2026, 3, 2)
    assert parse_document_date("02/03/2026") == date(2026, 3, 2)
    assert parse_document_date("31/02/2026") is None
    assert parse_timestamp("04/03/2026 14:05:06") == datetime(2026, 3, 4, 14, 5, 6)
    assert parse_timestamp("2026-03-04T14:05:06") == datetime(2026, 3, 4, 14, 5, 6)
    assert parse_timestamp("soon") is None


def test_signed_payload_type_is_exported() -> None:
    record = _one(read_edxml("a.edxml", document(attachments=[attachment()])), DocumentRecord)
    assert all(isinstance(p, SignedPayload) for p in record.payloads)
