"""Importing units with a life span and successors: the unit list's columns and the "before → after" list."""

from __future__ import annotations

import sqlite3
from datetime import date
from pathlib import Path

import pytest
from helpers.db import new_store

from docflow.reports.units import import_units, load_units

ENGLISH = """code,name,level,valid_from,valid_to,successors
000.00.00.H04,UBND tỉnh Bắc Kạn,province,,2025-06-30,000.00.00.H56
000.00.00.H56,UBND tỉnh Thái Nguyên,province,,,
000.00.21.H04,UBND huyện Ba Bể,district,,2025-06-30,
000.01.21.H04,UBND xã A,commune,,2025-06-30,000.05.00.H56; 000.06.00.H56
"""

VIETNAMESE = """Mã định danh;Tên;Cấp;Hiệu lực từ;Hiệu lực đến;Đơn vị kế thừa
000.00.00.H04;UBND tỉnh Bắc Kạn;tỉnh;;30/06/2025;000.00.00.H56
000.00.00.H56;UBND tỉnh Thái Nguyên;tỉnh;;;
000.00.21.H04;UBND huyện Ba Bể;huyện;;30/06/2025;
000.01.21.H04;UBND xã A;xã;;30/06/2025;000.05.00.H56, 000.06.00.H56
"""

CHANGES_EN = """old_code,old_name,new_code,new_name,effective_date
000.01.21.H04,UBND xã A,000.05.00.H56,UBND xã Mới,2025-07-01
000.02.21.H04,UBND xã B,000.05.00.H56,UBND xã Mới,2025-07-01
000.03.21.H04,UBND xã C,000.06.00.H56,UBND xã Tách Một,2025-07-01
000.03.21.H04,UBND xã C,000.07.00.H56,UBND xã Tách Hai,2025-07-01
000.00.21.H04,UBND huyện Ba Bể,,,2025-07-01
"""

CHANGES_VI = """Mã cũ,Tên cũ,Mã mới,Tên mới,Ngày hiệu lực
000.01.21.H04,UBND xã A,000.05.00.H56,UBND xã Mới,01/07/2025
000.02.21.H04,UBND xã B,000.05.00.H56,UBND xã Mới,01/07/2025
000.03.21.H04,UBND xã C,000.06.00.H56,UBND xã Tách Một,01/07/2025
000.03.21.H04,UBND xã C,000.07.00.H56,UBND xã Tách Hai,01/07/2025
000.00.21.H04,UBND huyện Ba Bể,,,01/07/2025
"""


def _import(tmp_path: Path, text: str, conn: sqlite3.Connection | None = None) -> sqlite3.Connection:
    conn = conn or new_store(tmp_path / "docflow.db")
    path = tmp_path / "list.csv"
    path.write_text(text, encoding="utf-8")
    result = import_units(conn, path)
    assert not result.rejected
    return conn


def _successors(conn: sqlite3.Connection) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for code, successor in conn.execute("SELECT code, successor FROM unit_successors ORDER BY code, position"):
        found.setdefault(code, []).append(successor)
    return found


@pytest.mark.parametrize("text", [ENGLISH, VIETNAMESE], ids=["english", "vietnamese"])
def test_unit_list_with_life_spans(tmp_path: Path, text: str) -> None:
    conn = _import(tmp_path, text)
    units = load_units(conn)
    assert units["000.00.00.H04"].valid_to == "2025-06-30"
    assert units["000.00.00.H04"].in_force("2025-06-30") and not units["000.00.00.H04"].in_force("2025-07-01")
    assert units["000.00.00.H56"].valid_to is None and units["000.00.00.H56"].in_force("2026-09-30")
    assert units["000.00.21.H04"].level == "district"
    assert _successors(conn) == {
        "000.00.00.H04": ["000.00.00.H56"],
        "000.01.21.H04": ["000.05.00.H56", "000.06.00.H56"],
    }


@pytest.mark.parametrize("text", [CHANGES_EN, CHANGES_VI], ids=["english", "vietnamese"])
def test_before_after_list(tmp_path: Path, text: str) -> None:
    conn = _import(tmp_path, text)
    units = load_units(conn)
    assert units["000.01.21.H04"].valid_to == "2025-06-30"
    assert units["000.05.00.H56"].valid_from == "2025-07-01" and units["000.05.00.H56"].valid_to is None
    assert units["000.05.00.H56"].name == "UBND xã Mới"
    assert _successors(conn) == {
        "000.01.21.H04": ["000.05.00.H56"],
        "000.02.21.H04": ["000.05.00.H56"],
        "000.03.21.H04": ["000.06.00.H56", "000.07.00.H56"],  # a split, in row order
    }
    assert units["000.00.21.H04"].valid_to == "2025-06-30"  # dissolved: ended, no successor


