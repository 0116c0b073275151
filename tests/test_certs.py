"""The certificate review: per unit, expiring, wrong-unit signatures, issued but unused."""

from __future__ import annotations

import json
import sqlite3
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers.db import DEPARTMENT, DISTRICT, new_store

from docflow.cli import main
from docflow.reports.certs import import_issued, review_certificates
from docflow.store.ownership import normalise_serial

AS_OF = date(2026, 11, 1)


@pytest.fixture
def conn(tmp_path: Path) -> sqlite3.Connection:
    conn = new_store(tmp_path / "docflow.db")
    certificates = [
        # sha256, serial, common name, kind, unit, not_after, last_used, signature count
        ("aa" * 32, "0a1b", "SỞ TÀI CHÍNH", "organisation", DEPARTMENT, "2030-03-12", "2026-10-30", 40),
        ("bb" * 32, "0c2d", "Nguyễn Văn An", "person", DEPARTMENT, "2026-11-20", "2026-10-29", 35),
        ("cc" * 32, "0e3f", "UBND HUYỆN BA BỂ", "organisation", DISTRICT, "2029-01-01", "2026-03-01", 4),
    ]
    conn.executemany(
        "INSERT INTO certificates (sha256, serial, common_name, kind, unit, not_after, first_used, last_used,"
        " signature_count) VALUES (?, ?, ?, ?, ?, ?, '2026-01-05', ?, ?)",
        certificates,
    )
    conn.execute("INSERT INTO batches (id, file_name, sha256, size_bytes, kind, received_at, processed_at, outcome)"
                 " VALUES (1, 'b.zip', 'ff', 1, 'zip', '', '', 'ingested')")  # fmt: skip
    conn.execute("INSERT INTO documents (document_id, sender, period, channel)"
                 " VALUES ('d1', ?, '2026-10', 'electronic')", (DISTRICT,))  # fmt: skip
    conn.execute(
        "INSERT INTO signatures (payload_sha256, idx, document_id, batch_id, item_name, indication, reason,"
        " signing_time_source, kind, belongs_to_sender, checks_json, signer_subject, cert_sha256, signing_time)"
        " VALUES ('p', 1, 'd1', 1, 'd1.pdf', 'TOTAL_PASSED', 'ok', 'timestamp', 'organisation', 0, '[]',"
        " 'CN=SỞ TÀI CHÍNH', ?, '2026-10-02T03:00:00+00:00')",
        ("aa" * 32,),
    )
    conn.commit()
    return conn


def _issued_csv(tmp_path: Path) -> Path:
    path = tmp_path / "issued.csv"
    path.write_text(
        "serial,unit,holder,kind,not_after\n"
        f"0A:1B,{DEPARTMENT},Sở Tài chính,organisation,2030-03-12\n"
        f"00ee,{DEPARTMENT},Trần Thị Bình,person,2028-01-01\n"
        f"0e3f,{DISTRICT},UBND huyện Ba Bể,organisation,2029-01-01\n"
        f"0f,{DISTRICT},Hoàng Văn Cường,person,2025-12-31\n"
        ",,missing,,\n",
        encoding="utf-8",
    )
    return path


def test_serials_normalise_to_verdict_form() -> None:
    assert normalise_serial("0A:1B") == normalise_serial("0x0a1b") == "a1b"


def test_certificates_per_unit_and_expiring(conn: sqlite3.Connection) -> None:
    review = review_certificates(conn, expiring_days=30, as_of=AS_OF)
    assert {cert.unit for cert in review.seen} == {DEPARTMENT, DISTRICT}
    assert [cert.common_name for cert in review.expiring] == ["Nguyễn Văn An"]
    assert review_certificates(conn, expiring_days=0, as_of=AS_OF).expiring == ()


def test_wrong_unit_signatures_are_listed(conn: sqlite3.Connection) -> None:
    wrong = review_certificates(conn, as_of=AS_OF).wrong_unit
    assert [(w.document_id, w.sender, w.cert_sha256) for w in wrong] == [("d1", DISTRICT, "aa" * 32)]


def test_issued_list_review(conn: sqlite3.Connection, tmp_path: Path) -> None:
    result = import_issued(conn, _issued_csv(tmp_path))
    assert result.imported == 4 and len(result.rejected) == 1
    statuses = {use.serial: use.status for use in review_certificates(conn, as_of=AS_OF).issued}
    assert statuses == {"a1b": "in_use", "ee": "never_used", "e3f": "no_longer_used", "f": "expired"}


def test_certs_commands(conn: sqlite3.Connection, tmp_path: Path) -> None:
    db = tmp_path / "docflow.db"
    conn.close()
    runner = CliRunner()
    imported = runner.invoke(main, ["certs", "import", str(_issued_csv(tmp_path)), "--db", str(db)])
    assert imported.exit_code == 0, imported.output
    assert "đã nạp 4" in imported.output and "row 6" in imported.output and "a unit code" in imported.output
    shown = runner.invoke(main, ["certs", "--db", str(db), "--expiring-days", "3650"], env={"COLUMNS": "160"})
    assert shown.exit_code == 0, shown.output
    assert "chưa từng sử dụng" in shown.output and "Nguyễn Văn An" in shown.output
    as_json = json.loads(runner.invoke(main, ["certs", "--db", str(db), "--json"]).output)
    assert {"certificates", "expiring", "wrong_unit_signatures", "issued"} <= set(as_json)


def test_utf16_issued_list_is_imported(conn: sqlite3.Connection, tmp_path: Path) -> None:
    path = tmp_path / "issued.csv"
    path.write_bytes(_issued_csv(tmp_path).read_text(encoding="utf-8").encode("utf-16"))
    result = import_issued(conn, path)
    assert result.imported == 4 and len(result.rejected) == 1


def test_certs_table_speaks_the_readers_language(conn: sqlite3.Connection, tmp_path: Path) -> None:
    # Issue 18 §5: "Loại: tổ chức / cá nhân"; stored values (kind = organisation) stay English in the store/JSON.
    conn.close()
    args = ["certs", "--db", str(tmp_path / "docflow.db"), "--expiring-days", "3650"]
    env = {"COLUMNS": "160", "DOCFLOW_LANG": ""}
    vietnamese = CliRunner().invoke(main, args, env=env).output
    english = CliRunner().invoke(main, ["--lang", "en", *args], env=env).output
    assert "Loại" in vietnamese and "tổ chức" in vietnamese and "cá nhân" in vietnamese
    assert "Chứng thư số đã thấy theo đơn vị" in vietnamese
    assert "Kind" in english and "organisation" in english and "person" in english
    assert "Certificates seen, by unit" in english
    assert "tổ chức" not in english and "Loại" not in english
    assert '"kind": "organisation"' in CliRunner().invoke(main, [*args, "--json"], env=env).output
