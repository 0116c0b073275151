"""How source records merge into document rows, and what those rows contribute to the counters.

A document is described by several sources (the sender's register, edXML packages, each
recipient's register); these rules decide which source wins each column, which recipients
a record names, and what a new document adds to the counters. They are pure functions of
their arguments, kept apart from ``docflow.store.documents`` so that they can be tested without a
database and so that the one-by-one merge (``Store.merge_document``) and the bulk merge of
new documents (``Store.merge_new_documents``) share one definition of a merged document.
"""

from __future__ import annotations

import operator
from collections import Counter
from datetime import date, datetime
from typing import cast

from docflow.agency import CODE_PATTERN
from docflow.records import BusinessType, Channel, Direction, DocumentRecord, Source
from docflow.store.classify import CounterDelta, DocState, RecipientState, contribution

__all__ = [
    "MERGED_COLUMNS",
    "STATE_COLUMNS",
    "RecipientRow",
    "doc_state",
    "iso",
    "merged_values",
    "new_recipients",
    "placeholder_values",
    "recipient_pairs",
    "sender_from_id",
    "state_values",
    "total_contribution",
]

RecipientRow = tuple[str, bool, str | None]
"""(unit, received electronically, handled_at) of one recipients row."""

_CHANNEL_RANK = {"register_out": 3, "edxml": 2, "register_in": 1}
_FIELDS_THAT_FILL = ("sender", "number", "notation", "promulgation_date", "type_name", "subject", "due_date")

MERGED_COLUMNS = (
    *_FIELDS_THAT_FILL,
    "period",
    "confidential",
    "sent_over_axis",
    "paper_copy",
    "business_status",
    "channel",
    "channel_rank",
)
"""The documents columns a merge writes (besides the key and the batch ids)."""

STATE_COLUMNS = (
    "sender",
    "period",
    "confidential",
    "channel",
    "sent_over_axis",
    "business_status",
    "due_date",
    "signature_count",
    "has_valid_signature",
    "has_valid_personal",
    "has_valid_organisation",
    "invalid_reasons",
)
"""The documents columns a document's counter contribution depends on, in ``doc_state``'s order."""

_state_head = operator.itemgetter(*STATE_COLUMNS[:7])
_NO_SIGNATURES = (0, 0, 0, 0, "")
"""signature_count ... invalid_reasons of a document no signature names yet (the columns' defaults)."""


def merged_values(current: dict[str, object] | None, record: DocumentRecord, batch_time: datetime) -> dict[str, object]:
    """A document's stored values after folding ``record`` into ``current`` (None: not stored yet)."""
    incoming = _record_fields(record)
    overwrite = record.business_type is BusinessType.UPDATE
    if current is None:
        merged = {name: incoming[name] for name in _FIELDS_THAT_FILL}
        merged.update(
            confidential=0,
            sent_over_axis=0,
            paper_copy=0,
            business_status="active",
            channel=None,
            channel_rank=-1,
            period=None,
        )
    else:
        merged = dict(current)
        for name in _FIELDS_THAT_FILL:
            if incoming[name] is not None and (overwrite or merged[name] is None):
                merged[name] = incoming[name]
    merged["sender"] = merged["sender"] or sender_from_id(record.document_id)
    merged["confidential"] = int(bool(merged["confidential"]) or record.confidential)
    merged["sent_over_axis"] = int(bool(merged["sent_over_axis"]) or record.source is Source.EDXML)
    merged["paper_copy"] = int(bool(merged["paper_copy"]) or record.paper_copy)
    merged["channel"], merged["channel_rank"] = _merge_channel(
        merged["channel"], merged["channel_rank"], record, merged["sender"]
    )
    if overwrite and merged["business_status"] == "active":
        merged["business_status"] = "updated"
    merged["period"] = _period(merged["promulgation_date"], record.sent_at, merged["period"], batch_time)
    return merged


def placeholder_values(document_id: str, status: str, batch_time: datetime) -> dict[str, object]:
    """The values of a document revoked or replaced before any source described it.

    Kept so that the original, when it arrives, merges into a document that already has that status.
    """
    placeholder: dict[str, object] = {name: None for name in _FIELDS_THAT_FILL}
    placeholder.update(
        sender=sender_from_id(document_id),
        period=f"{batch_time:%Y-%m}",
        confidential=0,
        sent_over_axis=0,
        paper_copy=0,
        channel="electronic",
        channel_rank=0,
        business_status=status,
    )
    return placeholder


def recipient_pairs(record: DocumentRecord) -> list[tuple[str, bool]]:
    """(unit, received electronically) for each recipient this record names."""
    if record.source is Source.EDXML:
        return [(unit, True) for unit in record.recipients]
    if record.direction is Direction.IN:
        electronic = record.channel in (Channel.ELECTRONIC, Channel.BOTH)
        units = (record.reporting_unit,) if record.reporting_unit else record.recipients
        return [(unit, electronic) for unit in units if unit]
    return [(unit, False) for unit in record.recipients]


