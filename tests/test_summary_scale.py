"""The summary at scale: the SQL ranking agrees with the Python formulas, and a table
summary (worst rows of each level only) says exactly what the full summary says.

The store is random but seeded, and built to hit every branch the formulas have: thin
units, units with only incoming or confidential documents, every flag, declining
trends, malformed codes, units known only from counters, and odd level names.
"""

from __future__ import annotations

import io
import json
import random
import sqlite3
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers.db import new_store, put_unit
from rich.console import Console

from docflow.cli import main
from docflow.cli.summary_view import render_summary
from docflow.reports.metrics import LEVELS, UNRANKED, SummarySettings, parse_period
from docflow.reports.ranking import _ranking_sql, flag_words, rank_units
from docflow.reports.summary import Summary, UnitSummary, summarise
from docflow.store.core import Store
from docflow.store.schema import COUNTER_COLUMNS

ODD_LEVELS = ("", "ward")  # stored as written: '' reads as unknown, 'ward' is a level docflow does not know


def _random_counters(generator: random.Random) -> dict[str, int]:
    outgoing = generator.choice((0, 0, 1, 3, 9, 10, 11, 40, 200))
    electronic = generator.randint(0, outgoing)
    signed = generator.randint(0, electronic)
    counts = {
        "outgoing": outgoing,
        "outgoing_electronic": electronic,
        "outgoing_paper": outgoing - electronic,
        "outgoing_issued_electronic": generator.randint(0, electronic),
        "outgoing_signed_valid": signed,
        "outgoing_nd30": generator.choice((signed, signed, generator.randint(0, signed))),
        "outgoing_unsigned": generator.choice((0, 0, 0, electronic - signed)),
        "outgoing_confidential": generator.choice((0, 0, 2)),
        "incoming": generator.choice((0, 5)),
        "incoming_electronic": generator.choice((0, 3)),
        "incoming_due": 2,
        "incoming_due_on_time": generator.choice((0, 1, 2)),
        "incoming_confidential": generator.choice((0, 0, 1)),
    }
    for reason in ("tampered", "untrusted", "revoked", "expired", "weak", "wrong_unit", "other"):
        counts[f"invalid_{reason}"] = generator.choice((0,) * 12 + (1,))
    return counts


def _random_store(path: Path, units: int = 240, seed: int = 17) -> None:
    """Units across levels (most of them departments, so a level overflows the table) over 2025–2026."""
    conn = new_store(path)
    generator = random.Random(seed)
    levels = ("department",) * 6 + LEVELS + ODD_LEVELS
    rows = []
    for number in range(units):
        code = f"{number // 100:03d}.{number % 100:02d}.{number % 7:02d}.H04"
        if number % 23 != 0:  # every 23rd unit is known only from its counters
            put_unit(conn, code, f"Đơn vị {number}", generator.choice(levels), valid=number % 11 != 0)
        if number % 29 == 1:
            continue  # a unit with no documents at all
        falling = number % 5 == 0
        for year in (2025, 2026):
            for month in range(1, 13):
                if generator.random() < 0.25:
                    continue  # a month without documents
                counts = _random_counters(generator)
                if falling and (year, month) >= (2026, 7):
                    counts["outgoing_issued_electronic"] = 0  # the later half collapses: declining
                rows.append((code, f"{year}-{month:02d}", counts))
    generator.shuffle(rows)  # as ingestion leaves them: not in unit order
    for code, period, counts in rows:
        columns = ["unit", "period", *counts]
        conn.execute(
            f"INSERT INTO unit_counters ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})",
            (code, period, *counts.values()),
        )
    conn.commit()
    conn.close()


@pytest.fixture(scope="module")
def conn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[sqlite3.Connection]:
    path = tmp_path_factory.mktemp("scale") / "docflow.db"
    _random_store(path)
    conn = sqlite3.connect(path)
    yield conn
    conn.close()


def _worst_first(row: UnitSummary) -> tuple[object, ...]:
    """Worst first within each level, as the summary has always listed units, from the Python rows."""
    level_rank = LEVELS.index(row.unit.level) if row.unit.level in LEVELS else len(LEVELS)
    rate = row.rates.e_issuance_rate
    return (level_rank, row.tier == UNRANKED, rate is None, rate or 0.0, -len(row.flags), row.unit.code)


