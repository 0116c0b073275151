"""The sample PKI and signers produce what they claim: real chains, CRLs, CMS and PDF signatures."""

from __future__ import annotations

import hashlib
import io
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from asn1crypto import cms
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import padding
from pypdf import PdfReader

from samples.__main__ import write_samples
from samples.pdfgen import append_after_signature, break_byte_range, make_pdf, sign_pdf
from samples.pki import Issued, SamplePKI, build_pki, issue_person, make_crl, revoke
from samples.sign import sign_cms, to_ber_indefinite


def test_chain_links_leaf_to_root(pki: SamplePKI, person: Issued) -> None:
    person.cert.verify_directly_issued_by(pki.intermediate.cert)
    pki.intermediate.cert.verify_directly_issued_by(pki.root.cert)
    assert pki.root.cert.subject == pki.root.cert.issuer
    assert "Nguyễn Văn An" in person.cert.subject.rfc4514_string()


def test_tsa_certificate_is_for_timestamping_only(pki: SamplePKI) -> None:
    eku = pki.tsa.cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    assert eku.critical and list(eku.value) == [x509.oid.ExtendedKeyUsageOID.TIME_STAMPING]


def test_crl_lists_revoked_serial_with_its_date() -> None:
    pki = build_pki()
    victim = issue_person(pki, "Người Bị Thu Hồi", agency="Sở Nội vụ")
    when = datetime(2025, 1, 2, tzinfo=timezone.utc)
    revoke(pki, victim, when)
    crl = make_crl(pki)
    entry = crl.get_revoked_certificate_by_serial_number(victim.cert.serial_number)
    assert entry is not None and entry.revocation_date_utc == when
    assert crl.is_signature_valid(pki.intermediate.cert.public_key())


def _signer_info(der: bytes) -> cms.SignerInfo:
    return cms.ContentInfo.load(der)["content"]["signer_infos"][0]


def test_detached_cms_signature_verifies_with_cryptography(person: Issued) -> None:
    content = b"Cong van so 1" * 1000
    signer_info = _signer_info(sign_cms(content, person))
    attrs = {a["type"].native: a["values"][0].native for a in signer_info["signed_attrs"]}
    assert attrs["message_digest"] == hashlib.sha256(content).digest()
    person.cert.public_key().verify(
        signer_info["signature"].native,
        signer_info["signed_attrs"].untag().dump(),
        padding.PKCS1v15(),
        person.cert.signature_hash_algorithm,
    )


def test_wrong_digest_and_corrupt_signature_options_change_the_cms(person: Issued) -> None:
    good = _signer_info(sign_cms(b"x", person, signing_time=datetime(2026, 1, 1, tzinfo=timezone.utc)))
    bad = _signer_info(sign_cms(b"x", person, wrong_digest=True, signing_time=datetime(2026, 1, 1, tzinfo=timezone.utc)))
    assert good["signed_attrs"].dump() != bad["signed_attrs"].dump()


def test_ber_indefinite_encoding_parses_to_the_same_structure(person: Issued) -> None:
    der = sign_cms(b"noi dung", person, detached=False)
    ber = to_ber_indefinite(der)
    assert ber[:2] == b"\x30\x80" and ber != der
    assert cms.ContentInfo.load(ber)["content"]["signer_infos"].dump() == cms.ContentInfo.load(der)[
        "content"
    ]["signer_infos"].dump()


def test_timestamp_token_is_attached_and_names_its_time(pki: SamplePKI, person: Issued) -> None:
    when = datetime(2026, 3, 1, 8, 0, tzinfo=timezone.utc)
    signer_info = _signer_info(sign_cms(b"x", person, timestamp_by=pki.tsa, timestamp_time=when))
    token = signer_info["unsigned_attrs"][0]["values"][0]
    tst_info = token["content"]["encap_content_info"]["content"].parsed
    assert tst_info["gen_time"].native == when
    imprint = tst_info["message_imprint"]["hashed_message"].native
    assert imprint == hashlib.sha256(signer_info["signature"].native).digest()


def _signature_values(pdf: bytes) -> list[tuple[list[int], bytes]]:
    reader = PdfReader(io.BytesIO(pdf))
    found = []
    for field_ref in reader.trailer["/Root"]["/AcroForm"]["/Fields"]:
        value = field_ref.get_object()["/V"].get_object()
        found.append(([int(n) for n in value["/ByteRange"]], bytes(value["/Contents"])))
    return found


def test_two_pdf_signatures_in_order_and_the_last_covers_everything(person: Issued, organisation: Issued) -> None:
    pdf = sign_pdf(sign_pdf(make_pdf("Quyet dinh 1"), person), organisation)
    (first_range, _), (last_range, last_contents) = _signature_values(pdf)
    assert first_range[2] + first_range[3] < len(pdf)
    assert last_range[0] == 0 and last_range[2] + last_range[3] == len(pdf)
    signed = pdf[: last_range[1]] + pdf[last_range[2] :]
    # The gap is exactly the /Contents hex string.
    assert pdf[last_range[1] : last_range[2]].startswith(b"<") and pdf[last_range[2] - 1 : last_range[2]] == b">"
    attrs = _signer_info(last_contents)["signed_attrs"]
    digest = next(a["values"][0].native for a in attrs if a["type"].native == "message_digest")
    assert digest == hashlib.sha256(signed).digest()


def test_append_after_signature_leaves_the_signature_short_of_the_end(person: Issued) -> None:
    signed = sign_pdf(make_pdf("x"), person)
    edited = append_after_signature(signed)
    (byte_range, _), = _signature_values(edited)
    assert edited.startswith(signed) and byte_range[2] + byte_range[3] == len(signed) < len(edited)


@pytest.mark.parametrize("mode", ["overlap", "gap"])
def test_break_byte_range_keeps_file_length(person: Issued, mode: str) -> None:
    signed = sign_pdf(make_pdf("x"), person)
    broken = break_byte_range(signed, mode)
    assert len(broken) == len(signed) and broken != signed


def test_pad_to_grows_pdf(person: Issued) -> None:
    assert 99_000 < len(make_pdf("x", pad_to=100_000)) < 101_000


def test_write_samples_creates_trust_store_without_keys(tmp_path: Path) -> None:
    documents = write_samples(tmp_path)
    assert len(documents) >= 9
    for file in (tmp_path / "trust").iterdir():
        assert b"PRIVATE KEY" not in file.read_bytes()
    assert (tmp_path / "documents" / "07-cong-van.pdf.p7s").exists()


def test_expired_certificate_window(pki: SamplePKI) -> None:
    now = datetime.now(timezone.utc)
    cert = issue_person(pki, "Hết Hạn", agency="Sở Y tế", not_before=now - timedelta(days=800),
                        not_after=now - timedelta(days=10)).cert
    assert cert.not_valid_after_utc < now
