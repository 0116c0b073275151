"""``docflow export``: per unit, every document counted for it in a period, how it was counted and why.

The Department sends each unit its figures to check against the unit's own register. The outgoing documents
are the drill-down's (``docflow.reports.drilldown.judged_documents``: one reading, one rule,
``classify.standing``), all of them rather than only those failing a rate; the incoming ones are the recipients
rows the incoming counters are made of (``classify.incoming_standing``). So a unit's rows number exactly its
counters' ``outgoing`` and ``incoming``. Beside each document: its signatures of each kind, judged. This module
returns data; the words and the files are the CLI's (``docflow.cli.export``).
"""

from __future__ import annotations

import enum
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from docflow.reports.drilldown import COUNTED, JudgedDocument, judged_documents
from docflow.reports.metrics import Period, SummarySettings
from docflow.reports.summary import UnitSummary, summarise
from docflow.store.classify import DocState, IncomingStanding, RecipientState, incoming_standing, reason_word_for
from docflow.store.merging import STATE_COLUMNS, doc_state

__all__ = [
    "SignatureState",
    "KindVerdict",
    "DocumentSignatures",
    "OutgoingRow",
    "IncomingRow",
    "UnitExport",
    "units_to_export",
    "unit_export",
]

_CHUNK = 500
"""Document ids per ``IN (…)`` list: well under SQLite's limit on parameters."""


class SignatureState(str, enum.Enum):
    VALID = "valid"
    """At least one signature of the kind passed (an organisation's: and is not known to be another unit's)."""
    INVALID = "invalid"
    """Signatures of the kind were seen and none passed: ``KindVerdict.words`` say why."""
    ABSENT = "absent"
    """Signed files of the document were seen, with no signature of this kind."""
    NOT_SEEN = "not_seen"
    """No signed file of the document was seen (never on the axis, no file named): docflow cannot tell."""


@dataclass(frozen=True)
class KindVerdict:
    state: SignatureState
    words: tuple[str, ...] = ()
    """For ``INVALID``: the reason words (``store.schema.REASON_WORDS``) of its signatures, each once."""


@dataclass(frozen=True)
class DocumentSignatures:
    person: KindVerdict
    organisation: KindVerdict


@dataclass(frozen=True)
class _Signature:
    kind: str
    indication: str
    subindication: str | None
    belongs_to_sender: bool | None


@dataclass(frozen=True)
class OutgoingRow:
    judged: JudgedDocument
    """The drill-down's document: its standing on each rate is the counters' rule."""
    signatures: DocumentSignatures


@dataclass(frozen=True)
class IncomingRow:
    document_id: str
    number: str | None
    notation: str | None
    promulgation_date: str | None
    subject: str | None
    sender: str | None
    sender_name: str | None
    due_date: str | None
    handled_at: str | None
    state: DocState
    standing: IncomingStanding
    signatures: DocumentSignatures


@dataclass(frozen=True)
class UnitExport:
    summary: UnitSummary
    """The unit's line of ``docflow summary`` for the period: its counters and rates."""
    outgoing: tuple[OutgoingRow, ...]
    incoming: tuple[IncomingRow, ...]


def units_to_export(
    conn: sqlite3.Connection, period: Period, settings: SummarySettings = SummarySettings(), unit: str | None = None
) -> tuple[UnitSummary, ...]:
    """The units with a counted document in ``period`` (only ``unit`` when given), in the summary's order."""
    summary = summarise(conn, period, settings, unit=unit)
    return tuple(row for row in summary.units if row.counters.outgoing or row.counters.incoming)


