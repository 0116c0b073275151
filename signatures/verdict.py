"""The result of verifying one signature: a flat, frozen record an auditor can defend.

Indications follow ETSI EN 319 102-1 (§5.1.3): a main indication and, when it is
not TOTAL_PASSED, a sub-indication saying why. Each individual check is kept in
``checks`` so that a failed verdict shows which step failed and which passed.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

__all__ = [
    "Indication",
    "SubIndication",
    "TimeSource",
    "SignerKind",
    "CheckName",
    "CheckOutcome",
    "Check",
    "Modification",
    "Verdict",
]


class Indication(str, enum.Enum):
    TOTAL_PASSED = "TOTAL_PASSED"
    TOTAL_FAILED = "TOTAL_FAILED"
    INDETERMINATE = "INDETERMINATE"


class SubIndication(str, enum.Enum):
    # TOTAL_FAILED
    FORMAT_FAILURE = "FORMAT_FAILURE"
    HASH_FAILURE = "HASH_FAILURE"
    SIG_CRYPTO_FAILURE = "SIG_CRYPTO_FAILURE"
    REVOKED = "REVOKED"
    NOT_YET_VALID = "NOT_YET_VALID"
    # INDETERMINATE
    SIG_CONSTRAINTS_FAILURE = "SIG_CONSTRAINTS_FAILURE"
    CHAIN_CONSTRAINTS_FAILURE = "CHAIN_CONSTRAINTS_FAILURE"
    CERTIFICATE_CHAIN_GENERAL_FAILURE = "CERTIFICATE_CHAIN_GENERAL_FAILURE"
    CRYPTO_CONSTRAINTS_FAILURE = "CRYPTO_CONSTRAINTS_FAILURE"
    CRYPTO_CONSTRAINTS_FAILURE_NO_POE = "CRYPTO_CONSTRAINTS_FAILURE_NO_POE"
    EXPIRED = "EXPIRED"
    NO_SIGNING_CERTIFICATE_FOUND = "NO_SIGNING_CERTIFICATE_FOUND"
    NO_CERTIFICATE_CHAIN_FOUND = "NO_CERTIFICATE_CHAIN_FOUND"
    REVOKED_NO_POE = "REVOKED_NO_POE"
    REVOKED_CA_NO_POE = "REVOKED_CA_NO_POE"
    OUT_OF_BOUNDS_NO_POE = "OUT_OF_BOUNDS_NO_POE"
    OUT_OF_BOUNDS_NOT_REVOKED = "OUT_OF_BOUNDS_NOT_REVOKED"
    TRY_LATER = "TRY_LATER"
    SIGNED_DATA_NOT_FOUND = "SIGNED_DATA_NOT_FOUND"

    @property
    def indication(self) -> Indication:
        """The main indication this sub-indication belongs to (ETSI EN 319 102-1 §5.1.3, see tests)."""
        return Indication.TOTAL_FAILED if self in _TOTAL_FAILED else Indication.INDETERMINATE


# Proven failures: the signature is false whatever else is found. EXPIRED is one (ETSI EN 319 102-1 Table 5, as
# DSS has it): docflow says EXPIRED only when a timestamp proves the signature was made after the certificate expired.
_TOTAL_FAILED = frozenset(
    {
        SubIndication.FORMAT_FAILURE,
        SubIndication.HASH_FAILURE,
        SubIndication.SIG_CRYPTO_FAILURE,
        SubIndication.REVOKED,
        SubIndication.EXPIRED,
        SubIndication.NOT_YET_VALID,
    }
)


class TimeSource(str, enum.Enum):
    """Where the signing time came from."""

    TIMESTAMP = "timestamp"
    SIGNED_ATTRIBUTE = "signed_attribute"
    NONE = "none"


class SignerKind(str, enum.Enum):
    """Whether the signer certificate belongs to a person or an organisation (NĐ 30/2020)."""

    PERSON = "person"
    ORGANISATION = "organisation"
    UNKNOWN = "unknown"


class CheckName(str, enum.Enum):
    STRUCTURE = "structure"
    SIGNER_CERTIFICATE = "signer_certificate"
    CONTENT_TYPE = "content_type"
    MESSAGE_DIGEST = "message_digest"
    SIGNATURE_VALUE = "signature_value"
    TIMESTAMP = "timestamp"
    CERTIFICATE_PATH = "certificate_path"
    VALIDITY = "validity"
    KEY_USAGE = "key_usage"
    REVOCATION = "revocation"
    ALGORITHM_POLICY = "algorithm_policy"
    BYTE_RANGE = "byte_range"
    MODIFICATION = "modification"


class CheckOutcome(str, enum.Enum):
    PASSED = "passed"
    FAILED = "failed"
    SKIPPED = "skipped"


class Modification(str, enum.Enum):
    """PDFs: the most a document changed after a signature's revision, least to most (see docs/signatures.md)."""

    NONE = "none"
    LTV = "ltv"
    """Validation data (DSS/VRI dictionaries) and document timestamps added."""
    FORM_FILLING = "form_filling"
    """Form fields filled in or signature fields added and signed."""
    ANNOTATIONS = "annotations"
    """Comments and other annotations added, changed or removed."""
    OTHER = "other"
    """Pages added or removed, page content or resources changed, signed objects replaced."""


