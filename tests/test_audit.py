"""Read-only SQL enforcement, the audit views, and one document's trail."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers.db import DEPARTMENT, new_store, put_counters, put_unit

from docflow.cli import main
from docflow.reports.audit import ReadOnlyError, audit_trail, open_readonly, run_sql

DOCUMENT = f"{DEPARTMENT},2026/09/15,12/STC-VP"
CHECKS = [
    {"name": "message_digest", "outcome": "passed", "detail": ""},
    {"name": "revocation", "outcome": "failed", "detail": "certificate revoked on 2026-09-01"},
]


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "docflow.db"
    conn = new_store(path)
    put_unit(conn, DEPARTMENT, "Sở Tài chính", "department")
    put_counters(conn, DEPARTMENT, "2026-09", outgoing=4, outgoing_electronic=4, outgoing_issued_electronic=3)
    for batch_id, name in ((1, "so-tai-chinh-2026-09.zip"), (2, "so-tai-chinh-so-di.csv")):
        conn.execute(
            "INSERT INTO batches (id, file_name, sha256, size_bytes, kind, received_at, processed_at, outcome)"
            " VALUES (?, ?, ?, 100, 'zip', ?, ?, 'ingested')",
            (batch_id, name, f"{batch_id:064x}", f"2026-09-1{batch_id}T01:00:00Z", f"2026-09-1{batch_id}T01:00:05Z"),
        )
    conn.execute(
        "INSERT INTO documents (document_id, sender, period, channel, sent_over_axis, signature_count,"
        " subject, promulgation_date) VALUES (?, ?, '2026-09', 'electronic', 1, 2, 'Về dự toán', '2026-09-15')",
        (DOCUMENT, DEPARTMENT),
    )
    conn.executemany(
        "INSERT INTO document_sources (document_id, batch_id, item_name, source) VALUES (?, ?, ?, ?)",
        [(DOCUMENT, 1, "12-STC-VP.edxml", "edxml"), (DOCUMENT, 2, "so-tai-chinh-so-di.csv:3", "register")],
    )
    for idx, (indication, kind) in enumerate((("TOTAL_PASSED", "person"), ("TOTAL_FAILED", "organisation"))):
        conn.execute(
            "INSERT INTO signatures (payload_sha256, idx, document_id, batch_id, item_name, indication,"
            " subindication, reason, signing_time_source, kind, belongs_to_sender, checks_json, signer_subject)"
            " VALUES ('ab', ?, ?, 1, '12-STC-VP.pdf', ?, ?, ?, 'timestamp', ?, 1, ?, ?)",
            (idx, DOCUMENT, indication, None if idx == 0 else "REVOKED",
             "ok" if idx == 0 else "The certificate was revoked before signing.", kind, json.dumps(CHECKS),
             f"CN=Signer {idx}"),
        )  # fmt: skip
    conn.execute(
        "INSERT INTO status_events (document_id, reporting_unit, code, description, timestamp, batch_id, item_name)"
        " VALUES (?, '000.00.00.H04', '06', 'Hoàn thành', '2026-09-20T08:00:00', 1, 'status-06.edxml')",
        (DOCUMENT,),
    )
    conn.commit()
    conn.close()
    return path


REFUSED = [
    "INSERT INTO units (code) VALUES ('x')",
    "UPDATE units SET name = 'x'",
    "DELETE FROM units",
    "CREATE TABLE t (a)",
    "CREATE TEMP TABLE t (a)",
    "DROP TABLE units",
    "ATTACH DATABASE ':memory:' AS other",
    "PRAGMA journal_mode = DELETE",
    "PRAGMA query_only = OFF",
    "PRAGMA user_version = 7",
    "SELECT load_extension('/tmp/evil.so')",
]


@pytest.mark.parametrize("query", REFUSED)
def test_writes_attach_pragma_changes_and_extensions_are_refused(db: Path, query: str) -> None:
    conn = open_readonly(db)
    with pytest.raises(ReadOnlyError, match="refused|query failed|từ chối|truy vấn lỗi"):
        run_sql(conn, query)
    conn.close()
    check = sqlite3.connect(db)
    assert check.execute("SELECT COUNT(*) FROM units").fetchone()[0] == 1
    assert check.execute("PRAGMA user_version").fetchone()[0] > 0
    assert check.execute("SELECT COUNT(*) FROM sqlite_master WHERE name = 't'").fetchone()[0] == 0


def test_reads_and_introspection_pragmas_work(db: Path) -> None:
    conn = open_readonly(db)
    result = run_sql(conn, "SELECT code, name FROM units")
    assert result.columns == ("code", "name") and result.rows == ((DEPARTMENT, "Sở Tài chính"),)
    assert any(row[1] == "code" for row in run_sql(conn, "PRAGMA table_info(units)").rows)
    assert run_sql(conn, "PRAGMA journal_mode").rows


def test_sql_command_reports_refusal_and_prints_json_csv(db: Path) -> None:
    runner = CliRunner()
    refused = runner.invoke(main, ["sql", "--db", str(db), "DELETE FROM units"])
    assert refused.exit_code == 1 and "chỉ đọc" in refused.output
    as_json = runner.invoke(main, ["sql", "--db", str(db), "SELECT code, level FROM units", "--json"])
    assert json.loads(as_json.output) == [{"code": DEPARTMENT, "level": "department"}]
    as_csv = runner.invoke(main, ["sql", "--db", str(db), "SELECT code FROM units", "--csv"])
    assert as_csv.output.splitlines() == ["\ufeffcode", DEPARTMENT]


def test_views_answer_audit_questions(db: Path) -> None:
    conn = open_readonly(db)
    failed = run_sql(conn, "SELECT document_id, subindication, batch_file FROM v_failed_signatures")
    assert failed.rows == ((DOCUMENT, "REVOKED", "so-tai-chinh-2026-09.zip"),)
    rates = run_sql(conn, "SELECT unit, name, e_issuance_rate FROM v_unit_rates").rows
    assert rates == ((DEPARTMENT, "Sở Tài chính", 0.75),)
    trail = run_sql(
        conn, "SELECT file_name FROM v_document_trail WHERE document_id = ? ORDER BY received_at", (DOCUMENT,)
    )
    assert trail.rows == (("so-tai-chinh-2026-09.zip",), ("so-tai-chinh-so-di.csv",))


def test_audit_trail_has_batches_verdicts_and_events(db: Path) -> None:
    conn = open_readonly(db)
    trail = audit_trail(conn, DOCUMENT)
    assert trail is not None
    assert [s.file_name for s in trail.sources] == ["so-tai-chinh-2026-09.zip", "so-tai-chinh-so-di.csv"]
    assert trail.sources[0].sha256 == f"{1:064x}"
    assert [s.value("indication") for s in trail.signatures] == ["TOTAL_PASSED", "TOTAL_FAILED"]
    assert trail.signatures[1].checks[1] == ("revocation", "failed", "certificate revoked on 2026-09-01")
    assert [(e.code, e.batch_file) for e in trail.status_events] == [("06", "so-tai-chinh-2026-09.zip")]
    assert audit_trail(conn, "no-such-document") is None


def test_audit_command_prints_the_trail_and_suggests_ids(db: Path) -> None:
    runner = CliRunner()
    shown = runner.invoke(main, ["audit", "--db", str(db), DOCUMENT], env={"COLUMNS": "160"})
    assert shown.exit_code == 0, shown.output
    assert "so-tai-chinh-so-di.csv" in shown.output and "revoked before signing" in shown.output
    as_json = json.loads(runner.invoke(main, ["audit", "--db", str(db), DOCUMENT, "--json"]).output)
    assert as_json["signatures"][1]["checks"][1]["outcome"] == "failed"
    missing = runner.invoke(main, ["audit", "--db", str(db), "12/STC"])
    assert missing.exit_code == 1 and DOCUMENT in missing.output


def test_audit_trail_speaks_the_readers_language(db: Path) -> None:
    args = ["audit", "--db", str(db), DOCUMENT]
    env = {"COLUMNS": "160", "DOCFLOW_LANG": ""}
    vietnamese = CliRunner().invoke(main, args, env=env).output
    english = CliRunner().invoke(main, ["--lang", "en", *args], env=env).output
    assert "Lô dữ liệu chứa văn bản" in vietnamese and "Chữ ký 1" in vietnamese and "Trạng thái xử lý" in vietnamese
    assert "Batches holding the document" in english and "Signature 1" in english and "Processing status" in english
    assert "Lô dữ liệu" not in english and "Nơi nhận" not in english
    # What the store holds is shown as stored, in either language.
    assert "revoked before signing" in vietnamese and "revoked before signing" in english
    missing = CliRunner().invoke(main, ["--lang", "en", "audit", "--db", str(db), "12/STC"], env=env)
    assert "no document '12/STC' in the store; did you mean:" in missing.output
    missing = CliRunner().invoke(main, ["audit", "--db", str(db), "12/STC"], env=env)
    assert "không có văn bản '12/STC' trong kho dữ liệu; có phải ý bạn là:" in missing.output
