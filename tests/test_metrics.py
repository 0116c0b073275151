"""Rates, periods, tiers and flags on hand-built stores with known answers.

The stores are built by ``helpers.db`` straight from the schema, so the expected numbers are
exactly what the test wrote.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from helpers.db import COMMUNE, DEPARTMENT, DISTRICT, PROVINCE, new_store, put_counters, put_unit

from docflow.reports.metrics import (
    BELOW_TARGET,
    MEETS_TARGET,
    UNRANKED,
    Counters,
    Period,
    PeriodKind,
    SummarySettings,
    flags_of,
    is_declining,
    latest_year,
    parse_period,
    rates_of,
    tier_of,
)
from docflow.reports.summary import summarise


@pytest.fixture
def conn(tmp_path: Path) -> sqlite3.Connection:
    conn = new_store(tmp_path / "docflow.db")
    put_unit(conn, PROVINCE, "UBND tỉnh Bắc Kạn", "province")
    put_unit(conn, DEPARTMENT, "Sở Tài chính", "department", PROVINCE)
    put_unit(conn, DISTRICT, "UBND huyện Ba Bể", "district", PROVINCE)
    put_unit(conn, COMMUNE, "UBND xã Thượng Giáo", "commune", DISTRICT)
    return conn


def test_periods_parse_and_expand_to_months() -> None:
    assert parse_period("2026-10").months == ("2026-10",)
    assert parse_period("2026-Q3").months == ("2026-07", "2026-08", "2026-09")
    assert len(parse_period("2026").months) == 12
    assert parse_period("2026-q1").label == "2026-Q1"


@pytest.mark.parametrize("text", ["2026-13", "26-10", "2026-Q5", "last year", ""])
def test_bad_periods_say_what_is_expected(text: str) -> None:
    with pytest.raises(ValueError, match="2026-Q3"):
        parse_period(text)


def test_trend_periods_cross_year_boundaries() -> None:
    assert [p.label for p in parse_period("2026-02").trend_periods(4)] == [
        "2025-11", "2025-12", "2026-01", "2026-02",
    ]  # fmt: skip
    assert [p.label for p in parse_period("2026-Q1").trend_periods(3)] == ["2025-Q3", "2025-Q4", "2026-Q1"]
    year_trend = parse_period("2026").trend_periods(6)
    assert [p.kind for p in year_trend] == [PeriodKind.MONTH] * 12


def test_each_rate_has_its_formula_and_is_none_without_denominator() -> None:
    counters = Counters(
        outgoing=20, outgoing_electronic=16, outgoing_paper=4, outgoing_issued_electronic=12,
        outgoing_signed_valid=14, outgoing_nd30=10, incoming=40, incoming_electronic=30,
        incoming_due=8, incoming_due_on_time=6,
    )  # fmt: skip
    rates = rates_of(counters)
    assert rates.e_issuance_rate == pytest.approx(12 / 20)
    assert rates.signature_rate == pytest.approx(14 / 16)
    assert rates.nd30_rate == pytest.approx(10 / 16)
    assert rates.incoming_electronic_rate == pytest.approx(30 / 40)
    assert rates.on_time_rate == pytest.approx(6 / 8)
    assert rates.paper_share == pytest.approx(4 / 20)
    empty = rates_of(Counters())
    assert (empty.e_issuance_rate, empty.signature_rate, empty.nd30_rate, empty.on_time_rate) == (None,) * 4


def test_quarter_sums_its_months_and_ignores_others(conn: sqlite3.Connection) -> None:
    put_counters(conn, DEPARTMENT, "2026-07", outgoing=10, outgoing_issued_electronic=10)
    put_counters(conn, DEPARTMENT, "2026-08", outgoing=10, outgoing_issued_electronic=5)
    put_counters(conn, DEPARTMENT, "2026-10", outgoing=50, outgoing_issued_electronic=0)
    row = next(r for r in summarise(conn, parse_period("2026-Q3")).units if r.unit.code == DEPARTMENT)
    assert row.counters.outgoing == 20
    assert row.rates.e_issuance_rate == pytest.approx(0.75)


def test_confidential_documents_stay_out_of_rates(conn: sqlite3.Connection) -> None:
    put_counters(conn, PROVINCE, "2026-01", outgoing=10, outgoing_issued_electronic=10, outgoing_confidential=90)
    row = next(r for r in summarise(conn, parse_period("2026")).units if r.unit.code == PROVINCE)
    assert row.rates.e_issuance_rate == 1.0
    assert row.counters.outgoing_confidential == 90


def test_tiers_follow_level_targets() -> None:
    settings = SummarySettings(min_documents=10)
    at_85 = Counters(outgoing=100, outgoing_issued_electronic=85)
    assert tier_of(at_85, "department", settings) == BELOW_TARGET  # 90 % for province-level bodies
    assert tier_of(at_85, "district", settings) == MEETS_TARGET  # 80 %
    assert tier_of(Counters(outgoing=10, outgoing_issued_electronic=6), "commune", settings) == MEETS_TARGET
    assert tier_of(Counters(outgoing=9, outgoing_issued_electronic=9), "commune", settings) == UNRANKED


def test_configured_targets_override_defaults() -> None:
    strict = SummarySettings(level_targets=(("commune", 0.95),), min_documents=1)
    assert tier_of(Counters(outgoing=10, outgoing_issued_electronic=9), "commune", strict) == BELOW_TARGET


def _flags(counters: Counters, tier: str = MEETS_TARGET, trend: tuple[Counters, ...] = ()) -> tuple[str, ...]:
    return flags_of(counters, tier, trend, SummarySettings())


def _months(*issued_of_ten: int) -> tuple[Counters, ...]:
    """A trend of months with ten documents each, ``n`` of them issued electronically."""
    return tuple(Counters(outgoing=10, outgoing_issued_electronic=n) for n in issued_of_ten)


def test_each_flag_is_raised_by_its_cause() -> None:
    clean = Counters(outgoing=10, outgoing_electronic=10, outgoing_issued_electronic=10,
                     outgoing_signed_valid=10, outgoing_nd30=10)  # fmt: skip
    assert _flags(clean) == ()
    assert "below_target" in _flags(clean, tier=BELOW_TARGET)
    assert "paper" in _flags(Counters(outgoing=10, outgoing_paper=3))
    assert "unsigned" in _flags(Counters(outgoing=10, outgoing_electronic=10, outgoing_unsigned=1))
    personal = Counters(outgoing=10, outgoing_electronic=10, outgoing_signed_valid=10, outgoing_nd30=2)
    assert "personal_only" in _flags(personal)
    for reason in ("tampered", "untrusted", "revoked", "expired", "weak"):
        assert "invalid_signatures" in _flags(Counters(outgoing=1, **{f"invalid_{reason}": 1}))
    wrong = _flags(Counters(outgoing=1, invalid_wrong_unit=1))
    assert "wrong_unit" in wrong and "invalid_signatures" not in wrong
    assert "declining" in _flags(clean, trend=_months(10, 9, 10, 5, 4, 3))
    assert _flags(Counters()) == ("no_data",)
    assert "invalid_code" in flags_of(clean, MEETS_TARGET, (), SummarySettings(), code_valid=False)


def test_declining_pools_each_half_and_needs_enough_documents() -> None:
    assert is_declining(_months(9, 9, 9, 6, 6, 6), 0.1, 10)
    assert not is_declining(_months(8, 8, 8, 8, 8, 7), 0.1, 10)  # a dip, not a fall
    sparse = (Counters(outgoing=2, outgoing_issued_electronic=2),) * 3 + (Counters(outgoing=2),) * 3
    assert not is_declining(sparse, 0.1, 10)  # six documents a half: noise
    assert not is_declining((), 0.1, 10)


def test_summary_orders_levels_then_worst_first(conn: sqlite3.Connection) -> None:
    other_department = "000.00.04.H04"
    put_unit(conn, other_department, "Sở Tư pháp", "department", PROVINCE)
    put_counters(conn, DEPARTMENT, "2026-03", outgoing=20, outgoing_issued_electronic=19)
    put_counters(conn, other_department, "2026-03", outgoing=20, outgoing_issued_electronic=4)
    put_counters(conn, COMMUNE, "2026-03", outgoing=20, outgoing_issued_electronic=2)
    codes = [row.unit.code for row in summarise(conn, parse_period("2026-03")).units]
    assert codes == [PROVINCE, other_department, DEPARTMENT, DISTRICT, COMMUNE]


def test_units_without_counters_are_reported_as_no_data(conn: sqlite3.Connection) -> None:
    put_counters(conn, "000.00.99.H04", "2026-05", outgoing=3)  # a unit known only from counters
    summary = summarise(conn, parse_period("2026-05"))
    by_code = {row.unit.code: row for row in summary.units}
    assert by_code[PROVINCE].flags == ("no_data",)
    assert by_code[PROVINCE].tier == UNRANKED
    assert by_code["000.00.99.H04"].unit.level == "unknown"


def test_year_trend_is_its_months(conn: sqlite3.Connection) -> None:
    put_counters(conn, DISTRICT, "2026-01", outgoing=10, outgoing_issued_electronic=10)
    put_counters(conn, DISTRICT, "2026-12", outgoing=10, outgoing_issued_electronic=5)
    row = next(r for r in summarise(conn, parse_period("2026")).units if r.unit.code == DISTRICT)
    assert row.trend[0] == 1.0 and row.trend[11] == 0.5
    assert row.trend[1:11] == (None,) * 10


def test_level_filter_and_latest_year(conn: sqlite3.Connection) -> None:
    assert latest_year(conn) is None
    put_counters(conn, COMMUNE, "2025-12", outgoing=1)
    put_counters(conn, COMMUNE, "2026-02", outgoing=1)
    assert latest_year(conn) == Period(2026, PeriodKind.YEAR)
    rows = summarise(conn, parse_period("2026"), level="commune").units
    assert [row.unit.code for row in rows] == [COMMUNE]
