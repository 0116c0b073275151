"""Every reason, with one documented headline; and the real-world CMS shapes the engine got wrong (issue 13).

Each input is built here from the sample PKI: a signature made by ``samples.sign`` and then changed
the way a real signing tool (or an attacker) would change it, re-signed where the change is signed.
"""

from __future__ import annotations

import base64
import hashlib
import re
import shutil
import warnings
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import test_signatures_generated as generated
from asn1crypto import algos, cms, core
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

from samples.pki import Issued, SamplePKI, build_pki, issue_person, revoke, write_trust_dir
from samples.sign import sign_cms
from signatures import Indication, SubIndication, TimeSource, TrustStore, verify_file
from signatures.verdict import CheckName, CheckOutcome, Verdict

CONTENT = "Công văn số 45/STC-NS về dự toán ngân sách".encode() * 40
_RAW_LIBRARY_TEXT = re.compile(r"Error\b|asn1crypto|Traceback|NotImplemented|argument without|[A-Za-z]+Error:")


def verify_one(der: bytes, trust: TrustStore) -> Verdict:
    return generated.verify_one(der, trust, CONTENT)


def resign(der: bytes, signer: Issued, change: Callable[[cms.SignerInfo], None], digest: str = "sha256") -> bytes:
    """``der`` with its SignerInfo changed by ``change`` and its signed attributes signed again."""
    info = cms.ContentInfo.load(der)
    signer_info = info["content"]["signer_infos"][0]
    change(signer_info)
    hash_algorithm = {"sha256": hashes.SHA256(), "sha3_224": hashes.SHA3_224(), "sha512": hashes.SHA512()}[digest]
    signed = cms.CMSAttributes(list(signer_info["signed_attrs"])).dump(force=True)
    signer_info["signature"] = signer.key.sign(signed, padding.PKCS1v15(), hash_algorithm)  # type: ignore[union-attr]
    return info.dump(force=True)


def _attribute(signer_info: cms.SignerInfo, name: str) -> cms.CMSAttribute:
    return next(attribute for attribute in signer_info["signed_attrs"] if attribute["type"].native == name)


# -- part 3: every reason, one headline --------------------------------------------------------------------


def test_precedence_names_every_subindication_once() -> None:
    from signatures.decide import PRECEDENCE

    assert len(PRECEDENCE) == len(set(PRECEDENCE)) == len(SubIndication)
    assert PRECEDENCE.index(SubIndication.REVOKED) < PRECEDENCE.index(SubIndication.TRY_LATER)
    assert PRECEDENCE.index(SubIndication.REVOKED_NO_POE) < PRECEDENCE.index(SubIndication.TRY_LATER)


@pytest.fixture(scope="module")
def revoked_pki(tmp_path_factory: pytest.TempPathFactory) -> tuple[SamplePKI, Issued, Issued, Path]:
    """A trust store whose intermediate CRL revokes one signer and whose root CRL is missing."""
    pki = build_pki(seed_name="reasons")
    revoked = issue_person(pki, "Đỗ Văn Hùng", agency="Sở Nội vụ")
    good = issue_person(pki, "Vũ Thị Lan", agency="Sở Nội vụ")
    revoke(pki, revoked, pki.now - timedelta(days=30))
    folder = write_trust_dir(pki, tmp_path_factory.mktemp("no-root-crl"))
    (folder / "root-g2-mau.crl.pem").unlink()
    return pki, revoked, good, folder


def test_known_revocation_is_not_hidden_by_a_missing_root_crl(
    revoked_pki: tuple[SamplePKI, Issued, Issued, Path],
) -> None:
    pki, revoked, _, folder = revoked_pki
    der = sign_cms(CONTENT, revoked, signing_time=pki.now - timedelta(days=2))
    verdict = verify_one(der, TrustStore.load(folder))
    assert (verdict.indication, verdict.subindication) == (Indication.TOTAL_FAILED, SubIndication.REVOKED), (
        verdict.reason
    )
    assert "revoked" in verdict.reason


def test_missing_crl_for_a_ca_alone_is_a_chain_failure(revoked_pki: tuple[SamplePKI, Issued, Issued, Path]) -> None:
    pki, _, good, folder = revoked_pki
    verdict = verify_one(sign_cms(CONTENT, good, signing_time=pki.now - timedelta(days=2)), TrustStore.load(folder))
    assert verdict.subindication is SubIndication.CERTIFICATE_CHAIN_GENERAL_FAILURE, verdict.reason
    assert "CRL" in verdict.reason and verdict.check(CheckName.REVOCATION).outcome is CheckOutcome.FAILED  # type: ignore[union-attr]


