"""The province's store on PostgreSQL: the same migrations as on SQLite (``docflow.store.schema``), as PostgreSQL
takes them.

One list of migrations: ``PG_MIGRATIONS[n]`` is ``MIGRATIONS[n]`` with the two spellings PostgreSQL lacks
replaced, and migration 5 (the year counters' triggers) written as one PL/pgSQL function. The version a
database has had is kept in ``store_meta`` (SQLite keeps it in ``PRAGMA user_version``).
"""

from __future__ import annotations

import re

from docflow.i18n import _
from docflow.store.errors import StoreError
from docflow.store.pg_connection import PgConnection
from docflow.store.schema import MIGRATIONS, year_upsert

__all__ = ["PG_MIGRATIONS", "META_DDL", "YEAR_MIGRATION", "check_postgresql_store", "migrate_postgresql", "pg_version"]

META_DDL = "CREATE TABLE IF NOT EXISTS store_meta (schema_version INTEGER NOT NULL)"
"""One row: how many of ``PG_MIGRATIONS`` the database has had."""

YEAR_MIGRATION = 4
"""The index in ``MIGRATIONS`` of the year counters (migration 5), whose triggers are SQLite's own language."""


def _year_change(row: str, value: str) -> str:
    return year_upsert(row, value, qualified=True)


_DROP_EMPTY_YEAR = (
    "DELETE FROM unit_year_counters WHERE unit = OLD.unit AND year = substr(OLD.period, 1, 4)"
    " AND NOT EXISTS (SELECT 1 FROM unit_counters WHERE unit = OLD.unit"
    " AND substr(period, 1, 4) = substr(OLD.period, 1, 4));"
)

_YEAR_TABLE = MIGRATIONS[YEAR_MIGRATION].split("-- A month row's values", 1)[0]
_BACKFILL = "INSERT INTO unit_year_counters" + MIGRATIONS[YEAR_MIGRATION].rsplit("INSERT INTO unit_year_counters", 1)[1]

_PG_YEAR = f"""
{_YEAR_TABLE}
-- The four triggers of the SQLite text, as one function: a month row's values go to its year, an update adds the
-- difference (ingestion's upserts, once per changed month row), a row leaving a year takes its values with it,
-- and a year row exists exactly while its year has a month row.
CREATE FUNCTION unit_counters_to_year() RETURNS trigger LANGUAGE plpgsql AS $body$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.unit IS NOT DISTINCT FROM OLD.unit
            AND substr(NEW.period, 1, 4) IS NOT DISTINCT FROM substr(OLD.period, 1, 4) THEN
        {_year_change("NEW", "NEW.{0} - OLD.{0}")}
        RETURN NULL;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        {_year_change("OLD", "-OLD.{0}")}
        {_DROP_EMPTY_YEAR}
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        {_year_change("NEW", "NEW.{0}")}
    END IF;
    RETURN NULL;
END
$body$;

CREATE TRIGGER unit_counters_year AFTER INSERT OR UPDATE OR DELETE ON unit_counters
FOR EACH ROW EXECUTE FUNCTION unit_counters_to_year();

{_BACKFILL}
"""


PARTITION_YEARS = range(2015, 2036)
"""The years ``documents`` has a partition of from the start; a period outside them goes to ``documents_other``.
A year's partition cannot be added once ``documents_other`` holds rows of it: add the next ones ahead of time
(``docs/scale.md``)."""
HASH_PARTITIONS = 8

# The large tables, partitioned (migration 1's text, changed where PostgreSQL's partitioning needs it). A key of a
# partitioned table holds its partition key, and no foreign key can point at a key without it, so:
# - documents by period (a range per year): its key is (document_id, period); one row per document id is kept by
#   ``document_ids``, whose key is the id alone;
# - signatures by the signed file (a hash of payload_sha256): a signature is stored once per (file, index) whatever
#   document or period it is later counted under, and that key is what makes it counted once; a signed file seen
#   before its record has no period yet;
# - recipients by document (a hash of document_id), kept with their key (document_id, unit) for the upserts;
# - the foreign keys into documents and signatures are left out (the writers keep them: a row is written in the
#   same transaction as the document or signature it names).
_PARTITIONED = (
    (
        "    document_id TEXT PRIMARY KEY,       -- OrganId,yyyy/MM/dd,Number/Notation (or a UUID)",
        "    document_id TEXT NOT NULL,          -- OrganId,yyyy/MM/dd,Number/Notation (or a UUID)",
    ),
    (
        "    last_batch_id INTEGER REFERENCES batches(id)\n);\nCREATE INDEX documents_sender_period",
        "    last_batch_id INTEGER REFERENCES batches(id),\n    PRIMARY KEY (document_id, period)\n)"
        " PARTITION BY RANGE (period);\nCREATE INDEX documents_sender_period",
    ),
    (
        "    document_id TEXT NOT NULL REFERENCES documents(document_id),\n    batch_id",
        "    document_id TEXT NOT NULL,\n    batch_id",
    ),
    (
        "    document_id TEXT NOT NULL REFERENCES documents(document_id),\n    unit TEXT NOT NULL,",
        "    document_id TEXT NOT NULL,\n    unit TEXT NOT NULL,",
    ),
    (
        "    PRIMARY KEY (document_id, unit)\n);",
        "    PRIMARY KEY (document_id, unit)\n) PARTITION BY HASH (document_id);",
    ),
    (
        "    id INTEGER PRIMARY KEY,\n    payload_sha256 TEXT NOT NULL,",
        "    id BIGINT GENERATED BY DEFAULT AS IDENTITY,\n    payload_sha256 TEXT NOT NULL,",
    ),
    (
        "    document_id TEXT REFERENCES documents(document_id),  -- NULL",
        "    document_id TEXT,                   -- NULL",
    ),
    (
        "    UNIQUE (payload_sha256, idx)\n);",
        "    PRIMARY KEY (payload_sha256, id),\n    UNIQUE (payload_sha256, idx)\n)"
        " PARTITION BY HASH (payload_sha256);",
    ),
)


