"""From the checks made to one ETSI indication: the single place verdicts are decided.

Each check yields a ``Finding``; a failed finding names the indication it would
cause. A TOTAL_FAILED finding outranks an INDETERMINATE one (a broken hash is
more decisive than a missing CRL); within a rank the first check made wins.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from signatures.verdict import Check, CheckName, CheckOutcome, Indication, SubIndication

__all__ = ["Finding", "passed", "skipped", "failed", "decide"]


@dataclass(frozen=True)
class Finding:
    check: Check
    indication: Indication | None = None
    subindication: SubIndication | None = None
    reason: str = ""
    """One sentence for the clerk, used when this finding decides the verdict."""

    @property
    def is_failure(self) -> bool:
        return self.indication is not None


# Findings are frozen, and a verification makes about ten passed ones with the same few details:
# sharing them saves building two objects each (~5% of a verification).
@lru_cache(maxsize=1024)
def passed(name: CheckName, detail: str = "") -> Finding:
    return Finding(Check(name, CheckOutcome.PASSED, detail))


@lru_cache(maxsize=1024)
def skipped(name: CheckName, detail: str) -> Finding:
    return Finding(Check(name, CheckOutcome.SKIPPED, detail))


def failed(name: CheckName, subindication: SubIndication, reason: str, detail: str = "") -> Finding:
    return Finding(
        Check(name, CheckOutcome.FAILED, detail or reason),
        _INDICATION_OF[subindication],
        subindication,
        reason,
    )


_TOTAL_FAILED = {
    SubIndication.FORMAT_FAILURE,
    SubIndication.HASH_FAILURE,
    SubIndication.SIG_CRYPTO_FAILURE,
    SubIndication.REVOKED,
    SubIndication.NOT_YET_VALID,
}
_INDICATION_OF = {
    sub: Indication.TOTAL_FAILED if sub in _TOTAL_FAILED else Indication.INDETERMINATE for sub in SubIndication
}


def decide(findings: list[Finding], passed_reason: str) -> tuple[Indication, SubIndication | None, str]:
    failures = [finding for finding in findings if finding.is_failure]
    for rank in (Indication.TOTAL_FAILED, Indication.INDETERMINATE):
        for finding in failures:
            if finding.indication is rank:
                return rank, finding.subindication, finding.reason
    return Indication.TOTAL_PASSED, None, passed_reason
