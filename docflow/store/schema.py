"""The store's schema, as an ordered list of migrations.

``PRAGMA user_version`` holds how many migrations a database has had; opening a
store applies the missing ones in one transaction each. Never edit a released
migration: append a new one. ``docs/schema.md`` documents every table for auditors.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

__all__ = ["MIGRATIONS", "COUNTER_COLUMNS", "Counters", "REASON_WORDS", "SCHEMA_VERSION"]


@dataclass(frozen=True)
class Counters:
    """One unit's counters over a period. Its fields are the ``unit_counters`` columns (``COUNTER_COLUMNS``):
    the one list of them. Summaries read only these, never the documents table. Confidential documents
    are counted only in the *_confidential columns."""

    outgoing: int = 0  # non-confidential documents the unit issued
    outgoing_electronic: int = 0  # ...sent electronically (over the axis, or register channel electronic/both)
    outgoing_paper: int = 0  # ...issued on paper only
    outgoing_issued_electronic: int = 0  # ...seen on the axis, own valid organisation signature, no paper copy
    outgoing_signed_valid: int = 0  # ...sent electronically with at least one valid signature
    outgoing_nd30: int = 0  # ...with a valid personal AND a valid organisation signature (NĐ 30/2020)
    outgoing_unsigned: int = 0  # ...seen on the axis with no signature at all
    outgoing_confidential: int = 0  # confidential documents issued (kept out of every rate)
    invalid_tampered: int = 0  # documents with a signature whose content or value does not match
    invalid_untrusted: int = 0  # ...whose certificate does not chain to a trust anchor
    invalid_revoked: int = 0  # ...whose certificate was revoked before signing
    invalid_expired: int = 0  # ...signed outside the certificate's validity
    invalid_weak: int = 0  # ...using a rejected algorithm (MD5/SHA-1, RSA < 2048)
    invalid_wrong_unit: int = 0  # ...whose organisation signature belongs to another unit
    invalid_other: int = 0  # ...unreadable signature or other failure
    incoming: int = 0  # non-confidential documents the unit received
    incoming_electronic: int = 0  # ...received electronically
    incoming_due: int = 0  # ...with a due date
    incoming_due_on_time: int = 0  # ...of those, handled (status 06) on or before the due date
    incoming_confidential: int = 0

    def __add__(self, other: Counters) -> Counters:
        # Positional and by column tuple: summaries add tens of thousands of these.
        return Counters(*[getattr(self, name) + getattr(other, name) for name in COUNTER_COLUMNS])

    @property
    def invalid_by_reason(self) -> dict[str, int]:
        """Invalid-signature document counts keyed by reason word (``tampered`` …)."""
        return {reason: getattr(self, f"invalid_{reason}") for reason in REASON_WORDS}

    @property
    def has_data(self) -> bool:
        return self.outgoing + self.incoming + self.outgoing_confidential + self.incoming_confidential > 0


COUNTER_COLUMNS: tuple[str, ...] = tuple(field.name for field in fields(Counters))
"""The ``unit_counters`` columns, in table order."""
REASON_WORDS: tuple[str, ...] = tuple(
    name.removeprefix("invalid_") for name in COUNTER_COLUMNS if name.startswith("invalid_")
)
"""Every reason word a failed signature is counted under (``tampered`` …), in the order reports list them."""

_COUNTERS_DDL = ",\n    ".join(f"{name} INTEGER NOT NULL DEFAULT 0" for name in COUNTER_COLUMNS)


def year_upsert(row: str, value: str, *, qualified: bool = False) -> str:
    """Add ``value`` (``{0}``: each counter column) to the year row of ``row``, NEW or OLD (migration 5).
    ``qualified``: the year row's columns named with their table, as PostgreSQL needs them."""
    columns = ", ".join(COUNTER_COLUMNS)
    values = ", ".join(value.format(name) for name in COUNTER_COLUMNS)
    prefix = "unit_year_counters." if qualified else ""
    added = ", ".join(f"{name} = {prefix}{name} + excluded.{name}" for name in COUNTER_COLUMNS)
    return (
        f"INSERT INTO unit_year_counters (unit, year, {columns})"
        f" VALUES ({row}.unit, substr({row}.period, 1, 4), {values})"
        f" ON CONFLICT (unit, year) DO UPDATE SET {added};"
    )