def test_several_failures_all_stay_and_the_headline_follows_the_precedence(
    revoked_pki: tuple[SamplePKI, Issued, Issued, Path],
) -> None:
    # SHA-1 (CRYPTO_CONSTRAINTS_FAILURE) and a stale CRL (TRY_LATER): the first check made used to decide.
    pki, _, good, folder = revoked_pki
    stale = write_trust_dir(
        pki, folder.parent / "stale", this_update=pki.now - timedelta(days=90), next_update=pki.now - timedelta(days=60)
    )
    verdict = verify_one(
        sign_cms(CONTENT, good, digest="sha1", signing_time=pki.now - timedelta(days=2)), TrustStore.load(stale)
    )
    assert verdict.subindication is SubIndication.CRYPTO_CONSTRAINTS_FAILURE, verdict.reason
    failed = {check.name for check in verdict.checks if check.outcome is CheckOutcome.FAILED}
    assert {CheckName.REVOCATION, CheckName.ALGORITHM_POLICY} <= failed
    assert "revocation" in verdict.reason  # the other failure is named, not only kept in checks


@pytest.mark.parametrize(
    "data",
    [
        b"\x30\x03\x02\x01\x01",
        b"-----BEGIN PKCS7-----\n!!!!\n-----END PKCS7-----\n",
        bytes.fromhex("3080060b2a864886f70d0109100117a080") + b"\x00" * 8,
        bytes.fromhex("30130609 2a864886f70d010702 a006 3004 020101 31".replace(" ", "")),
    ],
    ids=["integer", "pem", "ber-junk", "truncated"],
)
def test_unreadable_input_gets_a_plain_reason(data: bytes, trust: TrustStore) -> None:
    verdict = verify_one(data, trust)
    assert verdict.subindication is SubIndication.FORMAT_FAILURE
    assert not _RAW_LIBRARY_TEXT.search(verdict.reason), verdict.reason


# -- part 4: files the engine got wrong --------------------------------------------------------------------

_TIMESTAMP_TOKEN_OID = cms.CMSAttributeType("signature_time_stamp_token").dump()
_PLACEHOLDER_OID = cms.CMSAttributeType("1.2.840.113549.1.9.16.2.99").dump()


def test_timestamp_wrapped_in_an_octet_string_is_set_aside(
    pki: SamplePKI, person: Issued, trust: TrustStore, signing_time: datetime
) -> None:
    """DSS Signature-C-DE_CRY-3/-4: the token sits inside an extra OCTET STRING."""
    stamped = sign_cms(CONTENT, person, signing_time=signing_time, timestamp_by=pki.tsa)
    info = cms.ContentInfo.load(stamped)
    signer_info = info["content"]["signer_infos"][0]
    token = signer_info["unsigned_attrs"][0]["values"][0].dump()
    # An attribute type asn1crypto does not know takes any value; renamed afterwards (same length).
    signer_info["unsigned_attrs"] = [{"type": "1.2.840.113549.1.9.16.2.99", "values": [core.OctetString(token)]}]
    wrapped = info.dump(force=True).replace(_PLACEHOLDER_OID, _TIMESTAMP_TOKEN_OID)
    verdict = verify_one(wrapped, trust)
    assert verdict.passed, verdict.reason
    timestamp = verdict.check(CheckName.TIMESTAMP)
    assert timestamp is not None and timestamp.outcome is not CheckOutcome.PASSED
    assert "malformed" in timestamp.detail and "not used" in timestamp.detail
    assert verdict.signing_time_source is TimeSource.SIGNED_ATTRIBUTE


def test_embedded_certificate_that_cannot_be_parsed_is_called_malformed(
    person: Issued, trust: TrustStore, signing_time: datetime
) -> None:
    der = sign_cms(CONTENT, person, signing_time=signing_time)
    version_v3 = bytes.fromhex("a003020102")
    assert der.count(version_v3) == 1
    broken = der.replace(version_v3, bytes.fromhex("a003020105"))  # X.509 version 6: cryptography refuses it
    verdict = verify_one(broken, trust)
    assert verdict.subindication is SubIndication.NO_SIGNING_CERTIFICATE_FOUND, verdict.reason
    assert "malformed" in verdict.reason and "neither in the signature" not in verdict.reason


@pytest.mark.parametrize(
    "algorithm, words",
    [
        ("sha512_rsa", "SHA512"),  # digestAlgorithm says SHA-256
        ("sha256_ecdsa", "ECDSA"),  # an EC algorithm over an RSA key
    ],
    ids=["hash-disagrees", "ec-over-rsa"],
)
def test_signature_algorithm_must_agree_with_digest_and_key(
    algorithm: str, words: str, person: Issued, trust: TrustStore, signing_time: datetime
) -> None:
    def rename(signer_info: cms.SignerInfo) -> None:
        signer_info["signature_algorithm"] = algos.SignedDigestAlgorithm({"algorithm": algorithm})

    der = resign(sign_cms(CONTENT, person, signing_time=signing_time), person, rename)
    verdict = verify_one(der, trust)
    assert verdict.subindication is SubIndication.SIG_CRYPTO_FAILURE, verdict.reason
    assert words in verdict.reason


