"""Issue 17: the exports clerks really make — Excel's "Unicode Text" register, dd/mm/yy dates, a certificate list
with Vietnamese headers, and ``--period 10/2025``."""

from __future__ import annotations

import codecs
import json
import sqlite3
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers.db import DEPARTMENT, DISTRICT, new_store, put_counters, put_unit
from helpers.edxml import write_zip

from docflow.cli import main
from docflow.ingest.run import ingest_batch
from docflow.readers.lists import read_unit_file
from docflow.readers.register import read_register
from docflow.readers.text import parse_document_date
from docflow.records import DocumentRecord, RejectedItem
from docflow.reports.certs import import_issued, review_certificates
from docflow.reports.metrics import Period, PeriodKind, parse_period
from docflow.store.core import Store

UNIT = "000.00.01.H04"
VIETNAMESE_HEADER = ["Mã đơn vị", "Hướng", "Số", "Ký hiệu", "Ngày ban hành", "Loại", "Kênh", "Mật", "Trích yếu"]
ROWS = [
    [UNIT, "đi", "12", "UBND-VP", "11/5/26", "Công văn", "điện tử", "0", "Về việc A"],
    [UNIT, "đi", "13", "UBND-VP", "02/03/2026", "Quyết định", "giấy", "0", 'Về việc "B"\tvà C'],
]


def _excel_unicode_text(rows: list[list[str]]) -> bytes:
    """As Excel's "Save as: Unicode Text (*.txt)" writes: UTF-16 LE with a BOM, tabs, CRLF, quotes doubled."""

    def field(value: str) -> str:
        return '"' + value.replace('"', '""') + '"' if any(c in value for c in '\t"\n') else value

    text = "".join("\t".join(map(field, row)) + "\r\n" for row in rows)
    return codecs.BOM_UTF16_LE + text.encode("utf-16-le")


def test_an_excel_unicode_text_register_is_read_like_the_csv(tmp_path: Path, store: Store) -> None:
    path = tmp_path / "so-di.txt"
    path.write_bytes(_excel_unicode_text([["SỔ ĐĂNG KÝ VĂN BẢN ĐI"], VIETNAMESE_HEADER, *ROWS]))
    outcome = ingest_batch(path, store, None)
    assert (outcome.outcome, outcome.documents, outcome.rejected_items) == ("ingested", 2, 0), outcome
    rows = store.conn.execute("SELECT number, promulgation_date, subject FROM documents ORDER BY number").fetchall()
    assert rows == [("12", "2026-05-11", "Về việc A"), ("13", "2026-03-02", 'Về việc "B"\tvà C')]


def test_a_unicode_text_register_inside_a_zip_is_read_too(tmp_path: Path, store: Store) -> None:
    batch = write_zip(tmp_path / "b.zip", {"so-di.txt": _excel_unicode_text([VIETNAMESE_HEADER, *ROWS])})
    outcome = ingest_batch(batch, store, None)
    assert (outcome.documents, outcome.rejected_items) == (2, 0), outcome


@pytest.mark.parametrize(
    ("text", "day"),
    [
        ("11/5/26", date(2026, 5, 11)),
        ("1/12/25", date(2025, 12, 1)),
        ("31/12/99", date(2099, 12, 31)),
        ("11/5/26 08:30", date(2026, 5, 11)),
        ("11/05/2026", date(2026, 5, 11)),
        ("2026-05-11", date(2026, 5, 11)),
    ],
)
def test_dates_are_day_first_and_a_two_digit_year_is_20yy(text: str, day: date) -> None:
    assert parse_document_date(text) == day


@pytest.mark.parametrize("text", ["31/2/26", "11/13/26", "11/5/2", "11/5/026", "5/11"])
def test_what_is_not_a_date_stays_refused(text: str) -> None:
    assert parse_document_date(text) is None


def test_a_register_row_with_a_short_year_is_a_document_and_a_wrong_date_says_what_to_write() -> None:
    header = "unit_code,direction,number,notation,date,channel\n"
    data = (header + f"{UNIT},out,1,VP,11/5/26,paper\n{UNIT},out,2,VP,32/5/26,paper\n").encode()
    record, refused = read_register("r.csv", data)
    assert isinstance(record, DocumentRecord) and record.promulgation_date == date(2026, 5, 11)
    assert isinstance(refused, RejectedItem) and "dd/mm/yy" in refused.reason


