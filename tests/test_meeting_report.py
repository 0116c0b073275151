"""``docflow report``: the meeting report as HTML (charts inline), a workbook and a PDF, from a hand-built store."""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from helpers.db import COMMUNE, DEPARTMENT, DISTRICT, PROVINCE, new_store, put_counters, put_unit
from helpers.png import Image, read_png

from docflow.cli import main
from docflow.i18n import language, set_language
from docflow.reports.meeting import meeting_report
from docflow.reports.metrics import parse_period
from docflow.times import people_zone

HOSTILE = "<script>alert('x')</script> Sở Nội vụ"
SECOND_DEPARTMENT = "000.00.05.H04"
THIRD_DEPARTMENT = "000.00.07.H04"
SECOND_COMMUNE = "000.02.20.H04"


@pytest.fixture(autouse=True)
def vietnamese() -> Iterator[None]:
    before = language()
    set_language("vi")
    yield
    set_language(before)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    """Two months of four levels: one department behind target with every reason, one hostile name."""
    path = tmp_path / "docflow.db"
    conn = new_store(path)
    put_unit(conn, PROVINCE, "UBND tỉnh Bắc Kạn", "province")
    put_unit(conn, DEPARTMENT, "Sở Y tế", "department", PROVINCE)
    put_unit(conn, SECOND_DEPARTMENT, HOSTILE, "department", PROVINCE)
    put_unit(conn, THIRD_DEPARTMENT, "Sở Tài chính", "department", PROVINCE)
    put_unit(conn, DISTRICT, "UBND huyện Ba Bể", "district", PROVINCE)
    put_unit(conn, COMMUNE, "UBND xã Hà Hiệu", "commune", DISTRICT)
    # Control characters and a bidi override: XML cannot hold the first, the second reorders what a reader sees.
    put_unit(conn, SECOND_COMMUNE, "UBND xã Chu\x07 Hương\u202e\x1b[31m", "commune", DISTRICT)
    good = {"outgoing": 20, "outgoing_electronic": 20, "outgoing_issued_electronic": 19,
            "outgoing_signed_valid": 20, "outgoing_nd30": 20}  # fmt: skip
    for month, issued in (("2026-10", 12), ("2026-11", 8)):
        put_counters(conn, PROVINCE, month, **good)
        put_counters(conn, SECOND_DEPARTMENT, month, **good)
        put_counters(conn, THIRD_DEPARTMENT, month, **{**good, "outgoing_issued_electronic": 20})
        # Sở Y tế: behind target (8 of 20 in November, 12 in October), for every reason the report names.
        put_counters(conn, DEPARTMENT, month, outgoing=20, outgoing_electronic=14, outgoing_paper=6,
                     outgoing_issued_electronic=issued, outgoing_signed_valid=12, outgoing_nd30=9,
                     outgoing_unsigned=2, invalid_expired=1, invalid_wrong_unit=1)  # fmt: skip
        put_counters(conn, DISTRICT, month, outgoing=15, outgoing_electronic=15, outgoing_issued_electronic=13)
        put_counters(conn, COMMUNE, month, outgoing=12, outgoing_electronic=12, outgoing_issued_electronic=5)
        put_counters(conn, SECOND_COMMUNE, month, outgoing=12, outgoing_electronic=12, outgoing_issued_electronic=11)
    # Two of Sở Y tế's November documents, for the workbook's documents sheet (counters above are independent).
    put_document(conn, "D1", DEPARTMENT, "2026-11-03", '=HYPERLINK("http://x")', "paper", axis=False)
    put_document(conn, "D2", DEPARTMENT, "2026-11-04", "Về việc họp giao ban", "electronic", axis=True, signed=True)
    conn.close()
    return path


def put_document(
    conn: sqlite3.Connection, document_id: str, sender: str, day: str, subject: str, channel: str,
    *, axis: bool, signed: bool = False,
) -> None:  # fmt: skip
    conn.execute(
        "INSERT INTO documents (document_id, sender, number, notation, promulgation_date, period, subject, channel,"
        " sent_over_axis, signature_count, has_valid_signature, has_valid_personal, has_valid_organisation)"
        " VALUES (?, ?, '12', 'SYT-VP', ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (document_id, sender, day, day[:7], subject, channel, int(axis), 2 * signed, signed, signed, signed),
    )
    conn.commit()


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["report", *args])
    return result.exit_code, result.output


