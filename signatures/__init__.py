"""The signature verification engine: CMS, PDF signatures, certificates, CRLs.

It knows nothing of units or batches: give it bytes and a trust store, get verdicts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from signatures.policy import DEFAULT_POLICY, Policy, RevocationMode
from signatures.trust import TrustStore
from signatures.verdict import Indication, SignerKind, SubIndication, TimeSource, Verdict

if TYPE_CHECKING:
    from signatures.api import verify_cms, verify_file, verify_pdf

__all__ = [
    "verify_cms",
    "verify_pdf",
    "verify_file",
    "TrustStore",
    "Policy",
    "RevocationMode",
    "DEFAULT_POLICY",
    "Verdict",
    "Indication",
    "SubIndication",
    "SignerKind",
    "TimeSource",
]

_VERIFIERS = frozenset({"verify_cms", "verify_pdf", "verify_file"})


def __getattr__(name: str) -> object:
    # The verifiers bring the PDF reader and the path validator (about 0.1 s of imports). Code that only
    # reads verdicts (every report command, through the store) imports this package without them.
    if name in _VERIFIERS:
        from signatures import api

        return getattr(api, name)
    raise AttributeError(f"module 'signatures' has no attribute {name!r}")
