"""Importing the province's unit list: levels and parents from codes, overrides, malformed codes."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from click.testing import CliRunner
from helpers.db import new_store

from docflow.cli import main
from docflow.readers.lists import read_unit_file
from docflow.reports.units import import_units, load_units
from samples.province import encode_cp1258

UNITS_CSV = """code,name,parent,level
000.00.00.H04,UBND tỉnh Bắc Kạn,,
000.00.21.H04,UBND huyện Ba Bể,,
000.01.21.H04,UBND xã Thượng Giáo,,
000.02.21.H04,UBND xã Địa Linh,000.00.00.H04,xã
28.22.H17,Đơn vị mã sai,,
,Dòng thiếu mã,,
"""


def _store(tmp_path: Path) -> sqlite3.Connection:
    return new_store(tmp_path / "docflow.db")


def test_parent_from_code_and_level_from_structure(tmp_path: Path) -> None:
    path = tmp_path / "units.csv"
    path.write_text(UNITS_CSV, encoding="utf-8")
    conn = _store(tmp_path)
    result = import_units(conn, path)
    units = load_units(conn)
    assert units["000.01.21.H04"].parent == "000.00.21.H04"
    assert units["000.00.21.H04"].parent == "000.00.00.H04"
    assert units["000.00.21.H04"].level == "district"
    assert units["000.01.21.H04"].level == "commune"
    assert units["000.00.00.H04"].name == "UBND tỉnh Bắc Kạn"
    assert [item.item_name for item in result.rejected] == ["units.csv:6"]


def test_file_overrides_parent_and_level(tmp_path: Path) -> None:
    path = tmp_path / "units.csv"
    path.write_text(UNITS_CSV, encoding="utf-8")
    conn = _store(tmp_path)
    import_units(conn, path)
    linh = load_units(conn)["000.02.21.H04"]
    assert (linh.parent, linh.level) == ("000.00.00.H04", "commune")


def test_malformed_codes_are_kept_and_flagged(tmp_path: Path) -> None:
    path = tmp_path / "units.csv"
    path.write_text(UNITS_CSV, encoding="utf-8")
    conn = _store(tmp_path)
    result = import_units(conn, path)
    assert result.invalid_codes == ("28.22.H17",)
    kept = load_units(conn)["28.22.H17"]
    assert kept.code_valid is False and kept.name == "Đơn vị mã sai"


def test_json_and_cp1258_csv_with_vietnamese_headers(tmp_path: Path) -> None:
    json_path = tmp_path / "units.json"
    json_path.write_text(json.dumps({"units": [{"code": "000.00.03.H04", "name": "Sở Tài chính", "level": "sở"}]}))
    rows, rejected = read_unit_file(json_path)
    assert rows[0].level == "sở" and not rejected
    legacy = tmp_path / "don-vi.csv"
    legacy.write_bytes(encode_cp1258("Mã định danh;Tên đơn vị\n000.00.22.H04;UBND huyện Bạch Thông\n"))
    rows, rejected = read_unit_file(legacy)
    assert [(r.code, r.name) for r in rows] == [("000.00.22.H04", "UBND huyện Bạch Thông")]
    conn = _store(tmp_path)
    import_units(conn, json_path)
    assert load_units(conn)["000.00.03.H04"].level == "department"


def test_reimport_updates_instead_of_duplicating(tmp_path: Path) -> None:
    conn = _store(tmp_path)
    conn.execute("INSERT INTO units (code, name, level, source) VALUES ('000.00.21.H04', NULL, 'unknown', 'edxml')")
    path = tmp_path / "units.csv"
    path.write_text("code,name\n000.00.21.H04,UBND huyện Ba Bể\n", encoding="utf-8")
    import_units(conn, path)
    row = conn.execute("SELECT COUNT(*), name, source FROM units").fetchone()
    assert row == (1, "UBND huyện Ba Bể", "import")


def test_unreadable_file_is_a_rejected_item(tmp_path: Path) -> None:
    path = tmp_path / "units.json"
    path.write_text("{not json")
    rows, rejected = read_unit_file(path)
    assert rows == [] and "cannot read" in rejected[0].reason


def test_units_commands_import_and_list(tmp_path: Path) -> None:
    path = tmp_path / "units.csv"
    path.write_text(UNITS_CSV, encoding="utf-8")
    db = tmp_path / "docflow.db"
    runner = CliRunner()
    imported = runner.invoke(main, ["units", "--db", str(db), "import", str(path)])
    assert imported.exit_code == 0, imported.output
    assert "đã nạp 5 đơn vị" in imported.output and "28.22.H17" in imported.output
    listed = runner.invoke(main, ["units", "--db", str(db), "--json"])
    by_code = {unit["code"]: unit for unit in json.loads(listed.output)}
    assert by_code["000.01.21.H04"]["level"] == "commune"
    table = runner.invoke(main, ["units", "--db", str(db)], env={"COLUMNS": "120"})
    assert "mã sai cấu trúc" in table.output


def test_utf16_unit_list_is_imported_as_a_register_is(tmp_path: Path) -> None:
    # Excel's "Unicode text" export: UTF-16 with a BOM, tab-separated; register.decode_export reads the same bytes.
    text = "Mã định danh\tTên đơn vị\n000.00.22.H04\tUBND huyện Bạch Thông\n"
    with_bom = tmp_path / "don-vi.csv"
    with_bom.write_bytes(text.encode("utf-16"))
    without_bom = tmp_path / "don-vi-le.csv"
    without_bom.write_bytes(text.encode("utf-16-le"))
    for path in (with_bom, without_bom):
        conn = new_store(tmp_path / f"{path.stem}.db")
        result = import_units(conn, path)
        assert not result.rejected and load_units(conn)["000.00.22.H04"].name == "UBND huyện Bạch Thông"


def test_undecodable_unit_list_is_refused_with_a_reason(tmp_path: Path) -> None:
    # 0x81 is no character in Windows-1258 and starts no UTF-8 sequence: a binary file, not silently garbled.
    path = tmp_path / "units.csv"
    path.write_bytes(b"code,name\n000.00.22.H04,\x81\x8d\x8f\xc3\n")
    rows, rejected = read_unit_file(path)
    assert rows == [] and "UTF-8, UTF-16 or Windows-1258" in rejected[0].reason
