"""Summaries across a reorganisation: merges, a split, a dissolved district, a province merger, unknown codes.

The store is hand-built (``helpers.db``): the counters stay keyed by the code each document carried, and every
expected figure below is a sum of what a test wrote. Attribution happens when reading (docflow.reports.lineage).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers.db import new_store, put_counters

from docflow.cli import main
from docflow.reports.drilldown import unit_detail
from docflow.reports.lineage import last_day, load_lineage
from docflow.reports.metrics import SummarySettings, parse_period
from docflow.reports.ranking import flag_words, rank_units
from docflow.reports.summary import Summary, summarise
from docflow.reports.units import import_units

BAC_KAN, THAI_NGUYEN = "000.00.00.H04", "000.00.00.H56"
DEPARTMENT = "000.00.03.H56"
DISTRICT = "000.00.21.H04"
OLD_A, OLD_B, OLD_C = "000.01.21.H04", "000.02.21.H04", "000.03.21.H04"
MERGED, SPLIT_FIRST, SPLIT_SECOND = "000.05.00.H56", "000.06.00.H56", "000.07.00.H56"
UNKNOWN = "000.09.21.H04"

UNIT_LIST = f"""code,name,level,valid_from,valid_to,successors
{BAC_KAN},UBND tỉnh Bắc Kạn,province,,2025-06-30,{THAI_NGUYEN}
{THAI_NGUYEN},UBND tỉnh Thái Nguyên,province,,,
{DEPARTMENT},Sở Nội vụ,department,,,
{DISTRICT},UBND huyện Ba Bể,district,,2025-06-30,
"""

CHANGES = f"""ma_cu,ten_cu,ma_moi,ten_moi,ngay_hieu_luc
{OLD_A},UBND xã A,{MERGED},UBND xã Ba Bể,01/07/2025
{OLD_B},UBND xã B,{MERGED},UBND xã Ba Bể,01/07/2025
{OLD_C},UBND xã C,{SPLIT_FIRST},UBND xã Chợ Rã,01/07/2025
{OLD_C},UBND xã C,{SPLIT_SECOND},UBND xã Phúc Lộc,01/07/2025
"""

BEFORE = (BAC_KAN, DISTRICT, OLD_A, OLD_B, OLD_C)
AFTER = (MERGED, SPLIT_FIRST, SPLIT_SECOND)
MONTHS = tuple(f"{year}-{month:02d}" for year in (2025, 2026) for month in range(1, 13))


def _documents(code: str, month: str) -> tuple[int, int]:
    """(outgoing, issued electronically) a test writes for ``code`` in ``month``: distinct per code and month."""
    outgoing = 10 + (sum(map(ord, code)) + int(month[-2:]) * 7) % 13
    return outgoing, outgoing * (3 + int(month[-2:]) % 5) // 8


@pytest.fixture()
def conn(tmp_path: Path) -> Iterator[sqlite3.Connection]:
    conn = new_store(tmp_path / "docflow.db")
    for name, text in (("units.csv", UNIT_LIST), ("changes.csv", CHANGES)):
        (tmp_path / name).write_text(text, encoding="utf-8")
        assert not import_units(conn, tmp_path / name).rejected
    conn.execute("INSERT INTO units (code, name, level, source) VALUES (?, NULL, 'commune', 'edxml')", (UNKNOWN,))
    for month in MONTHS:
        codes = (*BEFORE, UNKNOWN) if month <= "2025-06" else AFTER
        for code in (*codes, THAI_NGUYEN, DEPARTMENT):
            outgoing, issued = _documents(code, month)
            put_counters(conn, code, month, outgoing=outgoing, outgoing_issued_electronic=issued, incoming=1)
    yield conn
    conn.close()


def _written(codes: tuple[str, ...], months: tuple[str, ...]) -> int:
    return sum(_documents(code, month)[0] for code in codes for month in months)


def _row(summary: Summary, code: str) -> dict[str, object]:
    rows = [row.to_json() for row in summary.units if row.unit.code == code]
    assert len(rows) == 1, f"{code} listed {len(rows)} times"
    return rows[0]


def _codes(summary: Summary) -> set[str]:
    return {row.unit.code for row in summary.units}


def test_a_merged_commune_counts_its_predecessors(conn: sqlite3.Connection) -> None:
    year = parse_period("2025")
    summary = summarise(conn, year)
    first_half, second_half = year.months[:6], year.months[6:]
    assert _row(summary, MERGED)["outgoing"] == _written((OLD_A, OLD_B), first_half) + _written((MERGED,), second_half)
    assert _row(summary, MERGED)["predecessors"] == [OLD_A, OLD_B]
    assert not _codes(summary) & {OLD_A, OLD_B}


def test_the_sparkline_of_a_merged_commune_holds_its_predecessors_months(conn: sqlite3.Connection) -> None:
    summary = summarise(conn, parse_period("2025-Q3"))
    labels = summary.trend_labels
    trend = dict(zip(labels, _row(summary, MERGED)["trend"], strict=True))  # type: ignore[arg-type]
    months = parse_period("2025-Q2").months
    issued = sum(_documents(code, month)[1] for code in (OLD_A, OLD_B) for month in months)
    assert trend["2025-Q2"] == pytest.approx(issued / _written((OLD_A, OLD_B), months))
    assert trend["2024-Q4"] is None  # no documents at all that quarter


def test_a_split_carries_its_history_to_the_first_successor(conn: sqlite3.Connection) -> None:
    year = parse_period("2025")
    summary = summarise(conn, year)
    first_half, second_half = year.months[:6], year.months[6:]
    assert _row(summary, SPLIT_FIRST)["outgoing"] == _written((OLD_C,), first_half) + _written(
        (SPLIT_FIRST,), second_half
    )
    assert _row(summary, SPLIT_SECOND)["outgoing"] == _written((SPLIT_SECOND,), second_half)


def test_a_dissolved_district_keeps_its_history_and_leaves_the_tables_once_it_has_none(
    conn: sqlite3.Connection,
) -> None:
    year = summarise(conn, parse_period("2025"))
    assert _row(year, DISTRICT)["outgoing"] == _written((DISTRICT,), parse_period("2025").months[:6])
    assert _row(year, DISTRICT)["valid_to"] == "2025-06-30"
    after = summarise(conn, parse_period("2026-Q3"))
    assert DISTRICT not in _codes(after)
    assert not [row for row in after.units if row.unit.level == "district"]


def test_a_province_merger(conn: sqlite3.Connection) -> None:
    year = parse_period("2025")
    summary = summarise(conn, year)
    expected = _written((BAC_KAN,), year.months[:6]) + _written((THAI_NGUYEN,), year.months)
    assert _row(summary, THAI_NGUYEN)["outgoing"] == expected
    assert BAC_KAN not in _codes(summary)
    before = summarise(conn, parse_period("2025-Q2"))  # both provinces were in force then
    assert {BAC_KAN, THAI_NGUYEN} <= _codes(before)


def test_a_code_unknown_to_the_list_is_counted_not_dropped(conn: sqlite3.Connection) -> None:
    summary = summarise(conn, parse_period("2025-Q2"))
    assert _row(summary, UNKNOWN)["on_list"] is False
    assert summary.unknown_codes == 1
    assert _row(summary, UNKNOWN)["outgoing"] == _written((UNKNOWN,), parse_period("2025-Q2").months)


def test_units_lists_the_life_spans_and_the_unknown_code(conn: sqlite3.Connection, tmp_path: Path) -> None:
    conn.commit()
    result = CliRunner().invoke(
        main, ["--lang", "en", "units", "--db", str(tmp_path / "docflow.db")], env={"COLUMNS": "200"}
    )
    assert result.exit_code == 0, result.output
    lines = {line.split("│")[1].strip(): line for line in result.output.splitlines() if line.count("│") > 2}
    assert "not on the unit list (unknown)" in lines[UNKNOWN]
    assert "dissolved 30/06/2025" in lines[DISTRICT]
    assert f"went into {SPLIT_FIRST}, {SPLIT_SECOND}" in lines[OLD_C]
    listed = CliRunner().invoke(main, ["units", "--json", "--db", str(tmp_path / "docflow.db")])
    by_code = {unit["code"]: unit for unit in json.loads(listed.output)}
    assert by_code[OLD_C]["successors"] == [SPLIT_FIRST, SPLIT_SECOND] and by_code[UNKNOWN]["on_list"] is False


@pytest.mark.parametrize("kind", ["month", "quarter", "year"])
def test_the_sum_over_successors_equals_the_sum_over_predecessors(conn: sqlite3.Connection, kind: str) -> None:
    labels = {
        "month": MONTHS,
        "quarter": tuple(f"{year}-Q{q}" for year in (2025, 2026) for q in range(1, 5)),
        "year": ("2025", "2026"),
    }[kind]
    for label in labels:
        period = parse_period(label)
        attributed = summarise(conn, period)
        as_issued = summarise(conn, period, as_issued=True)
        written = sum(_documents(code, month)[0] for code in (*BEFORE, *AFTER, UNKNOWN, THAI_NGUYEN, DEPARTMENT)
                      for month in period.months if (code, month) in _rows_written())  # fmt: skip
        for field in ("outgoing", "outgoing_issued_electronic", "incoming"):
            total = sum(getattr(row.counters, field) for row in attributed.units)
            assert total == sum(getattr(row.counters, field) for row in as_issued.units), (label, field)
        assert sum(row.counters.outgoing for row in attributed.units) == written, label


def _rows_written() -> set[tuple[str, str]]:
    rows = set()
    for month in MONTHS:
        codes = (*BEFORE, UNKNOWN) if month <= "2025-06" else AFTER
        rows |= {(code, month) for code in (*codes, THAI_NGUYEN, DEPARTMENT)}
    return rows


def test_as_issued_shows_the_units_as_they_were(conn: sqlite3.Connection) -> None:
    year = parse_period("2025")
    summary = summarise(conn, year, as_issued=True)
    assert summary.structure_day is None
    assert {BAC_KAN, DISTRICT, OLD_A, OLD_B, OLD_C, MERGED} <= _codes(summary)
    assert _row(summary, MERGED)["outgoing"] == _written((MERGED,), year.months[6:])
    assert _row(summary, MERGED)["predecessors"] == []


def test_a_corrected_lineage_needs_no_reingesting(conn: sqlite3.Connection, tmp_path: Path) -> None:
    year = parse_period("2025")
    (tmp_path / "fix.csv").write_text(f"code,valid_to,successors\n{OLD_C},2025-06-30,{SPLIT_SECOND}\n", "utf-8")
    import_units(conn, tmp_path / "fix.csv")
    summary = summarise(conn, year)
    assert _row(summary, SPLIT_SECOND)["outgoing"] == _written((OLD_C,), year.months[:6]) + _written(
        (SPLIT_SECOND,), year.months[6:]
    )
    assert _row(summary, SPLIT_FIRST)["outgoing"] == _written((SPLIT_FIRST,), year.months[6:])


def test_a_lineage_cycle_stops(conn: sqlite3.Connection) -> None:
    conn.execute("UPDATE units SET valid_to = '2025-06-30' WHERE code = ?", (MERGED,))
    conn.execute("INSERT INTO unit_successors (code, successor, position) VALUES (?, ?, 0)", (MERGED, OLD_A))
    lineage = load_lineage(conn, "2026-09-30")
    assert lineage.of(OLD_A) == MERGED and lineage.of(MERGED) == OLD_A


def test_a_unit_that_ended_is_drilled_into_as_it_was(conn: sqlite3.Connection) -> None:
    detail = unit_detail(conn, OLD_A, parse_period("2025"))
    assert detail.summary is not None
    assert detail.summary.counters.outgoing == _written((OLD_A,), parse_period("2025").months[:6])
    merged = unit_detail(conn, MERGED, parse_period("2025"))
    assert merged.summary is not None and merged.summary.predecessors == (OLD_A, OLD_B)


def test_the_json_contract_keeps_its_fields(conn: sqlite3.Connection, tmp_path: Path) -> None:
    conn.commit()
    result = CliRunner().invoke(main, ["summary", "--period", "2025", "--json", "--db", str(tmp_path / "docflow.db")])
    assert result.exit_code == 0, result.output
    row = next(unit for unit in json.loads(result.output) if unit["unit"] == MERGED)
    existing = ["unit", "name", "level", "parent", "code_valid", "outgoing", "invalid", "e_issuance_rate", "tier",
                "flags", "trend", "signatures_not_trust_checked", "on_time_rate", "nd30_rate"]  # fmt: skip
    assert all(key in row for key in existing)
    assert row["predecessors"] == [OLD_A, OLD_B] and row["valid_from"] == "2025-07-01"


def test_the_summary_says_which_structure_and_how_many_codes_are_unknown(
    conn: sqlite3.Connection, tmp_path: Path
) -> None:
    conn.commit()
    db = str(tmp_path / "docflow.db")
    shown = CliRunner().invoke(
        main, ["--lang", "en", "summary", "--period", "2025", "--db", db], env={"COLUMNS": "200"}
    )
    assert "Units as in force on 31/12/2025: 4 codes of units that ended count towards their successors" in shown.output
    before = CliRunner().invoke(main, ["--lang", "en", "summary", "--period", "2025-Q2", "--db", db],
                                env={"COLUMNS": "200"})  # fmt: skip
    assert "1 code is not on the unit list and is counted as unknown to it" in before.output
    issued = CliRunner().invoke(main, ["--lang", "en", "summary", "--period", "2025", "--as-issued", "--db", db],
                                env={"COLUMNS": "200"})  # fmt: skip
    assert "Units as they were when each document was issued (--as-issued)." in issued.output


def test_each_structure_has_its_targets() -> None:
    settings = SummarySettings(structures=(("2025-07-01", (("commune", 0.8),)),))
    assert settings.in_force("2025-06-30").target("commune") == 0.6
    assert settings.in_force("2025-07-01").target("commune") == 0.8
    assert settings.in_force("2026-09-30").target("district") == 0.8  # a level it does not name keeps its target
    assert SummarySettings().in_force("2026-09-30").level_targets == SummarySettings().level_targets


@pytest.mark.parametrize("label", ["2025", "2026", "2025-Q3", "2025-Q2", "2026-02"])
def test_the_sql_ranking_agrees_with_the_rows_built_in_python(conn: sqlite3.Connection, label: str) -> None:
    period = parse_period(label)
    settings = SummarySettings(min_documents=1)
    summary = summarise(conn, period, settings)
    lineage = load_lineage(conn, last_day(period))
    ranking = rank_units(conn, period, period.trend_periods(settings.trend_length), settings, level=None, unit=None,
                         lineage=lineage)  # fmt: skip
    assert [(code, flag_words(mask)) for code, _, mask in ranking.rows] == [
        (row.unit.code, frozenset(row.flags)) for row in summary.units
    ]
    assert len(summary.units) >= 6  # the units in force (and the unknown code), plus any with documents