class _Text(HTMLParser):
    """The page's visible text (script and style left out), as a reader sees it."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._skip += tag in ("style", "script")

    def handle_endtag(self, tag: str) -> None:
        self._skip -= tag in ("style", "script")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def visible_text(page: str) -> str:
    parser = _Text()
    parser.feed(page)
    return re.sub(r"\s+", " ", " ".join(parser.parts))


@pytest.fixture
def page(db: Path, tmp_path: Path) -> str:
    out = tmp_path / "report.html"
    code, output = _run("--db", str(db), "--period", "2026-11", "--out", str(out))
    assert code == 0, output
    return out.read_text(encoding="utf-8")


def test_html_is_vietnamese_dated_with_province_period_and_targets(page: str) -> None:
    text = visible_text(page)
    assert '<html lang="vi">' in page
    assert "Báo cáo phát hành văn bản điện tử và sử dụng chữ ký số" in text
    assert "UBND tỉnh Bắc Kạn" in text
    assert "tháng 11/2026" in text and "tháng 10/2026" in text
    assert re.search(r"Lập lúc: \d{2}/\d{2}/\d{4} \d{2}:\d{2}", text)
    assert "Chỉ tiêu theo Nghị quyết 17/NQ-CP" in text
    for heading in ("Cấp tỉnh: chỉ tiêu 90%", "Sở, ban, ngành: chỉ tiêu 90%", "Cấp huyện: chỉ tiêu 80%",
                    "Cấp xã: chỉ tiêu 60%"):  # fmt: skip
        assert heading in text


def test_units_behind_target_come_first_with_their_reasons_and_change(page: str) -> None:
    departments = page[page.index('id="level-department"') : page.index('id="level-district"')]
    codes = re.findall(r'<tr class="unit( behind)?" data-code="([^"]+)"', departments)
    assert codes[0] == (" behind", DEPARTMENT)
    assert all(not behind for behind, _code in codes[1:])
    row = visible_text(departments[departments.index(f'data-code="{DEPARTMENT}"') :].split("</tr>")[0] + "</tr>")
    assert "40%" in row  # 8 of 20
    assert "−20 điểm" in row  # from 60% in October
    for reason in ("6 văn bản chỉ phát hành bản giấy", "2 văn bản gửi qua trục không ký số",
                   "3 văn bản ký số thiếu chữ ký cơ quan", "1 văn bản có chữ ký không hợp lệ",
                   "1 văn bản ký bằng chứng thư của đơn vị khác"):  # fmt: skip
        assert reason in row


def test_totals_and_tier_counts_per_level(page: str) -> None:
    departments = visible_text(page[page.index('id="level-department"') : page.index('id="level-district"')])
    # 20 + 20 + 20 outgoing; 8 + 19 + 20 issued electronically = 78%.
    assert "Tổng cộng 60 78%" in departments
    assert "Đạt: 2" in departments and "Chưa đạt: 1" in departments and "Không xếp hạng: 0" in departments


def test_a_hostile_unit_name_is_text(page: str) -> None:
    assert "<script>" not in page.lower()
    assert "&lt;script&gt;alert(" in page
    assert "<script>alert('x')</script> Sở Nội vụ" in visible_text(page)
    assert "UBND xã Chu Hương" in visible_text(page)
    assert not re.search("[\x00-\x08\x1b\u202a-\u202e]", page)


def test_english_on_request(db: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    result = CliRunner().invoke(
        main, ["--lang", "en", "report", "--db", str(db), "--period", "2026-11", "--out", str(out)]
    )
    code, output = result.exit_code, result.output
    assert code == 0, output
    text = visible_text(out.read_text(encoding="utf-8"))
    assert "Electronic issuance and digital signature report" in text and "month 11/2026" in text


def test_a_long_level_draws_the_lowest_rates_only(db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("docflow.cli.meeting_charts.RANKED_BARS", 1)
    out = tmp_path / "report.html"
    code, output = _run("--db", str(db), "--period", "2026-11", "--level", "department", "--out", str(out))
    assert code == 0, output
    ranked = _figures(out.read_text(encoding="utf-8"), "department")["ranked"]
    assert ranked.count('class="bar"') == 1 and "Sở Y tế" in ranked and "Sở Tài chính" not in ranked
    assert "Chỉ vẽ 1 đơn vị có tỷ lệ thấp nhất trong số 3" in ranked


def test_the_report_agrees_with_the_summary(db: Path) -> None:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    report = meeting_report(conn, parse_period("2026-11"), made_at=datetime(2026, 12, 5, tzinfo=people_zone()))
    department = next(level for level in report.levels if level.level == "department")
    assert [line.code for line in department.behind] == [DEPARTMENT]
    assert department.units[0].previous_rate == pytest.approx(0.6)
    assert dict(department.units[0].reasons) == {
        "paper": 6, "unsigned": 2, "personal_only": 3, "invalid_signatures": 1, "wrong_unit": 1,
    }  # fmt: skip
    assert report.province == "UBND tỉnh Bắc Kạn"


def test_level_option_keeps_one_level(db: Path, tmp_path: Path) -> None:
    out = tmp_path / "communes.html"
    code, output = _run("--db", str(db), "--period", "2026-11", "--level", "commune", "--out", str(out))
    assert code == 0, output
    page = out.read_text(encoding="utf-8")
    assert 'id="level-commune"' in page and 'id="level-department"' not in page


def test_an_unknown_extension_is_refused(db: Path, tmp_path: Path) -> None:
    code, output = _run("--db", str(db), "--out", str(tmp_path / "report.docx"))
    assert code == 2
    assert ".html, .pdf" in output
    assert not (tmp_path / "report.docx").exists()


def _figures(page: str, level: str) -> dict[str, str]:
    """The level's charts, by kind, as the SVG markup in the page."""
    start = page.index(f'id="level-{level}"')
    section = page[start : page.index("</section>", start)]
    return {
        kind: section[section.index(f'data-chart="{kind}"') :].split("</figure>")[0]
        for kind in ("trend", "distribution", "ranked")
    }


