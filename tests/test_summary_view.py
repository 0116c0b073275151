"""Issue 18 §4: the terminal summary at 80 and 120 columns and in a file, and the summary command's options."""

from __future__ import annotations

import io
import json
import re
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers.db import COMMUNE, DEPARTMENT, DISTRICT, PROVINCE, new_store, put_counters, put_unit
from rich.console import Console

from docflow.cli import main
from docflow.cli.summary_table import COLUMNS
from docflow.cli.summary_view import render_summary
from docflow.cli.summary_words import flag_word
from docflow.reports.metrics import parse_period
from docflow.reports.summary import summarise

HEALTH = "000.00.15.H04"
EDUCATION = "000.00.14.H04"
SILENT = "000.00.16.H04"
COMMUNES = {COMMUNE: "UBND xã Thượng Giáo", "000.02.20.H04": "UBND xã Nam Mẫu", "000.03.20.H04": "UBND xã Quảng Khê"}
NAMES = {
    PROVINCE: "UBND tỉnh Bắc Kạn",
    HEALTH: "Sở Y tế tỉnh Bắc Kạn",
    EDUCATION: "Sở Giáo dục và Đào tạo tỉnh Bắc Kạn",
    DEPARTMENT: "Sở Nông nghiệp và Phát triển nông thôn",
    SILENT: "Ban Quản lý các khu công nghiệp",
    DISTRICT: "UBND huyện Ba Bể",
    **COMMUNES,
}
_BOX = re.compile(r"[│┃┏┓┗┛┡┩└┘├┤┬┴┼━─╇╈┳┻]")


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "docflow.db"
    conn = new_store(path)
    put_unit(conn, PROVINCE, NAMES[PROVINCE], "province")
    for code in (HEALTH, EDUCATION, DEPARTMENT, SILENT):
        put_unit(conn, code, NAMES[code], "department", PROVINCE)
    put_unit(conn, DISTRICT, NAMES[DISTRICT], "district", PROVINCE)
    for code, name in COMMUNES.items():
        put_unit(conn, code, name, "commune", DISTRICT)
    good = dict(outgoing=20, outgoing_electronic=20, outgoing_issued_electronic=19, outgoing_signed_valid=20,
                outgoing_nd30=19)  # fmt: skip
    for code in (PROVINCE, HEALTH, DISTRICT, COMMUNE):
        put_counters(conn, code, "2026-11", **good)
    put_counters(conn, EDUCATION, "2026-11", outgoing=20, outgoing_electronic=12, outgoing_paper=8,
                 outgoing_issued_electronic=6, outgoing_signed_valid=12, outgoing_nd30=6, invalid_revoked=2,
                 outgoing_unsigned=1, invalid_wrong_unit=1, incoming=10, incoming_electronic=10)  # fmt: skip
    put_counters(conn, DEPARTMENT, "2026-11", outgoing=12, outgoing_electronic=12, outgoing_issued_electronic=3,
                 outgoing_signed_valid=5, outgoing_nd30=3)  # fmt: skip
    put_counters(conn, "000.02.20.H04", "2026-11", outgoing=3, outgoing_paper=3)
    put_counters(conn, "000.03.20.H04", "2026-11", outgoing=15, outgoing_electronic=15, outgoing_issued_electronic=4,
                 outgoing_signed_valid=15, outgoing_nd30=4)  # fmt: skip
    conn.close()
    return path


def _render(db: Path, console: Console) -> None:
    conn = sqlite3.connect(db)
    try:
        render_summary(summarise(conn, parse_period("2026-11")), console)
    finally:
        conn.close()


def _printed_headers(text: str) -> list[list[str]]:
    """Each table's column headers, as printed."""
    return [
        [part.strip() for part in line.strip("┃").split("┃")]
        for line in text.splitlines()
        if line.startswith("┃ Đơn vị")
    ]


def _assert_readable(text: str, width: int) -> None:
    assert "\x1b[" not in text
    assert all(len(line) <= width for line in text.splitlines()), "a line is wider than the terminal"
    tokens = set(_BOX.sub(" ", text).split())
    for code, name in NAMES.items():
        assert code in tokens, f"{code} is cut or missing"
        assert set(name.split()) <= tokens, f"a word of {name!r} is cut"
    words = {token.strip(",") for token in tokens}
    for flag in ("below_target", "paper", "personal_only", "invalid_signatures", "unsigned", "wrong_unit", "no_data"):
        assert set(flag_word(flag).split()) <= words, flag  # the flags column in words ("dưới chỉ tiêu")
    headers = _printed_headers(text)
    assert len(headers) == 4 and all(table == headers[0] for table in headers), "every level has the same columns"
    printed = headers[0]
    assert printed[:2] == ["Đơn vị", "Mã định danh"]  # the commune table shows the code too
    defined = [line.split(":")[0] for line in text.splitlines() if re.match(r"^[^\s│┃┏┗┡└].*?: ", line)]
    assert [h for h in defined if h in {c.shown for c in COLUMNS}] == [h for h in printed if h != "Đơn vị"]
    left_out = [c.shown for c in COLUMNS if c.shown not in printed]
    flat = " ".join(text.split())
    if left_out:
        assert f"Không in vì không đủ chỗ: {', '.join(left_out)} (" in flat
    else:
        assert "Không in vì không đủ chỗ" not in flat


