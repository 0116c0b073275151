"""PDF signatures: NĐ 30 pairs, edits after signing, broken byte ranges, unreadable files."""

from __future__ import annotations

import io
import re
from datetime import datetime

import pytest
from pdf_updates import add_field_with_signature_dict

from samples.pdfgen import append_after_signature, break_byte_range, make_pdf, sign_pdf
from samples.pki import Issued, SamplePKI
from signatures import Indication, SignerKind, SubIndication, TrustStore, verify_pdf
from signatures.verdict import CheckName, CheckOutcome


@pytest.fixture(scope="session")
def nd30_pdf(person: Issued, organisation: Issued, signing_time: datetime) -> bytes:
    pdf = make_pdf("Quyết định phê duyệt", ["Điều 1. Phê duyệt kế hoạch."], pad_to=100_000)
    return sign_pdf(sign_pdf(pdf, person, signing_time=signing_time), organisation, signing_time=signing_time)


def test_nd30_person_then_organisation(nd30_pdf: bytes, trust: TrustStore) -> None:
    first, second = verify_pdf(nd30_pdf, trust=trust)
    assert (first.index, second.index) == (0, 1)
    assert (first.kind, second.kind) == (SignerKind.PERSON, SignerKind.ORGANISATION)
    assert first.passed and second.passed, (first.reason, second.reason)
    assert (first.covers_whole_file, second.covers_whole_file) == (False, True)
    assert second.signed_bytes == len(nd30_pdf) and first.signed_bytes < second.signed_bytes  # type: ignore[operator]


def test_bytes_added_after_the_last_signature(nd30_pdf: bytes, trust: TrustStore) -> None:
    edited = append_after_signature(nd30_pdf)
    verdicts = verify_pdf(edited, trust=trust)
    assert [v.covers_whole_file for v in verdicts] == [False, False]
    assert all(v.passed for v in verdicts)
    detail = verdicts[1].check(CheckName.BYTE_RANGE).detail  # type: ignore[union-attr]
    assert f"{len(edited) - len(nd30_pdf)} bytes were added" in detail


def test_tampered_signed_bytes_fail(person: Issued, trust: TrustStore, signing_time: datetime) -> None:
    signed = sign_pdf(make_pdf("Công văn", ["Nội dung gốc"]), person, signing_time=signing_time)
    changed = signed.replace(b"Noi dung goc", b"Noi dung SUA", 1)
    assert changed != signed
    verdict = verify_pdf(changed, trust=trust)[0]
    assert verdict.subindication is SubIndication.HASH_FAILURE


@pytest.mark.parametrize("mode", ["overlap", "gap"])
def test_broken_byte_range_is_format_failure(mode: str, nd30_pdf: bytes, trust: TrustStore) -> None:
    verdicts = verify_pdf(break_byte_range(nd30_pdf, mode), trust=trust)
    assert verdicts[-1].subindication is SubIndication.FORMAT_FAILURE
    assert verdicts[-1].check(CheckName.BYTE_RANGE).outcome is CheckOutcome.FAILED  # type: ignore[union-attr]


def test_unsigned_pdf_has_no_verdicts(trust: TrustStore) -> None:
    assert verify_pdf(make_pdf("Chưa ký"), trust=trust) == []


@pytest.mark.parametrize("data", [b"%PDF-1.7\n garbage", b"", b"%PDF-1.4\n" + b"[" * 100_000])
def test_unreadable_pdf_is_one_format_failure(data: bytes, trust: TrustStore) -> None:
    verdicts = verify_pdf(data, trust=trust)
    assert len(verdicts) <= 1
    assert all(v.subindication is SubIndication.FORMAT_FAILURE for v in verdicts)


def test_timestamped_pdf_signature(
    pki: SamplePKI, organisation: Issued, trust: TrustStore, signing_time: datetime
) -> None:
    signed = sign_pdf(make_pdf("Thông báo"), organisation, signing_time=signing_time, timestamp_by=pki.tsa)
    verdict = verify_pdf(signed, trust=trust)[0]
    assert verdict.indication is Indication.TOTAL_PASSED
    assert verdict.signing_time_source.value == "timestamp"