@dataclass(frozen=True)
class Check:
    """One step of verification and what it found."""

    name: CheckName
    outcome: CheckOutcome
    detail: str = ""
    """Plain-words explanation, empty when the check passed unremarkably."""

    def to_json(self) -> dict[str, object]:
        """The JSON object of this check in ``Verdict.to_json``'s ``checks``."""
        return {"name": self.name.value, "outcome": self.outcome.value, "detail": self.detail}

    def __reduce__(self) -> tuple[object, tuple[str, str, str]]:
        # Verdicts cross from verification workers to the writer by pickle. Unpickled through
        # ``_interned_check``, a signer's checks arrive as the same objects each time, as they are in the
        # process that made them: half the unpickling time (about 32 -> 18 us a verdict), and the writer's
        # encoding of them (docflow.checks_json, keyed by identity) is done once per signer, not per signature.
        return (_interned_check, (self.name.value, self.outcome.value, self.detail))


@lru_cache(maxsize=4096)
def _interned_check(name: str, outcome: str, detail: str) -> Check:
    return Check(CheckName(name), CheckOutcome(outcome), detail)


@dataclass(frozen=True)
class Verdict:
    """Everything docflow knows about one signature after verifying it."""

    index: int
    """Position of the signature in its container (0 = first signer / first PDF signature)."""
    indication: Indication
    subindication: SubIndication | None
    """Why the signature did not pass; None exactly when ``indication`` is TOTAL_PASSED."""
    reason: str
    """One sentence in plain words a clerk or supervisor can act on."""
    checks: tuple[Check, ...] = ()
    """Every check made, in the order made."""

    signer_subject: str | None = None
    """RFC 4514 subject of the signer certificate (None when it could not be found)."""
    signer_serial: str | None = None
    """Serial number of the signer certificate, lowercase hex."""
    signer_issuer: str | None = None
    """RFC 4514 issuer of the signer certificate."""
    signer_cert_sha256: str | None = None
    """SHA-256 of the signer certificate's DER, lowercase hex."""
    signer_not_before: datetime | None = None
    signer_not_after: datetime | None = None
    signer_common_name: str | None = None
    signer_organisation: str | None = None
    """O of the signer certificate (for a person: their agency)."""
    signer_org_unit: str | None = None
    signer_locality: str | None = None
    signer_uid: str | None = None
    """UID / MST / CMND-CCCD style identifier in the subject, when present."""

    signing_time: datetime | None = None
    """Timezone-aware UTC signing time, or None."""
    signing_time_source: TimeSource = TimeSource.NONE
    digest_algorithm: str | None = None
    """e.g. ``sha256``."""
    signature_algorithm: str | None = None
    """e.g. ``rsassa_pkcs1v15``, ``rsassa_pss``, ``ecdsa``."""
    key_bits: int | None = None
    kind: SignerKind = SignerKind.UNKNOWN

    covers_whole_file: bool | None = None
    """PDFs only: the signature's byte range covers the file to its end."""
    signed_bytes: int | None = None
    """PDFs only: how many bytes of the file this signature's revision covers."""
    modification: Modification | None = None
    """PDFs only: what changed in the document after this signature; the ``modification`` check says
    whether that was permitted."""

    @property
    def passed(self) -> bool:
        return self.indication is Indication.TOTAL_PASSED

    def check(self, name: CheckName) -> Check | None:
        """The check of that name, if it was made."""
        return next((c for c in self.checks if c.name is name), None)

    def to_json(self) -> dict[str, object]:
        """The JSON object ``docflow verify --json`` prints (without ``file``)."""
        return {**self.json_fields(), "checks": [check.to_json() for check in self.checks]}

    def json_fields(self) -> dict[str, object]:
        """``to_json`` without its last member, ``checks`` (which a printer may render once for many verdicts:
        the same signer's checks are the same objects from one signature to the next)."""
        return {
            "index": self.index,
            "indication": self.indication.value,
            "subindication": self.subindication.value if self.subindication else None,
            "signer": self.signer_subject,
            "serial": self.signer_serial,
            "issuer": self.signer_issuer,
            "cert_sha256": self.signer_cert_sha256,
            "signing_time": self.signing_time.isoformat() if self.signing_time else None,
            "signing_time_source": self.signing_time_source.value,
            "digest_algorithm": self.digest_algorithm,
            "signature_algorithm": self.signature_algorithm,
            "key_bits": self.key_bits,
            "kind": self.kind.value,
            "covers_whole_file": self.covers_whole_file,
            "modification": self.modification.value if self.modification else None,
            "reason": self.reason,
        }