_SAME_YEAR_ROW = "NEW.unit IS OLD.unit AND substr(NEW.period, 1, 4) IS substr(OLD.period, 1, 4)"

# A year row exists exactly while its year has a month row (all-zero ones included), as the month rows did:
# the ranking lists a unit known only from its counters when it has a row in the period, zero or not.
_DROP_EMPTY_YEAR = (
    "DELETE FROM unit_year_counters WHERE unit = OLD.unit AND year = substr(OLD.period, 1, 4)"
    " AND NOT EXISTS (SELECT 1 FROM unit_counters WHERE unit = OLD.unit"
    " AND substr(period, 1, 4) = substr(OLD.period, 1, 4));"
)

_NOT_ON_AXIS = """SELECT COUNT(*) FROM documents d
    WHERE d.sender = unit_counters.unit AND d.period = unit_counters.period AND d.confidential = 0
      AND d.business_status NOT IN ('revoked', 'replaced') AND d.sent_over_axis = 0"""
_COUNTER_RULE_18 = f"""
UPDATE unit_counters SET
    outgoing_issued_electronic = outgoing_issued_electronic - ({_NOT_ON_AXIS} AND d.channel = 'electronic'
        AND d.has_valid_organisation = 1 AND ' ' || d.invalid_reasons || ' ' NOT LIKE '% tampered %'),
    outgoing_unsigned = outgoing_unsigned - ({_NOT_ON_AXIS} AND d.channel IN ('electronic', 'both')
        AND d.signature_count = 0)
WHERE outgoing_issued_electronic > 0 OR outgoing_unsigned > 0;
"""

