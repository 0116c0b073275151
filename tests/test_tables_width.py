"""Issue 21, "Every table at 80 columns and in a pipe": each command's table at 80 and 120 columns and written to a
pipe keeps every agency code and every word whole, leaves out its least useful columns (saying which) or prints a
record per row; ``docflow sql`` has --vertical, --tables and --schema."""

from __future__ import annotations

import io
import json
import re
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers.db import COMMUNE, DEPARTMENT, DISTRICT, PROVINCE, put_counters, put_unit
from rich.cells import cell_len
from rich.console import Console
from test_batches_command import BAD_ROWS, GOOD, WRONG_HEADERS, _take
from test_certs_review import ISSUED, _store

from docflow.cli import main
from docflow.cli.tables import TableColumn, fitted_table, plan
from docflow.i18n import set_language
from docflow.reports.certs import import_issued
from docflow.safe_text import cell
from docflow.store.core import Store
from samples.pdfgen import make_pdf, sign_pdf
from samples.pki import Issued
from samples.sign import sign_cms

CODE = re.compile(r"\d{3}\.\d{2}\.\d{2}\.[A-Z]\d{2}")
DOCUMENT = f"{DEPARTMENT},2026/09/15,12/STC-VP"
LONG_REASON = (
    "The certificate was revoked before the document was signed; the signature cannot be counted for "
    f"{DEPARTMENT} whatever the register says"
)
WIDTHS = (80, 120, None)
"""None: written to a pipe, where no terminal says how wide it is."""


def _invoke(monkeypatch: pytest.MonkeyPatch, width: int | None, *args: str) -> str:
    if width is None:
        monkeypatch.delenv("COLUMNS", raising=False)
    else:
        monkeypatch.setenv("COLUMNS", str(width))
    result = CliRunner().invoke(main, ["--lang", "en", *args])
    assert result.exit_code in (0, 1), result.output
    return result.stdout


def _assert_readable(text: str, width: int | None, words: tuple[str, ...] = ()) -> None:
    """No line wider than the terminal (80 in a pipe), no agency code split, every word of ``words`` whole."""
    assert text.strip()
    assert max(cell_len(line) for line in text.splitlines()) <= (width or 80)
    codes = CODE.findall(text)
    assert codes, "the output should show agency codes"
    # A code cut over two lines leaves its start or its end behind without the rest.
    assert len(re.findall(r"\d{3}\.\d{2}\.", text)) == len(codes), text
    assert len(re.findall(r"\.H04", text)) == len(codes), text
    for word in words:
        assert word in text, f"{word!r} broken or missing:\n{text}"
    assert "…" not in text, text


def _flat(text: str) -> str:
    return re.sub(r"\s+", " ", text)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    """The certificate review's store, with a document from a unit with a long name, its trail and a recipient."""
    path = tmp_path / "docflow.db"
    conn = _store(path)
    issued = tmp_path / "issued.csv"
    issued.write_text(ISSUED, encoding="utf-8")
    import_issued(conn, issued)
    put_unit(conn, COMMUNE, "Ủy ban nhân dân xã Quảng Khê, huyện Ba Bể, tỉnh Bắc Kạn", "commune", DISTRICT)
    _document(conn)
    conn.close()
    return path