_DOCUMENT_IDS = """
-- One row per document id across the period partitions: the key documents cannot have (a partitioned table's keys
-- hold its partition key). A writer inserting a document another has just inserted, in whatever period, fails on
-- it and takes its batch again; a writer changing a document holds its row here (docflow.store.pg_connection).
CREATE TABLE document_ids (document_id TEXT PRIMARY KEY);
CREATE FUNCTION documents_to_ids() RETURNS trigger LANGUAGE plpgsql AS $body$
BEGIN
    INSERT INTO document_ids (document_id) SELECT document_id FROM inserted;
    RETURN NULL;
END
$body$;
CREATE TRIGGER documents_ids AFTER INSERT ON documents REFERENCING NEW TABLE AS inserted
FOR EACH STATEMENT EXECUTE FUNCTION documents_to_ids();
"""


def _partitions() -> str:
    years = [
        f"CREATE TABLE documents_{year} PARTITION OF documents FOR VALUES FROM ('{year}') TO ('{year + 1}');"
        for year in PARTITION_YEARS
    ]
    hashed = [
        f"CREATE TABLE {table}_{n} PARTITION OF {table} FOR VALUES WITH (MODULUS {HASH_PARTITIONS}, REMAINDER {n});"
        for table in ("signatures", "recipients")
        for n in range(HASH_PARTITIONS)
    ]
    return "\n".join([*years, "CREATE TABLE documents_other PARTITION OF documents DEFAULT;", *hashed, _DOCUMENT_IDS])


def _partitioned(script: str) -> str:
    for before, after in _PARTITIONED:
        if before not in script:
            raise AssertionError(f"migration 1 no longer reads {before!r}: update docflow.store.pg_schema")
        script = script.replace(before, after)
    return script + _partitions()


def _for_postgresql(index: int, script: str) -> str:
    if index == 0:
        script = _partitioned(script)
    elif index == 9:  # migration 10: verdict_changes.signature_id cannot point at the partitioned signatures
        script = script.replace(
            "signature_id INTEGER NOT NULL REFERENCES signatures(id),", "signature_id BIGINT NOT NULL,"
        )
    # Text compares and sorts by its bytes, as in SQLite, whatever the database's locale: codes sort the same in
    # every report, and "000.00.01" never falls between two "000.00.00" codes as a linguistic collation puts it.
    script = re.sub(r"\bTEXT\b", 'TEXT COLLATE "C"', _PG_YEAR if index == YEAR_MIGRATION else script)
    # SQLite's rowid alias is an identity column on PostgreSQL; 64 bits, as SQLite's rowids are.
    return re.sub(r"\bid INTEGER PRIMARY KEY\b", "id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY", script)


PG_MIGRATIONS: tuple[str, ...] = tuple(_for_postgresql(index, script) for index, script in enumerate(MIGRATIONS))


def _tables(conn: PgConnection) -> set[str]:
    return {
        name
        for (name,) in conn.execute(
            "SELECT c.relname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p')"
        )
    }


def pg_version(conn: PgConnection) -> int:
    """How many migrations the database has had (0: none, or not a docflow store)."""
    if "store_meta" not in _tables(conn):
        return 0
    row = conn.execute("SELECT schema_version FROM store_meta").fetchone()
    return int(row[0]) if row else 0


def check_postgresql_store(conn: PgConnection, *, create: bool, national_ok: bool = False) -> None:
    """Refuse a database docflow did not make, or a national store where a province's is needed (as
    ``check_docflow_schema`` does for a file)."""
    tables = _tables(conn)
    shown = conn.location.shown
    if "national_meta" in tables:
        if national_ok:
            return
        raise StoreError(
            _("{path} is a national store (made by 'docflow rollup'): this command needs a province's store").format(
                path=shown
            )
        )
    if "store_meta" in tables and "batches" in tables:
        return
    if create and not tables:
        return
    if not tables:
        raise StoreError(
            _("{path} is an empty database, not a docflow store (run 'docflow ingest' to create one)").format(
                path=shown
            )
        )
    raise StoreError(_("{path} is a PostgreSQL database but not a docflow store; check --db").format(path=shown))


def migrate_postgresql(conn: PgConnection) -> None:
    """Apply the migrations the database lacks, in one transaction; processes opening it at once take turns."""
    conn.execute("BEGIN")
    try:
        conn.execute("SELECT pg_advisory_xact_lock(hashtext('docflow: store schema'))")
        conn.execute(META_DDL)
        version = pg_version(conn)
        if version > len(PG_MIGRATIONS):
            raise StoreError(
                _("the store has schema version {found}; this docflow knows only {known}: upgrade docflow").format(
                    found=version, known=len(PG_MIGRATIONS)
                )
            )
        if conn.execute("SELECT count(*) FROM store_meta").fetchone()[0] == 0:
            conn.execute("INSERT INTO store_meta (schema_version) VALUES (0)")
        for script in PG_MIGRATIONS[version:]:
            conn.executescript(script)
        conn.execute("UPDATE store_meta SET schema_version = ?", (len(PG_MIGRATIONS),))
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