def test_each_level_has_its_three_charts_inline(page: str) -> None:
    for level in ("province", "department", "district", "commune"):
        charts = _figures(page, level)
        assert all("<svg" in svg for svg in charts.values()), level
    assert "<script" not in page.lower()
    # Nothing is fetched: no source, link or stylesheet address other than the page's own anchors.
    assert not re.findall(r'(?:src|href)="(?!#)', page)
    assert "url(http" not in page and "@import" not in page


def test_the_ranked_chart_has_a_bar_for_each_unit(page: str) -> None:
    ranked = _figures(page, "department")["ranked"]
    assert ranked.count('class="bar"') == 3
    for name in ("Sở Y tế", "Sở Tài chính", "&lt;script&gt;alert("):
        assert name in ranked
    # The unit behind target is drawn red, the others green.
    assert ranked.count("#c0392b") >= 1 and ranked.count("#2e8b57") >= 2
    communes = _figures(page, "commune")["ranked"]
    assert communes.count('class="bar"') == 2


def test_the_trend_covers_twelve_months_and_the_distribution_every_unit(page: str) -> None:
    charts = _figures(page, "department")
    for month in ("12/2025", "10/2026", "11/2026"):
        assert month in charts["trend"]
    assert "01/2026" in charts["trend"] and "11/2025" not in charts["trend"]
    # Three departments: 40 % (behind), 95 % and 100 %: the distribution's bars hold three units.
    values = re.findall(r'<desc class="value">(\d+)</desc>', charts["distribution"])
    assert sum(map(int, values)) == 3


@pytest.fixture
def workbook(db: Path, tmp_path: Path) -> Any:
    from openpyxl import load_workbook

    out = tmp_path / "report.xlsx"
    code, output = _run("--db", str(db), "--period", "2026-11", "--out", str(out))
    assert code == 0, output
    return load_workbook(out)


def test_the_workbook_has_a_sheet_per_level_and_one_of_documents(workbook: Any) -> None:
    assert workbook.sheetnames == ["Cấp tỉnh", "Sở, ban, ngành", "Cấp huyện", "Cấp xã", "Văn bản"]


def test_a_level_sheet_has_rates_as_percentages_behind_first_and_its_total(workbook: Any) -> None:
    sheet = workbook["Sở, ban, ngành"]
    header = [cell.value for cell in sheet[1]]
    assert header[:7] == ["Mã định danh", "Đơn vị", "Xếp loại", "Chưa đạt chỉ tiêu", "Chỉ tiêu", "VB đi", "PHĐT"]
    first = {title: cell for title, cell in zip(header, sheet[2])}
    assert first["Mã định danh"].value == DEPARTMENT and first["Chưa đạt chỉ tiêu"].value == "có"
    assert first["PHĐT"].value == pytest.approx(0.4) and first["PHĐT"].number_format == "0.0%"
    assert first["Kỳ trước"].value == pytest.approx(0.6)
    assert first["Thay đổi (điểm %)"].value == pytest.approx(-0.2)
    assert first["Thay đổi (điểm %)"].number_format == "0.0%"
    assert first["VB đi"].value == 20 and first["VB đi"].number_format == "#,##0"
    assert first["Chỉ bản giấy"].value == 6
    total = {title: cell.value for title, cell in zip(header, sheet[sheet.max_row])}
    assert total["Đơn vị"] == "Tổng cộng" and total["VB đi"] == 60
    assert total["PHĐT"] == pytest.approx(47 / 60)
    names = [row[1].value for row in sheet.iter_rows(min_row=2)]
    assert HOSTILE in names  # a name is text in a cell, whatever it holds


