"""One batch being written: each item it yields taken into the store in order, new documents merged in bulk."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime

from docflow.ingest.verifier import Checked, Verifier, VerifyFailed
from docflow.readers.names import readable_name
from docflow.records import BatchItem, BusinessType, DocumentRecord, RejectedItem, SignedPayload, Source, StatusEvent
from docflow.store.core import Store
from docflow.store.signature_rows import NewSignatures
from signatures import Verdict

__all__ = ["BatchRun", "readable_items"]

log = logging.getLogger(__name__)


@dataclass
class BatchRun:
    """One batch being written: where it goes, how to verify, and what it held so far."""

    store: Store
    verifier: Verifier
    batch_id: int
    batch_time: datetime
    documents: int = 0
    signatures: int = 0
    rejected_items: int = 0
    items: int = 0
    named_payloads: dict[str, str] = field(default_factory=dict)
    """Payload name → document id, from records that name files not yet seen in this batch."""
    bare_payloads: dict[str, str] = field(default_factory=dict)
    """Payload name → SHA-256, of signed files stored before any record named them."""
    pending: list[DocumentRecord] = field(default_factory=list)
    """New documents waiting to be merged together (``flush``): register rows, and edXML documents whose
    signed files are new too; any other item flushes them first."""
    pending_signatures: dict[str, NewSignatures] = field(default_factory=dict)
    """Document id → its signatures, for the pending edXML documents."""
    pending_ids: set[str] = field(default_factory=set)
    """Document ids of the pending records."""
    pending_files: set[str] = field(default_factory=set)
    """SHA-256 of the pending documents' signed files."""
    units_seen: set[str] = field(default_factory=set)
    """Codes already upserted in this batch: upserting one again without a name changes nothing."""
    units_named: set[str] = field(default_factory=set)
    """...and those among them that have a name by now: upserting one again changes nothing at all."""

    def take(self, item: object) -> None:
        if _mergeable_in_bulk(item):
            self._units_of(item)  # type: ignore[arg-type]
            self._pend(item)  # type: ignore[arg-type]
            return
        if isinstance(item, DocumentRecord) and _new_signed_candidate(item):
            self._signed_record(item)
            return
        self.flush()
        if isinstance(item, DocumentRecord):
            self._record(item)
        elif isinstance(item, StatusEvent):
            self._unit(item.reporting_unit, None, Source.EDXML)
            self.store.add_status_event(item, self.batch_id)
        elif isinstance(item, SignedPayload):
            # A signed file no record names is still evidence of signing: its signatures are
            # kept (document_id NULL) and counted for no unit unless a later record names it.
            document_id = self.named_payloads.get(item.name)
            payload_sha256 = self._payload(item, document_id)
            if document_id is None and payload_sha256:
                self.bare_payloads[item.name] = payload_sha256
        elif isinstance(item, RejectedItem):
            self._reject(item)
        else:
            self._reject(RejectedItem(str(item)[:80], "the reader returned something docflow does not know"))

    def flush(self) -> None:
        """Merge the pending records: new documents in bulk, the rest one by one, in order."""
        if not self.pending:
            return
        records, self.pending = self.pending, []
        signed, self.pending_signatures = self.pending_signatures, {}
        self.pending_ids.clear()
        self.pending_files.clear()
        for record in self.store.merge_new_documents(records, self.batch_id, self.batch_time, signed):
            self.store.merge_document(record, self.batch_id, self.batch_time)
        for record in records:
            self._join_payload_names(record, record.document_id)
        self.documents += len(records)

    def _units_of(self, record: DocumentRecord) -> None:
        source = Source.EDXML if record.source is Source.EDXML else Source.REGISTER
        if record.sender:
            self._unit(record.sender, record.sender_name, source)
        names = dict(record.recipient_names)
        for unit in (*record.recipients, *([record.reporting_unit] if record.reporting_unit else [])):
            self._unit(unit, names.get(unit), source)

    def _unit(self, code: str, name: str | None, source: Source) -> None:
        if code in self.units_named or (name is None and code in self.units_seen):
            return
        self.store.upsert_unit(code, name, source.value)
        self.units_seen.add(code)
        if name:
            self.units_named.add(code)

    def _pend(self, record: DocumentRecord, signatures: NewSignatures | None = None) -> None:
        self.pending.append(record)
        self.pending_ids.add(record.document_id)
        if signatures is not None:
            self.pending_signatures[record.document_id] = signatures
        if len(self.pending) >= _BULK_ROWS:
            self.flush()

    def _signed_record(self, record: DocumentRecord) -> None:
        """An edXML document: merged in bulk when neither it nor its signed files are stored or pending yet.

        Its units are upserted and its signatures' rows made now, as merging it on its own would,
        so that the outcome does not depend on where the bulk merges fall.
        """
        self._units_of(record)
        checked = [self.verifier.check(payload) for payload in record.payloads]
        hashes = [result.sha256 for result in checked]
        if (
            record.document_id in self.pending_ids
            or len(set(hashes)) < len(hashes)
            or self.pending_files.intersection(hashes)
            or not self.store.is_unseen(record.document_id, hashes)
        ):
            self.flush()
            self._record(record, checked)
            return
        files = []
        for payload, result in zip(record.payloads, checked):
            verdicts = self._verdicts(payload, result)
            if verdicts is not None:
                self._keep(payload, result.sha256, verdicts)
                files.append((result.sha256, payload.name, verdicts))
        self.signatures += sum(len(verdicts) for _, _, verdicts in files)
        self.pending_files.update(hashes)
        signatures = self.store.new_document_signatures(
            record,
            files,
            self.batch_id,
            self.batch_time,
            trust_checked=self.verifier.trust_checked,
            trust_fingerprint=self.verifier.trust.fingerprint,
        )
        # Pending without its signed files' bytes: 5,000 waiting PDFs would hold hundreds of megabytes.
        self._pend(dataclasses.replace(record, payloads=()), signatures)

    def _record(self, record: DocumentRecord, checked: list[Checked] | None = None) -> None:
        """Merge one record on its own; ``checked``: its signed files' results, when already fetched."""
        self._units_of(record)
        # One counter difference for the document, its signed files and the files it names, not one each.
        with self.store.changing(record.document_id):
            self.store.merge_document(record, self.batch_id, self.batch_time)
            self.documents += 1
            # A revocation's own attachment is the notice, not the revoked document.
            document_id = None if record.business_type is BusinessType.REVOKE else record.document_id
            for index, payload in enumerate(record.payloads):
                self._payload(payload, document_id, checked[index] if checked is not None else None)
            self._join_payload_names(record, document_id)

    def _join_payload_names(self, record: DocumentRecord, document_id: str | None) -> None:
        if document_id is None:
            return
        # A register row names its signed files; the readers yield those files as bare payloads.
        for name in record.payload_names:
            if name in self.bare_payloads:
                self.store.attach_payload(self.bare_payloads[name], document_id)
            else:
                self.named_payloads[name] = document_id

    def _payload(self, payload: SignedPayload, document_id: str | None, checked: Checked | None = None) -> str | None:
        """Record one signed file's verdicts; returns its SHA-256 (None when it could not be verified)."""
        checked = checked if checked is not None else self.verifier.check(payload)
        verdicts = self._verdicts(payload, checked)
        if verdicts is None:
            return None
        self._keep(payload, checked.sha256, verdicts)
        # What was stored: the same signed file attached again (or stored by an earlier batch) adds no row.
        self.signatures += self.store.add_signatures(
            verdicts,
            payload_sha256=checked.sha256,
            item_name=payload.name,
            batch_id=self.batch_id,
            document_id=document_id,
            trust_checked=self.verifier.trust_checked,
            trust_fingerprint=self.verifier.trust.fingerprint,
        )
        return checked.sha256

    def _keep(self, payload: SignedPayload, sha256: str, verdicts: list[Verdict]) -> None:
        """Keep a signed file whose signatures are recorded, for ``docflow reverify`` to judge them again."""
        if verdicts:
            self.store.keep_payload(payload, sha256)

    def _verdicts(self, payload: SignedPayload, checked: Checked) -> list[Verdict] | None:
        """A signed file's verdicts; None when it could not be verified. Either problem is a rejected item."""
        if isinstance(checked.verdicts, VerifyFailed):
            log.warning("verifier failed on %s: %s", payload.name, checked.verdicts.detail)
            self._reject(
                RejectedItem(
                    payload.name,
                    f"docflow could not verify this signed file "
                    f"({checked.verdicts.error_type}); send it to the docflow administrator "
                    "with this batch",
                )
            )
            return None
        if not checked.verdicts:
            self._reject(RejectedItem(payload.name, "the file carries no digital signature"))
        return checked.verdicts

    def _reject(self, item: RejectedItem) -> None:
        self.store.add_rejected_item(self.batch_id, item)
        self.rejected_items += 1


