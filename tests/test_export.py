"""Issue 18 §3: ``docflow export``, the figures each unit can check, from a store built by ingesting real batches."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from datetime import date, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from helpers.ingest import write_edxml
from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet

from docflow.cli import main
from docflow.cli.export import STEM_MAX, file_stem, unique_stem
from docflow.cli.summary_detail import reason_text
from docflow.reports.drilldown import unit_detail
from docflow.reports.metrics import parse_period
from docflow.store.core import Store

UNIT = "000.00.04.H04"
RECIPIENT = "000.00.02.H04"
HEALTH = "000.00.12.H04"
HOSTILE = {"000.00.21.H04": "../x", "000.00.22.H04": "a:b", "000.00.23.H04": "CON. "}
FORMULA = '=HYPERLINK("http://example.com/x","bấm vào đây")'
_HEADER = "unit_code,direction,number,notation,date,channel,confidential,counterpart,subject,file\n"
DOCUMENT_HEADERS = [
    "Đi/đến", "Mã văn bản", "Số, ký hiệu", "Ngày ban hành", "Trích yếu", "Nơi gửi", "Hình thức",
    "Gửi qua trục liên thông", "Phát hành điện tử", "Có chữ ký số hợp lệ", "Đủ chữ ký số theo NĐ 30",
    "Chữ ký số cá nhân", "Chữ ký số cơ quan", "Hạn xử lý", "Xử lý đúng hạn", "Lý do chưa đạt",
]  # fmt: skip


def _common_name(issued: object) -> str:
    from cryptography.x509.oid import NameOID

    return str(issued.cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value)  # type: ignore[attr-defined]


def _register_rows() -> str:
    rows = [
        *(f"{UNIT},out,{n},STP-VP,2026-11-{n:02d},electronic,0,{RECIPIENT},Công văn {n}," for n in (1, 2, 3, 8)),
        f"{UNIT},out,4,STP-VP,2026-11-04,electronic,0,{RECIPIENT},Công văn chưa gửi,",
        f"{UNIT},out,5,STP-VP,2026-11-05,paper,0,{RECIPIENT},Công văn giấy,",
        f'{UNIT},out,6,STP-VP,2026-11-06,electronic,0,{RECIPIENT},"{FORMULA.replace(chr(34), chr(34) * 2)}",',
        f"{UNIT},out,7,STP-VP,2026-11-07,electronic,1,{RECIPIENT},Văn bản mật,",
        f"{UNIT},in,9,SYT-VP,2026-11-09,electronic,0,{HEALTH},Công văn đến,",
        f"{UNIT},in,10,SYT-VP,2026-11-10,paper,0,{HEALTH},Công văn đến bản giấy,",
        f"{HEALTH},out,11,SYT-VP,2026-11-11,paper,0,{UNIT},Báo cáo của Sở Y tế,",
        *(f"{code},out,12,X,2026-11-12,paper,0,{UNIT},Báo cáo," for code in HOSTILE),
    ]
    return _HEADER + "\n".join(rows) + "\n"


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory, signing: object, trust_dir: Path, person: object,
       organisation: object) -> Path:  # fmt: skip
    """A register of outgoing documents (signed and seen on the axis, not seen, paper, a formula-looking subject,
    a confidential one), two incoming ones, and units with names no file system takes as they are."""
    from signatures import TrustStore

    root = tmp_path_factory.mktemp("export")
    register = root / "register" / "so.csv"
    register.parent.mkdir()
    register.write_text(_register_rows(), encoding="utf-8")
    axis = root / "axis"
    for n, signers in ((1, (person, organisation)), (2, (person, organisation)), (3, (person, organisation)),
                       (8, (person,))):  # fmt: skip
        pdf = signing.make_pdf(f"Công văn {n}", ["Nội dung"])  # type: ignore[attr-defined]
        for signer in signers:
            pdf = signing.sign_pdf(pdf, signer)  # type: ignore[attr-defined]
        write_edxml(
            axis / f"cv-{n}.edxml", sender=UNIT, sender_name=_common_name(organisation), number=str(n),
            notation="STP-VP", promulgation=date(2026, 11, n), recipients=(RECIPIENT,), attachment=(f"cv-{n}.pdf", pdf),
        )  # fmt: skip
    path = root / "docflow.db"
    trust = TrustStore.load(trust_dir)
    with Store.open(path) as store:
        store.upsert_unit(UNIT, _common_name(organisation), "import")
        store.upsert_unit(HEALTH, "Sở Y tế tỉnh Bắc Kạn", "import")
        for code, name in HOSTILE.items():
            store.upsert_unit(code, name, "import")
        assert ingest_batch_ok(register, store, trust) and ingest_batch_ok(axis, store, trust)
    return path


def ingest_batch_ok(batch: Path, store: Store, trust: object) -> bool:
    from docflow.ingest.run import ingest_batch

    return ingest_batch(batch, store, trust).outcome == "ingested"  # type: ignore[arg-type]


def _export(db: Path, out: Path, *args: str) -> Result:
    return CliRunner().invoke(main, ["export", "--db", str(db), "--period", "2026-11", "--out", str(out), *args])


@pytest.fixture(scope="module")
def exported(db: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("out") / "2026-11"
    result = _export(db, out)
    assert result.exit_code == 0, result.output
    assert "Đã ghi tệp của" in result.output
    return out


def _unit_file(out: Path, code: str, suffix: str) -> Path:
    (found,) = [path for path in out.iterdir() if path.name.startswith(code) and path.suffix == suffix]
    return found


def _rows(sheet: Worksheet) -> list[tuple[object, ...]]:
    return [tuple(cell.value for cell in row) for row in sheet.iter_rows()]


def test_export_rows_are_the_drill_downs_and_add_up_to_the_counters(db: Path, exported: Path) -> None:
    book = load_workbook(_unit_file(exported, UNIT, ".xlsx"))
    header, *rows = _rows(book["Văn bản"])
    assert list(header) == DOCUMENT_HEADERS
    outgoing = [row for row in rows if row[0] == "Đi"]
    incoming = [row for row in rows if row[0] == "Đến"]
    conn = sqlite3.connect(db)
    try:
        detail = unit_detail(conn, UNIT, parse_period("2026-11"))
    finally:
        conn.close()
    assert detail.summary is not None
    counters = detail.summary.counters
    assert (len(outgoing), len(incoming)) == (counters.outgoing, counters.incoming) == (7, 6)
    failing = {(row[1], row[-1]) for row in outgoing if row[-1]}
    assert failing == {(document.document_id, reason_text(document, ". ")) for document in detail.failed}
    drill_down = CliRunner().invoke(main, ["summary", "--db", str(db), "--period", "2026-11", "--unit", UNIT, "--json"])
    assert {row[1] for row in outgoing if row[-1]} == {d["document_id"] for d in json.loads(drill_down.stdout)
                                                      ["failed_documents"]}  # fmt: skip
    assert not any("mật" in str(row[4]) for row in rows), "a confidential document is listed nowhere"


def test_each_document_says_how_it_was_counted_and_why(exported: Path) -> None:
    book = load_workbook(_unit_file(exported, UNIT, ".xlsx"))
    by_number = {row[2]: dict(zip(DOCUMENT_HEADERS, row)) for row in _rows(book["Văn bản"])[1:]}
    signed = by_number["1/STP-VP"]
    how = ("Hình thức", "Gửi qua trục liên thông", "Phát hành điện tử", "Chữ ký số cá nhân", "Chữ ký số cơ quan")
    assert [signed[column] for column in how] == ["điện tử", "có", "có", "hợp lệ", "hợp lệ"]
    assert signed["Lý do chưa đạt"] is None
    personal_only = by_number["8/STP-VP"]
    assert (personal_only["Chữ ký số cá nhân"], personal_only["Chữ ký số cơ quan"]) == ("hợp lệ", "không có")
    assert personal_only["Đủ chữ ký số theo NĐ 30"] == "không" and personal_only["Có chữ ký số hợp lệ"] == "có"
    assert "thiếu chữ ký số cơ quan hợp lệ" in str(personal_only["Lý do chưa đạt"])
    unseen = by_number["4/STP-VP"]
    assert unseen["Gửi qua trục liên thông"] == "không" and unseen["Chữ ký số cơ quan"] == "chưa thấy tệp đã ký"
    assert str(unseen["Lý do chưa đạt"]).startswith("PHĐT, Ký số, NĐ30: không thấy gửi qua trục liên thông")
    paper = by_number["5/STP-VP"]
    assert (paper["Hình thức"], paper["Có chữ ký số hợp lệ"]) == ("giấy", None)
    assert paper["Lý do chưa đạt"] == "PHĐT: chỉ phát hành bản giấy"
    received = by_number["10/SYT-VP"]
    assert (received["Hình thức"], received["Lý do chưa đạt"]) == ("giấy", "nhận bản giấy")
    assert received["Nơi gửi"] == f"Sở Y tế tỉnh Bắc Kạn ({HEALTH})"
    assert signed["Ngày ban hành"] == datetime(2026, 11, 1)


def _all_cells(path: Path) -> list[object]:
    return [cell.value for sheet in load_workbook(path).worksheets for row in sheet.iter_rows() for cell in row]


def test_workbooks_have_formats_words_and_no_formula(exported: Path) -> None:
    index = load_workbook(exported / "index.xlsx").worksheets[0]
    header = [cell.value for cell in index[1]]
    assert header[:4] == ["Mã định danh", "Đơn vị", "Cấp", "Kỳ báo cáo"] and "Tỷ lệ phát hành điện tử" in header
    rate_column = header.index("Tỷ lệ phát hành điện tử") + 1
    unit_row = next(row for row in index.iter_rows(min_row=2) if row[0].value == UNIT)
    rate = unit_row[rate_column - 1]
    assert rate.number_format == "0.0%" and rate.value == pytest.approx(3 / 7)
    assert unit_row[header.index("Văn bản đi")].number_format == "#,##0"
    unit_book = load_workbook(_unit_file(exported, UNIT, ".xlsx"))
    documents = unit_book["Văn bản"]
    assert documents.cell(row=2, column=4).number_format == "dd/mm/yyyy"
    figures = _rows(unit_book["Số liệu"])
    assert figures[1][0] == UNIT and figures[1][6] == pytest.approx(3 / 7)
    for path in exported.glob("*.xlsx"):
        for value in _all_cells(path):
            assert not isinstance(value, bool) and value not in ("True", "False"), path.name
            assert not (isinstance(value, float) and len(repr(value)) > 12 and value > 1), path.name
            assert not (isinstance(value, str) and value.startswith(("=", "+", "-", "@"))), (path.name, value)
    (formula,) = [row for row in _rows(documents) if row[2] == "6/STP-VP"]
    assert formula[4] == "'" + FORMULA
    assert documents.cell(row=[r[2] for r in _rows(documents)].index("6/STP-VP") + 1, column=5).data_type == "s"


def test_csv_has_a_bom_reads_as_vietnamese_and_holds_the_workbooks_rows(exported: Path) -> None:
    raw = _unit_file(exported, UNIT, ".csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0] == DOCUMENT_HEADERS
    workbook_rows = _rows(load_workbook(_unit_file(exported, UNIT, ".xlsx"))["Văn bản"])
    assert len(rows) == len(workbook_rows)
    assert [row[1] for row in rows] == [row[1] for row in workbook_rows]
    (formula,) = [row for row in rows if row[2] == "6/STP-VP"]
    assert formula[4] == "'" + FORMULA and formula[3] == "06/11/2026"
    assert {row[7] for row in rows[1:]} <= {"có", "không"}
    index = list(csv.DictReader(io.StringIO((exported / "index.csv").read_text(encoding="utf-8-sig"))))
    (unit,) = [row for row in index if row["Mã định danh"] == UNIT]
    assert unit["Tỷ lệ phát hành điện tử"] == "42.9%" and unit["Tệp"].endswith(".xlsx")
    assert (exported / unit["Tệp"]).is_file()
    assert {row["Mã định danh"] for row in index} == {UNIT, RECIPIENT, HEALTH, *HOSTILE}


def test_hostile_unit_names_make_safe_files_inside_the_folder(exported: Path) -> None:
    names = sorted(path.name for path in exported.iterdir())
    assert len(names) == 2 * (3 + len(HOSTILE)) + 2  # each unit's .xlsx and .csv, and the index's
    for name in names:
        assert not set(name) & set('\\/:*?"<>|') and not name.startswith(".") and name == name.strip(), name
    assert f"{'000.00.21.H04'} - .._x.xlsx" in names and "000.00.22.H04 - a_b.csv" in names
    assert "000.00.23.H04 - CON.xlsx" in names
    assert not (exported.parent / "x.xlsx").exists()


def test_file_stems_are_safe_on_windows() -> None:
    assert file_stem("CON", None) == "_CON"
    assert file_stem("aux.x", None) == "_aux.x"
    assert file_stem("../..", None) == "_"
    assert file_stem("000.00.04.H04", 'Sở "Tư"\tpháp\u202e <x>. . ') == "000.00.04.H04 - Sở _Tư_ pháp _x_"
    long = file_stem("000.00.04.H04", "Ủy ban " * 40)
    assert len(long) <= STEM_MAX and len(long.encode()) + len(".xlsx") <= 255
    used = {"index"}
    assert unique_stem("index", used) == "index (2)"
    assert unique_stem("A", used) == "A" and unique_stem("a", used) == "a (2)"


def test_one_unit_by_name(db: Path, tmp_path: Path) -> None:
    result = _export(db, tmp_path / "one", "--unit", "so y te")
    assert result.exit_code == 0, result.output
    assert sorted(path.suffix for path in (tmp_path / "one").iterdir()) == [".csv", ".csv", ".xlsx", ".xlsx"]
    index = _rows(load_workbook(tmp_path / "one" / "index.xlsx").worksheets[0])
    assert [row[0] for row in index[1:]] == [HEALTH]


def test_unknown_unit_and_empty_period(db: Path, tmp_path: Path) -> None:
    unknown = _export(db, tmp_path / "none", "--unit", "không có đơn vị này")
    assert unknown.exit_code == 2 and "không có đơn vị" in unknown.output
    empty = CliRunner().invoke(main, ["export", "--db", str(db), "--period", "2020-01", "--out", str(tmp_path / "e")])
    assert empty.exit_code == 1 and "2020-01" in empty.output and "không ghi tệp nào" in empty.output
    assert not (tmp_path / "e").exists() and not (tmp_path / "none").exists()
    bad = CliRunner().invoke(main, ["export", "--db", str(db), "--period", "11-2026", "--out", str(tmp_path / "b")])
    assert bad.exit_code == 2 and "--period" in bad.output