def test_before_after_list_keeps_the_levels_of_an_earlier_list(tmp_path: Path) -> None:
    conn = _import(tmp_path, "code,name,level\n000.00.21.H04,UBND huyện Ba Bể,district\n000.05.00.H56,Xã Mới,xã\n")
    _import(tmp_path, CHANGES_EN, conn)
    units = load_units(conn)
    assert units["000.05.00.H56"].level == "commune"
    assert units["000.00.21.H04"].level == "district" and units["000.00.21.H04"].name == "UBND huyện Ba Bể"


def test_a_list_without_life_span_columns_leaves_them_as_stored(tmp_path: Path) -> None:
    conn = _import(tmp_path, ENGLISH)
    _import(tmp_path, "code,name\n000.00.00.H04,Tỉnh Bắc Kạn (cũ)\n", conn)
    assert load_units(conn)["000.00.00.H04"].valid_to == "2025-06-30"
    assert _successors(conn)["000.00.00.H04"] == ["000.00.00.H56"]


def test_a_corrected_lineage_replaces_the_successors(tmp_path: Path) -> None:
    conn = _import(tmp_path, ENGLISH)
    _import(tmp_path, "code,valid_to,successors\n000.01.21.H04,2025-06-30,000.07.00.H56\n", conn)
    assert _successors(conn)["000.01.21.H04"] == ["000.07.00.H56"]


def test_an_unreadable_date_is_refused_with_its_row(tmp_path: Path) -> None:
    conn = new_store(tmp_path / "docflow.db")
    path = tmp_path / "list.csv"
    path.write_text("code,valid_to\n000.00.00.H04,31 June\n000.00.00.H56,\n", encoding="utf-8")
    result = import_units(conn, path)
    assert [item.reason for item in result.rejected] == [
        "the date '31 June' is not a date; write dd/mm/yyyy, dd/mm/yy, yyyy-mm-dd or yyyy/mm/dd and import again"
    ]
    assert set(load_units(conn)) == {"000.00.00.H56"}


def _workbook(path: Path, rows: list[list[object]]) -> Path:
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    workbook.save(path)
    return path


def test_an_xlsx_before_after_list_with_dates_as_excel_keeps_them(tmp_path: Path) -> None:
    conn = new_store(tmp_path / "docflow.db")
    path = _workbook(
        tmp_path / "sap-nhap.xlsx",
        [
            ["Mã cũ", "Tên cũ", "Mã mới", "Tên mới", "Ngày hiệu lực"],
            ["000.01.21.H04", "UBND xã A", "000.05.00.H56", "UBND xã Ba Bể", date(2025, 7, 1)],
            ["000.02.21.H04", "UBND xã B", "000.05.00.H56", "UBND xã Ba Bể", date(2025, 7, 1)],
        ],
    )
    result = import_units(conn, path)
    assert not result.rejected
    units = load_units(conn)
    assert units["000.01.21.H04"].valid_to == "2025-06-30"
    assert units["000.05.00.H56"].valid_from == "2025-07-01"
    # No district above it in the two-tier structure: its name makes it a commune, whatever the code's depth.
    assert units["000.05.00.H56"].level == "commune"


def test_an_xlsx_unit_list(tmp_path: Path) -> None:
    conn = new_store(tmp_path / "docflow.db")
    path = _workbook(
        tmp_path / "don-vi.xlsx",
        [
            ["code", "name", "valid_to", "successors"],
            ["000.00.00.H04", "UBND tỉnh Bắc Kạn", "30/06/2025", "000.00.00.H56"],
        ],
    )
    assert not import_units(conn, path).rejected
    assert load_units(conn)["000.00.00.H04"].valid_to == "2025-06-30"
    assert _successors(conn) == {"000.00.00.H04": ["000.00.00.H56"]}


def test_a_file_that_is_not_a_workbook_is_refused_with_a_reason(tmp_path: Path) -> None:
    conn = new_store(tmp_path / "docflow.db")
    path = tmp_path / "don-vi.xlsx"
    path.write_bytes(b"not a zip")
    result = import_units(conn, path)
    assert [item.reason for item in result.rejected] == [
        "cannot read the unit list: it is not a readable .xlsx workbook; save it again from Excel, or as a UTF-8 CSV"
    ]