# -- hostile structures (issue 13 part 4, issue 14 item 13) ------------------------------------------

_BROKEN_SIG = b"<< /Type /Sig /SubFilter /adbe.pkcs7.detached /ByteRange [0 1 2 3] /Contents <00> >>"


@pytest.mark.parametrize("kids", [1, 2000])
@pytest.mark.parametrize("title_length", [1, 200_000])
def test_field_that_is_its_own_kid_is_read_once(kids: int, title_length: int, trust: TrustStore) -> None:
    field = b"<< /FT /Sig /T (" + b"A" * title_length + b") /V {sig} 0 R /Kids [" + b" {field} 0 R" * kids + b" ] >>"
    pdf = add_field_with_signature_dict(make_pdf("Vòng lặp"), field, _BROKEN_SIG)
    verdicts = verify_pdf(pdf, trust=trust)
    assert len(verdicts) == 1 and verdicts[0].subindication is SubIndication.FORMAT_FAILURE
    assert len(verdicts[0].reason) < 600, verdicts[0].reason[:200]


def test_contents_as_a_text_string_spoils_only_its_own_signature(nd30_pdf: bytes, trust: TrustStore) -> None:
    odd = b"<< /Type /Sig /SubFilter /adbe.pkcs7.detached /ByteRange [0 10 20 30] /Contents (plain text) >>"
    pdf = add_field_with_signature_dict(nd30_pdf, b"<< /FT /Sig /T (Odd) /V {sig} 0 R >>", odd)
    verdicts = verify_pdf(pdf, trust=trust)
    assert len(verdicts) == 3 and sum(v.passed for v in verdicts) == 2, [v.reason for v in verdicts]
    odd_verdict = next(v for v in verdicts if not v.passed)
    assert odd_verdict.subindication is SubIndication.FORMAT_FAILURE
    assert "'Odd'" in odd_verdict.reason and "TypeError" not in odd_verdict.reason


def test_encrypted_pdf_reason_is_plain_words(trust: TrustStore) -> None:
    from pypdf import PdfWriter

    writer = PdfWriter(clone_from=io.BytesIO(make_pdf("Mật")))
    writer.encrypt(user_password="secret", algorithm="RC4-128")
    buffer = io.BytesIO()
    writer.write(buffer)
    verdicts = verify_pdf(buffer.getvalue(), trust=trust)
    assert len(verdicts) == 1
    assert verdicts[0].reason == (
        "The PDF is encrypted and docflow cannot read its signatures; ask for an unencrypted copy."
    )
    assert "Error" in verdicts[0].checks[0].detail


def test_damaged_pdf_reason_names_no_library_error(trust: TrustStore) -> None:
    verdicts = verify_pdf(b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj trailer << /Root 9 0 R >>", trust=trust)
    for verdict in verdicts:
        assert "Error" not in verdict.reason and "(" not in verdict.reason, verdict.reason


def test_cloned_signature_dictionary_is_one_signature(nd30_pdf: bytes, trust: TrustStore) -> None:
    """A second field whose /V repeats the last signature's /ByteRange and CMS, padded differently."""
    match = list(re.finditer(rb"(/ByteRange \[[^\]]*\]) */Contents <([0-9a-f]+)>", nd30_pdf))[-1]
    cms_hex = match.group(2).rstrip(b"0")
    cms_hex += b"0" * (len(cms_hex) % 2)
    clone = (
        b"<< /Type /Sig /Filter /Adobe.PPKLite /SubFilter /adbe.pkcs7.detached "
        + match.group(1)
        + b" /Contents <"
        + cms_hex
        + b"0000> >>"
    )
    pdf = add_field_with_signature_dict(nd30_pdf, b"<< /FT /Sig /T (Clone) /V {sig} 0 R >>", clone)
    verdicts = verify_pdf(pdf, trust=trust)
    assert len(verdicts) == 2, [v.reason for v in verdicts]
