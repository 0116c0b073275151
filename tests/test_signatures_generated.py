"""Generated CMS cases: one per sub-indication the engine reports, plus the good variants."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest

from samples.pki import Issued, SamplePKI, build_pki, issue_person, revoke, write_trust_dir
from samples.sign import sign_cms, tamper
from signatures import Indication, SignerKind, SubIndication, TimeSource, TrustStore, verify_cms
from signatures.verdict import CheckName, CheckOutcome, Verdict

CONTENT = "Quyết định số 12/QĐ-UBND về việc phê duyệt kế hoạch".encode() * 50


def verify_one(der: bytes, trust: TrustStore, content: bytes | None = CONTENT) -> Verdict:
    verdicts = verify_cms(der, content, trust=trust)
    assert len(verdicts) == 1
    return verdicts[0]


def assert_verdict(verdict: Verdict, subindication: SubIndication | None, failed_check: CheckName | None) -> None:
    assert verdict.subindication is subindication, verdict.reason
    if subindication is None:
        assert verdict.indication is Indication.TOTAL_PASSED
    if failed_check is not None:
        check = verdict.check(failed_check)
        assert check is not None and check.outcome is CheckOutcome.FAILED


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"scheme": "pss"},
        {"signed_attrs": False},
        {"sid": "ski"},
        {"encoding": "pem"},
        {"encoding": "ber-indefinite"},
        {"detached": False},
        {"digest": "sha512"},
    ],
    ids=lambda options: ",".join(f"{k}={v}" for k, v in options.items()) or "default",
)
def test_good_person_signature_passes(
    options: dict[str, object], person: Issued, trust: TrustStore, signing_time: datetime
) -> None:
    der = sign_cms(CONTENT, person, signing_time=signing_time, **options)  # type: ignore[arg-type]
    verdict = verify_one(der, trust, None if options.get("detached") is False else CONTENT)
    assert_verdict(verdict, None, None)
    assert verdict.kind is SignerKind.PERSON
    assert verdict.signer_common_name == "Nguyễn Văn An"
    assert verdict.signer_serial == format(person.cert.serial_number, "x")
    assert verdict.check(CheckName.REVOCATION).outcome is CheckOutcome.PASSED  # type: ignore[union-attr]


def test_signed_attribute_time_is_reported(person: Issued, trust: TrustStore, signing_time: datetime) -> None:
    verdict = verify_one(sign_cms(CONTENT, person, signing_time=signing_time), trust)
    assert verdict.signing_time_source is TimeSource.SIGNED_ATTRIBUTE
    assert abs((verdict.signing_time - signing_time).total_seconds()) < 1  # type: ignore[operator]
    assert (verdict.digest_algorithm, verdict.signature_algorithm) == ("sha256", "rsassa_pkcs1v15")


def test_ecdsa_organisation_signature_passes(pki: SamplePKI, trust: TrustStore, signing_time: datetime) -> None:
    from samples.pki import issue_organisation

    org = issue_organisation(pki, "UBND huyện Chợ Đồn", key_type="ec256")
    verdict = verify_one(sign_cms(CONTENT, org, signing_time=signing_time), trust)
    assert_verdict(verdict, None, None)
    assert (verdict.kind, verdict.signature_algorithm) == (SignerKind.ORGANISATION, "ecdsa")


def test_timestamp_becomes_the_signing_time(
    pki: SamplePKI, person: Issued, trust: TrustStore, signing_time: datetime
) -> None:
    stamped_at = signing_time + timedelta(minutes=5)
    der = sign_cms(CONTENT, person, signing_time=signing_time, timestamp_by=pki.tsa, timestamp_time=stamped_at)
    verdict = verify_one(der, trust)
    assert_verdict(verdict, None, None)
    assert verdict.signing_time_source is TimeSource.TIMESTAMP
    assert abs((verdict.signing_time - stamped_at).total_seconds()) < 1  # type: ignore[operator]


def test_timestamp_by_a_non_tsa_is_set_aside(
    organisation: Issued, person: Issued, trust: TrustStore, signing_time: datetime
) -> None:
    der = sign_cms(CONTENT, person, signing_time=signing_time, timestamp_by=organisation)
    verdict = verify_one(der, trust)
    assert verdict.signing_time_source is TimeSource.SIGNED_ATTRIBUTE
    assert verdict.check(CheckName.TIMESTAMP).outcome is CheckOutcome.FAILED  # type: ignore[union-attr]


def test_changed_content_is_hash_failure(person: Issued, trust: TrustStore, signing_time: datetime) -> None:
    der = sign_cms(CONTENT, person, signing_time=signing_time)
    assert_verdict(verify_one(der, trust, tamper(CONTENT)), SubIndication.HASH_FAILURE, CheckName.MESSAGE_DIGEST)


def test_wrong_message_digest_is_hash_failure(person: Issued, trust: TrustStore, signing_time: datetime) -> None:
    der = sign_cms(CONTENT, person, signing_time=signing_time, wrong_digest=True)
    verdict = verify_one(der, trust)
    assert_verdict(verdict, SubIndication.HASH_FAILURE, CheckName.MESSAGE_DIGEST)
    assert verdict.indication is Indication.TOTAL_FAILED


def test_wrong_content_type_attribute_fails(person: Issued, trust: TrustStore, signing_time: datetime) -> None:
    der = sign_cms(CONTENT, person, signing_time=signing_time, content_type_attr="signed_data")
    assert_verdict(verify_one(der, trust), SubIndication.HASH_FAILURE, CheckName.CONTENT_TYPE)


@pytest.mark.parametrize("signed_attrs", [True, False])
def test_corrupt_signature_value_is_sig_crypto_failure(
    signed_attrs: bool, person: Issued, trust: TrustStore, signing_time: datetime
) -> None:
    der = sign_cms(CONTENT, person, signing_time=signing_time, corrupt_signature=True, signed_attrs=signed_attrs)
    assert_verdict(verify_one(der, trust), SubIndication.SIG_CRYPTO_FAILURE, CheckName.SIGNATURE_VALUE)


def test_missing_signer_certificate(person: Issued, trust: TrustStore, signing_time: datetime) -> None:
    der = sign_cms(CONTENT, person, signing_time=signing_time, embed_signer_cert=False)
    verdict = verify_one(der, trust)
    assert_verdict(verdict, SubIndication.NO_SIGNING_CERTIFICATE_FOUND, CheckName.SIGNER_CERTIFICATE)
    assert verdict.signer_subject is None


def test_detached_signature_without_content(person: Issued, trust: TrustStore, signing_time: datetime) -> None:
    verdict = verify_one(sign_cms(CONTENT, person, signing_time=signing_time), trust, content=None)
    assert_verdict(verdict, SubIndication.SIGNED_DATA_NOT_FOUND, CheckName.MESSAGE_DIGEST)


def test_revoked_before_signing(revoked_person: Issued, trust: TrustStore, signing_time: datetime) -> None:
    verdict = verify_one(sign_cms(CONTENT, revoked_person, signing_time=signing_time), trust)
    assert_verdict(verdict, SubIndication.REVOKED, CheckName.REVOCATION)
    assert verdict.indication is Indication.TOTAL_FAILED


def test_revoked_after_signing_passes_with_a_note(pki: SamplePKI, revoked_person: Issued, trust: TrustStore) -> None:
    before_revocation = pki.now - timedelta(days=40)
    verdict = verify_one(sign_cms(CONTENT, revoked_person, signing_time=before_revocation), trust)
    assert_verdict(verdict, None, None)
    assert "after the signature" in verdict.check(CheckName.REVOCATION).detail  # type: ignore[union-attr]


def test_untrusted_issuer_has_no_chain(untrusted_person: Issued, trust: TrustStore, signing_time: datetime) -> None:
    verdict = verify_one(sign_cms(CONTENT, untrusted_person, signing_time=signing_time), trust)
    assert_verdict(verdict, SubIndication.NO_CERTIFICATE_CHAIN_FOUND, CheckName.CERTIFICATE_PATH)


def test_signed_after_expiry_without_proof(pki: SamplePKI, expired_person: Issued, trust: TrustStore) -> None:
    verdict = verify_one(sign_cms(CONTENT, expired_person, signing_time=pki.now - timedelta(days=1)), trust)
    assert_verdict(verdict, SubIndication.OUT_OF_BOUNDS_NO_POE, CheckName.VALIDITY)


def test_timestamped_after_expiry_is_expired(pki: SamplePKI, expired_person: Issued, trust: TrustStore) -> None:
    when = pki.now - timedelta(days=1)
    der = sign_cms(CONTENT, expired_person, signing_time=when, timestamp_by=pki.tsa)
    assert_verdict(verify_one(der, trust), SubIndication.EXPIRED, CheckName.VALIDITY)


def test_expired_certificate_signed_while_valid_passes(
    pki: SamplePKI, expired_person: Issued, trust: TrustStore
) -> None:
    when = pki.now - timedelta(days=2 * 365)
    assert_verdict(verify_one(sign_cms(CONTENT, expired_person, signing_time=when), trust), None, None)


def test_signed_before_validity_is_not_yet_valid(pki: SamplePKI, trust: TrustStore) -> None:
    newcomer = issue_person(pki, "Đỗ Thị Mai", agency="Sở Nội vụ", not_before=pki.now - timedelta(days=1))
    verdict = verify_one(sign_cms(CONTENT, newcomer, signing_time=pki.now - timedelta(days=3)), trust)
    assert_verdict(verdict, SubIndication.NOT_YET_VALID, CheckName.VALIDITY)
    assert verdict.indication is Indication.TOTAL_FAILED


def test_one_certificate_judged_at_two_moments(pki: SamplePKI, expired_person: Issued, trust: TrustStore) -> None:
    # The path cache must not carry a result from one validity window into another.
    inside = verify_one(sign_cms(CONTENT, expired_person, signing_time=pki.now - timedelta(days=700)), trust)
    outside = verify_one(sign_cms(CONTENT, expired_person, signing_time=pki.now - timedelta(days=10)), trust)
    again = verify_one(sign_cms(CONTENT, expired_person, signing_time=pki.now - timedelta(days=600)), trust)
    assert (inside.passed, outside.passed, again.passed) == (True, False, True)


@pytest.mark.parametrize("options", [{"digest": "sha1"}, {"digest": "md5"}])
def test_weak_digest_is_crypto_constraints_failure(
    options: dict[str, str], person: Issued, trust: TrustStore, signing_time: datetime
) -> None:
    der = sign_cms(CONTENT, person, signing_time=signing_time, **options)  # type: ignore[arg-type]
    verdict = verify_one(der, trust)
    assert_verdict(verdict, SubIndication.CRYPTO_CONSTRAINTS_FAILURE, CheckName.ALGORITHM_POLICY)
    assert verdict.indication is Indication.INDETERMINATE


def test_short_rsa_key_is_crypto_constraints_failure(pki: SamplePKI, trust: TrustStore, signing_time: datetime) -> None:
    weak = issue_person(pki, "Vũ Văn Bình", agency="Sở Y tế", key_type="rsa1024")
    verdict = verify_one(sign_cms(CONTENT, weak, signing_time=signing_time), trust)
    assert_verdict(verdict, SubIndication.CRYPTO_CONSTRAINTS_FAILURE, CheckName.ALGORITHM_POLICY)
    assert verdict.key_bits == 1024


def test_sha1_signed_certificate_is_crypto_constraints_failure(
    pki: SamplePKI, trust: TrustStore, signing_time: datetime
) -> None:
    old = issue_person(pki, "Trần Anh Tuấn", agency="Sở Xây dựng", hash_name="sha1")
    verdict = verify_one(sign_cms(CONTENT, old, signing_time=signing_time), trust)
    assert_verdict(verdict, SubIndication.CRYPTO_CONSTRAINTS_FAILURE, CheckName.ALGORITHM_POLICY)


def test_encryption_certificate_is_sig_constraints_failure(
    pki: SamplePKI, trust: TrustStore, signing_time: datetime
) -> None:
    encrypting = issue_person(pki, "Bùi Thị Hoa", agency="Sở Tư pháp", usage="encrypt")
    verdict = verify_one(sign_cms(CONTENT, encrypting, signing_time=signing_time), trust)
    assert_verdict(verdict, SubIndication.SIG_CONSTRAINTS_FAILURE, CheckName.KEY_USAGE)


def test_certificate_issued_by_a_non_ca_breaks_chain_constraints(
    pki: SamplePKI, person: Issued, trust: TrustStore, signing_time: datetime
) -> None:
    rogue = issue_person(pki, "Kẻ Giả Mạo", agency="Sở Tài chính", issuer=person)
    der = sign_cms(CONTENT, rogue, signing_time=signing_time, extra_certs=[person.cert])
    assert_verdict(verify_one(der, trust), SubIndication.CHAIN_CONSTRAINTS_FAILURE, CheckName.CERTIFICATE_PATH)


def test_stale_crl_is_try_later(pki: SamplePKI, person: Issued, tmp_path: Path, signing_time: datetime) -> None:
    old_crls = write_trust_dir(
        pki, tmp_path, this_update=pki.now - timedelta(days=60), next_update=pki.now - timedelta(days=30)
    )
    verdict = verify_one(sign_cms(CONTENT, person, signing_time=signing_time), TrustStore.load(old_crls))
    assert_verdict(verdict, SubIndication.TRY_LATER, CheckName.REVOCATION)


def test_revoked_intermediate(tmp_path: Path) -> None:
    own = build_pki(seed_name="thu-hoi-ca")
    signer = issue_person(own, "Ngô Văn Hải", agency="Sở Công Thương")
    revoke(own, own.intermediate, own.now - timedelta(days=10))
    trust = TrustStore.load(write_trust_dir(own, tmp_path))
    verdict = verify_one(sign_cms(CONTENT, signer, signing_time=own.now - timedelta(days=2)), trust)
    assert_verdict(verdict, SubIndication.REVOKED_CA_NO_POE, CheckName.REVOCATION)


def test_without_crls_revocation_is_skipped(
    pki: SamplePKI, person: Issued, tmp_path: Path, signing_time: datetime
) -> None:
    store = write_trust_dir(pki, tmp_path)
    for crl in store.glob("*.crl*"):
        crl.unlink()
    verdict = verify_one(sign_cms(CONTENT, person, signing_time=signing_time), TrustStore.load(store))
    assert_verdict(verdict, None, None)
    assert verdict.check(CheckName.REVOCATION).outcome is CheckOutcome.SKIPPED  # type: ignore[union-attr]


def test_kind_override_wins(organisation: Issued, trust: TrustStore, signing_time: datetime) -> None:
    der = sign_cms(CONTENT, organisation, signing_time=signing_time)
    sha256 = verify_one(der, trust).signer_cert_sha256
    assert verify_one(der, trust).kind is SignerKind.ORGANISATION
    overridden = verify_cms(der, CONTENT, trust=trust, kinds={sha256: SignerKind.PERSON})[0]  # type: ignore[dict-item]
    assert overridden.kind is SignerKind.PERSON


@pytest.mark.parametrize(
    "garbage", [b"", b"garbage", b"\x30\x84\xff\xff\xff\xff", b"\x30\x80" * 5000, b"-----BEGIN PKCS7-----\n!!\n"]
)
def test_garbage_is_format_failure(garbage: bytes, trust: TrustStore) -> None:
    verdict = verify_one(garbage, trust)
    assert_verdict(verdict, SubIndication.FORMAT_FAILURE, CheckName.STRUCTURE)
    assert verdict.reason


def test_truncated_signature_is_format_failure(person: Issued, trust: TrustStore, signing_time: datetime) -> None:
    der = sign_cms(CONTENT, person, signing_time=signing_time)
    assert verify_one(der[: len(der) // 2], trust).subindication is SubIndication.FORMAT_FAILURE
