"""What a verdict becomes in the store: its ``signatures`` row, its ``certificates`` upsert, its fact.

Pure functions of the verdict and of what ingestion decided about it (the file, the document,
whether the signer belongs to the sender), kept apart from ``docflow.store.signatures`` as ``docflow.store.merging``
is, so that storing one file's signatures (``Store.add_signatures``) and a new document's in
bulk (``Store.new_document_signatures``) make the same rows.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass, fields

from docflow.checks_json import checks_json
from docflow.store.classify import SignatureFact, SignatureFacts
from docflow.store.merging import iso
from docflow.store.ownership import SignerIdentity
from signatures.modification import changes_permitted
from signatures.verdict import SignerKind, Verdict

__all__ = [
    "CERTIFICATE_UPSERT",
    "CERTIFICATE_REUSE",
    "CertificateRow",
    "Judgement",
    "SIGNATURE_REJUDGE",
    "STORED_SIGNATURE_SELECT",
    "StoredSignature",
    "SignatureWindow",
    "window_query",
    "window_count_query",
    "FACT_COLUMNS",
    "SIGNATURE_INSERT",
    "SignatureRow",
    "NewSignatures",
    "certificate_row",
    "fact_values",
    "int_or_none",
    "rejudge_values",
    "signature_fact",
    "signature_row",
    "signer_identity",
]


@dataclass(frozen=True)
class Judgement:
    """Under what verdicts were made: whether against any trust anchor, which trust store state, and when."""

    trust_checked: bool
    trust_fingerprint: str | None
    judged_at: str
    """ISO 8601, UTC."""


@dataclass(frozen=True)
class StoredSignature:
    """A stored signature's identity and the verdict it holds, as re-verification takes it."""

    id: int
    payload_sha256: str
    idx: int
    document_id: str | None
    item_name: str
    indication: str
    subindication: str | None
    reason: str | None
    cert_sha256: str | None
    signer_issuer: str | None
    trust_checked: int | None
    trust_fingerprint: str | None


STORED_SIGNATURE_SELECT = ", ".join(f"s.{field.name}" for field in fields(StoredSignature))
"""The ``signatures s`` columns that make a ``StoredSignature``, in its order."""


@dataclass(frozen=True)
class SignatureWindow:
    """The stored signatures a re-verification reads next (``Store.stored_signature_window``).

    Commit units whole: with ``loose``, signed files of no document, by SHA-256; else documents, by id, of
    these ``months`` and this sender ``unit`` (None: any). Rows after ``last_id`` are left out.
    """

    last_id: int
    loose: bool
    months: tuple[str, ...] | None = None
    unit: str | None = None
    after: str | None = None
    """The key (SHA-256 or document id) the previous window ended with."""
    only: str | None = None
    """Just this key's rows, however many: a unit larger than a window."""
    limit: int = 5000


def window_query(window: SignatureWindow) -> tuple[str, list[object]]:
    """The statement that reads ``window``'s rows, each with its signed file's row count in the store."""
    where, params = _window_conditions(window)
    if window.loose:  # signed files of no document, a signed file (all its rows) after another
        where.append("s.document_id IS NULL")
        key, order = "s.payload_sha256", "s.payload_sha256, s.idx"
    else:
        where.append("s.document_id IS NOT NULL")
        key, order = "s.document_id", "s.document_id, s.payload_sha256, s.idx"
    if window.only is not None:
        where.append(f"{key} = ?")
        params.append(window.only)
    elif window.after is not None:
        where.append(f"{key} > ?")
        params.append(window.after)
    query = (
        f"SELECT {STORED_SIGNATURE_SELECT},"
        " (SELECT count(*) FROM signatures t WHERE t.payload_sha256 = s.payload_sha256)"
        f" FROM signatures s{_window_join(window)} WHERE {' AND '.join(where)} ORDER BY {order}"
    )
    return (query if window.only is not None else f"{query} LIMIT {int(window.limit)}"), params


def window_count_query(window: SignatureWindow) -> tuple[str, list[object]]:
    """The statement that counts every row a plan starting with ``window`` reads (both halves)."""
    where, params = _window_conditions(window)
    return f"SELECT count(*) FROM signatures s{_window_join(window)} WHERE {' AND '.join(where)}", params


def _window_conditions(window: SignatureWindow) -> tuple[list[str], list[object]]:
    where: list[str] = ["s.id <= ?"]
    params: list[object] = [window.last_id]
    if window.months is not None:
        where.append(f"d.period IN ({', '.join('?' for _ in window.months)})")
        params.extend(window.months)
    if window.unit is not None:
        where.append("d.sender = ?")
        params.append(window.unit)
    return where, params


