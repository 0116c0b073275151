"""The store on hand-made records and verdicts: merging, counting, signatures, migrations."""

from __future__ import annotations

import contextlib
import itertools
import sqlite3
from dataclasses import fields
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from helpers.ingest import (
    OTHER,
    RECIPIENT,
    SENDER,
    assert_counters_exact,
    counters_of,
    table,
    verdict,
    year_rows,
    year_sums_of_months,
)

from docflow.records import BusinessType, Channel, Direction, DocumentRecord, Source, StatusEvent
from docflow.reports.audit import open_readonly
from docflow.store.classify import DocState, RecipientState, classify_level, contribution, reason_word
from docflow.store.core import BatchRow, Store
from docflow.store.merging import doc_state, merged_values, new_recipients, sender_from_id, state_values
from docflow.store.ownership import SignerIdentity, normalise_name, registered_unit
from docflow.store.schema import COUNTER_COLUMNS, MIGRATIONS
from docflow.store.signature_rows import CertificateRow, SignatureRow
from signatures.verdict import SignerKind, SubIndication

BATCH_TIME = datetime(2024, 3, 31, tzinfo=UTC)
DOC = f"{SENDER},2024/03/01,1/SNV-VP"


_BATCH_NUMBERS = itertools.count()


def _batch(store: Store, name: str = "b") -> int:
    row = BatchRow(name, f"sha-{name}-{next(_BATCH_NUMBERS)}", 1, "file", "t", "t", "ingested")
    return store.record_batch(row)


def _record(**fields: object) -> DocumentRecord:
    values: dict[str, object] = dict(
        document_id=DOC,
        source=Source.EDXML,
        sender=SENDER,
        recipients=(RECIPIENT,),
        promulgation_date=date(2024, 3, 1),
        item_name="a.edxml",
    )
    values.update(fields)
    return DocumentRecord(**values)  # type: ignore[arg-type]


def _merge(store: Store, *records: DocumentRecord, batch: str = "b") -> None:
    with store.transaction():
        batch_id = _batch(store, batch)
        for record in records:
            store.merge_document(record, batch_id, BATCH_TIME)
    assert_counters_exact(store)


def _sign(store: Store, *verdicts: object, payload: str = "p1", document_id: str | None = DOC) -> None:
    with store.transaction():
        batch_id = _batch(store, f"sig-{payload}")
        for one in verdicts:
            store.add_signature(
                one,
                payload_sha256=payload,
                item_name="x.pdf",
                batch_id=batch_id,  # type: ignore[arg-type]
                document_id=document_id,
                trust_checked=True,
            )
    assert_counters_exact(store)


def test_open_applies_every_migration_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    Store.open(path).close()
    with Store.open(path) as store:
        assert store.schema_version == len(MIGRATIONS)
        assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert store.conn.execute("PRAGMA busy_timeout").fetchone()[0] == 30000


def test_issued_certificate_lookups_use_an_index(tmp_path: Path) -> None:
    # Every organisation signature looks its certificate up: a scan of the province's list would cost
    # a few thousand rows per signature. The plans checked are those of the queries registered_unit runs.
    identity = SignerIdentity("AB" * 32, "00:0A:1B", "Sở Tài chính", None, None, True)
    with Store.open(tmp_path / "s.db") as store:
        queries: list[str] = []
        store.conn.set_trace_callback(queries.append)
        assert registered_unit(store.conn, identity) is None
        store.conn.set_trace_callback(None)
        assert len(queries) == 2, queries  # by SHA-256, then by serial
        for query in queries:
            plan = store.conn.execute(f"EXPLAIN QUERY PLAN {query}").fetchall()
            assert any("USING INDEX" in row[-1] or "USING COVERING INDEX" in row[-1] for row in plan), (query, plan)


def test_readonly_store_refuses_writes(tmp_path: Path) -> None:
    Store.open(tmp_path / "s.db").close()
    with Store.open_readonly(tmp_path / "s.db") as store, pytest.raises(sqlite3.OperationalError):
        store.conn.execute("DELETE FROM batches")


