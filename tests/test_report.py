"""Summary rendering, JSON/CSV shapes, the drill-down, and the ``docflow summary`` command."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers.db import COMMUNE, DEPARTMENT, DISTRICT, PROVINCE, new_store, put_counters, put_unit
from rich.console import Console

from docflow.cli import main
from docflow.cli.summary_view import (
    CSV_FIELDS,
    render_detail,
    render_summary,
    sparkline,
    summary_csv,
    summary_json,
    unit_detail,
)
from docflow.reports.metrics import parse_period
from docflow.reports.summary import summarise

CONTRACT_FIELDS = {
    "unit", "name", "level", "parent", "outgoing", "outgoing_electronic", "outgoing_paper",
    "outgoing_signed_valid", "outgoing_nd30", "incoming", "incoming_electronic", "e_issuance_rate",
    "signature_rate", "nd30_rate", "tier", "flags",
}  # fmt: skip


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "docflow.db"
    conn = new_store(path)
    put_unit(conn, PROVINCE, "UBND tỉnh Bắc Kạn", "province")
    put_unit(conn, DEPARTMENT, "Sở Tài nguyên và Môi trường", "department", PROVINCE)
    put_unit(conn, DISTRICT, "UBND huyện Ba Bể", "district", PROVINCE)
    put_unit(conn, COMMUNE, "UBND xã Thượng Giáo", "commune", DISTRICT)
    full = dict(outgoing_electronic=20, outgoing_issued_electronic=20, outgoing_signed_valid=20, outgoing_nd30=20)
    put_counters(conn, PROVINCE, "2026-09", outgoing=20, **full)
    put_counters(conn, DEPARTMENT, "2026-09", outgoing=20, outgoing_electronic=12, outgoing_paper=8,
                 outgoing_issued_electronic=6, outgoing_signed_valid=12, outgoing_nd30=6, invalid_revoked=2,
                 incoming=10, incoming_electronic=10)  # fmt: skip
    put_counters(conn, DISTRICT, "2026-09", outgoing=20, **full)
    put_counters(conn, COMMUNE, "2026-09", outgoing=3, outgoing_paper=3)
    _put_document(conn, "doc-paper", DEPARTMENT, channel="paper", sent_over_axis=0)
    _put_document(conn, "doc-revoked", DEPARTMENT, signature_count=2, has_valid_signature=1,
                  has_valid_personal=1, invalid_reasons="revoked")  # fmt: skip
    _put_document(conn, "doc-good", DEPARTMENT, signature_count=2, has_valid_signature=1,
                  has_valid_personal=1, has_valid_organisation=1)  # fmt: skip
    conn.close()
    return path


def _put_document(conn: sqlite3.Connection, document_id: str, sender: str, **columns: object) -> None:
    values = {"document_id": document_id, "sender": sender, "period": "2026-09", "channel": "electronic",
              "sent_over_axis": 1, "promulgation_date": "2026-09-15", "subject": "Về việc báo cáo",
              **columns}  # fmt: skip
    conn.execute(
        f"INSERT INTO documents ({', '.join(values)}) VALUES ({', '.join('?' for _ in values)})",
        tuple(values.values()),
    )
    conn.commit()


def _summary(db: Path, period: str = "2026-09"):  # type: ignore[no-untyped-def]
    conn = sqlite3.connect(db)
    try:
        return summarise(conn, parse_period(period))
    finally:
        conn.close()


def _render(db: Path, width: int) -> str:
    out = io.StringIO()
    render_summary(_summary(db), Console(file=out, width=width, no_color=True, legacy_windows=False))
    return out.getvalue()


def test_json_has_contract_fields_and_fractions(db: Path) -> None:
    rows = {row["unit"]: row for row in summary_json(_summary(db))}
    assert set(rows[DEPARTMENT]) >= CONTRACT_FIELDS
    department = rows[DEPARTMENT]
    assert department["e_issuance_rate"] == pytest.approx(0.3)
    assert department["signature_rate"] == pytest.approx(1.0)
    assert department["nd30_rate"] == pytest.approx(0.5)
    assert department["tier"] == "Chưa đạt"
    assert set(department["flags"]) >= {"below_target", "paper", "personal_only", "invalid_signatures"}
    assert department["invalid"]["revoked"] == 2
    assert rows[COMMUNE]["signature_rate"] is None and rows[COMMUNE]["tier"] == "Không xếp hạng"
    json.dumps(list(rows.values()))  # serialisable as is


def test_csv_has_one_row_per_unit_with_contract_columns(db: Path) -> None:
    text = summary_csv(_summary(db))
    assert text.startswith("\ufeff"), "the BOM Excel needs to read UTF-8"
    reader = csv.DictReader(io.StringIO(text[1:]))
    rows = list(reader)
    assert tuple(reader.fieldnames or ()) == CSV_FIELDS
    assert set(CSV_FIELDS) >= CONTRACT_FIELDS
    assert len(rows) == 4
    commune = next(row for row in rows if row["unit"] == COMMUNE)
    assert commune["signature_rate"] == "" and commune["flags"] == "paper"
    department = next(row for row in rows if row["unit"] == DEPARTMENT)
    assert (department["e_issuance_rate"], department["nd30_rate"], department["code_valid"]) == (
        "30.0%",
        "50.0%",
        "có",
    )


def test_table_shows_vietnamese_names_levels_and_flags(db: Path) -> None:
    text = _render(db, 200)
    assert "Sở Tài nguyên và Môi trường" in text
    assert "Cấp xã" in text and "chỉ tiêu phát hành điện tử 60%" in text
    assert "dưới chỉ tiêu" in text and "Chưa đạt" in text
    assert text.index("Cấp tỉnh") < text.index("Sở, ban, ngành") < text.index("Cấp huyện") < text.index("Cấp xã")
    assert "\x1b[" not in text


def test_narrow_terminal_drops_low_priority_columns(db: Path) -> None:
    wide, narrow = _render(db, 200), _render(db, 60)
    header = next(line for line in narrow.splitlines() if "Đơn vị" in line)
    assert "Đúng hạn" in wide and "Đúng hạn" not in header and "Không in vì không đủ chỗ" in narrow
    assert "PHĐT" in narrow and "Xếp loại" in narrow
    assert all(len(line) <= 60 for line in narrow.splitlines())


def test_sparkline_uses_an_absolute_scale() -> None:
    assert sparkline((0.0, 0.5, 1.0, None)) == "▁▅█·"


def test_drill_down_lists_failed_documents_with_reasons(db: Path) -> None:
    conn = sqlite3.connect(db)
    detail = unit_detail(conn, DEPARTMENT, parse_period("2026-09"))
    conn.close()
    problems = {failed.document_id: failed.problems for failed in detail.failed}
    assert set(problems) == {"doc-paper", "doc-revoked"}
    assert problems["doc-paper"] == ("paper",)
    assert "no_organisation_signature" in problems["doc-revoked"] and "revoked" in problems["doc-revoked"]
    out = io.StringIO()
    render_detail(detail, parse_period("2026-09"), Console(file=out, width=120))
    assert "chứng thư đã bị thu hồi" in out.getvalue()


def test_summary_command_json_csv_and_fail_on_flags(db: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(main, ["summary", "--db", str(db), "--period", "2026-09", "--json"])
    assert result.exit_code == 0, result.output
    assert {row["unit"] for row in json.loads(result.output)} == {PROVINCE, DEPARTMENT, DISTRICT, COMMUNE}
    flagged = runner.invoke(main, ["summary", "--db", str(db), "--period", "2026-09", "--fail-on-flags", "--csv"])
    assert flagged.exit_code == 1
    assert flagged.output.startswith("\ufeffunit,name,level")
    calm = runner.invoke(main, ["summary", "--db", str(db), "--level", "district", "--period", "2026-09",
                                "--fail-on-flags"])  # fmt: skip
    assert calm.exit_code == 0, calm.output
    assert "UBND huyện Ba Bể" in calm.output


def test_summary_command_defaults_to_latest_year_and_drills_down(db: Path) -> None:
    runner = CliRunner()
    table = runner.invoke(main, ["summary", "--db", str(db)], env={"NO_COLOR": "1", "COLUMNS": "160"})
    assert table.exit_code == 0, table.output
    assert "kỳ 2026 (năm gần nhất có dữ liệu)" in table.output
    drill = runner.invoke(main, ["summary", "--db", str(db), "--unit", DEPARTMENT, "--json"])
    assert drill.exit_code == 0, drill.output
    assert {d["document_id"] for d in json.loads(drill.output)["failed_documents"]} == {"doc-paper", "doc-revoked"}


def test_summary_command_rejects_bad_period_and_missing_store(db: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    bad = runner.invoke(main, ["summary", "--db", str(db), "--period", "2026-13"])
    assert bad.exit_code == 2 and "2026-Q3" in bad.output
    missing = runner.invoke(main, ["summary", "--db", str(tmp_path / "none.db")])
    assert missing.exit_code == 1 and "không có kho dữ liệu" in missing.output


def test_docflow_toml_sets_store_and_targets(db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    runner = CliRunner()
    monkeypatch.chdir(tmp_path)
    Path("docflow.toml").write_text(
        f'[paths]\ndb = "{db.as_posix()}"\n\n[summary]\nmin_documents = 1\n\n[summary.targets]\ncommune = 0.01\n',
        encoding="utf-8",
    )
    result = runner.invoke(main, ["summary", "--period", "2026-09", "--json"])
    assert result.exit_code == 0, result.output
    commune = next(row for row in json.loads(result.output) if row["unit"] == COMMUNE)
    assert commune["tier"] == "Chưa đạt"  # 3 documents now rank; 0 % is below even a 1 % target
    Path("docflow.toml").write_text("[summary]\nmin_documents = 'ten'\n", encoding="utf-8")
    broken = runner.invoke(main, ["summary", "--db", str(db)])
    assert broken.exit_code == 2 and "min_documents" in broken.output