@pytest.mark.parametrize("width", [80, 120])
def test_table_is_readable_and_its_footer_names_the_printed_columns(db: Path, width: int) -> None:
    out = io.StringIO()
    _render(db, Console(file=out, width=width, no_color=True, legacy_windows=False))
    text = out.getvalue()
    _assert_readable(text, width)
    printed = _printed_headers(text)[0]
    assert {"PHĐT", "Xếp loại", "Cờ"} <= set(printed)
    if width == 120:
        assert {"VB đi", "NĐ30", "Ký số"} <= set(printed)
    else:
        assert "Ký số" not in printed and "Xu hướng" not in printed


def test_table_redirected_to_a_file_is_readable(db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    with (tmp_path / "summary.txt").open("w", encoding="utf-8") as file:
        _render(db, Console(file=file))
    _assert_readable((tmp_path / "summary.txt").read_text(encoding="utf-8"), 80)
    piped = CliRunner().invoke(main, ["summary", "--db", str(db), "--period", "2026-11"])
    assert piped.exit_code == 0
    _assert_readable(piped.stdout, 80)


def _run(db: Path, *args: str) -> object:
    return CliRunner().invoke(main, ["summary", "--db", str(db), "--period", "2026-11", *args])


def test_unit_by_name_without_diacritics_and_several_matches_listed(db: Path) -> None:
    for name in ("so y te", "Sở Y tế", "SO Y TE TINH BAC KAN", HEALTH):
        found = _run(db, "--unit", name, "--json")
        assert found.exit_code == 0, found.output  # type: ignore[attr-defined]
        assert json.loads(found.stdout)["unit"] == HEALTH  # type: ignore[attr-defined]
    several = _run(db, "--unit", "ubnd xa")
    assert several.exit_code == 2  # type: ignore[attr-defined]
    assert all(code in several.output for code in COMMUNES)  # type: ignore[attr-defined]
    assert "3 đơn vị khớp" in several.output  # type: ignore[attr-defined]
    none = _run(db, "--unit", "so khong co")
    assert none.exit_code == 1 and "không có đơn vị" in none.output  # type: ignore[attr-defined]


def test_behind_shows_only_units_below_target(db: Path) -> None:
    rows = json.loads(_run(db, "--behind", "--json").stdout)  # type: ignore[attr-defined]
    assert {row["unit"] for row in rows} == {EDUCATION, DEPARTMENT, "000.03.20.H04"}
    assert all(row["tier"] == "Chưa đạt" for row in rows)
    table = _run(db, "--behind").stdout  # type: ignore[attr-defined]
    assert "dưới chỉ tiêu" in table and HEALTH not in table and EDUCATION in table


def test_json_is_an_array_and_refuses_csv_alongside(db: Path) -> None:
    rows = json.loads(_run(db, "--json").stdout)  # type: ignore[attr-defined]
    assert isinstance(rows, list) and {row["unit"] for row in rows} == set(NAMES)
    both = _run(db, "--json", "--csv")
    assert both.exit_code == 2 and "--json cùng với --csv" in both.output  # type: ignore[attr-defined]


def test_fail_on_flags_ignores_no_data_unless_asked(tmp_path: Path) -> None:
    path = tmp_path / "quiet.db"
    conn = new_store(path)
    put_unit(conn, HEALTH, NAMES[HEALTH], "department", PROVINCE)
    put_unit(conn, SILENT, NAMES[SILENT], "department", PROVINCE)
    put_counters(conn, HEALTH, "2026-11", outgoing=20, outgoing_electronic=20, outgoing_issued_electronic=20,
                 outgoing_signed_valid=20, outgoing_nd30=20)  # fmt: skip
    conn.close()
    assert _run(path, "--fail-on-flags").exit_code == 0  # type: ignore[attr-defined]
    assert _run(path, "--fail-on-flags=no_data").exit_code == 1  # type: ignore[attr-defined]
    assert _run(path, "--fail-on-flags=all").exit_code == 1  # type: ignore[attr-defined]
    assert _run(path, "--fail-on-flags=below_target,paper").exit_code == 0  # type: ignore[attr-defined]
    unknown = _run(path, "--fail-on-flags=nodata")
    assert unknown.exit_code == 2 and "không có cờ nodata" in unknown.output  # type: ignore[attr-defined]


def test_fail_on_flags_alone_still_fires_on_other_flags(db: Path) -> None:
    assert _run(db, "--fail-on-flags").exit_code == 1  # type: ignore[attr-defined]
    assert _run(db, "--fail-on-flags", "--unit", HEALTH).exit_code == 0  # type: ignore[attr-defined]
    assert _run(db, "--fail-on-flags", "--unit", EDUCATION).exit_code == 1  # type: ignore[attr-defined]
