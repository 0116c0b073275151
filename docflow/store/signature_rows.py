"""What a verdict becomes in the store: its ``signatures`` row, its ``certificates`` upsert, its fact.

Pure functions of the verdict and of what ingestion decided about it (the file, the document,
whether the signer belongs to the sender), kept apart from ``docflow.store.core`` as ``docflow.store.merging``
is, so that storing one file's signatures (``Store.add_signatures``) and a new document's in
bulk (``Store.new_document_signatures``) make the same rows.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from docflow.store.classify import SignatureFact, SignatureFacts
from docflow.store.merging import iso
from docflow.store.ownership import SignerIdentity
from signatures.modification import changes_permitted
from signatures.verdict import SignerKind, Verdict

__all__ = [
    "CERTIFICATE_UPSERT",
    "FACT_COLUMNS",
    "SIGNATURE_INSERT",
    "NewSignatures",
    "certificate_row",
    "fact_values",
    "int_or_none",
    "signature_fact",
    "signature_row",
    "signer_identity",
]


@dataclass(frozen=True)
class NewSignatures:
    """The signatures of a new document's signed files, made into rows for ``Store.merge_new_documents``.

    Made when ingestion takes the document's record (``Store.new_document_signatures``), because
    whether an organisation's signature belongs to the sender depends on the units known at
    that moment, as it does when the record is merged on its own.
    """

    rows: tuple[tuple[object, ...], ...]
    """``signatures`` rows, in ``SIGNATURE_INSERT`` order."""
    certificates: tuple[tuple[object, ...], ...]
    """``CERTIFICATE_UPSERT`` rows, one per signature with a certificate."""
    facts: SignatureFacts


_SIGNATURE_COLUMNS = (
    "payload_sha256", "idx", "document_id", "batch_id", "item_name", "indication", "subindication", "reason",
    "signer_subject", "signer_serial", "signer_issuer", "cert_sha256", "signing_time", "signing_time_source",
    "digest_algorithm", "signature_algorithm", "key_bits", "kind", "covers_whole_file", "belongs_to_sender",
    "checks_json", "modification", "modification_permitted",
)
SIGNATURE_INSERT = (
    f"INSERT INTO signatures ({', '.join(_SIGNATURE_COLUMNS)}) VALUES ({', '.join('?' * len(_SIGNATURE_COLUMNS))})"
    " ON CONFLICT (payload_sha256, idx) DO NOTHING"
)

CERTIFICATE_UPSERT = (
    "INSERT INTO certificates (sha256, subject, issuer, serial, common_name, organisation, not_before,"
    " not_after, kind, unit, first_used, last_used, signature_count) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)"
    " ON CONFLICT (sha256) DO UPDATE SET signature_count = signature_count + 1,"
    " unit = coalesce(unit, excluded.unit),"
    " first_used = CASE WHEN first_used IS NULL OR excluded.first_used < first_used"
    "   THEN coalesce(excluded.first_used, first_used) ELSE first_used END,"
    " last_used = CASE WHEN last_used IS NULL OR excluded.last_used > last_used"
    "   THEN coalesce(excluded.last_used, last_used) ELSE last_used END"
)

FACT_COLUMNS = ("signature_count", "has_valid_signature", "has_valid_personal", "has_valid_organisation",
                "invalid_reasons")
"""The documents columns ``SignatureFacts`` fill, in ``fact_values`` order (the tail of ``STATE_COLUMNS``)."""


def signature_row(verdict: Verdict, payload_sha256: str, item_name: str, batch_id: int, document_id: str | None,
                  belongs: bool | None) -> tuple[object, ...]:
    checks = [{"name": c.name.value, "outcome": c.outcome.value, "detail": c.detail} for c in verdict.checks]
    return (
        payload_sha256, verdict.index, document_id, batch_id, item_name, verdict.indication.value,
        verdict.subindication.value if verdict.subindication else None, verdict.reason, verdict.signer_subject,
        verdict.signer_serial, verdict.signer_issuer, verdict.signer_cert_sha256, iso(verdict.signing_time),
        verdict.signing_time_source.value, verdict.digest_algorithm, verdict.signature_algorithm, verdict.key_bits,
        verdict.kind.value, int_or_none(verdict.covers_whole_file), int_or_none(belongs),
        json.dumps(checks, ensure_ascii=False), verdict.modification.value if verdict.modification else None,
        int_or_none(changes_permitted(verdict)),
    )


def certificate_row(verdict: Verdict, unit: str | None) -> tuple[object, ...]:
    """``unit``: the sender the certificate was found to belong to, if it was."""
    used = iso(verdict.signing_time)
    return (verdict.signer_cert_sha256, verdict.signer_subject, verdict.signer_issuer, verdict.signer_serial,
            verdict.signer_common_name, verdict.signer_organisation, iso(verdict.signer_not_before),
            iso(verdict.signer_not_after), verdict.kind.value, unit, used, used)


def signature_fact(verdict: Verdict, payload_sha256: str, belongs: bool | None) -> SignatureFact:
    """What the signature adds to its document's flags, as ``signature_row`` stores it."""
    return SignatureFact(payload_sha256, verdict.index, verdict.indication.value,
                         verdict.subindication.value if verdict.subindication else None, verdict.kind.value,
                         verdict.covers_whole_file, belongs, changes_permitted(verdict))


def fact_values(facts: SignatureFacts) -> tuple[object, ...]:
    return (facts.signature_count, int(facts.has_valid_signature), int(facts.has_valid_personal),
            int(facts.has_valid_organisation), facts.invalid_reasons)


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
