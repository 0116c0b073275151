"""``docflow summary``: every unit's counters, rates, tier, flags and trend over a period.

``summarise`` works in two steps. ``docflow.reports.ranking`` ranks every unit worst first and
flags it in one SQL query, because a national store has ten thousand units and building a
Python object for each costs more than the query's sort. Then only the rows a table shows
(the worst of each level) are built in full here, by the reference functions of
``docflow.reports.metrics``; counts and the flags legend still cover every unit.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, fields

from docflow.reports.lineage import AS_ISSUED, Lineage, last_day, load_lineage
from docflow.reports.metrics import (
    Counters,
    Period,
    Rates,
    SummarySettings,
    codes_filter,
    counters_by_unit,
    counters_by_unit_and_month,
    flags_of,
    rate,
    rates_of,
    tier_of,
)
from docflow.reports.ranking import Ranked, rank_units
from docflow.reports.units import Unit, load_units
from docflow.store.connection import schema_has

__all__ = ["UnitSummary", "Summary", "summarise", "not_trust_checked_by_unit"]


@dataclass(frozen=True)
class UnitSummary:
    """One unit over one period."""

    unit: Unit
    counters: Counters
    rates: Rates
    tier: str
    flags: tuple[str, ...]
    trend: tuple[float | None, ...]
    """E-issuance rate over the trend periods, oldest first."""
    signatures_not_trust_checked: int = 0
    """Signatures of its documents in the period stored without a trust store (``--no-trust``)."""
    predecessors: tuple[str, ...] = ()
    """Codes of units that ended before the summary's structure day whose documents count here (lineage)."""

    def to_json(self) -> dict[str, object]:
        """The object ``docflow summary --json`` prints for this unit (field names are a contract)."""
        counts = {
            field.name: getattr(self.counters, field.name)
            for field in fields(self.counters)
            if not field.name.startswith("invalid_")
        }
        return {
            "unit": self.unit.code,
            "name": self.unit.name,
            "level": self.unit.level,
            "parent": self.unit.parent,
            "code_valid": self.unit.code_valid,
            **counts,
            "invalid": self.counters.invalid_by_reason,
            "signatures_not_trust_checked": self.signatures_not_trust_checked,
            "e_issuance_rate": self.rates.e_issuance_rate,
            "signature_rate": self.rates.signature_rate,
            "nd30_rate": self.rates.nd30_rate,
            "incoming_electronic_rate": self.rates.incoming_electronic_rate,
            "on_time_rate": self.rates.on_time_rate,
            "tier": self.tier,
            "flags": list(self.flags),
            "trend": list(self.trend),
            "on_list": self.unit.on_list,
            "valid_from": self.unit.valid_from,
            "valid_to": self.unit.valid_to,
            "predecessors": list(self.predecessors),
        }


@dataclass(frozen=True)
class Summary:
    period: Period
    period_is_default: bool
    """True when no period was asked for and the latest year with data was chosen."""
    trend_labels: tuple[str, ...]
    units: tuple[UnitSummary, ...]
    """Level order (province … other), worst first within a level: every unit, or with
    ``rows_per_level`` the worst of each level only (the rest are counted below)."""
    settings: SummarySettings
    units_per_level: tuple[tuple[str, int], ...]
    """How many units each level has in the summary, listed or not (level as in ``Unit.level``)."""
    flags_seen: tuple[str, ...]
    """Every flag raised on any unit of the summary, listed or not, sorted."""
    flagged_count: int
    """Units with at least one flag, listed or not."""
    signatures_not_trust_checked: int = 0
    """Signatures of the summary's units' documents in the period stored without a trust store, listed or not."""
    behind_only: bool = False
    """Only the units below their level's target are in the summary (``--behind``)."""
    structure_day: str | None = None
    """yyyy-mm-dd whose structure the units are reported in (the period's last day); None: as issued."""
    attributed_codes: int = 0
    """Codes of units that ended before ``structure_day`` counted towards a successor."""
    unknown_codes: int = 0
    """Units of the summary whose code is not on the imported unit list (0 when no list was imported)."""

    @property
    def flagged(self) -> tuple[UnitSummary, ...]:
        """The listed units with a flag (``flagged_count`` counts the unlisted ones too)."""
        return tuple(row for row in self.units if row.flags)


_NOTHING = Counters()


def _trend(
    code: str, trend_months: Sequence[tuple[str, ...]], by_month: dict[tuple[str, str], Counters]
) -> tuple[Counters, ...]:
    def period_total(months_of_period: tuple[str, ...]) -> Counters:
        months = [by_month[(code, month)] for month in months_of_period if (code, month) in by_month]
        return sum(months[1:], months[0]) if months else _NOTHING

    return tuple(period_total(months) for months in trend_months)


def _units_of(conn: sqlite3.Connection, codes: Sequence[str] | None) -> dict[str, Unit]:
    if codes is None:
        return load_units(conn)
    condition, params = codes_filter(codes, "code")
    return load_units(conn, condition, params)


def _unknown_codes(conn: sqlite3.Connection, ranked: Sequence[Ranked]) -> int:
    """Ranked codes missing from the imported unit list; 0 when none was imported (then every code is)."""
    listed = {code for (code,) in conn.execute("SELECT code FROM units WHERE source = 'import'")}
    return sum(code not in listed for code, _, _ in ranked) if listed else 0