_BULK_ROWS = 5_000
"""Records (register rows, new edXML documents) merged per ``Store.merge_new_documents`` call: bounds the
memory a flush holds."""


def _new_signed_candidate(record: DocumentRecord) -> bool:
    """An edXML document that may go to the bulk merge, if it and its signed files turn out to be new."""
    return (
        record.source is Source.EDXML
        and record.business_type is BusinessType.NEW
        and not record.replaces
        and not record.payload_names
    )


def _mergeable_in_bulk(item: object) -> bool:
    """A register row: no signed files of its own, no revocation or replacement to order around."""
    return (
        isinstance(item, DocumentRecord)
        and item.source is Source.REGISTER
        and not item.payloads
        and item.business_type is BusinessType.NEW
        and not item.replaces
    )


def readable_items(items: Iterator[BatchItem]) -> Iterator[BatchItem]:
    """The items with names the store can hold: a file name that is not UTF-8 (a folder's member, or a single
    file's own name in its rows' labels) is written with ``\\xNN`` escapes (``docflow.readers.names``)."""
    for item in items:
        if isinstance(item, SignedPayload):
            if not _is_text(item.name):
                item = dataclasses.replace(item, name=readable_name(item.name))
        elif isinstance(item, DocumentRecord):
            if not (_is_text(item.item_name) and all(map(_is_text, item.payload_names))):
                item = dataclasses.replace(
                    item,
                    item_name=readable_name(item.item_name),
                    payload_names=tuple(map(readable_name, item.payload_names)),
                )
        elif isinstance(item, (RejectedItem, StatusEvent)) and not _is_text(item.item_name):
            item = dataclasses.replace(item, item_name=readable_name(item.item_name))
        yield item


def _is_text(name: str) -> bool:
    return name.isascii() or readable_name(name) is name
