"""The sample PKI and signers produce what they claim: real chains, CRLs, CMS and PDF signatures."""

from __future__ import annotations

import hashlib
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from asn1crypto import cms, pem
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding
from pypdf import PdfReader

from samples.__main__ import write_samples
from samples.pdfgen import append_after_signature, break_byte_range, make_pdf, sign_pdf
from samples.pki import Issued, SamplePKI, build_pki, issue_person, make_crl, revoke
from samples.sign import sign_cms, tamper, timestamp_token, to_ber_indefinite


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
    when = datetime(2025, 1, 2, tzinfo=UTC)
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


def _message_digest(signer_info: cms.SignerInfo) -> bytes:
    return next(a["values"][0].native for a in signer_info["signed_attrs"] if a["type"].native == "message_digest")


def test_wrong_digest_option_puts_another_digest_in_the_attributes(person: Issued) -> None:
    assert _message_digest(_signer_info(sign_cms(b"x", person))) == hashlib.sha256(b"x").digest()
    assert _message_digest(_signer_info(sign_cms(b"x", person, wrong_digest=True))) != hashlib.sha256(b"x").digest()


def test_ber_indefinite_encoding_parses_to_the_same_structure(person: Issued) -> None:
    der = sign_cms(b"noi dung", person, detached=False)
    ber = to_ber_indefinite(der)
    assert ber[:2] == b"\x30\x80" and ber != der
    assert (
        cms.ContentInfo.load(ber)["content"]["signer_infos"].dump()
        == cms.ContentInfo.load(der)["content"]["signer_infos"].dump()
    )


def test_timestamp_token_is_attached_and_names_its_time(pki: SamplePKI, person: Issued) -> None:
    when = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
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
    assert _message_digest(_signer_info(last_contents)) == hashlib.sha256(signed).digest()


def test_append_after_signature_leaves_the_signature_short_of_the_end(person: Issued) -> None:
    signed = sign_pdf(make_pdf("x"), person)
    edited = append_after_signature(signed)
    ((byte_range, _),) = _signature_values(edited)
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
    now = datetime.now(UTC)
    cert = issue_person(
        pki, "Hết Hạn", agency="Sở Y tế", not_before=now - timedelta(days=800), not_after=now - timedelta(days=10)
    ).cert
    assert cert.not_valid_after_utc < now


def test_untrusted_twin_does_not_chain_to_the_trusted_root(pki: SamplePKI, untrusted_person: Issued) -> None:
    untrusted_person.cert.verify_directly_issued_by(pki.untrusted_intermediate.cert)
    pki.untrusted_intermediate.cert.verify_directly_issued_by(pki.untrusted_root.cert)
    with pytest.raises((ValueError, InvalidSignature)):
        untrusted_person.cert.verify_directly_issued_by(pki.intermediate.cert)


def test_intermediate_is_path_length_zero_with_a_crl_url(pki: SamplePKI) -> None:
    constraints = pki.intermediate.cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    assert constraints.ca and constraints.path_length == 0
    points = pki.intermediate.cert.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    assert points[0].full_name[0].value.startswith("http://")


def test_person_subject_carries_cccd_uid(person: Issued) -> None:
    uid = person.cert.subject.get_attributes_for_oid(x509.NameOID.USER_ID)[0].value
    assert isinstance(uid, str) and uid.startswith("CCCD:") and len(uid) == 5 + 12 and uid[5:].isdigit()


def test_leaf_options_key_type_usage_hash_and_identifiers(pki: SamplePKI) -> None:
    leaf = issue_person(
        pki, "Tùy Chọn", agency="Sở Y tế", key_type="ec256", usage="encrypt", hash_name="sha1", key_identifiers=False
    ).cert
    assert isinstance(leaf.public_key(), ec.EllipticCurvePublicKey)
    usage = leaf.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.key_encipherment and not usage.digital_signature
    assert isinstance(leaf.signature_hash_algorithm, hashes.SHA1)
    # cryptography refuses SHA-1 in verify_directly_issued_by, so check the signature by hand.
    pki.intermediate.cert.public_key().verify(
        leaf.signature, leaf.tbs_certificate_bytes, padding.PKCS1v15(), hashes.SHA1()
    )
    with pytest.raises(x509.ExtensionNotFound):
        leaf.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)