@pytest.fixture
def conn(tmp_path: Path) -> sqlite3.Connection:
    return new_store(tmp_path / "docflow.db")


def test_a_certificate_list_with_vietnamese_headers_is_imported(conn: sqlite3.Connection, tmp_path: Path) -> None:
    path = tmp_path / "chung-thu-so.csv"
    path.write_text(
        "\ufeffSố hiệu;Mã đơn vị;Người được cấp;Loại;Ngày hết hạn;SHA-256\n"
        f"0A:1B;{DEPARTMENT};Sở Tài chính;organisation;31/12/2030;{'AB:' * 31}AB\n"
        f"0F;{DISTRICT};Hoàng Văn Cường;person;31/12/2025;\n",
        encoding="utf-8",
    )
    result = import_issued(conn, path)
    assert (result.imported, result.rejected) == (2, ())
    rows = conn.execute("SELECT serial, unit, holder, not_after, sha256 FROM issued_certificates ORDER BY serial")
    assert rows.fetchall() == [
        ("a1b", DEPARTMENT, "Sở Tài chính", "2030-12-31", "ab" * 32),
        ("f", DISTRICT, "Hoàng Văn Cường", "2025-12-31", None),
    ]
    statuses = {use.serial: use.status for use in review_certificates(conn, as_of=date(2026, 11, 1)).issued}
    assert statuses["f"] == "expired"  # the day-first expiry was understood


def test_the_other_vietnamese_names_of_the_columns(conn: sqlite3.Connection, tmp_path: Path) -> None:
    path = tmp_path / "cts.csv"
    path.write_text(f"Số serial,Mã định danh,Chủ thể,Ngày hết hạn\n0c2d,{DEPARTMENT},Nguyễn Văn An,2027-01-31\n")
    assert import_issued(conn, path).imported == 1
    assert conn.execute("SELECT holder, not_after FROM issued_certificates").fetchone() == (
        "Nguyễn Văn An",
        "2027-01-31",
    )


def test_an_expiry_that_is_not_a_date_is_refused_with_the_row(conn: sqlite3.Connection, tmp_path: Path) -> None:
    path = tmp_path / "cts.csv"
    path.write_text(f"Số hiệu,Mã đơn vị,Ngày hết hạn\n0c2d,{DEPARTMENT},sang năm\n", encoding="utf-8")
    result = import_issued(conn, path)
    [refused] = result.rejected
    assert result.imported == 0 and refused.item_name == "cts.csv row 2" and "sang năm" in refused.reason


@pytest.mark.parametrize(
    ("text", "period"),
    [
        ("10/2025", Period(2025, PeriodKind.MONTH, 10)),
        ("1/2026", Period(2026, PeriodKind.MONTH, 1)),
        ("2025-10", Period(2025, PeriodKind.MONTH, 10)),
        ("2025", Period(2025, PeriodKind.YEAR)),
        ("2025-Q3", Period(2025, PeriodKind.QUARTER, 3)),
    ],
)
def test_period_forms(text: str, period: Period) -> None:
    assert parse_period(text) == period


@pytest.mark.parametrize("text", ["13/2025", "0/2025", "10/25", "2025/10"])
def test_wrong_periods_say_what_to_write(text: str) -> None:
    with pytest.raises(ValueError, match="10/2026"):
        parse_period(text)


def test_summary_takes_period_month_slash_year(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    db = tmp_path / "docflow.db"
    conn = new_store(db)
    put_unit(conn, DEPARTMENT, "Sở Tài chính", "department")
    put_counters(conn, DEPARTMENT, "2025-10", outgoing=12, outgoing_electronic=12, outgoing_issued_electronic=12)
    conn.commit()
    conn.close()
    result = CliRunner().invoke(main, ["summary", "--db", str(db), "--period", "10/2025", "--json"])
    assert result.exit_code == 0, result.output
    [row] = [row for row in json.loads(result.stdout) if row["unit"] == DEPARTMENT]
    assert row["outgoing"] == 12  # the October 2025 row, read through --period 10/2025


def test_a_unit_list_may_name_the_code_ma_don_vi(tmp_path: Path) -> None:
    path = tmp_path / "don-vi.txt"
    path.write_bytes(_excel_unicode_text([["Mã đơn vị", "Tên đơn vị"], [DISTRICT, "UBND huyện Ba Bể"]]))
    rows, rejected = read_unit_file(path)
    assert rejected == [] and [(row.code, row.name) for row in rows] == [(DISTRICT, "UBND huyện Ba Bể")]