def not_trust_checked_by_unit(conn: sqlite3.Connection, months: Sequence[str]) -> dict[str, int]:
    """Signatures stored without a trust store (``signatures.trust_checked = 0``) per sender of their document,
    over ``months``. Read through the partial index holding only those rows: nothing to read while every batch
    is ingested with a trust store. A signed file no record names belongs to no unit and is not counted here."""
    if schema_has(conn, "index", _NOT_CHECKED_INDEX):
        rows = conn.execute(
            f"SELECT d.sender, COUNT(*) FROM signatures s INDEXED BY {_NOT_CHECKED_INDEX}"
            " JOIN documents d ON d.document_id = s.document_id"
            f" WHERE s.trust_checked = 0 AND d.period IN ({', '.join('?' for _ in months)}) GROUP BY d.sender",
            tuple(months),
        )
        return {sender: count for sender, count in rows if sender is not None}
    return {}  # a store read before migration 9 reached it: no signature was marked then


_NOT_CHECKED_INDEX = "signatures_not_trust_checked"


def _unit_summaries(
    conn: sqlite3.Connection,
    chosen: Sequence[Ranked],
    period: Period,
    trend_periods: Sequence[Period],
    settings: SummarySettings,
    every_unit: bool,
    not_trust_checked: dict[str, int],
    lineage: Lineage,
) -> tuple[UnitSummary, ...]:
    """The full rows of ``chosen``, in its order, computed by the functions of ``docflow.reports.metrics``, with
    each row's predecessors' counters added (``lineage``).

    ``every_unit`` says ``chosen`` is the whole store: then one plain scan beats a code list.
    """
    codes = None if every_unit else [code for code, _, _ in chosen]
    read = None if codes is None else lineage.sources(codes)
    trend_months = [p.months for p in trend_periods]
    totals = lineage.fold(counters_by_unit(conn, period.months, read))
    months = tuple(month for months in trend_months for month in months)
    by_month = lineage.fold_months(counters_by_unit_and_month(conn, months, read))
    known = _units_of(conn, codes)
    predecessors: dict[str, list[str]] = {}
    for code, to in sorted(lineage.target.items()):
        predecessors.setdefault(to, []).append(code)
    rows = []
    for code, _, _ in chosen:
        unit = known.get(code) or Unit(code, None, "unknown", None, True)
        counters = totals.get(code, _NOTHING)
        trend = _trend(code, trend_months, by_month)
        tier = tier_of(counters, unit.level, settings)
        flags = flags_of(counters, tier, trend, settings, unit.code_valid)
        # rates_of(...).e_issuance_rate without building all six rates for each trend point.
        rates = tuple(rate(point.outgoing_issued_electronic, point.outgoing) for point in trend)
        unchecked = not_trust_checked.get(code, 0)
        before = tuple(predecessors.get(code, ()))
        rows.append(UnitSummary(unit, counters, rates_of(counters), tier, flags, rates, unchecked, before))
    return tuple(rows)


def summarise(
    conn: sqlite3.Connection,
    period: Period,
    settings: SummarySettings = SummarySettings(),
    *,
    level: str | None = None,
    unit: str | None = None,
    period_is_default: bool = False,
    rows_per_level: int | None = None,
    behind_only: bool = False,
    as_issued: bool = False,
    structure_day: str | None = None,
) -> Summary:
    """Every unit (or those of one level, or one unit) over ``period``.

    With ``rows_per_level``, ``units`` holds only the worst that many of each level,
    which is all a table shows: a national store's other ten thousand rows are ranked
    and counted in SQL but never built. Counts and flags seen cover every unit either way.
    The units are those in force on ``structure_day`` (default: the period's last day), each counting its
    predecessors' documents (``docflow.reports.lineage``); ``as_issued``: each code as the documents carry it.
    """
    trend_periods = period.trend_periods(settings.trend_length)
    lineage = AS_ISSUED if as_issued else load_lineage(conn, structure_day or last_day(period))
    settings = settings.in_force(lineage.day or last_day(period))
    ranking = rank_units(conn, period, trend_periods, settings, level=level, unit=unit, lineage=lineage)
    if behind_only:
        ranking = ranking.below_target()
    chosen = ranking.worst_of_each_level(rows_per_level)
    whole_store = level is None and unit is None and not behind_only and len(chosen) == len(ranking.rows)
    not_trust_checked = lineage.fold_counts(not_trust_checked_by_unit(conn, period.months))
    units = _unit_summaries(conn, chosen, period, trend_periods, settings, whole_store, not_trust_checked, lineage)
    return Summary(
        period=period,
        period_is_default=period_is_default,
        trend_labels=tuple(p.label for p in trend_periods),
        units=units,
        settings=settings,
        units_per_level=tuple(ranking.per_level.items()),
        flags_seen=ranking.flags_seen,
        flagged_count=len(ranking.rows) - ranking.masks[0],
        signatures_not_trust_checked=sum(not_trust_checked.get(code, 0) for code, _, _ in ranking.rows),
        behind_only=behind_only,
        structure_day=lineage.day,
        attributed_codes=len(lineage.target),
        unknown_codes=_unknown_codes(conn, ranking.rows),
    )