def test_the_documents_sheet_says_how_each_document_counted(workbook: Any) -> None:
    sheet = workbook["Văn bản"]
    header = [cell.value for cell in sheet[1]]
    rows = [{title: cell for title, cell in zip(header, row)} for row in sheet.iter_rows(min_row=2)]
    assert [row["Mã văn bản"].value for row in rows] == ["D1", "D2"]
    paper, electronic = rows
    assert paper["Hình thức"].value == "giấy" and paper["Phát hành điện tử"].value == "không"
    assert "chỉ phát hành bản giấy" in paper["Lý do chưa đạt"].value
    assert paper["Trích yếu"].value.startswith("'=")  # neutralised: a spreadsheet shows it, never runs it
    assert paper["Ngày ban hành"].number_format == "dd/mm/yyyy"
    assert paper["Ngày ban hành"].value.date().isoformat() == "2026-11-03"
    assert paper["Có chữ ký hợp lệ"].value is None  # not sent electronically: not counted for the signature rate
    assert electronic["Phát hành điện tử"].value == "có" and electronic["Gửi qua trục"].value == "có"
    assert electronic["Số chữ ký"].value == 2


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium is not installed (.ci/run installs it)")


def _chromium(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    sandbox = ["--no-sandbox"] if os.geteuid() == 0 else []
    return subprocess.run(
        [CHROMIUM, "--headless", "--disable-gpu", "--disable-dev-shm-usage", "--hide-scrollbars", *sandbox, *args],
        capture_output=True, text=True, timeout=timeout, check=False,
    )  # fmt: skip


def _green_area(image: Image) -> int:
    """Pixels of the ranked chart's green bars (a unit meeting its target), however the page is scaled."""
    return sum(1 for r, g, b in image.pixels() if g > r + 40 and g > b + 20)


def _is_drawn(image: Image) -> bool:
    pixels = image.pixels()
    return sum(1 for pixel in pixels if pixel != (255, 255, 255)) > len(pixels) // 100


@needs_chromium
def test_a_browser_renders_the_page_with_its_text_and_charts(page: str, tmp_path: Path) -> None:
    html = tmp_path / "report.html"
    html.write_text(page, encoding="utf-8")
    dom = _chromium(f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom", html.as_uri())
    assert dom.returncode == 0, dom.stderr
    text = visible_text(dom.stdout)
    assert "Báo cáo phát hành văn bản điện tử và sử dụng chữ ký số" in text and "UBND tỉnh Bắc Kạn" in text
    assert "<script>alert('x')</script> Sở Nội vụ" in text
    assert dom.stdout.count("<svg") == 12  # three charts for each of four levels
    shot = tmp_path / "report.png"
    done = _chromium(f"--user-data-dir={tmp_path / 'profile2'}", "--window-size=800,2400",
                     "--force-device-scale-factor=0.5", f"--screenshot={shot}", html.as_uri())  # fmt: skip
    assert shot.exists(), done.stderr
    image = read_png(shot)
    assert (image.width, image.height) == (400, 1200)
    assert _is_drawn(image)
    assert _green_area(image) > 500  # the province's ranked bar, drawn


needs_poppler = pytest.mark.skipif(
    not (shutil.which("pdftoppm") and shutil.which("pdftotext")),
    reason="poppler-utils (pdftoppm, pdftotext) is not installed (.ci/run installs it)",
)


@needs_chromium
@needs_poppler
def test_the_pdf_is_printed_from_the_page(db: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.pdf"
    code, output = _run("--db", str(db), "--period", "2026-11", "--out", str(out))
    assert code == 0, output
    assert out.read_bytes()[:5] == b"%PDF-"
    text = subprocess.run(["pdftotext", "-layout", str(out), "-"], capture_output=True, text=True, check=True).stdout
    flat = re.sub(r"\s+", " ", text)
    for expected in ("UBND tỉnh Bắc Kạn", "tháng 11/2026", "Chỉ tiêu theo Nghị quyết 17/NQ-CP", "Sở Y tế",
                     "<script>alert('x')</script> Sở Nội vụ"):  # fmt: skip
        assert expected in flat
    subprocess.run(["pdftoppm", "-png", "-r", "30", "-f", "1", "-l", "2", str(out), str(tmp_path / "page")], check=True)
    pages = sorted(tmp_path.glob("page-*.png"))
    assert len(pages) == 2
    assert all(_is_drawn(read_png(page)) for page in pages)
    assert sum(_green_area(read_png(page)) for page in pages) > 50  # the province's ranked bar


def test_without_a_pdf_maker_the_report_says_what_to_install(
    db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no chromium on it
    monkeypatch.setitem(sys.modules, "weasyprint", None)  # importing it fails, as when it is not installed
    code, output = _run("--db", str(db), "--period", "2026-11", "--out", str(tmp_path / "report.pdf"))
    assert code == 2
    assert "apt-get install chromium" in output and "pip install weasyprint" in output
    assert "Không tìm thấy" in output
    assert not (tmp_path / "report.pdf").exists()