def test_sha3_rsa_identifier_over_a_sha256_digest_is_refused(
    person: Issued, trust: TrustStore, signing_time: datetime
) -> None:
    # DSS dss-1419 "SHA256-SHA3_256withRSA": asn1crypto does not name id-rsassa-pkcs1-v1_5-with-sha3-256, and the
    # value, made over SHA-256, verified as if the identifier said nothing of its hash.
    def rename(signer_info: cms.SignerInfo) -> None:
        signer_info["signature_algorithm"] = algos.SignedDigestAlgorithm({"algorithm": "2.16.840.1.101.3.4.3.14"})

    verdict = verify_one(resign(sign_cms(CONTENT, person, signing_time=signing_time), person, rename), trust)
    assert verdict.subindication is SubIndication.SIG_CRYPTO_FAILURE, verdict.reason
    assert "SHA3_256" in verdict.reason and "SHA256" in verdict.reason


def test_an_unknown_signature_algorithm_is_never_checked_as_if_it_were_known(
    person: Issued, trust: TrustStore, signing_time: datetime
) -> None:
    # DSS pades-unsupported-signature-algorithm: a curve's OID where the signature algorithm belongs.
    def rename(signer_info: cms.SignerInfo) -> None:
        signer_info["signature_algorithm"] = algos.SignedDigestAlgorithm({"algorithm": "1.2.840.10045.3.1.7"})

    verdict = verify_one(resign(sign_cms(CONTENT, person, signing_time=signing_time), person, rename), trust)
    assert not verdict.passed
    assert verdict.subindication is SubIndication.CRYPTO_CONSTRAINTS_FAILURE, verdict.reason
    assert "1.2.840.10045.3.1.7" in verdict.reason
    value = verdict.check(CheckName.SIGNATURE_VALUE)
    assert value is not None and value.outcome is CheckOutcome.FAILED


def test_consistent_combined_signature_algorithm_passes(
    person: Issued, trust: TrustStore, signing_time: datetime
) -> None:
    def rename(signer_info: cms.SignerInfo) -> None:
        signer_info["signature_algorithm"] = algos.SignedDigestAlgorithm({"algorithm": "sha256_rsa"})

    verdict = verify_one(resign(sign_cms(CONTENT, person, signing_time=signing_time), person, rename), trust)
    assert verdict.passed, verdict.reason


@pytest.mark.parametrize("name", ["content_type", "signing_time", "message_digest"])
def test_repeated_single_valued_attribute_is_refused(
    name: str, person: Issued, trust: TrustStore, signing_time: datetime
) -> None:
    def repeat(signer_info: cms.SignerInfo) -> None:
        attributes = list(signer_info["signed_attrs"])
        signer_info["signed_attrs"] = cms.CMSAttributes(attributes + [_attribute(signer_info, name).copy()])

    verdict = verify_one(resign(sign_cms(CONTENT, person, signing_time=signing_time), person, repeat), trust)
    assert verdict.subindication is SubIndication.FORMAT_FAILURE, verdict.reason
    assert name.replace("_", "-") in verdict.reason


def test_two_values_in_one_signing_time_attribute_are_refused(
    person: Issued, trust: TrustStore, signing_time: datetime
) -> None:
    def two_values(signer_info: cms.SignerInfo) -> None:
        attribute = _attribute(signer_info, "signing_time")
        later = cms.Time(name="utc_time", value=signing_time + timedelta(days=400))
        attribute["values"] = [attribute["values"][0], later]

    verdict = verify_one(resign(sign_cms(CONTENT, person, signing_time=signing_time), person, two_values), trust)
    assert verdict.subindication is SubIndication.FORMAT_FAILURE and "signing-time" in verdict.reason


def _indefinite_down_to(der: bytes, target: int) -> bytes:
    """``der`` with the element starting at ``target``, and every element holding it, in indefinite-length BER."""

    def encode(offset: int) -> tuple[bytes, int]:
        tag, length_byte = der[offset], der[offset + 1]
        octets = length_byte & 0x7F if length_byte & 0x80 else 0
        body = offset + 2 + octets
        end = body + (int.from_bytes(der[offset + 2 : body], "big") if octets else length_byte)
        if not tag & 0x20 or not offset <= target < end:
            return der[offset:end], end
        if offset == target:
            return bytes([tag, 0x80]) + der[body:end] + b"\x00\x00", end
        parts, child = [bytes([tag, 0x80])], body
        while child < end:
            encoded, child = encode(child)
            parts.append(encoded)
        return b"".join(parts) + b"\x00\x00", end

    return encode(0)[0]