def _document(conn: sqlite3.Connection) -> None:
    subject = "Về dự toán ngân sách năm 2027 của các đơn vị trực thuộc"
    conn.execute("INSERT INTO documents (document_id, sender, period, channel, subject) VALUES (?, ?, '2026-09',"
                 " 'electronic', ?)", (DOCUMENT, DEPARTMENT, subject))  # fmt: skip
    conn.execute("INSERT INTO document_sources (document_id, batch_id, item_name, source) VALUES (?, 1, ?, 'edxml')",
                 (DOCUMENT, "12-STC-VP-du-toan-ngan-sach.edxml"))  # fmt: skip
    conn.execute(
        "INSERT INTO signatures (payload_sha256, idx, document_id, batch_id, item_name, indication, subindication,"
        " reason, signing_time_source, kind, belongs_to_sender, checks_json, signer_subject, cert_sha256)"
        " VALUES ('ab', 0, ?, 1, '12-STC-VP.pdf', 'TOTAL_FAILED', 'REVOKED', ?, 'timestamp', 'organisation', 1,"
        " ?, 'CN=SỞ TÀI CHÍNH TỈNH BẮC KẠN', ?)",
        (DOCUMENT, LONG_REASON, json.dumps([{"name": "revocation", "outcome": "failed", "detail": LONG_REASON}]),
         "ab" * 32),
    )  # fmt: skip
    conn.execute(
        "INSERT INTO recipients (document_id, unit, received_electronic) VALUES (?, ?, 1)", (DOCUMENT, PROVINCE)
    )
    conn.execute(
        "INSERT INTO status_events (document_id, reporting_unit, code, description, timestamp, batch_id, item_name)"
        " VALUES (?, ?, '06', 'Hoàn thành xử lý văn bản đến', '2026-09-20T08:00:00+07:00', 1, 'status-06.edxml')",
        (DOCUMENT, PROVINCE),
    )
    conn.commit()


@pytest.mark.parametrize("width", WIDTHS)
def test_certs_never_split_an_agency_code(db: Path, width: int | None, monkeypatch: pytest.MonkeyPatch) -> None:
    text = _invoke(monkeypatch, width, "certs", "--db", str(db))
    _assert_readable(text, width, ("Expiring", "Expired", "Nguyễn Văn An"))
    assert CODE.findall(text).count(DISTRICT) >= 4
    if width == 80:
        assert "Not shown for want of room: Seen signing" in _flat(text)


@pytest.mark.parametrize("width", WIDTHS)
def test_units_audit_and_sql_keep_codes_whole(db: Path, width: int | None, monkeypatch: pytest.MonkeyPatch) -> None:
    units = _invoke(monkeypatch, width, "units", "--db", str(db))
    _assert_readable(units, width, ("Quảng", "Khê,"))
    assert {COMMUNE, DISTRICT, PROVINCE} <= set(CODE.findall(units))
    audit = _invoke(monkeypatch, width, "audit", "--db", str(db), DOCUMENT)
    _assert_readable(audit, width, ("revoked", "signature", "register", "12-STC-VP.pdf", "TOTAL_FAILED"))
    assert DOCUMENT in audit
    signatures = _invoke(monkeypatch, width, "sql", "--db", str(db), "SELECT * FROM signatures")
    _assert_readable(signatures, width, ("signer_subject", "signing_time_source", "revoked", "TOTAL_FAILED"))
    # Twenty-odd columns fit no terminal: a record per row, never a table of "…".
    assert signatures.count("-[ Record ") == 5 and "┃" not in signatures


@pytest.mark.parametrize("width", WIDTHS)
def test_sql_prints_a_table_when_the_columns_fit(db: Path, width: int | None, monkeypatch: pytest.MonkeyPatch) -> None:
    query = "SELECT document_id, indication, reason FROM v_document_signatures ORDER BY document_id DESC"
    text = _invoke(monkeypatch, width, "sql", "--db", str(db), query)
    _assert_readable(text, width, ("document_id", "indication", "revoked", "TOTAL_FAILED"))
    assert "┃ document_id" in text and "Record" not in text
    assert DOCUMENT in text, "the identifier is kept on one line"
    vertical = _invoke(monkeypatch, width, "sql", "--db", str(db), query, "--vertical")
    _assert_readable(vertical, width, ("document_id", "revoked"))
    assert vertical.count("-[ Record ") == 5 and "┃" not in vertical
    assert re.search(r"^document_id +" + re.escape(DOCUMENT), vertical, re.MULTILINE)