def test_revoked_fixture_is_in_the_written_crl(trust_dir: Path, revoked_person: Issued, person: Issued) -> None:
    crl = x509.load_der_x509_crl((trust_dir / "ca-nha-nuoc-g2-mau.crl").read_bytes())
    assert crl.get_revoked_certificate_by_serial_number(revoked_person.cert.serial_number) is not None
    assert crl.get_revoked_certificate_by_serial_number(person.cert.serial_number) is None
    x509.load_der_x509_certificate((trust_dir / "ca-nha-nuoc-g2-mau.cer").read_bytes())
    x509.load_pem_x509_crl((trust_dir / "root-g2-mau.crl.pem").read_bytes())


def _verify_signed_attrs(signer_info: cms.SignerInfo, issued: Issued) -> None:
    """Check the signature over the signed attributes with the algorithm the CMS names."""
    algorithm = signer_info["signature_algorithm"]["algorithm"].native
    data = signer_info["signed_attrs"].untag().dump()
    public_key = issued.cert.public_key()
    if algorithm.endswith("_ecdsa"):
        public_key.verify(signer_info["signature"].native, data, ec.ECDSA(hashes.SHA256()))
    elif algorithm == "rsassa_pss":
        pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
        public_key.verify(signer_info["signature"].native, data, pss, hashes.SHA256())
    else:
        public_key.verify(signer_info["signature"].native, data, padding.PKCS1v15(), hashes.SHA256())


@pytest.mark.parametrize("key_type, scheme", [("ec256", "pkcs1v15"), ("rsa2048", "pss")])
def test_ecdsa_and_pss_signatures_verify(pki: SamplePKI, key_type: str, scheme: str) -> None:
    signer = issue_person(pki, f"Khóa {key_type}", agency="Sở Y tế", key_type=key_type)
    signer_info = _signer_info(sign_cms(b"noi dung", signer, scheme=scheme))
    _verify_signed_attrs(signer_info, signer)
    with pytest.raises(InvalidSignature):
        _verify_signed_attrs(_signer_info(sign_cms(b"noi dung", signer, scheme=scheme, corrupt_signature=True)), signer)


def test_defect_options_show_in_the_structure(person: Issued) -> None:
    bare = cms.ContentInfo.load(sign_cms(b"x", person, embed_signer_cert=False, sid="ski"))["content"]
    assert not bare["certificates"] and bare["signer_infos"][0]["sid"].name == "subject_key_identifier"
    mismatched = _signer_info(sign_cms(b"x", person, content_type_attr="signed_data"))
    assert mismatched["signed_attrs"][0]["values"][0].native == "signed_data"
    armored = sign_cms(b"x", person, encoding="pem")
    assert pem.detect(armored) and pem.unarmor(armored)[0] == "PKCS7"
    assert tamper(b"abcdef") != b"abcdef" and len(tamper(b"abcdef")) == 6


def test_signing_certificate_v2_binds_the_signer(person: Issued) -> None:
    attrs = _signer_info(sign_cms(b"x", person, signing_certificate_v2=True))["signed_attrs"]
    binding = next(a["values"][0] for a in attrs if a["type"].native == "signing_certificate_v2")
    assert binding["certs"][0]["cert_hash"].native == hashlib.sha256(person.der).digest()


def test_timestamp_token_is_der_signed_by_the_tsa(pki: SamplePKI) -> None:
    token = cms.ContentInfo.load(timestamp_token(b"gia tri chu ky", pki.tsa, datetime(2026, 1, 1, tzinfo=UTC)))
    signed_data = token["content"]
    assert signed_data["encap_content_info"]["content_type"].native == "tst_info"
    _verify_signed_attrs(signed_data["signer_infos"][0], pki.tsa)


def test_signed_pdfs_read_strictly_with_fields_in_order(person: Issued, organisation: Issued) -> None:
    pdf = sign_pdf(
        sign_pdf(make_pdf("Quyet dinh", pages=2), person, field_name="NguoiKy"),
        organisation,
        subfilter="ETSI.CAdES.detached",
    )
    reader = PdfReader(io.BytesIO(pdf), strict=True)
    fields = [ref.get_object() for ref in reader.trailer["/Root"]["/AcroForm"]["/Fields"]]
    assert [f["/T"] for f in fields] == ["NguoiKy", "Signature2"]
    assert [f["/V"]["/SubFilter"] for f in fields] == ["/adbe.pkcs7.detached", "/ETSI.CAdES.detached"]
    assert len(reader.pages) == 2 and len(reader.pages[0]["/Annots"]) == 2


def test_raw_bytes_after_signature(person: Issued) -> None:
    signed = sign_pdf(make_pdf("x"), person)
    assert append_after_signature(signed, b"\nrac") == signed + b"\nrac"