def _group(level: str) -> str | None:
    return level if level in LEVELS else None


PERIODS = ("2026", "2026-Q1", "2026-Q3", "2026-01", "2026-08", "2025")


@pytest.mark.parametrize("text", PERIODS)
def test_sql_ranking_matches_the_python_formulas(conn: sqlite3.Connection, text: str) -> None:
    summary = summarise(conn, parse_period(text))
    flagged = {row.unit.code: row.flags for row in summary.units}
    raised = {flag for flags in flagged.values() for flag in flags}
    assert raised >= {"below_target", "paper", "unsigned", "personal_only", "invalid_signatures", "wrong_unit",
                      "no_data", "invalid_code"}  # fmt: skip
    assert "declining" in raised or text != "2026"
    assert list(summary.units) == sorted(summary.units, key=_worst_first)
    period = parse_period(text)
    ranking = rank_units(conn, period, period.trend_periods(6), SummarySettings(), level=None, unit=None)
    assert {code: flag_words(mask) for code, _, mask in ranking.rows} == {
        code: frozenset(flags) for code, flags in flagged.items()
    }


def test_the_random_store_raises_declining(conn: sqlite3.Connection) -> None:
    """Otherwise the comparison above would not cover the trend halves."""
    rows = summarise(conn, parse_period("2026")).units
    assert sum("declining" in row.flags for row in rows) >= 5


@pytest.mark.parametrize("settings", [
    SummarySettings(),
    SummarySettings(min_documents=1, level_targets=(("commune", 0.3), ("commune", 0.5)), trend_length=5),
    SummarySettings(min_documents=0, paper_share=0.0, personal_only_share=0.0, declining_drop=0.0, trend_length=1),
])  # fmt: skip
def test_settings_reach_the_sql_ranking(conn: sqlite3.Connection, settings: SummarySettings) -> None:
    for text in ("2026", "2026-Q2", "2026-03"):
        period = parse_period(text)
        summary = summarise(conn, period, settings)
        assert list(summary.units) == sorted(summary.units, key=_worst_first)
        ranking = rank_units(conn, period, period.trend_periods(settings.trend_length), settings,
                              level=None, unit=None)  # fmt: skip
        assert [(code, flag_words(mask)) for code, _, mask in ranking.rows] == [
            (row.unit.code, frozenset(row.flags)) for row in summary.units
        ]


def _expected_table_rows(full: Summary, limit: int) -> list[UnitSummary]:
    taken: Counter[str | None] = Counter()
    rows = []
    for row in full.units:
        taken[_group(row.unit.level)] += 1
        if taken[_group(row.unit.level)] <= limit:
            rows.append(row)
    return rows


@pytest.mark.parametrize("text", PERIODS)
@pytest.mark.parametrize("limit", [1, 7, 120])
def test_table_summary_holds_the_worst_of_each_level_and_counts_the_rest(
    conn: sqlite3.Connection, text: str, limit: int
) -> None:
    full = summarise(conn, parse_period(text))
    table = summarise(conn, parse_period(text), rows_per_level=limit)
    assert list(table.units) == _expected_table_rows(full, limit)
    assert dict(table.units_per_level) == dict(Counter(row.unit.level for row in full.units))
    assert table.flags_seen == tuple(sorted({flag for row in full.units for flag in row.flags}))
    assert table.flagged_count == len(full.flagged)
    assert len(table.flagged) < len(full.flagged) or limit == 120  # some flagged units were left out


@pytest.mark.parametrize("limit", [3, 120])
def test_table_summary_renders_exactly_as_the_full_one(conn: sqlite3.Connection, limit: int) -> None:
    def text(summary: Summary) -> str:
        out = io.StringIO()
        render_summary(summary, Console(file=out, width=170), limit)
        return out.getvalue()

    period = parse_period("2026")
    rendered = text(summarise(conn, period, rows_per_level=limit))
    assert rendered == text(summarise(conn, period))
    if limit == 3:
        assert "đơn vị khác (--all để xem tất cả)" in rendered