def test_sql_lists_tables_views_first_and_a_tables_columns(db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    listed = _invoke(monkeypatch, 80, "sql", "--db", str(db), "--tables")
    names = re.findall(r"^│ (\w+) ", listed, re.MULTILINE)
    assert names[:4] == ["v_document_signatures", "v_failed_signatures", "v_unit_rates", "v_document_trail"]
    assert {"signatures", "documents", "units", "issued_certificates"} <= set(names[4:])
    assert re.search(r"│ signatures +│ table +│ +5 │ Every verified", listed), listed
    as_json = json.loads(_invoke(monkeypatch, 80, "sql", "--db", str(db), "--tables", "--json"))
    assert as_json[0] == {
        "name": "v_document_signatures",
        "kind": "view",
        "rows": 5,
        "description": "Every signature with its document and batch: where most questions start",
    }
    schema = _invoke(monkeypatch, 80, "sql", "--db", str(db), "--schema", "SIGNATURES")
    assert re.search(r"│ cert_sha256 +│ TEXT", schema) and re.search(r"│ idx +│ INTEGER +│ yes", schema), schema
    view = json.loads(_invoke(monkeypatch, 80, "sql", "--db", str(db), "--schema", "v_unit_rates", "--json"))
    assert [column["name"] for column in view][:2] == ["unit", "name"]
    runner = CliRunner()
    unknown = runner.invoke(main, ["--lang", "en", "sql", "--db", str(db), "--schema", "nope"])
    assert unknown.exit_code == 1 and "no table or view 'nope'" in unknown.output
    neither = runner.invoke(main, ["--lang", "en", "sql", "--db", str(db)])
    assert neither.exit_code == 2 and "give one of" in neither.output
    both = runner.invoke(main, ["--lang", "en", "sql", "--db", str(db), "SELECT 1", "--tables"])
    assert both.exit_code == 2


@pytest.mark.parametrize("width", (50, 80))
def test_summary_too_narrow_for_its_columns_prints_a_record_per_unit(
    db: Path, width: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    with sqlite3.connect(db) as conn:
        for code in (PROVINCE, DEPARTMENT, DISTRICT, COMMUNE):
            put_counters(conn, code, "2026-11", outgoing=20, outgoing_electronic=12, outgoing_issued_electronic=9)
    text = _invoke(monkeypatch, width, "summary", "--db", str(db), "--period", "2026-11")
    assert max(cell_len(line) for line in text.splitlines()) <= width
    assert {PROVINCE, DEPARTMENT, DISTRICT, COMMUNE} <= set(CODE.findall(text))
    assert len(re.findall(r"\d{3}\.\d{2}\.", text)) == len(CODE.findall(text)), text
    assert "Quảng" in text and "Khê," in text
    assert ("-[ " in text) == (width == 50), text


@pytest.fixture
def batches_db(workdir: Path) -> Path:
    path = workdir / "d.db"
    with Store.open(path) as store:
        _take(store, workdir / "so-di-thang-12-so-tai-chinh.csv", GOOD.format(n=1), datetime(2026, 12, 3, tzinfo=UTC))
        _take(store, workdir / "wrong.csv", WRONG_HEADERS, datetime(2026, 12, 3, 17, 30, tzinfo=UTC))
        _take(store, workdir / "rows.csv", BAD_ROWS, datetime(2026, 12, 4, 7, 0, tzinfo=UTC))
    return path


@pytest.mark.parametrize("width", WIDTHS)
def test_batches_keep_times_and_reasons_whole(
    batches_db: Path, width: int | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = _invoke(monkeypatch, width, "batches", "--db", str(batches_db))
    assert max(cell_len(line) for line in text.splitlines()) <= (width or 80)
    for word in ("Received", "Outcome", "Reasons", "04/12/2026", "14:00:00", "recognisable", "rename", "ingested"):
        assert word in text, f"{word!r} broken:\n{text}"
    if width == 80:
        assert "Not shown for want of room: " in text


@pytest.fixture
def files(tmp_path: Path, person: Issued, organisation: Issued, revoked_person: Issued, signing_time: datetime) -> Path:
    content = "Công văn số 5/UBND-VP".encode()
    (tmp_path / "cong-van-so-5-UBND-VP.txt").write_bytes(content)
    (tmp_path / "cong-van-so-5-UBND-VP.txt.p7s").write_bytes(sign_cms(content, person, signing_time=signing_time))
    (tmp_path / "thu-hoi.p7s").write_bytes(sign_cms(content, revoked_person, signing_time=signing_time))
    pdf = make_pdf("Quyết định")
    signed = sign_pdf(sign_pdf(pdf, person, signing_time=signing_time), organisation, signing_time=signing_time)
    (tmp_path / "quyet-dinh-phe-duyet.pdf").write_bytes(signed)
    (tmp_path / "chua-ky.pdf").write_bytes(pdf)
    return tmp_path


@pytest.mark.parametrize("width", WIDTHS)
def test_verify_breaks_no_word(
    files: Path, trust_dir: Path, width: int | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    names = ("cong-van-so-5-UBND-VP.txt.p7s", "thu-hoi.p7s", "quyet-dinh-phe-duyet.pdf", "chua-ky.pdf")
    text = _invoke(monkeypatch, width, "verify", *(str(files / name) for name in names), "--trust", str(trust_dir))
    assert max(cell_len(line) for line in text.splitlines()) <= (width or 80)
    for word in ("Indication", "Reason", "TOTAL_PASSED", "REVOKED", "signature.", "NO SIGNATURE", *names):
        assert word in text, f"{word!r} broken:\n{text}"
    assert "…" not in text


def _render(width: int, columns: list[TableColumn], rows: list[tuple[object, ...]], vertical: bool = False) -> str:
    out = io.StringIO()
    Console(file=out, width=width, no_color=True).print(fitted_table("T", columns, rows, width, vertical=vertical))
    return out.getvalue()


def test_at_any_width_no_code_or_word_is_broken() -> None:
    columns = [
        TableColumn("Unit code", wraps=False),
        TableColumn("Unit name", min_width=12),
        TableColumn("Documents", priority=1, justify="right", min_width=1),
        TableColumn("Why it does not count", min_width=16),
        TableColumn("Signer", priority=2),
    ]
    rows = [(code, f"Ủy ban nhân dân xã số {n}", n * 1000, LONG_REASON, "Nguyễn Thị Minh Khai")
            for n, code in enumerate((PROVINCE, DEPARTMENT, DISTRICT, COMMUNE))]  # fmt: skip
    # The always-shown columns: the others may be left out, and the footer says so.
    words = {word for row in rows for index in (0, 1, 3) for word in str(row[index]).split()}
    for width in range(24, 170, 5):
        text = _render(width, columns, rows)
        assert max(cell_len(line) for line in text.splitlines()) <= width
        expected = [PROVINCE, DEPARTMENT, DISTRICT, COMMUNE] + [DEPARTMENT] * 4  # the last: in the reasons
        assert sorted(CODE.findall(text)) == sorted(expected), (width, text)
        missing = [word for word in words if word not in text]
        assert not missing, (width, missing, text)


def test_columns_join_by_priority_and_the_footer_names_those_left_out() -> None:
    set_language("en")  # the footer's words as written (each test starts in the default language)
    columns = [TableColumn("Code", wraps=False), TableColumn("Count", priority=1), TableColumn("Note", priority=2)]
    rows = [[cell(PROVINCE), cell("12"), cell("a note that is fairly long")]]
    assert plan(columns, rows, 80).left_out == ()
    narrow = plan(columns, rows, 30)
    assert ([index for index, _ in narrow.shown], narrow.left_out, narrow.vertical) == ([0, 1], (2,), False)
    assert plan(columns, rows, 15).vertical
    text = _render(30, columns, [(PROVINCE, "12", "a note")])
    assert "Not shown for want of room: Note" in _flat(text)
    assert "-[ Record 1 ]" in _render(15, columns, [(PROVINCE, "12", "a note")])
    records = _render(22, columns, [(PROVINCE, "12", "a note")], vertical=True)
    assert "-[ Record 1 ]" in records and PROVINCE in records and "Note" in records