def _reading_pragmas(conn: sqlite3.Connection) -> dict[str, object]:
    return {name: conn.execute(f"PRAGMA {name}").fetchone()[0] for name in ("query_only", "busy_timeout", "mmap_size")}


def test_every_reader_opens_the_store_with_the_same_pragmas(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    Store.open(path).close()
    with Store.open_readonly(path) as store:
        through_store = _reading_pragmas(store.conn)
    with contextlib.closing(open_readonly(path)) as conn:
        conn.set_authorizer(None)  # it refuses PRAGMA reads too; the pragmas are what is compared here
        through_audit = _reading_pragmas(conn)
    assert through_store == through_audit
    assert through_store["query_only"] == 1 and through_store["busy_timeout"] == 30_000


def test_signature_and_certificate_rows_are_the_tables_columns(store: Store) -> None:
    def columns(table_name: str) -> set[str]:
        return {row[1] for row in store.conn.execute(f"PRAGMA table_info({table_name})")}

    assert {field.name for field in fields(SignatureRow)} == columns("signatures") - {"id"}
    assert {field.name for field in fields(CertificateRow)} == columns("certificates") - {"signature_count"}


def test_transaction_rolls_back_on_error(store: Store) -> None:
    with pytest.raises(RuntimeError), store.transaction():
        _batch(store)
        raise RuntimeError("bug")
    assert table(store, "SELECT count(*) FROM batches") == [(0,)]


def test_one_document_from_sender_edxml_and_both_registers(store: Store) -> None:
    _merge(store, _record())
    recipient_row = _record(
        source=Source.REGISTER,
        direction=Direction.IN,
        reporting_unit=RECIPIENT,
        recipients=(),
        channel=Channel.PAPER,
        item_name="in.csv:2",
    )
    sender_row = _record(
        source=Source.REGISTER,
        direction=Direction.OUT,
        reporting_unit=SENDER,
        recipients=(RECIPIENT, OTHER),
        channel=Channel.BOTH,
        item_name="out.csv:2",
    )
    _merge(store, recipient_row, sender_row, batch="registers")
    assert table(store, "SELECT count(*), channel, sent_over_axis FROM documents") == [(1, "both", 1)]
    assert table(store, "SELECT unit, received_electronic FROM recipients ORDER BY unit") == [
        (RECIPIENT, 1),
        (OTHER, 0),
    ]
    assert counters_of(store, SENDER) == {"outgoing": 1, "outgoing_electronic": 1, "outgoing_unsigned": 1}
    assert counters_of(store, RECIPIENT) == {"incoming": 1, "incoming_electronic": 1}
    assert table(store, "SELECT count(*) FROM document_sources") == [(3,)]


def test_recipient_register_does_not_override_edxml_channel(store: Store) -> None:
    _merge(
        store,
        _record(
            source=Source.REGISTER,
            direction=Direction.IN,
            reporting_unit=RECIPIENT,
            recipients=(),
            channel=Channel.PAPER,
        ),
    )
    assert table(store, "SELECT channel FROM documents") == [("paper",)]
    _merge(store, _record(), batch="edxml")
    assert table(store, "SELECT channel FROM documents") == [("electronic",)]


def test_merging_the_same_record_again_changes_nothing(store: Store) -> None:
    _merge(store, _record(due_date=date(2024, 3, 10)))
    before = store.counter_rows()
    _merge(store, _record(due_date=date(2024, 3, 10)), batch="again")
    assert store.counter_rows() == before
    assert table(store, "SELECT count(*) FROM recipients") == [(1,)]


def test_revoked_document_counts_nowhere(store: Store) -> None:
    _merge(store, _record())
    _merge(store, _record(document_id="rev-1", business_type=BusinessType.REVOKE, replaces=(DOC,)), batch="rev")
    assert table(store, "SELECT business_status FROM documents WHERE document_id = ?", DOC) == [("revoked",)]
    assert store.counter_rows() == []


def test_revocation_before_the_document_keeps_it_revoked(store: Store) -> None:
    _merge(store, _record(business_type=BusinessType.REVOKE), batch="rev")
    _merge(store, _record(), batch="original")
    assert table(store, "SELECT business_status, sender FROM documents") == [("revoked", SENDER)]
    assert store.counter_rows() == []


def test_replacement_moves_the_count_to_the_new_document(store: Store) -> None:
    _merge(store, _record())
    new_id = f"{SENDER},2024/03/02,2/SNV-VP"
    _merge(
        store,
        _record(
            document_id=new_id, business_type=BusinessType.REPLACE, replaces=(DOC,), promulgation_date=date(2024, 3, 2)
        ),
        batch="replace",
    )
    assert table(store, "SELECT business_status, replaced_by FROM documents WHERE document_id = ?", DOC) == [
        ("replaced", new_id)
    ]
    assert counters_of(store, SENDER)["outgoing"] == 1


def test_update_overwrites_fields(store: Store) -> None:
    _merge(store, _record(subject="old"))
    _merge(store, _record(subject="new", business_type=BusinessType.UPDATE), batch="update")
    assert table(store, "SELECT subject, business_status FROM documents") == [("new", "updated")]


def test_confidential_document_counts_only_as_confidential(store: Store) -> None:
    _merge(store, _record(confidential=True))
    assert counters_of(store, SENDER) == {"outgoing_confidential": 1}
    assert counters_of(store, RECIPIENT) == {"incoming_confidential": 1}


def test_paper_only_document_from_the_sender_register(store: Store) -> None:
    _merge(
        store, _record(source=Source.REGISTER, direction=Direction.OUT, reporting_unit=SENDER, channel=Channel.PAPER)
    )
    assert counters_of(store, SENDER) == {"outgoing": 1, "outgoing_paper": 1}


def test_person_and_organisation_signatures_make_nd30(store: Store) -> None:
    _merge(store, _record())
    _sign(store, verdict(0, kind=SignerKind.PERSON, covers_whole_file=False), verdict(1))
    assert counters_of(store, SENDER) == {
        "outgoing": 1,
        "outgoing_electronic": 1,
        "outgoing_issued_electronic": 1,
        "outgoing_signed_valid": 1,
        "outgoing_nd30": 1,
    }


def test_last_signature_not_covering_the_file_is_tampered(store: Store) -> None:
    _merge(store, _record())
    _sign(store, verdict(0, covers_whole_file=False))
    assert counters_of(store, SENDER)["invalid_tampered"] == 1
    assert "outgoing_issued_electronic" not in counters_of(store, SENDER)


@pytest.mark.parametrize(
    ("sub", "word"),
    [
        (SubIndication.HASH_FAILURE, "tampered"),
        (SubIndication.NO_CERTIFICATE_CHAIN_FOUND, "untrusted"),
        (SubIndication.REVOKED_NO_POE, "revoked"),
        (SubIndication.OUT_OF_BOUNDS_NO_POE, "expired"),
        (SubIndication.CRYPTO_CONSTRAINTS_FAILURE, "weak"),
        (SubIndication.FORMAT_FAILURE, "other"),
    ],
)
def test_failed_signature_is_counted_under_its_reason(store: Store, sub: SubIndication, word: str) -> None:
    failed = verdict(passed=False, sub=sub)
    assert reason_word(failed) == word
    _merge(store, _record())
    _sign(store, failed)
    assert counters_of(store, SENDER)[f"invalid_{word}"] == 1
    assert "outgoing_signed_valid" not in counters_of(store, SENDER)


def test_organisation_certificate_of_another_unit_is_wrong_unit(store: Store) -> None:
    store.conn.execute("INSERT INTO issued_certificates (serial, unit) VALUES ('1a2b', ?)", (OTHER,))
    _merge(store, _record())
    _sign(store, verdict())
    assert table(store, "SELECT belongs_to_sender FROM signatures") == [(0,)]
    counts = counters_of(store, SENDER)
    assert counts["invalid_wrong_unit"] == 1 and "outgoing_issued_electronic" not in counts


def test_organisation_name_match_belongs_and_unknown_name_is_not_wrong(store: Store) -> None:
    _merge(store, _record())
    with store.transaction():
        store.upsert_unit(SENDER, "Sở Nội vụ tỉnh Bắc Kạn", "edxml")
    _sign(store, verdict(common_name="SỞ NỘI VỤ TỈNH BẮC KẠN (mẫu)"), payload="named")
    _sign(store, verdict(cert="beef", common_name="Công ty Lạ"), payload="stranger")
    assert table(store, "SELECT belongs_to_sender FROM signatures ORDER BY payload_sha256") == [(1,), (None,)]


def test_same_signature_seen_twice_is_stored_once(store: Store) -> None:
    _merge(store, _record())
    _sign(store, verdict())
    _sign(store, verdict(), document_id=DOC)
    assert table(store, "SELECT count(*) FROM signatures") == [(1,)]
    assert table(store, "SELECT signature_count FROM certificates") == [(1,)]


def test_bare_signed_file_counts_nowhere_until_a_record_names_it(store: Store) -> None:
    _merge(store, _record())
    _sign(store, verdict(), document_id=None)
    assert "outgoing_signed_valid" not in counters_of(store, SENDER)
    _sign(store, verdict(), document_id=DOC)
    assert counters_of(store, SENDER)["outgoing_signed_valid"] == 1


@pytest.mark.parametrize("status_first", [False, True])
def test_completion_on_time_whether_status_comes_first_or_not(store: Store, status_first: bool) -> None:
    def add_status() -> None:
        event = StatusEvent(DOC, RECIPIENT, "06", "Hoàn thành", datetime(2024, 3, 10, 17, 0))
        with store.transaction():
            store.add_status_event(event, _batch(store, "status"))
            store.add_status_event(event, _batch(store, "status-again"))

    if status_first:
        add_status()
    _merge(store, _record(due_date=date(2024, 3, 10)))
    if not status_first:
        add_status()
    assert_counters_exact(store)
    assert counters_of(store, RECIPIENT)["incoming_due_on_time"] == 1
    assert table(store, "SELECT count(*) FROM status_events") == [(1,)]


def test_recompute_counters_repairs_a_damaged_table(store: Store) -> None:
    _merge(store, _record())
    expected = store.counter_rows()
    store.conn.execute("UPDATE unit_counters SET outgoing = 99")
    store.recompute_counters()
    assert store.counter_rows() == expected


def _year(store: Store, unit: str, year: str) -> dict[str, int] | None:
    """One year rollup row's non-zero counters (None: no row)."""
    found = [row[2:] for row in year_rows(store) if row[:2] == (unit, year)]
    if not found:
        return None
    return {name: int(value) for name, value in zip(COUNTER_COLUMNS, found[0]) if value}  # type: ignore[call-overload]


def test_year_rollup_follows_inserts_upserts_deletes_and_a_rebuild(store: Store) -> None:
    # Through ingestion (every _merge and _sign asserts the rollup equals the month rows' sums):
    _merge(store, _record())  # inserts: new month rows, new year rows
    _merge(store, _record(document_id=f"{SENDER},2024/04/02,2/SNV-VP", number="2", promulgation_date=date(2024, 4, 2)))
    _merge(store, _record(document_id=f"{SENDER},2024/03/09,3/SNV-VP", number="3", promulgation_date=date(2024, 3, 9)))
    _merge(store, _record(document_id=f"{SENDER},2025/01/05,4/SNV-VP", number="4", promulgation_date=date(2025, 1, 5)))
    _sign(store, verdict())  # an upsert onto an existing month row (UPDATE trigger)
    assert _year(store, SENDER, "2024") == {"outgoing": 3, "outgoing_electronic": 3, "outgoing_issued_electronic": 1,
                                            "outgoing_signed_valid": 1, "outgoing_unsigned": 2}  # fmt: skip
    assert _year(store, SENDER, "2025") == {"outgoing": 1, "outgoing_electronic": 1, "outgoing_unsigned": 1}
    _merge(store, _record(document_id="rev-1", business_type=BusinessType.REVOKE, replaces=(DOC,)), batch="rev")
    assert _year(store, SENDER, "2024")["outgoing"] == 2  # type: ignore[index]

    # Through plain SQL on the month rows, as a repair or a tool might write them:
    conn = store.conn
    steps = [
        "UPDATE unit_counters SET outgoing = outgoing + 10, incoming = 7",
        f"INSERT INTO unit_counters (unit, period, outgoing) VALUES ('{OTHER}', '2023-05', 4)"
        " ON CONFLICT (unit, period) DO UPDATE SET outgoing = outgoing + excluded.outgoing",
        f"INSERT INTO unit_counters (unit, period, outgoing) VALUES ('{OTHER}', '2023-05', 5)"
        " ON CONFLICT (unit, period) DO UPDATE SET outgoing = outgoing + excluded.outgoing",  # the upsert's UPDATE
        f"UPDATE unit_counters SET period = '2023-11' WHERE unit = '{SENDER}' AND period = '2025-01'",  # moves year
        f"DELETE FROM unit_counters WHERE unit = '{SENDER}' AND period = '2024-04'",
    ]
    for step in steps:
        with store.transaction():
            conn.execute(step)
        assert year_rows(store) == year_sums_of_months(store), step
    assert _year(store, OTHER, "2023") == {"outgoing": 9}
    assert _year(store, SENDER, "2025") is None  # its only month moved to 2023: no row left behind
    assert _year(store, SENDER, "2023") == {"outgoing": 11, "outgoing_electronic": 1, "outgoing_unsigned": 1,
                                            "incoming": 7}  # fmt: skip
    with store.transaction():
        conn.execute(f"DELETE FROM unit_counters WHERE unit = '{OTHER}'")
    assert _year(store, OTHER, "2023") is None  # the ranking would otherwise list OTHER with no data

    store.recompute_counters()  # deletes every month row and inserts the rebuilt ones
    assert_counters_exact(store)
    assert _year(store, SENDER, "2023") is None
    assert _year(store, SENDER, "2025") == {"outgoing": 1, "outgoing_electronic": 1, "outgoing_unsigned": 1}


def test_year_rollup_rolls_back_with_the_month_rows(store: Store) -> None:
    _merge(store, _record())
    before = year_rows(store)
    with pytest.raises(RuntimeError), store.transaction():
        store.conn.execute("UPDATE unit_counters SET outgoing = 50")
        raise RuntimeError("bug")
    assert year_rows(store) == before


def test_migrating_a_store_of_the_previous_version_backfills_the_year_rollup(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    for migration in MIGRATIONS[:4]:  # the schema before unit_year_counters
        conn.executescript(migration)
    conn.execute("PRAGMA user_version = 4")
    conn.executemany(
        "INSERT INTO unit_counters (unit, period, outgoing, outgoing_issued_electronic, incoming)"
        " VALUES (?, ?, ?, ?, ?)",
        [(SENDER, "2024-03", 5, 2, 1), (SENDER, "2024-11", 7, 7, 0), (SENDER, "2025-01", 1, 0, 0),
         (OTHER, "2024-06", 0, 0, 0)],  # an all-zero row still makes a (zero) year row
    )  # fmt: skip
    conn.commit()
    conn.close()
    with Store.open(path) as store:
        assert store.schema_version == len(MIGRATIONS)
        assert year_rows(store) == year_sums_of_months(store)
        assert _year(store, SENDER, "2024") == {"outgoing": 12, "outgoing_issued_electronic": 9, "incoming": 1}
        assert _year(store, SENDER, "2025") == {"outgoing": 1}
        assert _year(store, OTHER, "2024") == {}
        with store.transaction():  # and the triggers follow from then on
            store.conn.execute(f"UPDATE unit_counters SET outgoing = 0 WHERE unit = '{SENDER}' AND period = '2024-03'")
        assert _year(store, SENDER, "2024") == {"outgoing": 7, "outgoing_issued_electronic": 9, "incoming": 1}


def test_units_seen_get_level_and_parent(store: Store) -> None:
    with store.transaction():
        store.upsert_unit("000.00.00.H04", "UBND tỉnh Bắc Kạn", "edxml")
        store.upsert_unit("000.00.05.H04", "UBND huyện Ba Bể", "edxml")
        store.upsert_unit("000.07.05.H04", None, "register")
        store.upsert_unit("28.22.H17", None, "register")
    assert table(store, "SELECT code, level, parent, code_valid FROM units ORDER BY code") == [
        ("000.00.00.H04", "province", None, 1),
        ("000.00.05.H04", "district", "000.00.00.H04", 1),
        ("000.07.05.H04", "commune", "000.00.05.H04", 1),
        ("28.22.H17", "unknown", None, 0),
    ]


def test_classify_level_words() -> None:
    assert classify_level("000.00.00.G22", "Văn phòng Chính phủ", None) == "other"
    assert classify_level("000.00.03.H04", "Sở Tài chính", "province") == "department"
    assert classify_level("000.00.03.H04", "Ủy ban nhân dân thị xã X", None) == "district"
    assert classify_level("000.02.03.H04", "UBND Phường Y", None) == "commune"
    assert classify_level("000.02.03.H04", "Phòng Tổ chức", "department") == "other"


def test_normalise_name_ignores_diacritics_case_and_notes() -> None:
    assert normalise_name("SỞ  Tài chính (mẫu)") == normalise_name("so tai chinh")
    assert normalise_name("Ủy ban nhân dân huyện Đồng Xoài") == "ubnd huyen dong xoai"


def test_contribution_of_revoked_document_is_empty() -> None:
    state = DocState(SENDER, "2024-03", False, "electronic", True, "revoked", None, 0, False, False, False, "")
    assert contribution(state, [RecipientState(RECIPIENT, True, None)]) == {}


def test_merge_rules_without_a_database() -> None:
    # The same rules the store applies, checked on plain values: no Store, no SQL.
    recipient_row = _record(
        source=Source.REGISTER,
        direction=Direction.IN,
        reporting_unit=RECIPIENT,
        recipients=(),
        channel=Channel.PAPER,
        sender=None,
    )
    first = merged_values(None, recipient_row, BATCH_TIME)
    assert (first["sender"], first["channel"], first["period"]) == (SENDER, "paper", "2024-03")
    after_edxml = merged_values(first, _record(), BATCH_TIME)
    assert (after_edxml["channel"], after_edxml["sent_over_axis"]) == ("electronic", 1)
    assert doc_state(state_values(after_edxml)).signature_count == 0
    assert sender_from_id("not-a-code,2024/03/01,1") is None


def test_new_recipients_fold_repeated_units_like_the_upsert() -> None:
    record = _record(recipients=(RECIPIENT, OTHER, RECIPIENT))
    handled = {(DOC, OTHER): "2024-03-05T00:00:00"}
    assert new_recipients(record, handled) == ((RECIPIENT, True, None), (OTHER, True, "2024-03-05T00:00:00"))


def test_a_reader_is_not_blocked_by_a_writer_mid_batch(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    with Store.open(path) as writer:
        _merge(writer, _record())
        committed = writer.counter_rows()
        with writer.transaction():
            writer.merge_document(_record(document_id="x", number="2"), _batch(writer, "open"), BATCH_TIME)
            with Store.open_readonly(path) as reader:
                assert reader.counter_rows() == committed  # sees the last commit, at once
        with Store.open_readonly(path) as reader:
            assert reader.counter_rows() != committed
