"""Builders shared by the store, ingest, watch and crash tests: verdicts, edXML files, checks."""

from __future__ import annotations

import base64
import sqlite3
from dataclasses import fields
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from xml.sax.saxutils import escape

from docflow.ingest.run import ingest_batch
from docflow.store.core import Store
from docflow.store.schema import COUNTER_COLUMNS
from docflow.store.signature_rows import SignatureRow
from signatures import TrustStore
from signatures.verdict import Indication, SignerKind, SubIndication, Verdict

__all__ = [
    "PROVINCE",
    "SENDER",
    "RECIPIENT",
    "OTHER",
    "verdict",
    "edxml",
    "write_edxml",
    "assert_counters_exact",
    "year_rows",
    "year_sums_of_months",
    "counters_of",
    "table",
    "SIGNATURES_COMPARED",
]

PROVINCE = "000.00.00.H04"
SENDER = "000.00.01.H04"  # a department of the province
RECIPIENT = "000.00.02.H04"
OTHER = "000.00.03.H04"

_NS = "http://www.mic.gov.vn/TBT/QCVN_102_2016"
_BUSINESS_CODES = {"new": 0, "revoke": 1, "update": 2, "replace": 3}


def verdict(
    index: int = 0,
    *,
    passed: bool = True,
    sub: SubIndication | None = None,
    kind: SignerKind = SignerKind.ORGANISATION,
    cert: str = "c0ffee",
    serial: str = "1a2b",
    common_name: str | None = None,
    covers_whole_file: bool | None = True,
) -> Verdict:
    """A hand-made verdict, for store tests that do not need the engine; its indication is the engine's."""
    subindication = None if passed else (sub or SubIndication.HASH_FAILURE)
    return Verdict(
        index=index,
        indication=subindication.indication if subindication else Indication.TOTAL_PASSED,
        subindication=subindication,
        reason="ok" if passed else "failed",
        signer_cert_sha256=cert,
        signer_serial=serial,
        signer_common_name=common_name,
        signing_time=datetime(2024, 3, 1, 9, 0, tzinfo=UTC),
        kind=kind,
        covers_whole_file=covers_whole_file,
    )


