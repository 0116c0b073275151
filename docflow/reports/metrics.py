"""Periods, counters, rates, tiers and flags: the definitions a summary is made of.

Every formula is written down once, in ``docs/metrics.md``; this module is its code.
Periods are a month (``2026-10``), a quarter (``2026-Q3``) or a year (``2026``), each
the sum of its month rows. A rate whose denominator is zero is ``None``, never 0.
Everything is read from ``unit_counters`` and ``units`` only. The summary itself (every
unit ranked and flagged) is ``docflow.reports.summary``, with its SQL ranking in ``docflow.reports.ranking``.
"""

from __future__ import annotations

import enum
import json
import re
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from docflow.i18n import N_, _
from docflow.store.schema import COUNTER_COLUMNS, REASON_WORDS, Counters

__all__ = [
    "PeriodKind",
    "Period",
    "parse_period",
    "PERIOD_FORMS",
    "latest_year",
    "Counters",
    "Rates",
    "rate",
    "rates_of",
    "REASON_WORDS",
    "SIGNATURE_FAILURE_REASONS",
    "codes_filter",
    "counters_by_unit",
    "counters_by_unit_and_month",
    "LEVELS",
    "SummarySettings",
    "UNRANKED",
    "MEETS_TARGET",
    "BELOW_TARGET",
    "tier_of",
    "is_declining",
    "flags_of",
]


class PeriodKind(str, enum.Enum):
    MONTH = "month"
    QUARTER = "quarter"
    YEAR = "year"


_PERIOD_PATTERNS: tuple[tuple[PeriodKind, re.Pattern[str]], ...] = (
    (PeriodKind.MONTH, re.compile(r"(?P<year>\d{4})-(?P<index>\d{2})")),
    (PeriodKind.MONTH, re.compile(r"(?P<index>\d{1,2})/(?P<year>\d{4})")),  # 10/2025, as clerks write a month
    (PeriodKind.QUARTER, re.compile(r"(?P<year>\d{4})-[Qq](?P<index>[1-4])")),
    (PeriodKind.YEAR, re.compile(r"(?P<year>\d{4})")),
)


