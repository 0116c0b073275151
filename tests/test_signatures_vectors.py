"""Public samples by others: OpenSSL, cryptography and pyHanko verify as their authors expect."""

from __future__ import annotations

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.serialization import pkcs7
from helpers.vectors import vectors_or_skip

from signatures import Indication, Policy, SubIndication, TimeSource, TrustStore, verify_cms, verify_file, verify_pdf
from signatures.verdict import CheckName, CheckOutcome, Verdict


def intact(verdict: Verdict) -> bool:
    """The signature's own cryptography holds (whatever its certificate path says)."""
    wanted = (CheckName.MESSAGE_DIGEST, CheckName.SIGNATURE_VALUE)
    return all(
        verdict.check(name) is not None and verdict.check(name).outcome is not CheckOutcome.FAILED  # type: ignore[union-attr]
        for name in wanted
    )


# --- OpenSSL -----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["pkcs7.pem", "testp7.pem"])
def test_openssl_certificate_only_pkcs7_is_not_a_signature(name: str) -> None:
    verdicts = verify_cms(vectors_or_skip("openssl", name).read_bytes(), trust=None)
    assert [v.subindication for v in verdicts] == [SubIndication.FORMAT_FAILURE]
    assert "no SignerInfo" in verdicts[0].reason


def test_openssl_md2_signed_pkcs7_is_refused_as_weak() -> None:
    verdict = verify_cms(vectors_or_skip("openssl", "pkcs7-1.pem").read_bytes(), trust=None)[0]
    assert verdict.subindication is SubIndication.CRYPTO_CONSTRAINTS_FAILURE
    assert verdict.signer_common_name == "Test User 1"


def _openssl_key_and_cert(name: str) -> tuple[object, x509.Certificate]:
    pem = vectors_or_skip("openssl", "smime-certs", name).read_bytes()
    return serialization.load_pem_private_key(pem, None), x509.load_pem_x509_certificate(pem)


@pytest.mark.parametrize(
    ("name", "expected"),
    [("smrsa1.pem", None), ("smec1.pem", None), ("smrsa1024.pem", SubIndication.CRYPTO_CONSTRAINTS_FAILURE)],
)
def test_openssl_test_certificates_signing_with_cryptography(name: str, expected: SubIndication | None) -> None:
    # A second, independent CMS writer (cryptography's PKCS7 builder) over OpenSSL's test PKI.
    key, cert = _openssl_key_and_cert(name)
    root = x509.load_pem_x509_certificate(vectors_or_skip("openssl", "smime-certs", "smroot.pem").read_bytes())
    content = b"OpenSSL test content\r\n"
    der = (
        pkcs7.PKCS7SignatureBuilder()
        .set_data(content)
        .add_signer(cert, key, hashes.SHA256())  # type: ignore[arg-type]
        .sign(serialization.Encoding.DER, [pkcs7.PKCS7Options.DetachedSignature])
    )
    verdict = verify_cms(der, content, trust=TrustStore.from_objects([root]))[0]
    assert intact(verdict)
    assert verdict.subindication is expected, verdict.reason


def test_openssl_smime_message_with_bad_policy_mapping_fails() -> None:
    eml = vectors_or_skip("openssl", "smime-eml", "SignedInvalidMappingFromanyPolicyTest7.eml")
    pkits = vectors_or_skip("pkits")
    certificates = [
        x509.load_der_x509_certificate((pkits / "certs" / name).read_bytes())
        for name in ("TrustAnchorRootCertificate.crt", "MappingFromanyPolicyCACert.crt")
    ]
    policy = Policy(weak_digests=frozenset({"md5"}), min_rsa_bits=1024)
    verdict = verify_file(eml, trust=TrustStore.from_objects(certificates), policy=policy)[0]
    assert intact(verdict)
    assert verdict.subindication is SubIndication.CHAIN_CONSTRAINTS_FAILURE


# --- cryptography -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["amazon-roots.der", "amazon-roots.p7b", "isrg.pem"])
def test_cryptography_certificate_bundles_are_not_signatures(name: str) -> None:
    verdict = verify_cms(vectors_or_skip("cryptography_vectors", "pkcs7", name).read_bytes(), trust=None)[0]
    assert verdict.subindication is SubIndication.FORMAT_FAILURE


@pytest.mark.parametrize("name", ["enveloped.pem", "enveloped-rsa-oaep.pem", "enveloped-no-content.der"])
def test_cryptography_enveloped_data_is_not_a_signature(name: str) -> None:
    verdict = verify_cms(vectors_or_skip("cryptography_vectors", "pkcs7", name).read_bytes(), trust=None)[0]
    assert verdict.subindication is SubIndication.FORMAT_FAILURE and "enveloped" in verdict.reason