def edxml(
    *,
    sender: str = SENDER,
    sender_name: str = "Sở Nội vụ tỉnh Bắc Kạn",
    recipients: tuple[str, ...] = (RECIPIENT,),
    number: str = "1",
    notation: str = "SNV-VP",
    promulgation: date = date(2024, 3, 1),
    due: date | None = None,
    business: str = "new",
    paper: int = 0,
    names_document: str | None = None,
    attachment: tuple[str, bytes] | None = None,
    document_id: str | None = None,
) -> bytes:
    """A minimal QCVN 102:2016 edXML package, in the prefixed form the VPCP sample uses."""
    doc_id = document_id or f"{sender},{promulgation:%Y/%m/%d},{number}/{notation}"
    to_blocks = "".join(
        f"<edXML:To><edXML:OrganId>{code}</edXML:OrganId><edXML:OrganName>Đơn vị {code}</edXML:OrganName></edXML:To>"
        for code in recipients
    )
    due_block = f"<edXML:DueDate>{due:%Y/%m/%d}</edXML:DueDate>" if due else ""
    business_id = names_document or doc_id
    replacement = (
        f"<edXML:ReplacementInfoList><edXML:ReplacementInfo><edXML:DocumentId>{names_document}</edXML:DocumentId>"
        "</edXML:ReplacementInfo></edXML:ReplacementInfoList>"
        if names_document and business == "replace"
        else ""
    )
    reference, attachments = _attachment_blocks(attachment)
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<edXML xmlns="{_NS}"><edXML:edXMLEnvelope xmlns:edXML="{_NS}"><edXML:edXMLHeader>
<edXML:MessageHeader>
<edXML:From><edXML:OrganId>{sender}</edXML:OrganId><edXML:OrganName>{escape(sender_name)}</edXML:OrganName></edXML:From>
{to_blocks}
<edXML:Code><edXML:CodeNumber>{number}</edXML:CodeNumber><edXML:CodeNotation>{notation}</edXML:CodeNotation></edXML:Code>
<edXML:PromulgationInfo><edXML:Place>Bắc Kạn</edXML:Place><edXML:PromulgationDate>{promulgation:%Y/%m/%d}</edXML:PromulgationDate></edXML:PromulgationInfo>
<edXML:DocumentType><edXML:Type>1</edXML:Type><edXML:TypeName>Công văn</edXML:TypeName></edXML:DocumentType>
<edXML:Subject>Về việc thử nghiệm {number}</edXML:Subject>
{due_block}
<edXML:DocumentId>{doc_id}</edXML:DocumentId>
</edXML:MessageHeader>
<edXML:TraceHeaderList><edXML:TraceHeader><edXML:OrganId>{sender}</edXML:OrganId><edXML:Timestamp>{promulgation:%Y/%m/%d} 08:00:00</edXML:Timestamp></edXML:TraceHeader>
<edXML:Bussiness><edXML:BussinessDocType>{_BUSINESS_CODES[business]}</edXML:BussinessDocType>
<edXML:BussinessDocReason>test</edXML:BussinessDocReason><edXML:DocumentId>{business_id}</edXML:DocumentId>
<edXML:Paper>{paper}</edXML:Paper>{replacement}</edXML:Bussiness>
</edXML:TraceHeaderList>
</edXML:edXMLHeader><edXML:edXMLBody><edXML:edXMLManifest version="1.0">{reference}</edXML:edXMLManifest></edXML:edXMLBody>
</edXML:edXMLEnvelope>{attachments}</edXML>
""".encode()


def _attachment_blocks(attachment: tuple[str, bytes] | None) -> tuple[str, str]:
    if attachment is None:
        return "", ""
    name, data = attachment
    reference = (
        f"<edXML:Reference><edXML:ContentId>cid:1</edXML:ContentId><edXML:ContentType>application/pdf"
        f"</edXML:ContentType><edXML:AttachmentName>{name}</edXML:AttachmentName></edXML:Reference>"
    )
    encoded = base64.b64encode(data).decode()
    attachments = (
        f"<AttachmentEncoded><Attachment><ContentId>cid:1</ContentId><AttachmentName>{name}</AttachmentName>"
        f'<ContentType>application/pdf</ContentType><edXML:ContentTransferEncoded xmlns:edXML="{_NS}">'
        f"{encoded}</edXML:ContentTransferEncoded></Attachment></AttachmentEncoded>"
    )
    return reference, attachments


def write_edxml(path: Path, **fields: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(edxml(**fields))  # type: ignore[arg-type]
    return path


def ingest_all(db: Path, batches: list[Path], trust: TrustStore | None = None) -> Store:
    """A store with the batches ingested in order, a minute apart, its counters checked after each."""
    store = Store.open(db)
    for number, batch in enumerate(batches):
        ingest_batch(batch, store, trust, received_at=datetime(2024, 5, 1) + timedelta(minutes=number))
        assert_counters_exact(store)
    return store


def assert_counters_exact(store: Store) -> None:
    """The incrementally kept counters equal a rebuild from the documents, and the year rollup their sums.

    A failure lists each differing counter as ``unit period counter: expected N, kept M``.
    """
    kept = [(row.unit, row.period, *row.values) for row in store.counter_rows()]
    rebuilt = [(row.unit, row.period, *row.values) for row in store.expected_counters()]
    differences = _differences(rebuilt, kept)
    assert not differences, "counters differ from a rebuild from the documents:\n" + "\n".join(differences)
    differences = _differences(year_sums_of_months(store), year_rows(store))
    assert not differences, "year counters differ from their months' sums:\n" + "\n".join(differences)


def _differences(expected: list[tuple[object, ...]], kept: list[tuple[object, ...]]) -> list[str]:
    """Each (unit, period) row only one side has, and each counter whose values differ."""
    expected_rows = {(str(unit), str(period)): values for unit, period, *values in expected}
    kept_rows = {(str(unit), str(period)): values for unit, period, *values in kept}
    lines = []
    for unit, period in sorted(expected_rows.keys() | kept_rows.keys()):
        want, have = expected_rows.get((unit, period)), kept_rows.get((unit, period))
        if want is None or have is None:
            lines.append(f"{unit} {period}: row {'missing' if have is None else 'not expected'} in the kept counters")
        for name, wanted, had in zip(
            COUNTER_COLUMNS, want or [0] * len(COUNTER_COLUMNS), have or [0] * len(COUNTER_COLUMNS), strict=True
        ):
            if wanted != had:
                lines.append(f"{unit} {period} {name}: expected {wanted}, kept {had}")
    return lines


def year_rows(store: Store) -> list[tuple[object, ...]]:
    """``unit_year_counters`` as (unit, year, *counters), all-zero rows included, sorted."""
    columns = ", ".join(COUNTER_COLUMNS)
    return table(store, f"SELECT unit, year, {columns} FROM unit_year_counters ORDER BY unit, year")


def year_sums_of_months(store: Store) -> list[tuple[object, ...]]:
    """What ``unit_year_counters`` must hold: the month rows summed per (unit, year).

    All-zero rows are compared too, not ignored: a year row must exist exactly while a month row does,
    since the ranking lists a unit with no ``units`` row only when it has counters in the period.
    """
    sums = ", ".join(f"SUM({name})" for name in COUNTER_COLUMNS)
    return table(store, f"SELECT unit, substr(period, 1, 4), {sums} FROM unit_counters GROUP BY 1, 2 ORDER BY 1, 2")


def counters_of(store: Store, unit: str, period: str = "2024-03") -> dict[str, int]:
    """One counters row as a dict of its non-zero columns (empty when there is none)."""
    store.conn.row_factory = sqlite3.Row
    try:
        row = store.conn.execute("SELECT * FROM unit_counters WHERE unit = ? AND period = ?", (unit, period)).fetchone()
    finally:
        store.conn.row_factory = None
    if row is None:
        return {}
    return {name: row[name] for name in row.keys() if name not in ("unit", "period") and row[name]}  # noqa: SIM118 - a sqlite3.Row iterates its values


def table(store: Store, sql: str, *params: object) -> list[tuple[object, ...]]:
    return [tuple(row) for row in store.conn.execute(sql, params)]


SIGNATURES_COMPARED = (
    f"SELECT id, {', '.join(field.name for field in fields(SignatureRow) if field.name != 'judged_at')}"
    " FROM signatures ORDER BY id"
)
"""Every ``signatures`` column but ``judged_at``: two runs judge the same signature at different moments."""
