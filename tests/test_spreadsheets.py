"""Every table docflow hands to a spreadsheet: formulas neutralised, rates and yes/no as people read them,
UTF-8 CSV that Excel reads (BOM), sheet titles Excel accepts."""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path

from openpyxl import load_workbook

from docflow.spreadsheets import CellKind, Column, Sheet, csv_text, write_csv, write_xlsx

COLUMNS = (
    Column("Đơn vị"),
    Column("Văn bản", CellKind.INTEGER),
    Column("Tỷ lệ", CellKind.RATE),
    Column("Điện tử", CellKind.YES_NO),
    Column("Ngày", CellKind.DATE),
)
ROWS = [
    ("UBND tỉnh Bắc Kạn", 62, 0.9516129032258065, True, date(2026, 11, 3)),
    ('=HYPERLINK("http://x")', -3, None, False, None),
    ("@SUM(A1)", 0, 0.0, False, date(2026, 11, 4)),
]


def test_xlsx_has_numbers_formats_words_and_no_formula(tmp_path: Path) -> None:
    path = tmp_path / "t.xlsx"
    write_xlsx(path, [Sheet("Sở/ngành: [cấp tỉnh]", COLUMNS, ROWS), Sheet("Sở/ngành: [cấp tỉnh]", COLUMNS, [])])
    book = load_workbook(path)
    assert book.sheetnames == ["Sở ngành   cấp tỉnh", "Sở ngành   cấp tỉnh (2)"]
    sheet = book.worksheets[0]
    assert [c.value for c in sheet[1]] == [column.title for column in COLUMNS]
    first = sheet[2]
    assert first[1].value == 62 and first[1].number_format == "#,##0"
    assert first[2].value == 0.9516129032258065 and first[2].number_format == "0.0%"
    assert first[3].value == "có" and sheet[3][3].value == "không"
    assert first[4].number_format == "dd/mm/yyyy"
    assert sheet[3][0].value == '\'=HYPERLINK("http://x")' and sheet[3][0].data_type == "s"
    assert sheet[4][0].value == "'@SUM(A1)"
    assert sheet[3][1].value == -3, "a negative number stays a number"
    assert not list(tmp_path.glob(".*.tmp"))


def test_csv_has_a_bom_and_reads_as_people_read(tmp_path: Path) -> None:
    text = csv_text(Sheet("x", COLUMNS, ROWS))
    assert text.startswith("\ufeffĐơn vị,")
    rows = list(csv.reader(io.StringIO(text[1:])))
    assert rows[1] == ["UBND tỉnh Bắc Kạn", "62", "95.2%", "có", "03/11/2026"]
    assert rows[2][0].startswith("'=") and rows[2][2] == "" and rows[2][3] == "không"
    assert rows[3][0] == "'@SUM(A1)"
    path = tmp_path / "t.csv"
    write_csv(path, Sheet("x", COLUMNS, ROWS))
    assert path.read_bytes().startswith(b"\xef\xbb\xbf") and "Bắc Kạn" in path.read_text(encoding="utf-8-sig")


def test_control_characters_and_bidi_overrides_never_reach_a_cell(tmp_path: Path) -> None:
    """openpyxl refuses a control character (the whole export would fail on one register subject); a bidi
    override makes a cell read otherwise than it is."""
    columns = (Column("Trích yếu\x07"),)
    rows = [("Công văn\x01 số\u202e 5",), ("\x1b[31m=1+1",)]
    path = tmp_path / "c.xlsx"
    write_xlsx(path, [Sheet("x", columns, rows)])
    sheet = load_workbook(path).worksheets[0]
    assert [sheet.cell(row=n, column=1).value for n in (1, 2, 3)] == ["Trích yếu", "Công văn số 5", "'=1+1"]
    assert list(csv.reader(io.StringIO(csv_text(Sheet("x", columns, rows))[1:]))) == [
        ["Trích yếu"],
        ["Công văn số 5"],
        ["'=1+1"],
    ]