def _window_join(window: SignatureWindow) -> str:
    return " JOIN documents d ON d.document_id = s.document_id" if window.months or window.unit else ""


@dataclass(frozen=True)
class SignatureRow:
    """One ``signatures`` row; the fields are its columns, in ``SIGNATURE_INSERT`` order."""

    payload_sha256: str
    idx: int
    document_id: str | None
    batch_id: int
    item_name: str
    indication: str
    subindication: str | None
    reason: str | None
    signer_subject: str | None
    signer_serial: str | None
    signer_issuer: str | None
    cert_sha256: str | None
    signing_time: str | None
    signing_time_source: str
    digest_algorithm: str | None
    signature_algorithm: str | None
    key_bits: int | None
    kind: str
    covers_whole_file: int | None
    belongs_to_sender: int | None
    checks_json: str
    modification: str | None
    modification_permitted: int | None
    trust_checked: int
    """1: judged against a trust store with at least one anchor; 0: not (stored without a trust store)."""
    judged_at: str
    trust_fingerprint: str | None
    """``TrustStore.fingerprint`` of the store the verdict was made under (``trust_states``)."""

    def values(self) -> tuple[object, ...]:
        """The row for ``executemany(SIGNATURE_INSERT, ...)``."""
        values: tuple[object, ...] = _signature_values(self)
        return values


@dataclass(frozen=True)
class CertificateRow:
    """One ``CERTIFICATE_UPSERT`` row: a certificate, and one use of it."""

    sha256: str | None
    subject: str | None
    issuer: str | None
    serial: str | None
    common_name: str | None
    organisation: str | None
    not_before: str | None
    not_after: str | None
    kind: str
    unit: str | None
    """The sender the certificate was found to belong to, if it was."""
    first_used: str | None
    last_used: str | None

    def values(self) -> tuple[object, ...]:
        """The row for ``executemany(CERTIFICATE_UPSERT, ...)``."""
        values: tuple[object, ...] = _certificate_values(self)
        return values


@dataclass(frozen=True)
class NewSignatures:
    """The signatures of a new document's signed files, made into rows for ``Store.merge_new_documents``.

    Made when ingestion takes the document's record (``Store.new_document_signatures``), because
    whether an organisation's signature belongs to the sender depends on the units known at
    that moment, as it does when the record is merged on its own.
    """

    rows: tuple[SignatureRow, ...]
    certificates: tuple[CertificateRow, ...]
    """One per signature with a certificate."""
    facts: SignatureFacts


_SIGNATURE_COLUMNS = tuple(field.name for field in fields(SignatureRow))
_signature_values = operator.attrgetter(*_SIGNATURE_COLUMNS)  # astuple would deep-copy every value
SIGNATURE_INSERT = (
    f"INSERT INTO signatures ({', '.join(_SIGNATURE_COLUMNS)}) VALUES ({', '.join('?' * len(_SIGNATURE_COLUMNS))})"
    " ON CONFLICT (payload_sha256, idx) DO NOTHING"
)

_KEY_COLUMNS = ("payload_sha256", "idx", "document_id", "batch_id", "item_name")
_VERDICT_COLUMNS = tuple(name for name in _SIGNATURE_COLUMNS if name not in _KEY_COLUMNS)
_verdict_values = operator.attrgetter(*_VERDICT_COLUMNS)
SIGNATURE_REJUDGE = f"UPDATE signatures SET {', '.join(f'{name} = ?' for name in _VERDICT_COLUMNS)} WHERE id = ?"
"""A stored signature judged again: every column of the verdict, none of where it came from."""


def rejudge_values(row: SignatureRow, signature_id: int) -> tuple[object, ...]:
    """The parameters of ``SIGNATURE_REJUDGE`` for the stored signature ``signature_id``."""
    return (*_verdict_values(row), signature_id)


