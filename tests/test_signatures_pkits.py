"""NIST PKITS over S/MIME: every supported case gives the expected pass or fail.

Each test of ``pkits.json`` names the end-entity certificate, the other
certificates and CRLs; its trust store is the PKITS trust anchor, those
certificates and CRLs, and the anchor's own CRL. The signed message is the
``smime/*.eml`` whose signer is that end-entity certificate. PKITS dates from the
SHA-1 / RSA-1024 era, so these tests relax the algorithm policy (the path logic is
what they exercise); revocation is required, as every case ships its CRLs.
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from pathlib import Path

import pytest
from cryptography import x509
from helpers.vectors import VECTORS

from signatures import Policy, RevocationMode, TrustStore, verify_cms
from signatures.cms import embedded_certificates, load_signed_data
from signatures.smime import extract_smime
from signatures.verdict import Indication

PKITS = VECTORS / "pkits"
PKITS_POLICY = Policy(weak_digests=frozenset({"md2", "md5"}), min_rsa_bits=1024, revocation=RevocationMode.REQUIRE)

UNSUPPORTED = {
    "valid_dsa_signatures_test4": "1024-bit DSA is below certvalidator's algorithm policy (DSA >= 3192 bits); "
    "VGCA issues RSA keys only",
    "valid_dsa_parameter_inheritance_test5": "DSA keys that inherit their parameters from the issuer cannot be "
    "loaded by cryptography; VGCA issues RSA keys only",
    "valid_deltacrl": "delta CRLs are not supported (certvalidator does not apply them from a static store); "
    "VGCA publishes full CRLs",
    "invalid_deltacrl": "delta CRLs are not supported",
}
"""Test-name prefixes the engine does not support, with the reason."""

POLICY_PARAMS_REASON = (
    "needs user-initial-policy-set / explicit-policy settings; docflow validates with the RFC 5280 defaults "
    "(any-policy, no explicit policy required)"
)


def _cases() -> list[dict[str, object]]:
    if not (PKITS / "pkits.json").exists():
        return []
    return json.loads((PKITS / "pkits.json").read_text())


def _case_id(case: dict[str, object]) -> str:
    return f"{case['id']}-{case['name']}"


@lru_cache(maxsize=1)
def _messages_by_signer() -> dict[str, Path]:
    """EE certificate SHA-256 → the .eml it signed (the messages embed their signer's certificate)."""
    index: dict[str, Path] = {}
    for eml in sorted((PKITS / "smime").glob("*.eml")):
        signature, _ = extract_smime(eml.read_bytes())
        for der in embedded_certificates(load_signed_data(signature)):
            index.setdefault(hashlib.sha256(der).hexdigest(), eml)
    return index


def _cert(name: str) -> x509.Certificate:
    return x509.load_der_x509_certificate((PKITS / "certs" / name).read_bytes())


def _trust_store(case: dict[str, object]) -> TrustStore:
    certificates = [_cert("TrustAnchorRootCertificate.crt")] + [_cert(n) for n in case.get("other_certs", [])]
    crl_names = ["TrustAnchorRootCRL.crl", *case.get("crls", [])]  # type: ignore[misc]
    crls = [x509.load_der_x509_crl((PKITS / "crls" / name).read_bytes()) for name in dict.fromkeys(crl_names)]
    return TrustStore.from_objects(certificates, crls)


def _skip_reason(case: dict[str, object]) -> str | None:
    if case.get("params"):
        return POLICY_PARAMS_REASON
    name = str(case["name"])
    return next((reason for prefix, reason in UNSUPPORTED.items() if name.startswith(prefix)), None)


@pytest.mark.parametrize("case", _cases(), ids=_case_id)
def test_pkits_case(case: dict[str, object]) -> None:
    reason = _skip_reason(case)
    if reason:
        pytest.skip(reason)
    ee_sha256 = hashlib.sha256((PKITS / "certs" / str(case["cert"])).read_bytes()).hexdigest()
    eml = _messages_by_signer().get(ee_sha256)
    if eml is None:
        pytest.skip(f"PKITS ships no signed message for {case['cert']}")
    signature, content = extract_smime(eml.read_bytes())
    verdicts = verify_cms(signature, content, trust=_trust_store(case), policy=PKITS_POLICY)
    assert len(verdicts) == 1
    verdict = verdicts[0]
    if "error" in case:
        assert verdict.indication is not Indication.TOTAL_PASSED, f"{eml.name} should fail: {case['error']}"
    else:
        assert verdict.passed, f"{eml.name}: {verdict.subindication} {verdict.reason} {verdict.checks}"


def test_pkits_vectors_present() -> None:
    if not PKITS.exists():
        pytest.skip(f"PKITS vectors not found at {PKITS}")
    assert len(_cases()) > 200 and len(_messages_by_signer()) > 150
