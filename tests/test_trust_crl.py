"""Trust-store CRLs an attacker or an unlucky operator can bend (issue 14, item 12).

A CRL that cannot be loaded (too large, truncated, garbled) must make every verdict that needed it
say so, never quietly pass "because the store holds no CRLs"; a huge CRL is indexed once, and its
lookups give the same answers as a walk of the list.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding

from samples.pki import Issued, SamplePKI, build_pki, issue_person, make_crl, revoke, write_trust_dir
from samples.sign import sign_cms
from signatures import Indication, SubIndication, TrustStore, verify_cms
from signatures.verdict import CheckName, CheckOutcome, Verdict

CONTENT = "Tờ trình số 7/TTr-SKHĐT".encode() * 30
CA_CRL = "ca-nha-nuoc-g2-mau.crl"


@pytest.fixture(scope="module")
def crl_pki() -> tuple[SamplePKI, Issued, Issued]:
    pki = build_pki(seed_name="crl-item-12")
    revoked = issue_person(pki, "Bùi Văn Nam", agency="Sở Kế hoạch và Đầu tư")
    good = issue_person(pki, "Ngô Thị Mai", agency="Sở Kế hoạch và Đầu tư")
    revoke(pki, revoked, pki.now - timedelta(days=20))
    return pki, revoked, good


def _verify(pki: SamplePKI, signer: Issued, folder: Path) -> Verdict:
    der = sign_cms(CONTENT, signer, signing_time=pki.now - timedelta(days=2))
    return verify_cms(der, CONTENT, trust=TrustStore.load(folder))[0]


def _padded_crl(pki: SamplePKI, extra: int) -> bytes:
    """The intermediate's CRL (listing the revoked signer) padded with ``extra`` other serials."""
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(pki.intermediate.cert.subject)
        .last_update(pki.now - timedelta(days=1))
        .next_update(pki.now + timedelta(days=30))
    )
    when = pki.now - timedelta(days=300)
    for serial in range(1000, 1000 + extra):
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder().serial_number(serial * 104729).revocation_date(when).build()
        )
    for entry in pki.revoked:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder().serial_number(entry.serial).revocation_date(entry.revoked_at).build()
        )
    return builder.sign(pki.intermediate.key, hashes.SHA256()).public_bytes(Encoding.DER)


def _only_the_ca_crl(pki: SamplePKI, folder: Path, crl: bytes) -> Path:
    """A store whose one CRL file is the intermediate's (the issue's case: "the store holds no CRLs")."""
    write_trust_dir(pki, folder)
    (folder / "root-g2-mau.crl.pem").unlink()
    (folder / CA_CRL).write_bytes(crl)
    return folder


def _assert_names_the_file(verdict: Verdict, file: str) -> None:
    assert verdict.indication is Indication.INDETERMINATE, verdict.reason
    assert verdict.subindication is SubIndication.TRY_LATER
    assert file in verdict.reason
    assert verdict.check(CheckName.REVOCATION).outcome is CheckOutcome.FAILED  # type: ignore[union-attr]