def test_level_and_unit_filters_keep_their_meaning(conn: sqlite3.Connection) -> None:
    period = parse_period("2026-Q3")
    full = summarise(conn, period)
    for level in (*LEVELS, "ward"):
        assert summarise(conn, period, level=level).units == tuple(r for r in full.units if r.unit.level == level)
    for row in full.units[::37]:
        assert summarise(conn, period, unit=row.unit.code).units == (row,)
    assert summarise(conn, period, unit="999.99.99.H04").units == ()


def test_summary_command_flags_units_beyond_the_table(tmp_path: Path) -> None:
    """--fail-on-flags and --json cover every unit, not just the rows the table lists."""
    db = tmp_path / "docflow.db"
    conn = new_store(db)
    clean = {"outgoing": 20, "outgoing_electronic": 20, "outgoing_issued_electronic": 19,
             "outgoing_signed_valid": 20, "outgoing_nd30": 20}  # fmt: skip
    codes = [f"000.{n // 100:02d}.{n % 100:02d}.H04" for n in range(131)]
    for number, code in enumerate(codes):
        put_unit(conn, code, f"Sở {number}", "department")
        counts = dict(clean)
        if number == 130:  # the best rate, so ranked last, but signed for another unit
            counts.update(outgoing_issued_electronic=20, invalid_wrong_unit=1)
        conn.execute(
            f"INSERT INTO unit_counters (unit, period, {', '.join(counts)}) VALUES (?, '2026-03', "
            f"{', '.join('?' for _ in counts)})",
            (code, *counts.values()),
        )
    conn.commit()
    conn.close()
    runner = CliRunner()
    args = ["summary", "--db", str(db), "--period", "2026-03"]
    table = runner.invoke(main, [*args, "--fail-on-flags"], env={"NO_COLOR": "1", "COLUMNS": "200"})
    assert table.exit_code == 1, table.output
    assert "… và 11 đơn vị khác" in table.output and "Sở 130" not in table.output
    assert (
        "  sai đơn vị (wrong_unit): chữ ký cơ quan thuộc đơn vị khác" in table.output
    )  # the legend covers unlisted units
    rows = json.loads(runner.invoke(main, [*args, "--json"]).output)
    assert len(rows) == 131 and rows[-1]["unit"] == codes[130] and rows[-1]["flags"] == ["wrong_unit"]
    listed = runner.invoke(main, [*args, "--all"], env={"NO_COLOR": "1", "COLUMNS": "200"})
    assert "Sở 130" in listed.output and "--all để xem tất cả" not in listed.output


def test_opening_a_store_adds_the_summary_index(tmp_path: Path) -> None:
    with Store.open(tmp_path / "docflow.db") as store:
        columns = [row[2] for row in store.conn.execute("PRAGMA index_info(unit_counters_by_unit)")]
    assert columns == ["unit", "period", *COUNTER_COLUMNS]


def _by_month_rows(
    conn: sqlite3.Connection,
    text: str,
    settings: SummarySettings = SummarySettings(),
    level: str | None = None,
    unit: str | None = None,
) -> list[tuple[object, ...]]:
    """The ranking as the month rows give it: the query every period but a year still runs."""
    period = parse_period(text)
    trend = period.trend_periods(settings.trend_length)
    sql, params = _ranking_sql(period, trend, settings, level=level, unit=unit, year_rollup=False)
    return conn.execute(sql, params).fetchall()


def _assert_years_rank_as_by_month(conn: sqlite3.Connection) -> None:
    period = parse_period("2026")
    rollup_sql, _ = _ranking_sql(period, period.trend_periods(6), SummarySettings(), level=None, unit=None)
    assert "unit_year_counters" in rollup_sql  # so that rank_units below reads the rollup
    for text in ("2025", "2026", "2027"):  # 2027: no counters at all, every unit without data
        for settings in (SummarySettings(), SummarySettings(min_documents=0, declining_drop=0.0, trend_length=1)):
            period = parse_period(text)
            ranking = rank_units(conn, period, period.trend_periods(settings.trend_length), settings,
                                 level=None, unit=None)  # fmt: skip
            assert ranking.rows == _by_month_rows(conn, text, settings), (text, settings)
        period = parse_period(text)
        for level in ("department", "commune", "ward"):
            by_level = rank_units(conn, period, period.trend_periods(6), SummarySettings(), level=level, unit=None)
            assert by_level.rows == _by_month_rows(conn, text, level=level)
        for code, _, _ in _by_month_rows(conn, text)[::41]:
            one = rank_units(conn, period, period.trend_periods(6), SummarySettings(), level=None, unit=code)
            assert one.rows == _by_month_rows(conn, text, unit=code)


