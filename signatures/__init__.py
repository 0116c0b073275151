"""The signature verification engine: CMS, PDF signatures, certificates, CRLs.

It knows nothing of units or batches: give it bytes and a trust store, get verdicts.
"""

from signatures.api import verify_cms, verify_file, verify_pdf
from signatures.policy import DEFAULT_POLICY, Policy, RevocationMode
from signatures.trust import TrustStore
from signatures.verdict import Indication, SignerKind, SubIndication, TimeSource, Verdict

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