_CERTIFICATE_COLUMNS = tuple(field.name for field in fields(CertificateRow))
_certificate_values = operator.attrgetter(*_CERTIFICATE_COLUMNS)
CERTIFICATE_UPSERT = (
    f"INSERT INTO certificates ({', '.join(_CERTIFICATE_COLUMNS)}, signature_count)"
    f" VALUES ({', '.join('?' * len(_CERTIFICATE_COLUMNS))}, 1)"
    " ON CONFLICT (sha256) DO UPDATE SET signature_count = certificates.signature_count + 1,"
    " unit = coalesce(certificates.unit, excluded.unit),"
    " first_used = CASE WHEN certificates.first_used IS NULL OR excluded.first_used < certificates.first_used"
    "   THEN coalesce(excluded.first_used, certificates.first_used) ELSE certificates.first_used END,"
    " last_used = CASE WHEN certificates.last_used IS NULL OR excluded.last_used > certificates.last_used"
    "   THEN coalesce(excluded.last_used, certificates.last_used) ELSE certificates.last_used END"
)

CERTIFICATE_REUSE = CERTIFICATE_UPSERT.replace("signature_count = certificates.signature_count + 1,", "")
"""``CERTIFICATE_UPSERT`` for a signature counted already (judged again): a certificate new to the store counts
it once, a known one is not counted twice."""

FACT_COLUMNS = (
    "signature_count",
    "has_valid_signature",
    "has_valid_personal",
    "has_valid_organisation",
    "invalid_reasons",
)
"""The documents columns ``SignatureFacts`` fill, in ``fact_values`` order (the tail of ``STATE_COLUMNS``)."""


def signature_row(
    verdict: Verdict,
    payload_sha256: str,
    item_name: str,
    batch_id: int,
    document_id: str | None,
    belongs: bool | None,
    judgement: Judgement,
) -> SignatureRow:
    return SignatureRow(
        payload_sha256=payload_sha256,
        idx=verdict.index,
        document_id=document_id,
        batch_id=batch_id,
        item_name=item_name,
        indication=verdict.indication.value,
        subindication=verdict.subindication.value if verdict.subindication else None,
        reason=verdict.reason,
        signer_subject=verdict.signer_subject,
        signer_serial=verdict.signer_serial,
        signer_issuer=verdict.signer_issuer,
        cert_sha256=verdict.signer_cert_sha256,
        signing_time=iso(verdict.signing_time),
        signing_time_source=verdict.signing_time_source.value,
        digest_algorithm=verdict.digest_algorithm,
        signature_algorithm=verdict.signature_algorithm,
        key_bits=verdict.key_bits,
        kind=verdict.kind.value,
        covers_whole_file=int_or_none(verdict.covers_whole_file),
        belongs_to_sender=int_or_none(belongs),
        checks_json=checks_json(verdict.checks),
        modification=verdict.modification.value if verdict.modification else None,
        modification_permitted=int_or_none(changes_permitted(verdict)),
        trust_checked=int(judgement.trust_checked),
        judged_at=judgement.judged_at,
        trust_fingerprint=judgement.trust_fingerprint,
    )


def certificate_row(verdict: Verdict, unit: str | None) -> CertificateRow:
    """``unit``: the sender the certificate was found to belong to, if it was."""
    used = iso(verdict.signing_time)
    return CertificateRow(
        sha256=verdict.signer_cert_sha256,
        subject=verdict.signer_subject,
        issuer=verdict.signer_issuer,
        serial=verdict.signer_serial,
        common_name=verdict.signer_common_name,
        organisation=verdict.signer_organisation,
        not_before=iso(verdict.signer_not_before),
        not_after=iso(verdict.signer_not_after),
        kind=verdict.kind.value,
        unit=unit,
        first_used=used,
        last_used=used,
    )


def signature_fact(verdict: Verdict, payload_sha256: str, belongs: bool | None) -> SignatureFact:
    """What the signature adds to its document's flags, as ``signature_row`` stores it."""
    return SignatureFact(
        payload_sha256,
        verdict.index,
        verdict.indication.value,
        verdict.subindication.value if verdict.subindication else None,
        verdict.kind.value,
        verdict.covers_whole_file,
        belongs,
        changes_permitted(verdict),
    )


def fact_values(facts: SignatureFacts) -> tuple[object, ...]:
    return (
        facts.signature_count,
        int(facts.has_valid_signature),
        int(facts.has_valid_personal),
        int(facts.has_valid_organisation),
        facts.invalid_reasons,
    )


def signer_identity(verdict: Verdict) -> SignerIdentity:
    return SignerIdentity(
        cert_sha256=verdict.signer_cert_sha256,
        serial=verdict.signer_serial,
        common_name=verdict.signer_common_name,
        organisation=verdict.signer_organisation,
        org_unit=verdict.signer_org_unit,
        is_organisation=verdict.kind is SignerKind.ORGANISATION,
    )


def int_or_none(value: bool | None) -> int | None:
    return None if value is None else int(value)
