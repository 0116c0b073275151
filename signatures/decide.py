"""From the checks made to one ETSI indication: the single place verdicts are decided.

Each check yields a ``Finding``; a failed finding names the sub-indication it would
cause. Every finding stays in the verdict's ``checks``; the headline is the failed
finding whose sub-indication comes first in ``PRECEDENCE`` (within one sub-indication,
the first check made). ETSI EN 319 102-1 lets a validator report any of the
corresponding sub-indications; docflow fixes one order so the same file always reads
the same way, and so a known failure (a revocation, a broken hash) is never hidden
behind one that may go away on its own (a missing CRL). docs/signatures.md
"Which reason is the headline" says the same to a reader.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from signatures.verdict import Check, CheckName, CheckOutcome, Indication, SubIndication, Verdict

__all__ = ["Finding", "PRECEDENCE", "passed", "skipped", "failed", "decide", "format_failure"]


@dataclass(frozen=True)
class Finding:
    check: Check
    subindication: SubIndication | None = None
    reason: str = ""
    """One sentence for the clerk, used when this finding decides the verdict."""

    @property
    def indication(self) -> Indication | None:
        return self.subindication.indication if self.subindication is not None else None

    @property
    def is_failure(self) -> bool:
        return self.subindication is not None


# Findings are frozen, and a verification makes about ten passed ones with the same few details:
# sharing them saves building two objects each (~5% of a verification).
@lru_cache(maxsize=1024)
def passed(name: CheckName, detail: str = "") -> Finding:
    return Finding(Check(name, CheckOutcome.PASSED, detail))


@lru_cache(maxsize=1024)
def skipped(name: CheckName, detail: str) -> Finding:
    return Finding(Check(name, CheckOutcome.SKIPPED, detail))


def failed(name: CheckName, subindication: SubIndication, reason: str, detail: str = "") -> Finding:
    return Finding(Check(name, CheckOutcome.FAILED, detail or reason), subindication, reason)


PRECEDENCE: tuple[SubIndication, ...] = (
    # TOTAL_FAILED: proven failures, the signature is false whatever else is found.
    SubIndication.FORMAT_FAILURE,
    SubIndication.HASH_FAILURE,
    SubIndication.SIG_CRYPTO_FAILURE,
    SubIndication.REVOKED,
    SubIndication.EXPIRED,
    SubIndication.NOT_YET_VALID,
    # INDETERMINATE, known revocations first: they can never turn into a pass.
    SubIndication.REVOKED_NO_POE,
    SubIndication.REVOKED_CA_NO_POE,
    # Then what no change on the verifier's side can cure: the sender must re-sign or the CA must act.
    SubIndication.CRYPTO_CONSTRAINTS_FAILURE,
    SubIndication.CRYPTO_CONSTRAINTS_FAILURE_NO_POE,
    SubIndication.SIG_CONSTRAINTS_FAILURE,
    SubIndication.OUT_OF_BOUNDS_NO_POE,
    SubIndication.OUT_OF_BOUNDS_NOT_REVOKED,
    SubIndication.CHAIN_CONSTRAINTS_FAILURE,
    SubIndication.CERTIFICATE_CHAIN_GENERAL_FAILURE,
    # Last, what the verifier's own inputs may resolve (the document, a CA certificate, fresher CRLs),
    # the signing certificate before its chain, as DSS checks them.
    SubIndication.SIGNED_DATA_NOT_FOUND,
    SubIndication.NO_SIGNING_CERTIFICATE_FOUND,
    SubIndication.NO_CERTIFICATE_CHAIN_FOUND,
    SubIndication.TRY_LATER,
)
"""Which failed check is the headline when several fail: earlier wins."""

_RANK = {subindication: rank for rank, subindication in enumerate(PRECEDENCE)}


def decide(findings: list[Finding], passed_reason: str) -> tuple[Indication, SubIndication | None, str]:
    failures = [finding for finding in findings if finding.is_failure]
    if not failures:
        return Indication.TOTAL_PASSED, None, passed_reason
    # min() keeps the first of equal rank: the first check made.
    headline = min(failures, key=lambda finding: _RANK[finding.subindication])  # type: ignore[index]
    others = [finding.check.name.value.replace("_", " ") for finding in failures if finding is not headline]
    reason = headline.reason
    if others:
        reason += f" Other checks also failed: {', '.join(dict.fromkeys(others))}."
    return headline.indication, headline.subindication, reason  # type: ignore[return-value]


def format_failure(index: int, reason: str, detail: str = "", check: CheckName = CheckName.STRUCTURE) -> Verdict:
    """A verdict for input that is not a readable signature at all; ``check`` is the step that refused it."""
    finding = failed(check, SubIndication.FORMAT_FAILURE, reason, detail)
    indication, subindication, reason = decide([finding], passed_reason="")
    return Verdict(index, indication, subindication, reason, checks=(finding.check,))
