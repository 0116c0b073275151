"""One SignerInfo from start to verdict: integrity, timestamp, signing time, path, policy.

This is where the separate checks meet; ``decide`` turns them into the indication.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache

from signatures.algorithms import eddsa_digest_problem
from signatures.certinfo import CertInfo, cert_info
from signatures.cms import ContentDigests, SignerCheck, check_signer
from signatures.cmsparts import SignerParts
from signatures.decide import Finding, decide, failed, passed, skipped
from signatures.kind import classify_signer
from signatures.path import PathFailure, PathOutcome, validate_path
from signatures.policy import Policy, key_size_problem, key_usage_problem, weak_digest_problem
from signatures.timestamp import check_timestamp, claimed_after_now_note
from signatures.trust import TrustStore
from signatures.verdict import CheckName, SignerKind, SubIndication, TimeSource, Verdict

__all__ = ["Settings", "SignedContext", "assess_signer"]


@dataclass(frozen=True)
class Settings:
    trust: TrustStore
    policy: Policy
    kinds: Mapping[str, SignerKind] = field(default_factory=dict)
    """Manual person/organisation overrides keyed by certificate SHA-256."""
    now: datetime | None = None
    """The moment used when a signature states no signing time (default: the current time)."""


@dataclass(frozen=True)
class SignedContext:
    """What all SignerInfos of one SignedData share."""

    content_type: str
    digests: ContentDigests | None
    embedded: tuple[bytes, ...]
    content_findings: tuple[Finding, ...] = ()
    """Checks of the signed content itself made by the caller (a PDF's SHA-1 of its byte range), decided with
    the signer's own."""


def assess_signer(index: int, signer_info: SignerParts, shared: SignedContext, settings: Settings) -> Verdict:
    integrity = check_signer(
        signer_info,
        content_type=shared.content_type,
        digests=shared.digests,
        embedded=shared.embedded,
        store=settings.trust.intermediate_der,
    )
    findings = list(integrity.findings)
    signer = integrity.signer
    moment, source = integrity.signing_time_attribute, TimeSource.SIGNED_ATTRIBUTE
    if signer is not None:
        stamp = check_timestamp(
            signer_info,
            integrity.signature_value,
            trust=settings.trust,
            policy=settings.policy,
            claimed_time=integrity.signing_time_attribute,
        )
        if stamp is not None:
            findings.append(stamp.finding)
            if stamp.gen_time is not None:
                moment, source = stamp.gen_time, TimeSource.TIMESTAMP
    if moment is None:
        source = TimeSource.NONE
    if signer is not None:
        now = settings.now or datetime.now(UTC)
        future_claim = claimed_after_now_note(moment, source, now) if moment else ""
        # A signature cannot have been made after it is verified: judge a future claim at the verification
        # moment, so it can never make a not-yet-valid certificate look valid.
        at = now if future_claim or moment is None else moment
        outcome = validate_path(signer, shared.embedded, settings.trust, at, settings.policy)
        findings += _path_findings(outcome, source, at, validity_note=future_claim)
        findings.append(_key_usage_finding(signer))
        if outcome.failure is not PathFailure.WEAK_ALGORITHM:
            findings.append(_algorithm_finding(integrity, signer, settings.policy))
    findings += shared.content_findings
    indication, subindication, reason = decide(findings, _passed_reason(signer, moment, source))
    return _verdict(index, findings, (indication, subindication, reason), integrity, moment, source, settings)


def _path_findings(
    outcome: PathOutcome, source: TimeSource, moment: datetime, validity_note: str = ""
) -> list[Finding]:
    if outcome.failure is None:
        chain = " → ".join(outcome.chain)
        revocation = _revocation_passed(outcome)
        return [passed(CheckName.CERTIFICATE_PATH, chain), passed(CheckName.VALIDITY, validity_note), revocation]
    failure = _path_failure(outcome, source, moment)
    not_reached = "not checked: path validation stopped earlier"
    if failure.check.name is CheckName.CERTIFICATE_PATH:
        return [failure, skipped(CheckName.VALIDITY, not_reached), skipped(CheckName.REVOCATION, not_reached)]
    if failure.check.name is CheckName.ALGORITHM_POLICY:
        return [
            passed(CheckName.CERTIFICATE_PATH),
            skipped(CheckName.VALIDITY, not_reached),
            skipped(CheckName.REVOCATION, not_reached),
            failure,
        ]
    return [passed(CheckName.CERTIFICATE_PATH), failure]


def _revocation_passed(outcome: PathOutcome) -> Finding:
    if not outcome.revocation_checked:
        return skipped(CheckName.REVOCATION, "the trust store holds no CRLs, so revocation was not checked")
    if outcome.revoked_later is not None:
        when = outcome.revoked_later.date().isoformat()
        return passed(CheckName.REVOCATION, f"the certificate was revoked on {when}, after the signature was made")
    return passed(CheckName.REVOCATION)


_PATH_FAILURES: dict[PathFailure, tuple[CheckName, SubIndication, str]] = {
    PathFailure.NO_CHAIN: (
        CheckName.CERTIFICATE_PATH,
        SubIndication.NO_CERTIFICATE_CHAIN_FOUND,
        "The signer's certificate does not lead to a root in the trust store; if its issuing CA is legitimate, "
        "add that CA's certificate to the trust store.",
    ),
    PathFailure.CONSTRAINTS: (
        CheckName.CERTIFICATE_PATH,
        SubIndication.CHAIN_CONSTRAINTS_FAILURE,
        "The certificate chain breaks a CA constraint (basic constraints, names or policies); report the "
        "certificate to the CA.",
    ),
    PathFailure.CHAIN_GENERAL: (
        CheckName.CERTIFICATE_PATH,
        SubIndication.CERTIFICATE_CHAIN_GENERAL_FAILURE,
        "A certificate in the chain is not properly signed by its CA; treat the signature as untrustworthy and "
        "report it.",
    ),
    PathFailure.EXPIRED: (
        CheckName.VALIDITY,
        SubIndication.OUT_OF_BOUNDS_NO_POE,
        "A certificate in the chain expired on {when}, before the signing time {signed}; ask the signer to "
        "re-sign with a current certificate.",
    ),
    PathFailure.NOT_YET_VALID: (
        CheckName.VALIDITY,
        SubIndication.NOT_YET_VALID,
        "The certificate only became valid on {when}, after the claimed signing time {signed}.",
    ),
    PathFailure.REVOKED: (
        CheckName.REVOCATION,
        SubIndication.REVOKED,
        "The signer's certificate was revoked on {when}, before the signature was made ({signed}); the "
        "signature is invalid.",
    ),
    PathFailure.REVOKED_CA: (
        CheckName.REVOCATION,
        SubIndication.REVOKED_CA_NO_POE,
        "An issuing CA's certificate was revoked on {when}, before the signature was made.",
    ),
    PathFailure.NO_REVOCATION_INFO: (
        CheckName.REVOCATION,
        SubIndication.TRY_LATER,
        "The trust store has no usable CRL covering the signing time for this certificate; update the CRLs in "
        "the trust store and verify again.",
    ),
    PathFailure.NO_REVOCATION_INFO_CA: (
        CheckName.REVOCATION,
        SubIndication.CERTIFICATE_CHAIN_GENERAL_FAILURE,
        "The signer's certificate is not revoked, but the trust store has no usable CRL for an issuing CA's "
        "certificate (usually the root's CRL is missing); add that CRL to the trust store and verify again.",
    ),
    PathFailure.UNREADABLE_CRL: (
        CheckName.REVOCATION,
        SubIndication.TRY_LATER,
        "Revocation could not be checked because a CRL file in the trust store could not be loaded: {files}; "
        "replace that file and verify again.",
    ),
    PathFailure.WEAK_ALGORITHM: (
        CheckName.ALGORITHM_POLICY,
        SubIndication.CRYPTO_CONSTRAINTS_FAILURE,
        "A certificate in the chain is signed with an algorithm no longer accepted (e.g. SHA-1).",
    ),
}
_PATH_FAILURES[PathFailure.USAGE] = _PATH_FAILURES[PathFailure.CONSTRAINTS]


def _path_failure(outcome: PathOutcome, source: TimeSource, moment: datetime) -> Finding:
    assert outcome.failure is not None
    check, subindication, template = _PATH_FAILURES[outcome.failure]
    if outcome.failure is PathFailure.EXPIRED and source is TimeSource.TIMESTAMP:
        # A timestamp proves the signature was made after expiry, not merely claims it.
        subindication = SubIndication.EXPIRED
    when = outcome.when.date().isoformat() if outcome.when else "an unknown date"
    reason = template.format(when=when, signed=moment.date().isoformat(), files=", ".join(outcome.files))
    if outcome.failure is PathFailure.NO_CHAIN and outcome.files:
        reason += (
            f" The trust store also holds files that could not be loaded ({'; '.join(outcome.files)}); "
            "the missing CA certificate may be one of them."
        )
    return failed(check, subindication, reason, outcome.message)


@lru_cache(maxsize=20000)
def _key_usage_problem_of(der: bytes) -> str | None:
    """Per certificate, once: reading extensions (with cryptography's warnings silenced) costs ~5% of a verification."""
    return key_usage_problem(cert_info(der).cert)


def _key_usage_finding(signer: CertInfo) -> Finding:
    problem = _key_usage_problem_of(signer.der)
    if problem is None:
        return passed(CheckName.KEY_USAGE)
    return failed(
        CheckName.KEY_USAGE,
        SubIndication.SIG_CONSTRAINTS_FAILURE,
        "The signer's certificate is not allowed to sign documents (key usage); it may be an "
        "encryption-only certificate.",
        problem,
    )


def _algorithm_finding(integrity: SignerCheck, signer: CertInfo, policy: Policy) -> Finding:
    pss_hash = integrity.pss[0] if integrity.pss else None
    problem = (
        weak_digest_problem(integrity.digest_algorithm, policy)
        or weak_digest_problem(pss_hash, policy)
        or eddsa_digest_problem(integrity.signature_algorithm, integrity.digest_algorithm)
        or key_size_problem(signer.public_key, policy)
    )
    if problem is not None:
        return failed(
            CheckName.ALGORITHM_POLICY,
            SubIndication.CRYPTO_CONSTRAINTS_FAILURE,
            f"The signature is not accepted because {problem}; ask the signer to re-sign with current algorithms.",
            problem,
        )
    return passed(CheckName.ALGORITHM_POLICY)


def _passed_reason(signer: CertInfo | None, moment: datetime | None, source: TimeSource) -> str:
    who = (signer.common_name or signer.subject) if signer else "an unknown signer"
    if moment is None:
        return f"Valid signature by {who}; it states no signing time, so it was checked as of now."
    how = "time-stamped" if source is TimeSource.TIMESTAMP else "signed"
    return f"Valid signature by {who}, {how} on {moment.date().isoformat()}."


def _verdict(
    index: int,
    findings: Sequence[Finding],
    decision: tuple[object, object, str],
    integrity: SignerCheck,
    moment: datetime | None,
    source: TimeSource,
    settings: Settings,
) -> Verdict:
    indication, subindication, reason = decision
    signer = integrity.signer
    identity: dict[str, object] = {}
    if signer is not None:
        identity = dict(
            signer_subject=signer.subject,
            signer_serial=signer.serial_hex,
            signer_issuer=signer.issuer,
            signer_cert_sha256=signer.sha256,
            signer_not_before=signer.cert.not_valid_before_utc,
            signer_not_after=signer.cert.not_valid_after_utc,
            signer_common_name=signer.common_name,
            signer_organisation=signer.organisation,
            signer_org_unit=signer.org_unit,
            signer_locality=signer.locality,
            signer_uid=signer.uid,
            key_bits=signer.key_bits,
            kind=classify_signer(signer, settings.kinds),
        )
    return Verdict(
        index=index,
        indication=indication,  # type: ignore[arg-type]
        subindication=subindication,  # type: ignore[arg-type]
        reason=reason,
        checks=tuple(finding.check for finding in findings),
        signing_time=moment,
        signing_time_source=source,
        digest_algorithm=integrity.digest_algorithm,
        signature_algorithm=integrity.signature_algorithm,
        **identity,  # type: ignore[arg-type]
    )
