"""The store's schema, as an ordered list of migrations.

``PRAGMA user_version`` holds how many migrations a database has had; opening a
store applies the missing ones in one transaction each. Never edit a released
migration: append a new one. ``docs/schema.md`` documents every table for auditors.
"""

from __future__ import annotations

__all__ = ["MIGRATIONS", "COUNTER_COLUMNS", "SCHEMA_VERSION"]

# Per-unit, per-month counters. Summaries read only these, never the documents table.
# Confidential documents are counted only in the *_confidential columns.
COUNTER_COLUMNS: tuple[str, ...] = (
    "outgoing",  # non-confidential documents the unit issued
    "outgoing_electronic",  # ...sent electronically (over the axis, or register channel electronic/both)
    "outgoing_paper",  # ...issued on paper only
    "outgoing_issued_electronic",  # ...sent electronically, valid organisation signature, no paper copy
    "outgoing_signed_valid",  # ...sent electronically with at least one valid signature
    "outgoing_nd30",  # ...with a valid personal AND a valid organisation signature (NĐ 30/2020)
    "outgoing_unsigned",  # ...sent electronically with no signature at all
    "outgoing_confidential",  # confidential documents issued (kept out of every rate)
    "invalid_tampered",  # documents with a signature whose content or value does not match
    "invalid_untrusted",  # ...whose certificate does not chain to a trust anchor
    "invalid_revoked",  # ...whose certificate was revoked before signing
    "invalid_expired",  # ...signed outside the certificate's validity
    "invalid_weak",  # ...using a rejected algorithm (MD5/SHA-1, RSA < 2048)
    "invalid_wrong_unit",  # ...whose organisation signature belongs to another unit
    "invalid_other",  # ...unreadable signature or other failure
    "incoming",  # non-confidential documents the unit received
    "incoming_electronic",  # ...received electronically
    "incoming_due",  # ...with a due date
    "incoming_due_on_time",  # ...of those, handled (status 06) on or before the due date
    "incoming_confidential",
)

_COUNTERS_DDL = ",\n    ".join(f"{name} INTEGER NOT NULL DEFAULT 0" for name in COUNTER_COLUMNS)

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
)

SCHEMA_VERSION = len(MIGRATIONS)