def test_a_crl_too_large_to_load_is_never_a_quiet_pass(
    crl_pki: tuple[SamplePKI, Issued, Issued], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pki, revoked, good = crl_pki
    folder = _only_the_ca_crl(pki, tmp_path, _padded_crl(pki, 400))
    limit = (folder / CA_CRL).stat().st_size - 1
    assert all(path.stat().st_size <= limit for path in folder.iterdir() if path.name != CA_CRL)
    monkeypatch.setattr("signatures.trust.MAX_TRUST_FILE", limit)
    monkeypatch.setattr("signatures.trust._MAX_TRUST_FILE", limit, raising=False)  # the name before issue 14
    store = TrustStore.load(folder)
    assert any(CA_CRL in problem for problem in store.problems)
    for signer in (revoked, good):
        _assert_names_the_file(_verify(pki, signer, folder), CA_CRL)


@pytest.mark.parametrize("damage", ["truncated", "garbled-signature-area"])
def test_a_damaged_crl_is_named_in_the_verdicts_that_needed_it(
    damage: str, crl_pki: tuple[SamplePKI, Issued, Issued], tmp_path: Path
) -> None:
    pki, revoked, _ = crl_pki
    crl = make_crl(pki).public_bytes(Encoding.DER)
    broken = crl[: len(crl) // 2] if damage == "truncated" else crl[:-40] + b"\xff" * 40
    folder = _only_the_ca_crl(pki, tmp_path, broken)
    _assert_names_the_file(_verify(pki, revoked, folder), CA_CRL)


def test_an_unreadable_crl_of_another_issuer_does_not_touch_this_verdict(
    crl_pki: tuple[SamplePKI, Issued, Issued], tmp_path: Path
) -> None:
    pki, _, good = crl_pki
    folder = write_trust_dir(pki, tmp_path)
    other = make_crl(pki, issuer=pki.untrusted_intermediate).public_bytes(Encoding.DER)
    (folder / "other-ca.crl").write_bytes(other[:300])
    verdict = _verify(pki, good, folder)
    assert verdict.passed, verdict.reason


def test_a_certificate_file_that_cannot_be_loaded_is_named_when_the_chain_is_missing(
    crl_pki: tuple[SamplePKI, Issued, Issued], tmp_path: Path
) -> None:
    pki, _, good = crl_pki
    folder = write_trust_dir(pki, tmp_path)
    intermediate = folder / "ca-nha-nuoc-g2-mau.cer"
    intermediate.write_bytes(intermediate.read_bytes()[:200])
    verdict = _verify(pki, good, folder)
    assert verdict.subindication is SubIndication.NO_CERTIFICATE_CHAIN_FOUND
    assert "ca-nha-nuoc-g2-mau.cer" in verdict.reason


def test_a_huge_crl_is_indexed_and_agrees_with_a_walk(
    crl_pki: tuple[SamplePKI, Issued, Issued], tmp_path: Path
) -> None:
    pki, revoked, good = crl_pki
    crl_der = _padded_crl(pki, 50_000)
    folder = write_trust_dir(pki, tmp_path)
    (folder / CA_CRL).write_bytes(crl_der)
    store = TrustStore.load(folder)
    crl = x509.load_der_x509_crl(crl_der)
    for serial in (1000 * 104729, 25_000 * 104729, 50_999 * 104729, revoked.cert.serial_number, 17, 2**159 + 1):
        entry = crl.get_revoked_certificate_by_serial_number(serial)
        assert store.revocation_dates(serial) == ((entry.revocation_date_utc,) if entry else ())
    assert store.revocation_dates(-5) == ()
    verdict = _verify(pki, revoked, folder)
    assert verdict.subindication is SubIndication.REVOKED, verdict.reason
    assert _verify(pki, good, folder).passed


def test_indexed_lookup_is_what_certvalidator_uses(crl_pki: tuple[SamplePKI, Issued, Issued], tmp_path: Path) -> None:
    from pyhanko_certvalidator.revinfo import validate_crl

    import signatures.path  # noqa: F401 - installs the lookup

    assert getattr(validate_crl.find_cert_in_list, "docflow_indexed", False)


def test_ingest_reports_trust_store_problems(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    from docflow.cli.ingest import TrustRefused, _load_trust

    (tmp_path / "broken.crl").write_bytes(b"\x30\x82\x01\x00not a crl")
    # No anchor either, so the run is refused (issue 16), and the file that could not be read is still named.
    with (
        caplog.at_level(logging.WARNING),
        pytest.raises(TrustRefused, match="no trust anchor|không có chứng thư gốc tin cậy"),
    ):
        _load_trust(tmp_path, no_trust=False)
    assert "broken.crl" in caplog.text