def unit_export(conn: sqlite3.Connection, row: UnitSummary, period: Period) -> UnitExport:
    """Every document counted for ``row``'s unit in ``period``, outgoing then incoming."""
    judged = judged_documents(conn, row, period)
    incoming = _incoming(conn, (row.unit.code, *row.predecessors), period)
    found = _signatures(conn, [document.document_id for document in judged] + [r.document_id for r in incoming])
    outgoing_rows = tuple(
        OutgoingRow(document, _judge_signatures(found.get(document.document_id, ()), document.state))
        for document in judged
    )
    incoming_rows = tuple(
        replace(r, signatures=_judge_signatures(found.get(r.document_id, ()), r.state)) for r in incoming
    )
    return UnitExport(row, outgoing_rows, incoming_rows)


_NOT_READ = DocumentSignatures(KindVerdict(SignatureState.NOT_SEEN), KindVerdict(SignatureState.NOT_SEEN))


def _incoming(conn: sqlite3.Connection, codes: tuple[str, ...], period: Period) -> list[IncomingRow]:
    """The recipients rows the incoming counters count for ``codes`` (a unit and its predecessors; their
    signatures judged afterwards)."""
    rows = conn.execute(
        "SELECT r.unit, d.document_id, d.number, d.notation, d.promulgation_date, d.subject, d.sender, u.name,"
        " d.due_date,"
        f" r.received_electronic, r.handled_at, {', '.join('d.' + name for name in STATE_COLUMNS)}"
        " FROM recipients AS r JOIN documents AS d ON d.document_id = r.document_id"
        " LEFT JOIN units AS u ON u.code = d.sender"
        f" WHERE r.unit IN ({', '.join('?' for _ in codes)})"
        f" AND d.period IN ({', '.join('?' for _ in period.months)}) AND {COUNTED}"
        " ORDER BY d.promulgation_date, d.document_id",
        (*codes, *period.months),
    )
    result = []
    for code, document_id, number, notation, date, subject, sender, name, due, electronic, handled, *cols in rows:
        state = doc_state(tuple(cols))
        standing = incoming_standing(state, RecipientState(code, bool(electronic), handled))
        result.append(
            IncomingRow(
                document_id, number, notation, date, subject, sender, name, due, handled, state, standing, _NOT_READ
            )
        )
    return result


def _signatures(conn: sqlite3.Connection, document_ids: Sequence[str]) -> dict[str, list[_Signature]]:
    found: dict[str, list[_Signature]] = {}
    for start in range(0, len(document_ids), _CHUNK):
        chunk = document_ids[start : start + _CHUNK]
        rows = conn.execute(
            "SELECT document_id, kind, indication, subindication, belongs_to_sender FROM signatures"
            f" WHERE document_id IN ({', '.join('?' for _ in chunk)}) ORDER BY document_id, payload_sha256, idx",
            tuple(chunk),
        )
        for document_id, kind, indication, subindication, belongs in rows:
            belongs_to_sender = None if belongs is None else bool(belongs)
            found.setdefault(document_id, []).append(_Signature(kind, indication, subindication, belongs_to_sender))
    return found


def _judge_signatures(signatures: Iterable[_Signature], state: DocState | None) -> DocumentSignatures:
    facts = list(signatures)
    seen = bool(facts) or bool(state and state.sent_over_axis)
    return DocumentSignatures(
        person=_judge_kind([fact for fact in facts if fact.kind == "person"], seen),
        organisation=_judge_kind([fact for fact in facts if fact.kind == "organisation"], seen),
    )


def _judge_kind(facts: Sequence[_Signature], seen: bool) -> KindVerdict:
    """The same test ``classify.signature_facts`` makes for ``has_valid_personal`` / ``has_valid_organisation``."""
    if not facts:
        return KindVerdict(SignatureState.ABSENT if seen else SignatureState.NOT_SEEN)
    words: list[str] = []
    for fact in facts:
        word = reason_word_for(fact.indication, fact.subindication)
        if word is None and fact.kind == "organisation" and fact.belongs_to_sender is False:
            word = "wrong_unit"
        if word is None:
            return KindVerdict(SignatureState.VALID)
        if word and word not in words:
            words.append(word)
    return KindVerdict(SignatureState.INVALID, tuple(words))