def new_recipients(record: DocumentRecord, handled: dict[tuple[str, str], str]) -> tuple[RecipientRow, ...]:
    """A new document's recipient rows, as merging each of its pairs one by one would leave them.

    ``handled`` maps (document, unit) to the first completion (status 06) already recorded.
    """
    pairs = recipient_pairs(record)
    if len(pairs) == 1:  # the usual register row: one counterpart
        unit, electronic = pairs[0]
        return ((unit, electronic, handled.get((record.document_id, unit))),)
    merged: dict[str, tuple[bool, str | None]] = {}
    for unit, electronic in pairs:
        # As the recipients upsert: electronic if any pair says so; handled_at is read when the row is first made.
        previous = merged.get(unit)
        merged[unit] = (
            (electronic or previous[0], previous[1])
            if previous
            else (electronic, handled.get((record.document_id, unit)))
        )
    return tuple((unit, electronic, when) for unit, (electronic, when) in merged.items())


def state_values(values: dict[str, object], facts: tuple[object, ...] = _NO_SIGNATURES) -> tuple[object, ...]:
    """A new document's ``STATE_COLUMNS`` row, from its merged values and its signature flags as stored."""
    return cast(tuple[object, ...], _state_head(values)) + facts


def doc_state(row: tuple[object, ...]) -> DocState:
    """The ``DocState`` of a ``STATE_COLUMNS`` row (as stored: integers for flags, text or None)."""
    (sender, period, confidential, channel, axis, status, due, count, valid, personal, organisation, reasons) = row
    return DocState(
        sender=str(sender) if sender else None,
        period=str(period),
        confidential=bool(confidential),
        channel=str(channel),
        sent_over_axis=bool(axis),
        business_status=str(status),
        due_date=str(due) if due else None,
        signature_count=int(count),  # type: ignore[call-overload]
        has_valid_signature=bool(valid),
        has_valid_personal=bool(personal),
        has_valid_organisation=bool(organisation),
        invalid_reasons=str(reasons),
    )


def total_contribution(
    states: Counter[tuple[tuple[object, ...], tuple[RecipientRow, ...]]],
) -> dict[tuple[str, str], CounterDelta]:
    """The counters that ``count`` new documents in each (state, recipients) add together."""
    totals: dict[tuple[str, str], CounterDelta] = {}
    for (state, recipients), count in states.items():
        each = contribution(
            doc_state(state), [RecipientState(unit, electronic, when) for unit, electronic, when in recipients]
        )
        for unit_period, delta in each.items():
            totals.setdefault(unit_period, Counter()).update({name: amount * count for name, amount in delta.items()})
    return totals


def sender_from_id(document_id: str) -> str | None:
    """The sender a QCVN 102 DocumentId (``OrganId,yyyy/MM/dd,...``) names, when its head is a valid code."""
    head = document_id.split(",", 1)[0].strip()
    return head if "," in document_id and CODE_PATTERN.match(head) else None


def iso(value: date | datetime | None) -> str | None:
    """A date or time as the store keeps it (ISO 8601 text); None stays None."""
    return value.isoformat() if value is not None else None


def _record_fields(record: DocumentRecord) -> dict[str, object]:
    return {
        "sender": record.sender,
        "number": record.number,
        "notation": record.notation,
        "promulgation_date": iso(record.promulgation_date),
        "type_name": record.type_name,
        "subject": record.subject,
        "due_date": iso(record.due_date),
    }


def _merge_channel(current: object, rank: object, record: DocumentRecord, sender: object) -> tuple[str, int]:
    """The sender's register beats edXML, which beats a recipient's register; equal ranks combine."""
    if record.source is Source.EDXML:
        channel, new_rank = ("both" if record.paper_copy or record.channel is Channel.BOTH else "electronic"), 2
    elif record.direction is Direction.IN or (record.reporting_unit and record.reporting_unit != sender):
        channel, new_rank = record.channel.value, _CHANNEL_RANK["register_in"]
    else:
        channel, new_rank = record.channel.value, _CHANNEL_RANK["register_out"]
    old_rank = int(rank) if isinstance(rank, int) else -1
    if current is None or new_rank > old_rank:
        return channel, new_rank
    if new_rank < old_rank or channel == current:
        return str(current), old_rank
    # Same authority, different answers (e.g. two register rows): both channels were used.
    return "both", old_rank


def _period(promulgation: object, sent_at: datetime | None, current: object, batch_time: datetime) -> str:
    """The month a document counts in: its promulgation date's, else the one it has, else when it was sent."""
    if promulgation:
        return str(promulgation)[:7]
    if current:
        return str(current)
    return f"{(sent_at or batch_time):%Y-%m}"
