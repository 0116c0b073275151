"""RFC 3161 signature timestamps: a TSA's CMS signature over a TSTInfo.

A timestamp is accepted only when its own signature verifies, its messageImprint
is the hash of the signer's signature value, and the TSA certificate chains to the
trust store with the timeStamping extended key usage at genTime. Only then does
genTime become the signing time. A timestamp that fails is set aside (reported,
not used) rather than condemning the signature: without it the signature is judged
at its claimed time, exactly as if it had never been stamped.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime

from asn1crypto import cms, tsp  # noqa: F401 - importing tsp registers the TSTInfo content type

from signatures.cms import ContentDigests, check_signer, embedded_certificates, encapsulated_content
from signatures.cmsparts import SignerParts, as_set, read_signer_parts
from signatures.decide import Finding, passed
from signatures.path import Purpose, validate_path
from signatures.policy import Policy, weak_digest_problem
from signatures.trust import TrustStore
from signatures.verdict import Check, CheckName, CheckOutcome, TimeSource

__all__ = ["TimestampResult", "check_timestamp"]

_LOCAL_TIME_OFFSET = 7 * 3600
_LOCAL_TIME_WINDOW = 3600
_CLOCK_TOLERANCE = 300
"""Seconds a claimed signing time may lead the verifier's clock before it is called wrong."""


@dataclass(frozen=True)
class TimestampResult:
    finding: Finding
    gen_time: datetime | None
    """Set only when the timestamp is valid."""


def check_timestamp(
    signer_info: SignerParts,
    signature_value: bytes,
    *,
    trust: TrustStore,
    policy: Policy,
    claimed_time: datetime | None,
) -> TimestampResult | None:
    """None when the signature carries no timestamp.

    A token that cannot be read (e.g. wrapped in an extra OCTET STRING, as some German tools do) is
    set aside like any other failing timestamp: the signature is judged without it, as DSS and
    pyHanko do, and the check's detail says what was wrong.
    """
    try:
        token = _token_of(signer_info)
        if token is None:
            return None
        gen_time, problem = _verify_token(token, signature_value, trust, policy)
    except (ValueError, TypeError, KeyError, AttributeError, IndexError) as error:
        gen_time, problem = (
            None,
            f"the timestamp token is malformed and cannot be read ({type(error).__name__}: {error})",
        )
    if problem is not None:
        return TimestampResult(_set_aside(problem), None)
    assert gen_time is not None
    detail = f"time-stamped at {gen_time.isoformat()}" + _local_time_note(claimed_time, gen_time)
    return TimestampResult(passed(CheckName.TIMESTAMP, detail), gen_time)


def _token_of(signer_info: SignerParts) -> cms.ContentInfo | None:
    if signer_info.unsigned_attrs is None:
        return None
    for attribute in cms.CMSAttributes.load(as_set(signer_info.unsigned_attrs), strict=False):
        if attribute["type"].native == "signature_time_stamp_token" and len(attribute["values"]):
            return attribute["values"][0]  # parsed lazily: a malformed token fails inside the caller's guard
    return None


def _verify_token(
    token: cms.ContentInfo, signature_value: bytes, trust: TrustStore, policy: Policy
) -> tuple[datetime | None, str | None]:
    if token["content_type"].native != "signed_data":
        return None, "the timestamp token is not signed data"
    signed_data = token["content"]
    content_type, tst_der = encapsulated_content(signed_data)
    if content_type != "tst_info" or tst_der is None:
        return None, "the timestamp token does not carry a TSTInfo"
    tst_info = signed_data["encap_content_info"]["content"].parsed
    imprint = tst_info["message_imprint"]
    imprint_algorithm = imprint["hash_algorithm"]["algorithm"].native
    expected = hashlib.new(imprint_algorithm.replace("_", "-"), signature_value).digest()
    if imprint["hashed_message"].native != expected:
        return None, "the timestamp was made for a different signature (message imprint mismatch)"
    certificates = embedded_certificates(signed_data)
    tsa = check_signer(
        read_signer_parts(signed_data["signer_infos"][0].dump()),
        content_type=content_type,
        digests=ContentDigests(tst_der),
        embedded=certificates,
        store=trust.intermediate_der,
    )
    if not tsa.intact or tsa.signer is None:
        failure = next(f for f in tsa.findings if f.is_failure)
        return None, f"the timestamp's own signature does not verify: {failure.check.detail}"
    weak = weak_digest_problem(tsa.digest_algorithm, policy) or weak_digest_problem(imprint_algorithm, policy)
    if weak:
        return None, f"the timestamp is not accepted: {weak}"
    gen_time = tst_info["gen_time"].native.astimezone(UTC)
    outcome = validate_path(tsa.signer, certificates, trust, gen_time, policy, Purpose.TIMESTAMPING)
    if outcome.failure is not None:
        return None, f"the time-stamping authority is not trusted: {outcome.message}"
    return gen_time, None


def _set_aside(problem: str) -> Finding:
    return Finding(Check(CheckName.TIMESTAMP, CheckOutcome.FAILED, f"{problem}; the timestamp was not used"))


def claimed_after_now_note(claimed: datetime, source: TimeSource, now: datetime) -> str:
    """A note when an unstamped signing time lies after the verification moment: the claim cannot be true.

    Such a signature is judged at the verification moment instead; the claimed time is still reported as
    written, and the note lets an auditor see that the signer's clock (or tool) is wrong.
    """
    ahead = (claimed - now).total_seconds()
    if source is not TimeSource.SIGNED_ATTRIBUTE or ahead <= _CLOCK_TOLERANCE:
        return ""
    note = (
        f"the claimed signing time is {ahead / 3600:.1f} h after the verification time, so it was judged at the latter"
    )
    # Without a timestamp the true signing moment is unknown: anything up to 7 h (+ window) ahead fits
    # a signature made in the last hours by a tool writing local time.
    if ahead <= _LOCAL_TIME_OFFSET + _LOCAL_TIME_WINDOW:
        return note + "; it may be Vietnam local time written as UTC (+7h)"
    return note + "; the signer's clock is wrong"


def _local_time_note(claimed: datetime | None, gen_time: datetime) -> str:
    if claimed is None:
        return ""
    offset = (claimed - gen_time).total_seconds()
    if abs(offset - _LOCAL_TIME_OFFSET) <= _LOCAL_TIME_WINDOW:
        return "; the claimed signing time looks like Vietnam local time written as UTC (+7h)"
    return ""