def test_a_year_ranks_the_same_through_its_rollup_as_through_the_month_rows(tmp_path: Path) -> None:
    """unit_year_counters (migration 5) gives a year's ranking; it must be the month rows' ranking, exactly,
    and stay so when the counters change under it and when they are rebuilt."""
    path = tmp_path / "docflow.db"
    _random_store(path, units=180, seed=5)
    with Store.open(path) as store:
        conn = store.conn
        _assert_years_rank_as_by_month(conn)
        rows = _by_month_rows(conn, "2026")
        assert {flag for _, _, mask in rows for flag in flag_words(mask)} >= {"declining", "no_data", "invalid_code"}
        conn.execute("CREATE TEMP TABLE saved AS SELECT * FROM unit_counters")
        with store.transaction():  # counters change: a year moves, months empty, zero rows and new units appear
            conn.execute("UPDATE unit_counters SET outgoing_issued_electronic = 0"
                         " WHERE period BETWEEN '2026-07' AND '2026-12' AND rowid % 3 = 0")  # fmt: skip
            conn.execute("UPDATE unit_counters SET period = '2025' || substr(period, 5) WHERE rowid % 17 = 0"
                         " AND NOT EXISTS (SELECT 1 FROM unit_counters o WHERE o.unit = unit_counters.unit"
                         " AND o.period = '2025' || substr(unit_counters.period, 5))")  # fmt: skip
            conn.execute("DELETE FROM unit_counters WHERE rowid % 7 = 0 OR unit LIKE '000.23.%'")
            conn.execute("INSERT INTO unit_counters (unit, period) VALUES ('900.00.00.H04', '2026-02')")
            conn.execute("INSERT INTO unit_counters (unit, period, outgoing, outgoing_issued_electronic)"
                         " VALUES ('901.00.00.H04', '2026-09', 30, 3)")  # fmt: skip
        _assert_years_rank_as_by_month(conn)
        assert "900.00.00.H04" in {code for code, _, _ in _by_month_rows(conn, "2026")}
        store.recompute_counters()  # no documents here: every month row goes, and so must every year row
        assert conn.execute("SELECT count(*) FROM unit_year_counters").fetchone() == (0,)
        units = conn.execute("SELECT count(*) FROM units").fetchone()[0]
        assert len(_by_month_rows(conn, "2026")) == units < 180  # units known only from counters are gone
        _assert_years_rank_as_by_month(conn)
        with store.transaction():  # a bulk INSERT … SELECT, as the summary bench fills its counters
            conn.execute("INSERT INTO unit_counters SELECT * FROM saved")
        assert _by_month_rows(conn, "2026") == rows
        _assert_years_rank_as_by_month(conn)


def test_a_store_without_the_year_rollup_still_ranks_a_year(tmp_path: Path) -> None:
    """Reading never migrates: a store last written before migration 5 ranks from its month rows."""
    path = tmp_path / "docflow.db"
    _random_store(path, units=60, seed=3)
    conn = sqlite3.connect(path)
    expected = _by_month_rows(conn, "2026")
    conn.executescript("DROP TRIGGER unit_counters_year_insert; DROP TRIGGER unit_counters_year_update;"
                       " DROP TRIGGER unit_counters_year_move; DROP TRIGGER unit_counters_year_delete;"
                       " DROP TABLE unit_year_counters; PRAGMA user_version = 4;")  # fmt: skip
    period = parse_period("2026")
    ranking = rank_units(conn, period, period.trend_periods(6), SummarySettings(), level=None, unit=None)
    assert ranking.rows == expected
    conn.close()