@dataclass(frozen=True, order=True)
class Period:
    """A reporting period: whole months only, as the counters are kept per month."""

    year: int
    kind: PeriodKind
    index: int = 0
    """Month 1–12, quarter 1–4, or 0 for a year."""

    @property
    def label(self) -> str:
        if self.kind is PeriodKind.MONTH:
            return f"{self.year:04d}-{self.index:02d}"
        if self.kind is PeriodKind.QUARTER:
            return f"{self.year:04d}-Q{self.index}"
        return f"{self.year:04d}"

    @property
    def months(self) -> tuple[str, ...]:
        """The ``yyyy-mm`` counter rows this period sums."""
        if self.kind is PeriodKind.MONTH:
            numbers: Iterable[int] = (self.index,)
        elif self.kind is PeriodKind.QUARTER:
            numbers = range(3 * self.index - 2, 3 * self.index + 1)
        else:
            numbers = range(1, 13)
        return tuple(f"{self.year:04d}-{month:02d}" for month in numbers)

    def shifted(self, steps: int) -> Period:
        """The period ``steps`` periods later (negative: earlier) of the same granularity."""
        if self.kind is PeriodKind.YEAR:
            return Period(self.year + steps, self.kind)
        per_year = 12 if self.kind is PeriodKind.MONTH else 4
        ordinal = self.year * per_year + (self.index - 1) + steps
        return Period(ordinal // per_year, self.kind, ordinal % per_year + 1)

    def trend_periods(self, length: int) -> tuple[Period, ...]:
        """The periods a trend shows, oldest first, ending with this one.

        A year's trend is its own twelve months: comparing whole years says little
        to a supervisor in October, the months show where the year is heading.
        """
        if self.kind is PeriodKind.YEAR:
            return tuple(Period(self.year, PeriodKind.MONTH, month) for month in range(1, 13))
        return tuple(self.shifted(-back) for back in range(length - 1, -1, -1))


PERIOD_FORMS = N_("a month (2026-10 or 10/2026), a quarter (2026-Q3) or a year (2026)")
"""What ``parse_period`` reads, as ``--period``'s help and its refusal say it."""


def parse_period(text: str) -> Period:
    """``2026-10`` or ``10/2026``, ``2026-Q3``, or ``2026``; ValueError with a usable message otherwise.

    The one parser of ``--period``: every command taking a period reads it here."""
    cleaned = text.strip()
    for kind, pattern in _PERIOD_PATTERNS:
        match = pattern.fullmatch(cleaned)
        if not match:
            continue
        index = int(match.group("index")) if kind is not PeriodKind.YEAR else 0
        if kind is PeriodKind.MONTH and not 1 <= index <= 12:
            break
        return Period(int(match.group("year")), kind, index)
    raise ValueError(_("period {text!r} is not {forms}").format(text=text, forms=_(PERIOD_FORMS)))


def latest_year(conn: sqlite3.Connection) -> Period | None:
    """The latest year with any counter row, or None for an empty store."""
    row = conn.execute("SELECT MAX(period) FROM unit_counters").fetchone()
    if not row or not row[0]:
        return None
    return Period(int(str(row[0])[:4]), PeriodKind.YEAR)


SIGNATURE_FAILURE_REASONS: tuple[str, ...] = tuple(r for r in REASON_WORDS if r not in ("wrong_unit", "other"))
"""The reasons the ``invalid_signatures`` flag adds up: neither ``wrong_unit`` (its own flag) nor ``other``."""


def rate(numerator: int, denominator: int) -> float | None:
    """A fraction 0–1, or None when nothing was there to measure."""
    return numerator / denominator if denominator else None


@dataclass(frozen=True)
class Rates:
    """The rates of ``docs/metrics.md`` (fractions 0–1, None when undefined)."""

    e_issuance_rate: float | None
    """outgoing_issued_electronic / outgoing"""
    signature_rate: float | None
    """outgoing_signed_valid / outgoing_electronic"""
    nd30_rate: float | None
    """outgoing_nd30 / outgoing_electronic"""
    incoming_electronic_rate: float | None
    """incoming_electronic / incoming"""
    on_time_rate: float | None
    """incoming_due_on_time / incoming_due"""
    paper_share: float | None
    """outgoing_paper / outgoing"""


def rates_of(counters: Counters) -> Rates:
    return Rates(
        e_issuance_rate=rate(counters.outgoing_issued_electronic, counters.outgoing),
        signature_rate=rate(counters.outgoing_signed_valid, counters.outgoing_electronic),
        nd30_rate=rate(counters.outgoing_nd30, counters.outgoing_electronic),
        incoming_electronic_rate=rate(counters.incoming_electronic, counters.incoming),
        on_time_rate=rate(counters.incoming_due_on_time, counters.incoming_due),
        paper_share=rate(counters.outgoing_paper, counters.outgoing),
    )


_COUNTER_SUMS = ", ".join(f"SUM({name})" for name in COUNTER_COLUMNS)
"""SELECT columns summing every counter, in ``Counters`` field order."""


def _placeholders(values: tuple[str, ...]) -> str:
    """One ``?`` per value, comma-separated, for an SQL ``IN (...)``."""
    return ", ".join("?" * len(values))


def codes_filter(codes: Sequence[str] | None, column: str = "unit") -> tuple[str, tuple[object, ...]]:
    """An SQL condition on ``column`` keeping ``codes`` (None: every unit), with its parameter."""
    if codes is None:
        return "1 = 1", ()
    # One JSON parameter rather than one per code: SQLite caps bound parameters.
    return f"{column} IN (SELECT value FROM json_each(?))", (json.dumps(list(codes)),)


def counters_by_unit(
    conn: sqlite3.Connection, months: tuple[str, ...], codes: Sequence[str] | None = None
) -> dict[str, Counters]:
    """Each unit's counters summed over ``months`` (only ``codes``, when given); units without rows are absent."""
    condition, params = codes_filter(codes)
    rows = conn.execute(
        f"SELECT unit, {_COUNTER_SUMS} FROM unit_counters"
        f" WHERE period IN ({_placeholders(months)}) AND {condition} GROUP BY unit",
        (*months, *params),
    )
    return {row[0]: Counters(*(int(value or 0) for value in row[1:])) for row in rows}


def counters_by_unit_and_month(
    conn: sqlite3.Connection, months: tuple[str, ...], codes: Sequence[str] | None = None
) -> dict[tuple[str, str], Counters]:
    """Counters keyed by (unit, ``yyyy-mm``), for trends (only ``codes``, when given).

    Only the two counters a trend reads (outgoing, outgoing_issued_electronic) are
    filled: a national store has ten thousand units times twelve months of them.
    """
    condition, params = codes_filter(codes)
    rows = conn.execute(
        "SELECT unit, period, outgoing, outgoing_issued_electronic FROM unit_counters"
        f" WHERE period IN ({_placeholders(months)}) AND {condition}",
        (*months, *params),
    )
    return {
        (unit, month): Counters(outgoing=outgoing or 0, outgoing_issued_electronic=issued or 0)
        for unit, month, outgoing, issued in rows
    }


LEVELS: tuple[str, ...] = ("province", "department", "district", "commune", "other", "unknown")
"""Report order: the province's own bodies first, communes last."""

UNRANKED = "Không xếp hạng"
MEETS_TARGET = "Đạt"
BELOW_TARGET = "Chưa đạt"


TWO_TIER_DAY = "2025-07-01"
"""The day the 2025 reorganisation took effect: provinces and communes merged, the district level ended."""

TWO_TIER_STRUCTURE: tuple[tuple[str, tuple[tuple[str, float], ...]], ...] = ((TWO_TIER_DAY, ()),)
"""The built-in structure from 1 July 2025: no district level (the unit list says which units are in force); its
levels keep the targets of ``[summary.targets]`` (NQ 17's) until a province sets its own in docflow.toml
(``[[summary.structures]]``, docs/configuration.md)."""


@dataclass(frozen=True)
class SummarySettings:
    """The knobs of tiers and flags; defaults follow Nghị quyết 17/NQ-CP (domain.md §5)."""

    level_targets: tuple[tuple[str, float], ...] = (
        ("province", 0.9),
        ("department", 0.9),
        ("district", 0.8),
        ("commune", 0.6),
    )
    """Target e-issuance rate per level; levels not listed use ``default_target``."""
    default_target: float = 0.9
    min_documents: int = 10
    """Fewer non-confidential outgoing documents in the period: "Không xếp hạng"."""
    paper_share: float = 0.2
    """Flag ``paper`` above this share of outgoing documents issued on paper only."""
    personal_only_share: float = 0.1
    """Flag ``personal_only`` above this share of signed documents lacking the NĐ 30 pair."""
    declining_drop: float = 0.2
    """Flag ``declining`` when the trend's later half is this much below its earlier half
    (smaller drops are within chance for a unit issuing a few dozen documents a year)."""
    trend_length: int = 6
    """Periods in a month's or quarter's trend (a year's trend is always its 12 months)."""
    structures: tuple[tuple[str, tuple[tuple[str, float], ...]], ...] = TWO_TIER_STRUCTURE
    """(first day yyyy-mm-dd, per-level targets) of each structure after the first, whose targets are
    ``level_targets``: from that day its targets replace those of the levels it names (a level it does not name
    keeps the earlier target). Default: the two-tier structure from 1 July 2025 (docs/configuration.md)."""

    def in_force(self, day: str) -> SummarySettings:
        """These settings with the targets of the structure in force on ``day`` (yyyy-mm-dd)."""
        targets = dict(self.level_targets)
        for start, level_targets in sorted(self.structures):
            if start <= day:
                targets.update(level_targets)
        return replace(self, level_targets=tuple(targets.items()), structures=())

    def target(self, level: str) -> float:
        return dict(self.level_targets).get(level, self.default_target)


def tier_of(counters: Counters, level: str, settings: SummarySettings) -> str:
    """Đạt / Chưa đạt against the level's NQ 17 target, or Không xếp hạng on thin data."""
    e_issuance = rates_of(counters).e_issuance_rate
    if counters.outgoing < settings.min_documents or e_issuance is None:
        return UNRANKED
    return MEETS_TARGET if e_issuance >= settings.target(level) else BELOW_TARGET


def is_declining(trend: Sequence[Counters], drop: float, min_documents: int) -> bool:
    """The later half of the trend's e-issuance rate is ``drop`` or more below the earlier half.

    Each half is pooled (documents summed, not monthly rates averaged) and must hold at
    least ``min_documents`` outgoing documents: a unit with a handful of documents swings
    0–100 % month to month, which is noise, not a trend.
    """
    half = len(trend) // 2
    if half == 0:
        return False

    def pooled(part: Sequence[Counters]) -> tuple[int, int]:
        return sum(c.outgoing for c in part), sum(c.outgoing_issued_electronic for c in part)

    (earlier_out, earlier_issued), (later_out, later_issued) = pooled(trend[:half]), pooled(trend[-half:])
    if min(earlier_out, later_out) < max(min_documents, 1):
        return False
    return later_issued / later_out <= earlier_issued / earlier_out - drop


def flags_of(
    counters: Counters,
    tier: str,
    trend: Sequence[Counters],
    settings: SummarySettings,
    code_valid: bool = True,
) -> tuple[str, ...]:
    """Why a supervisor should look at this unit, as words (docs/metrics.md, "Flags")."""
    if not counters.has_data:
        return ("no_data",) if code_valid else ("no_data", "invalid_code")
    rates = rates_of(counters)
    signed_without_pair = counters.outgoing_signed_valid - counters.outgoing_nd30
    invalid = sum(counters.invalid_by_reason[r] for r in SIGNATURE_FAILURE_REASONS)
    checks = (
        ("below_target", tier == BELOW_TARGET),
        ("paper", (rates.paper_share or 0.0) > settings.paper_share),
        ("unsigned", counters.outgoing_unsigned > 0),
        (
            "personal_only",
            signed_without_pair > settings.personal_only_share * counters.outgoing_signed_valid,
        ),
        ("invalid_signatures", invalid > 0),
        ("wrong_unit", counters.invalid_wrong_unit > 0),
        ("declining", is_declining(trend, settings.declining_drop, settings.min_documents)),
        ("invalid_code", not code_valid),
    )
    return tuple(word for word, raised in checks if raised)