MIGRATIONS: tuple[str, ...] = (
    # 1: the initial schema
    f"""
CREATE TABLE batches (
    id INTEGER PRIMARY KEY,
    file_name TEXT NOT NULL,
    sha256 TEXT NOT NULL UNIQUE,
    size_bytes INTEGER NOT NULL,
    kind TEXT NOT NULL,                 -- file, folder or zip
    received_at TEXT NOT NULL,          -- ISO 8601 UTC, when docflow first saw it settled
    processed_at TEXT NOT NULL,
    outcome TEXT NOT NULL,              -- ingested or rejected (duplicates are not re-recorded)
    reason TEXT,
    documents INTEGER NOT NULL DEFAULT 0,
    signatures INTEGER NOT NULL DEFAULT 0,
    rejected_items INTEGER NOT NULL DEFAULT 0,
    archived_as TEXT                    -- name under archive/ or rejected/
);

CREATE TABLE units (
    code TEXT PRIMARY KEY,              -- agency identifier code (QCVN 102), as seen
    name TEXT,
    level TEXT NOT NULL DEFAULT 'unknown',  -- province, department, district, commune, other, unknown
    parent TEXT,
    code_valid INTEGER NOT NULL DEFAULT 1,
    source TEXT NOT NULL DEFAULT 'edxml'    -- import, edxml, register
);

CREATE TABLE documents (
    document_id TEXT PRIMARY KEY,       -- OrganId,yyyy/MM/dd,Number/Notation (or a UUID)
    sender TEXT,
    number TEXT,
    notation TEXT,
    promulgation_date TEXT,             -- yyyy-mm-dd
    period TEXT NOT NULL,               -- yyyy-mm the counters file it under
    type_name TEXT,
    subject TEXT,
    due_date TEXT,
    confidential INTEGER NOT NULL DEFAULT 0,
    channel TEXT NOT NULL,              -- electronic, paper, both (merged over all sources)
    sent_over_axis INTEGER NOT NULL DEFAULT 0,  -- seen in an edXML package
    paper_copy INTEGER NOT NULL DEFAULT 0,
    business_status TEXT NOT NULL DEFAULT 'active',  -- active, revoked, replaced, updated
    replaced_by TEXT,
    signature_count INTEGER NOT NULL DEFAULT 0,
    has_valid_signature INTEGER NOT NULL DEFAULT 0,
    has_valid_personal INTEGER NOT NULL DEFAULT 0,
    has_valid_organisation INTEGER NOT NULL DEFAULT 0,  -- valid AND belongs to the sender
    invalid_reasons TEXT NOT NULL DEFAULT '',  -- space-separated words: tampered untrusted revoked ...
    first_batch_id INTEGER REFERENCES batches(id),
    last_batch_id INTEGER REFERENCES batches(id)
);
CREATE INDEX documents_sender_period ON documents(sender, period);

CREATE TABLE document_sources (
    document_id TEXT NOT NULL REFERENCES documents(document_id),
    batch_id INTEGER NOT NULL REFERENCES batches(id),
    item_name TEXT NOT NULL,            -- file (and row) inside the batch
    source TEXT NOT NULL,               -- edxml, register, signed_file
    PRIMARY KEY (document_id, batch_id, item_name)
);

CREATE TABLE recipients (
    document_id TEXT NOT NULL REFERENCES documents(document_id),
    unit TEXT NOT NULL,
    received_electronic INTEGER NOT NULL DEFAULT 0,
    handled_at TEXT,                    -- first status 06 timestamp from this recipient
    PRIMARY KEY (document_id, unit)
);
CREATE INDEX recipients_unit ON recipients(unit);

CREATE TABLE signatures (
    id INTEGER PRIMARY KEY,
    payload_sha256 TEXT NOT NULL,       -- SHA-256 of the signed file (PDF or CMS)
    idx INTEGER NOT NULL,               -- signature index inside the file
    document_id TEXT REFERENCES documents(document_id),  -- NULL: a signed file no record names
    batch_id INTEGER NOT NULL REFERENCES batches(id),
    item_name TEXT NOT NULL,
    indication TEXT NOT NULL,
    subindication TEXT,
    reason TEXT NOT NULL,
    signer_subject TEXT,
    signer_serial TEXT,
    signer_issuer TEXT,
    cert_sha256 TEXT,
    signing_time TEXT,
    signing_time_source TEXT NOT NULL,
    digest_algorithm TEXT,
    signature_algorithm TEXT,
    key_bits INTEGER,
    kind TEXT NOT NULL,                 -- person, organisation, unknown
    covers_whole_file INTEGER,
    belongs_to_sender INTEGER,          -- 1 yes, 0 another unit, NULL unknown
    checks_json TEXT NOT NULL,          -- every check with outcome and detail
    UNIQUE (payload_sha256, idx)
);
CREATE INDEX signatures_document ON signatures(document_id);
CREATE INDEX signatures_cert ON signatures(cert_sha256);

CREATE TABLE certificates (
    sha256 TEXT PRIMARY KEY,
    subject TEXT,
    issuer TEXT,
    serial TEXT,
    common_name TEXT,
    organisation TEXT,
    not_before TEXT,
    not_after TEXT,
    kind TEXT NOT NULL DEFAULT 'unknown',
    unit TEXT,                          -- unit it is registered to (certs import) or seen signing for
    first_used TEXT,
    last_used TEXT,
    signature_count INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE issued_certificates (     -- the province's list of certificates issued to units
    serial TEXT NOT NULL,
    unit TEXT NOT NULL,
    holder TEXT,
    kind TEXT,
    not_after TEXT,
    sha256 TEXT,
    PRIMARY KEY (serial, unit)
);

CREATE TABLE status_events (
    id INTEGER PRIMARY KEY,
    document_id TEXT NOT NULL,
    reporting_unit TEXT NOT NULL,
    code TEXT NOT NULL,
    description TEXT,
    timestamp TEXT,
    batch_id INTEGER NOT NULL REFERENCES batches(id),
    item_name TEXT NOT NULL,
    UNIQUE (document_id, reporting_unit, code, timestamp)
);
CREATE INDEX status_events_document ON status_events(document_id);

CREATE TABLE rejected_items (
    id INTEGER PRIMARY KEY,
    batch_id INTEGER NOT NULL REFERENCES batches(id),
    item_name TEXT NOT NULL,
    reason TEXT NOT NULL
);

CREATE TABLE unit_counters (
    unit TEXT NOT NULL,
    period TEXT NOT NULL,               -- yyyy-mm
    {_COUNTERS_DDL},
    PRIMARY KEY (unit, period)
);
""",
    # 2: views for the common audit questions (docs/schema.md, "Views")
    """
CREATE VIEW v_document_signatures AS
SELECT d.document_id, d.sender, d.period, d.promulgation_date, d.channel, d.confidential,
       s.idx, s.kind, s.indication, s.subindication, s.reason, s.belongs_to_sender,
       s.signer_subject, s.signer_serial, s.signer_issuer, s.cert_sha256, s.signing_time,
       s.signing_time_source, s.digest_algorithm, s.key_bits, s.item_name,
       b.file_name AS batch_file, b.sha256 AS batch_sha256, b.received_at
FROM signatures s
LEFT JOIN documents d ON d.document_id = s.document_id
LEFT JOIN batches b ON b.id = s.batch_id;

CREATE VIEW v_failed_signatures AS
SELECT * FROM v_document_signatures
WHERE indication <> 'TOTAL_PASSED' OR belongs_to_sender = 0;

CREATE VIEW v_unit_rates AS
SELECT c.unit, u.name, u.level, u.parent, c.period,
       c.outgoing, c.outgoing_electronic, c.outgoing_paper, c.outgoing_issued_electronic,
       c.outgoing_signed_valid, c.outgoing_nd30, c.incoming, c.incoming_electronic,
       CASE WHEN c.outgoing > 0 THEN 1.0 * c.outgoing_issued_electronic / c.outgoing END AS e_issuance_rate,
       CASE WHEN c.outgoing_electronic > 0 THEN 1.0 * c.outgoing_signed_valid / c.outgoing_electronic END
           AS signature_rate,
       CASE WHEN c.outgoing_electronic > 0 THEN 1.0 * c.outgoing_nd30 / c.outgoing_electronic END AS nd30_rate,
       CASE WHEN c.incoming > 0 THEN 1.0 * c.incoming_electronic / c.incoming END AS incoming_electronic_rate,
       CASE WHEN c.incoming_due > 0 THEN 1.0 * c.incoming_due_on_time / c.incoming_due END AS on_time_rate
FROM unit_counters c
LEFT JOIN units u ON u.code = c.unit;

CREATE VIEW v_document_trail AS
SELECT ds.document_id, ds.source, ds.item_name, b.id AS batch_id, b.file_name, b.sha256,
       b.kind AS batch_kind, b.received_at, b.processed_at, b.outcome
FROM document_sources ds
JOIN batches b ON b.id = ds.batch_id;
""",
    # 3 (ingest): which kind of source set documents.channel, so that a weaker source
    # cannot overwrite it: 3 = the sender's own register, 2 = edXML, 1 = a recipient's
    # register, 0 = nothing yet (a revocation naming a document not seen so far).
    "ALTER TABLE documents ADD COLUMN channel_rank INTEGER NOT NULL DEFAULT 0;",
    # 4 (summary): every counter in (unit, period) order. Ingestion adds a month's rows as
    # documents arrive, so the table holds each unit's months far apart; a summary reading
    # them through the primary key jumps page to page, while this index has them side by
    # side and answers the summary without touching the table (2-3x faster at 10 000 units).
    f"CREATE INDEX unit_counters_by_unit ON unit_counters(unit, period, {', '.join(COUNTER_COLUMNS)});",
    # 5 (summary): per-unit, per-year sums of unit_counters, so that a year summary (the default view)
    # reads one row per unit instead of twelve: at 10 000 units its GROUP BY over 120 000 month rows was
    # most of the summary's time. Triggers keep it equal to the month rows in the writer's own transaction,
    # whatever writes them (ingestion's upserts, recompute_counters' delete and re-insert, a bulk
    # INSERT … SELECT), so store.py need not know it exists; the last statement fills it for existing stores.
    f"""
CREATE TABLE unit_year_counters (
    unit TEXT NOT NULL,
    year TEXT NOT NULL,                 -- yyyy: the first four characters of unit_counters.period
    {_COUNTERS_DDL},
    PRIMARY KEY (unit, year)
);

-- A month row's values go to its year, creating the year row with the year's first month.
CREATE TRIGGER unit_counters_year_insert AFTER INSERT ON unit_counters BEGIN
    {year_upsert("NEW", "NEW.{0}")}
END;

-- Ingestion's upsert (ON CONFLICT DO UPDATE fires UPDATE triggers) runs this once per changed month row of
-- every batch, so it is kept to one statement adding the difference: rows keep their unit and year.
CREATE TRIGGER unit_counters_year_update AFTER UPDATE ON unit_counters
WHEN {_SAME_YEAR_ROW} BEGIN
    {year_upsert("NEW", "NEW.{0} - OLD.{0}")}
END;

-- Should an UPDATE ever move a row to another unit or year, its values leave the old year for the new.
CREATE TRIGGER unit_counters_year_move AFTER UPDATE ON unit_counters
WHEN NOT ({_SAME_YEAR_ROW}) BEGIN
    {year_upsert("OLD", "-OLD.{0}")}
    {_DROP_EMPTY_YEAR}
    {year_upsert("NEW", "NEW.{0}")}
END;

CREATE TRIGGER unit_counters_year_delete AFTER DELETE ON unit_counters BEGIN
    {year_upsert("OLD", "-OLD.{0}")}
    {_DROP_EMPTY_YEAR}
END;

-- The backfill: what the triggers would have built had they existed from the start.
INSERT INTO unit_year_counters (unit, year, {", ".join(COUNTER_COLUMNS)})
SELECT unit, substr(period, 1, 4), {", ".join(f"SUM({name})" for name in COUNTER_COLUMNS)}
FROM unit_counters GROUP BY 1, 2;
""",
    # 6 (ingest): every organisation signature looks its certificate up in the province's issued list, by
    # SHA-256 and then by serial. The import stores both normalised (lowercase, no separators), so the
    # look-ups compare plainly and use an index (serial: the primary key's first column) instead of
    # scanning the list twice per signature.
    "CREATE INDEX issued_certificates_sha256 ON issued_certificates(sha256);",
    # 7 (issue 13): what changed in a PDF after each signature (none, ltv, form_filling, annotations, other)
    # and whether its signatures allow it (signatures.modification.permitted); NULL for rows stored before,
    # which keep the older rule (the last signature must reach the end of the file).
    "ALTER TABLE signatures ADD COLUMN modification TEXT;"
    " ALTER TABLE signatures ADD COLUMN modification_permitted INTEGER;",
    # 8 (ingest, issue 14 item 9): a batch too large for one
    # transaction (a register of millions of rows) is committed in chunks. While it is read its row says
    # outcome 'in progress', with how many items are committed (items_done) and which process is reading it
    # (owner, host:pid); a restart resumes after items_done, so every item is still counted once.
    "ALTER TABLE batches ADD COLUMN items_done INTEGER;\nALTER TABLE batches ADD COLUMN owner TEXT;",
    # 9 (issue 16): whether each signature was judged against a trust store holding at least one anchor:
    # 1 yes, 0 no (`--no-trust`, or a library call without a trust store), NULL stored before this migration.
    # Re-verification finds the 0 rows through the partial index, which is empty (free to keep and to count
    # in every summary) while every batch is ingested with a trust store.
    "ALTER TABLE signatures ADD COLUMN trust_checked INTEGER;"
    " CREATE INDEX signatures_not_trust_checked ON signatures(document_id) WHERE trust_checked = 0;",
    # 10 (issue 16, re-verification): when each verdict was made and under which trust store state; the signed
    # files kept beside the store (``<store>.payloads/``) to judge them again; each trust store state judged
    # under (what it held, so that re-verification can tell which chains a later state touches); and every
    # verdict re-verification changed, with both states.
    """
ALTER TABLE signatures ADD COLUMN judged_at TEXT;          -- ISO 8601, UTC; NULL for rows stored before
ALTER TABLE signatures ADD COLUMN trust_fingerprint TEXT;  -- TrustStore.fingerprint; NULL for rows stored before
CREATE TABLE payloads (
    sha256 TEXT PRIMARY KEY,          -- the signed file's SHA-256: its name in <store>.payloads/
    kind TEXT NOT NULL,               -- pdf, cms-detached, cms-attached
    content_sha256 TEXT,              -- detached CMS: the content it signs, kept under its own SHA-256
    size_bytes INTEGER NOT NULL,
    kept_at TEXT NOT NULL
);
CREATE TABLE trust_states (
    fingerprint TEXT PRIMARY KEY,
    first_used TEXT NOT NULL,
    source TEXT,                      -- the trust directory
    members_json TEXT NOT NULL        -- its anchors, intermediates and CRLs (role, sha256, name, issuer, this_update)
);
CREATE TABLE verdict_changes (
    id INTEGER PRIMARY KEY,
    signature_id INTEGER NOT NULL REFERENCES signatures(id),
    document_id TEXT,
    payload_sha256 TEXT NOT NULL,
    idx INTEGER NOT NULL,
    changed_at TEXT NOT NULL,
    before_indication TEXT,
    before_subindication TEXT,
    before_reason TEXT,
    after_indication TEXT,
    after_subindication TEXT,
    after_reason TEXT,
    trust_before TEXT,
    trust_after TEXT
);
CREATE INDEX verdict_changes_by_document ON verdict_changes(document_id);
""",
    # 11 (issue 18 §1): the counter rule of
    # docflow.store.classify.standing. Issued electronically now needs the document seen on the axis (a register
    # row saying "electronic" is not enough), and "unsigned" means seen on the axis without a signature (one never
    # seen may be signed). Each row loses what the old rule counted and the new one does not (the documents never
    # seen on the axis), as ingestion would have kept it; other counters and rows are left as they are.
    _COUNTER_RULE_18,
    # 12 (issue 21): the CA that issued each certificate of the province's list. A serial is unique per issuer
    # only, so the certificate review takes a signer's unit from the list by serial and issuer; NULL for rows
    # imported before, and for lists without an issuer column (then the serial alone, when no other row has it).
    "ALTER TABLE issued_certificates ADD COLUMN issuer TEXT;",
    # 13 (issue 19): units have a life span and successors (the 2025 reorganisation). Counters stay keyed by the
    # code in the document; docflow.reports.lineage attributes them to the successors when reading, so importing
    # a corrected lineage never needs re-ingesting. NULL dates are open; a unit with valid_to and no successor
    # row is dissolved.
    """
ALTER TABLE units ADD COLUMN valid_from TEXT;  -- yyyy-mm-dd, the first day in force; NULL: always was
ALTER TABLE units ADD COLUMN valid_to TEXT;    -- yyyy-mm-dd, the LAST day in force (inclusive); NULL: still is
CREATE TABLE unit_successors (
    code TEXT NOT NULL,                        -- the unit that ended
    successor TEXT NOT NULL,                   -- a unit it went into
    position INTEGER NOT NULL,                 -- 0: the first successor, which a split's history goes to
    PRIMARY KEY (code, successor)
);
""",
)

SCHEMA_VERSION = len(MIGRATIONS)