@pytest.mark.parametrize("indefinite", [False, True], ids=["unsorted", "unsorted-indefinite"])
def test_signed_attributes_in_ber_are_verified_over_their_der(
    indefinite: bool, person: Issued, trust: TrustStore, signing_time: datetime
) -> None:
    """The signer signed the DER SET (members sorted) but wrote the members in another order (BER allows it)."""
    der = sign_cms(CONTENT, person, signing_time=signing_time)
    written = cms.ContentInfo.load(der)["content"]["signer_infos"][0]["signed_attrs"]
    members = [attribute.dump() for attribute in written]
    assert members == sorted(members)
    header = written.dump()[: -sum(map(len, members))]
    ber = der.replace(written.dump(), header + b"".join(reversed(members)))
    if indefinite:
        ber = _indefinite_down_to(ber, ber.index(header + members[-1]))
    verdict = verify_one(ber, trust)
    assert verdict.passed, verdict.reason


def test_sha3_224_digest_is_supported(person: Issued, trust: TrustStore, signing_time: datetime) -> None:
    def to_sha3(signer_info: cms.SignerInfo) -> None:
        signer_info["digest_algorithm"] = algos.DigestAlgorithm({"algorithm": "sha3_224"})
        _attribute(signer_info, "message_digest")["values"] = [hashlib.sha3_224(CONTENT).digest()]

    der = resign(sign_cms(CONTENT, person, signing_time=signing_time), person, to_sha3, digest="sha3_224")
    verdict = verify_one(der, trust)
    assert verdict.passed, verdict.reason
    assert verdict.digest_algorithm == "sha3_224"


def _smime(signature: bytes, content: bytes) -> bytes:
    boundary = "----=_docflow_test"
    body = base64.encodebytes(signature).decode()
    return (
        (
            "From: vanthu@stc.backan.gov.vn\r\nTo: vanthu@snv.backan.gov.vn\r\nSubject: Cong van 45\r\n"
            "MIME-Version: 1.0\r\n"
            f'Content-Type: multipart/signed; protocol="application/pkcs7-signature"; micalg=sha-256;\r\n'
            f' boundary="{boundary}"\r\n\r\n'
            f"This is an S/MIME signed message\r\n--{boundary}\r\n"
        ).encode()
        + content
        + (
            f"\r\n--{boundary}\r\nContent-Type: application/pkcs7-signature; name=smime.p7s\r\n"
            f"Content-Transfer-Encoding: base64\r\n\r\n{body}\r\n--{boundary}--\r\n"
        ).encode()
    )


@pytest.mark.parametrize("name", ["message.txt", "message", "message.msg"])
def test_smime_is_recognised_by_content(
    name: str, person: Issued, trust: TrustStore, signing_time: datetime, tmp_path: Path
) -> None:
    part = b"Content-Type: text/plain; charset=utf-8\r\n\r\nKinh gui So Noi vu\r\n"
    (tmp_path / name).write_bytes(_smime(sign_cms(part, person, signing_time=signing_time), part))
    verdicts = verify_file(tmp_path / name, trust=trust)
    assert [verdict.passed for verdict in verdicts] == [True], verdicts[0].reason


def _negative_serial_certificate(pki: SamplePKI, issued: Issued) -> x509.Certificate:
    parsed = asn1_x509.Certificate.load(issued.der)
    tbs = parsed["tbs_certificate"].copy()
    tbs["serial_number"] = -abs(issued.cert.serial_number)
    tbs_der = tbs.dump(force=True)
    signature = pki.intermediate.key.sign(tbs_der, padding.PKCS1v15(), hashes.SHA256())  # type: ignore[union-attr]
    rebuilt = asn1_x509.Certificate(
        {"tbs_certificate": tbs, "signature_algorithm": parsed["signature_algorithm"], "signature_value": signature}
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return x509.load_der_x509_certificate(rebuilt.dump())


def test_cryptography_warnings_do_not_reach_the_user(
    pki: SamplePKI, person: Issued, trust: TrustStore, signing_time: datetime, tmp_path: Path
) -> None:
    odd = Issued(_negative_serial_certificate(pki, person), person.key)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        der = sign_cms(CONTENT, odd, signing_time=signing_time)
    folder = tmp_path / "trust"
    shutil.copytree(Path(trust.source), folder)
    (folder / "odd.pem").write_bytes(odd.cert.public_bytes(serialization.Encoding.PEM))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        verify_one(der, TrustStore.load(folder))
    assert not [w for w in caught if "cryptography" in str(w.category.__module__)], [str(w.message) for w in caught]