def test_cryptography_authenticode_signature_is_intact() -> None:
    verdict = verify_cms(vectors_or_skip("cryptography_vectors", "pkcs7", "authenticode.der").read_bytes(), trust=None)[
        0
    ]
    assert intact(verdict)
    assert verdict.subindication is SubIndication.NO_CERTIFICATE_CHAIN_FOUND
    assert verdict.signer_common_name == "kernel-signer"


# --- pyHanko ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pyhanko_trust() -> TrustStore:
    crypto = vectors_or_skip("pyhanko", "crypto")
    files = sorted((crypto / "testing-ca").rglob("*.pem")) + [crypto / "selfsigned.cert.pem"]
    return TrustStore.from_objects([c for f in files for c in x509.load_pem_x509_certificates(f.read_bytes())])


def _pdf(name: str) -> bytes:
    return vectors_or_skip("pyhanko", "pdf", name).read_bytes()


@pytest.mark.parametrize(
    "name",
    [
        "minimal-signed-twice-both-created.pdf",
        "minimal-signed-twice-second-created.pdf",
        "minimal-two-fields-signed-twice.pdf",
        "separate-annots-kids-indir.pdf",
    ],
)
def test_pyhanko_signed_twice(name: str, pyhanko_trust: TrustStore) -> None:
    verdicts = verify_pdf(_pdf(name), trust=pyhanko_trust)
    assert [v.covers_whole_file for v in verdicts] == [False, True]
    assert all(v.passed for v in verdicts), [v.reason for v in verdicts]


def test_pyhanko_signed_twice_by_an_unknown_ca(pyhanko_trust: TrustStore) -> None:
    verdicts = verify_pdf(_pdf("minimal-signed-twice-no-sig-type.pdf"), trust=pyhanko_trust)
    assert [v.covers_whole_file for v in verdicts] == [False, True]
    assert all(intact(v) and v.subindication is SubIndication.NO_CERTIFICATE_CHAIN_FOUND for v in verdicts)


def test_pyhanko_certified_document(pyhanko_trust: TrustStore) -> None:
    (verdict,) = verify_pdf(_pdf("certified-with-indirect-refs-in-dir.pdf"), trust=pyhanko_trust)
    assert verdict.passed and verdict.covers_whole_file


@pytest.mark.parametrize("name", ["pades-lta-dss-indirect-arrs-test.pdf", "pades-lta-dss-indirect-arrs-test-2.pdf"])
def test_pyhanko_pades_lta_is_judged_at_its_timestamp(name: str, pyhanko_trust: TrustStore) -> None:
    # The signer certificate expired in 2022; the signature timestamp proves it was made before.
    verdicts = verify_pdf(_pdf(name), trust=pyhanko_trust)
    assert verdicts and all(v.passed and v.signing_time_source is TimeSource.TIMESTAMP for v in verdicts)


def test_pyhanko_signatures_after_certificate_expiry(pyhanko_trust: TrustStore) -> None:
    verdicts = verify_pdf(_pdf("form-update-override-appearance-stream.pdf"), trust=pyhanko_trust)
    assert len(verdicts) == 2 and all(intact(v) for v in verdicts)
    assert all(v.subindication is SubIndication.OUT_OF_BOUNDS_NO_POE for v in verdicts)


def test_pyhanko_every_signed_pdf_is_cryptographically_intact(pyhanko_trust: TrustStore) -> None:
    skip = {"signed-encrypted-pubkey-with-catalog-ref.pdf"}
    for pdf in sorted(vectors_or_skip("pyhanko", "pdf").glob("*.pdf")):
        if pdf.name in skip:
            continue
        verdicts = verify_pdf(pdf.read_bytes(), trust=pyhanko_trust)
        assert verdicts, pdf.name
        assert all(intact(v) for v in verdicts), pdf.name


def test_pyhanko_ed448_with_sha512_is_refused() -> None:
    (verdict,) = verify_pdf(_pdf("ed448-disallowed-hash.pdf"), trust=None)
    assert intact(verdict) and verdict.signature_algorithm == "ed448"
    assert verdict.check(CheckName.ALGORITHM_POLICY).outcome is CheckOutcome.FAILED  # type: ignore[union-attr]


def test_pyhanko_ed448_with_shake256_is_intact() -> None:
    (verdict,) = verify_pdf(_pdf("ed448-shake256-nolen.pdf"), trust=None)
    assert intact(verdict) and verdict.digest_algorithm == "shake256"


def test_pyhanko_public_key_encrypted_pdf_is_one_format_failure() -> None:
    verdicts = verify_pdf(_pdf("signed-encrypted-pubkey-with-catalog-ref.pdf"), trust=None)
    assert [v.subindication for v in verdicts] == [SubIndication.FORMAT_FAILURE]
    assert verdicts[0].indication is Indication.TOTAL_FAILED
