"""Rates, tiers and flags per unit and period, computed from ``unit_counters`` and ``units`` only.

Every formula is written down once, in ``docs/metrics.md``; this module is its code.
Periods are a month (``2026-10``), a quarter (``2026-Q3``) or a year (``2026``), each
the sum of its month rows. A rate whose denominator is zero is ``None``, never 0.
"""

from __future__ import annotations

import enum
import json
import re
import sqlite3
from collections import Counter as Tally  # named apart from this module's Counters
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from operator import itemgetter

from docflow.schema import COUNTER_COLUMNS
from docflow.units import Unit, load_units

__all__ = [
    "PeriodKind",
    "Period",
    "parse_period",
    "latest_year",
    "Counters",
    "Rates",
    "rate",
    "rates_of",
    "INVALID_REASONS",
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
    "UnitSummary",
    "Summary",
    "summarise",
]


class PeriodKind(str, enum.Enum):
    MONTH = "month"
    QUARTER = "quarter"
    YEAR = "year"


_PERIOD_PATTERNS: tuple[tuple[PeriodKind, re.Pattern[str]], ...] = (
    (PeriodKind.MONTH, re.compile(r"^(\d{4})-(\d{2})$")),
    (PeriodKind.QUARTER, re.compile(r"^(\d{4})-[Qq]([1-4])$")),
    (PeriodKind.YEAR, re.compile(r"^(\d{4})$")),
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


def parse_period(text: str) -> Period:
    """``2026-10``, ``2026-Q3`` or ``2026``; ValueError with a usable message otherwise."""
    cleaned = text.strip()
    for kind, pattern in _PERIOD_PATTERNS:
        match = pattern.match(cleaned)
        if not match:
            continue
        year = int(match.group(1))
        index = int(match.group(2)) if kind is not PeriodKind.YEAR else 0
        if kind is PeriodKind.MONTH and not 1 <= index <= 12:
            break
        return Period(year, kind, index)
    raise ValueError(
        f"period {text!r} is not a month (2026-10), a quarter (2026-Q3) or a year (2026)"
    )


def latest_year(conn: sqlite3.Connection) -> Period | None:
    """The latest year with any counter row, or None for an empty store."""
    row = conn.execute("SELECT MAX(period) FROM unit_counters").fetchone()
    if not row or not row[0]:
        return None
    return Period(int(str(row[0])[:4]), PeriodKind.YEAR)


@dataclass(frozen=True)
class Counters:
    """One unit's counters over a period; field meanings are the comments in ``docflow.schema``."""

    outgoing: int = 0
    outgoing_electronic: int = 0
    outgoing_paper: int = 0
    outgoing_issued_electronic: int = 0
    outgoing_signed_valid: int = 0
    outgoing_nd30: int = 0
    outgoing_unsigned: int = 0
    outgoing_confidential: int = 0
    invalid_tampered: int = 0
    invalid_untrusted: int = 0
    invalid_revoked: int = 0
    invalid_expired: int = 0
    invalid_weak: int = 0
    invalid_wrong_unit: int = 0
    invalid_other: int = 0
    incoming: int = 0
    incoming_electronic: int = 0
    incoming_due: int = 0
    incoming_due_on_time: int = 0
    incoming_confidential: int = 0

    def __add__(self, other: Counters) -> Counters:
        # Positional and by column tuple: summaries add tens of thousands of these.
        return Counters(*[getattr(self, name) + getattr(other, name) for name in COUNTER_COLUMNS])

    @property
    def invalid_by_reason(self) -> dict[str, int]:
        """Invalid-signature document counts keyed by reason word (``tampered`` …)."""
        return {reason: getattr(self, f"invalid_{reason}") for reason in INVALID_REASONS}

    @property
    def has_data(self) -> bool:
        return self.outgoing + self.incoming + self.outgoing_confidential + self.incoming_confidential > 0


INVALID_REASONS: tuple[str, ...] = (
    "tampered",
    "untrusted",
    "revoked",
    "expired",
    "weak",
    "wrong_unit",
    "other",
)

# A counter column without a field here (or the reverse) would silently read as 0.
assert tuple(f.name for f in fields(Counters)) == COUNTER_COLUMNS


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


_SUMS = ", ".join(f"SUM({name})" for name in COUNTER_COLUMNS)


def _placeholders(values: tuple[str, ...]) -> str:
    return ", ".join("?" for _ in values)


def counters_by_unit(conn: sqlite3.Connection, months: tuple[str, ...]) -> dict[str, Counters]:
    """Each unit's counters summed over ``months``; units without rows are absent."""
    rows = conn.execute(
        f"SELECT unit, {_SUMS} FROM unit_counters"
        f" WHERE period IN ({_placeholders(months)}) GROUP BY unit",
        months,
    )
    return {row[0]: Counters(*(int(value or 0) for value in row[1:])) for row in rows}


def counters_by_unit_and_month(
    conn: sqlite3.Connection, months: tuple[str, ...]
) -> dict[tuple[str, str], Counters]:
    """Counters keyed by (unit, ``yyyy-mm``), for trends.

    Only the two counters a trend reads (outgoing, outgoing_issued_electronic) are
    filled: a national store has ten thousand units times twelve months of them.
    """
    rows = conn.execute(
        "SELECT unit, period, outgoing, outgoing_issued_electronic FROM unit_counters"
        f" WHERE period IN ({_placeholders(months)})",
        months,
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
    invalid = sum(counters.invalid_by_reason[r] for r in INVALID_REASONS if r not in ("wrong_unit", "other"))
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
            "e_issuance_rate": self.rates.e_issuance_rate,
            "signature_rate": self.rates.signature_rate,
            "nd30_rate": self.rates.nd30_rate,
            "incoming_electronic_rate": self.rates.incoming_electronic_rate,
            "on_time_rate": self.rates.on_time_rate,
            "tier": self.tier,
            "flags": list(self.flags),
            "trend": list(self.trend),
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


# Bit per flag in the ranking query's mask, in ``flags_of`` order (the first seven are
# raised only on units with data); ``no_data`` replaces them, ``invalid_code`` goes with either.
_FLAG_BITS: tuple[str, ...] = (
    "below_target", "paper", "unsigned", "personal_only", "invalid_signatures", "wrong_unit",
    "declining", "invalid_code", "no_data",
)  # fmt: skip


def _flag_words(mask: int) -> frozenset[str]:
    return frozenset(word for bit, word in enumerate(_FLAG_BITS) if mask >> bit & 1)


_Ranked = tuple[str, str, int]
"""(code, level, flag mask): what the listing, counts and legend need of every unit. A plain
tuple because there are ten thousand of them and an object each costs more than the query's sort."""


@dataclass(frozen=True)
class _Ranking:
    """Every unit, worst first level by level (each level's units are consecutive)."""

    rows: list[_Ranked]
    per_level: Tally[str]
    """Units per level."""
    masks: Tally[int]
    """Units per flag mask (0: no flag)."""

    def worst_of_each_level(self, limit: int | None) -> list[_Ranked]:
        """The first ``limit`` units of each level's block (None: all), in ranking order."""
        if limit is None:
            return self.rows
        chosen: list[_Ranked] = []
        start = 0
        # Levels come in LEVELS order, then every level docflow does not know as one block.
        for level in LEVELS:
            chosen += self.rows[start : start + min(self.per_level[level], limit)]
            start += self.per_level[level]
        return chosen + self.rows[start : start + limit]

    @property
    def flags_seen(self) -> tuple[str, ...]:
        return tuple(sorted(frozenset().union(*(_flag_words(mask) for mask in self.masks))))


_SUM_NAMES = (
    "rows_in_period, outgoing, issued, paper, signed, nd30, unsigned, invalid, wrong_unit, other_data,"
    " early_out, early_issued, late_out, late_issued"
)
"""The columns ``_sum_columns`` makes, in its order."""


def _sum_columns(period: Period, trend_periods: Sequence[Period]) -> tuple[str, dict[str, object]]:
    """The per-unit sums the ranking needs, as SELECT columns over the trend months' counter rows.

    Each aggregate costs about as much as the scan itself, so the common case is kept lean:
    when the trend is the period's own months (a year), every row read is in the period,
    the sums need no condition and the trend's later half is the total minus its earlier half.
    """
    trend_months = [month for p in trend_periods for month in p.months]
    whole = set(trend_months) == set(period.months)
    params: dict[str, object] = {"first": period.months[0], "last": period.months[-1]}  # consecutive months

    def in_period(expression: str) -> str:
        if whole:
            return f"SUM({expression})"
        return f"SUM(CASE WHEN period BETWEEN :first AND :last THEN {expression} ELSE 0 END)"

    invalid = " + ".join(f"invalid_{reason}" for reason in INVALID_REASONS if reason not in ("wrong_unit", "other"))
    columns = [
        "1 AS rows_in_period" if whole else f"{in_period('1')} AS rows_in_period",
        f"{in_period('outgoing')} AS outgoing",
        f"{in_period('outgoing_issued_electronic')} AS issued",
        f"{in_period('outgoing_paper')} AS paper",
        f"{in_period('outgoing_signed_valid')} AS signed",
        f"{in_period('outgoing_nd30')} AS nd30",
        f"{in_period('outgoing_unsigned')} AS unsigned",
        f"{in_period(invalid)} AS invalid",
        f"{in_period('invalid_wrong_unit')} AS wrong_unit",
        f"{in_period('incoming + outgoing_confidential + incoming_confidential')} AS other_data",
    ]
    half = len(trend_periods) // 2
    if not half:
        return ", ".join([*columns, "0 AS early_out, 0 AS early_issued, 0 AS late_out, 0 AS late_issued"]), params
    params["early_first"], params["early_last"] = trend_periods[0].months[0], trend_periods[half - 1].months[-1]
    params["late_first"], params["late_last"] = trend_periods[-half].months[0], trend_periods[-1].months[-1]
    early = "CASE WHEN period BETWEEN :early_first AND :early_last THEN {} ELSE 0 END"
    late = "CASE WHEN period BETWEEN :late_first AND :late_last THEN {} ELSE 0 END"
    columns += [f"SUM({early.format('outgoing')}) AS early_out",
                f"SUM({early.format('outgoing_issued_electronic')}) AS early_issued"]  # fmt: skip
    if whole and 2 * half == len(trend_periods):
        columns += ["SUM(outgoing) - SUM(" + early.format("outgoing") + ") AS late_out",
                    "SUM(outgoing_issued_electronic) - SUM(" + early.format("outgoing_issued_electronic")
                    + ") AS late_issued"]  # fmt: skip
    else:
        columns += [f"SUM({late.format('outgoing')}) AS late_out",
                    f"SUM({late.format('outgoing_issued_electronic')}) AS late_issued"]  # fmt: skip
    return ", ".join(columns), params


def _ranking_sql(
    period: Period, trend_periods: Sequence[Period], settings: SummarySettings, *, level: str | None,
    unit: str | None,
) -> tuple[str, dict[str, object]]:
    """Every unit's level, flags (as a bit mask) and place, worst first, in one query.

    Worst first is: level order, ranked before unranked, then e-issuance rate rising
    (no rate last), more flags first, code. The formulas are those of ``tier_of`` and
    ``flags_of`` written in SQL over per-unit sums, so that ranking ten thousand units
    costs one GROUP BY over ``unit_counters`` and no Python object per unit;
    tests/test_summary_scale.py holds the two to the same answers.
    """
    sums, params = _sum_columns(period, trend_periods)
    trend_months = [month for p in trend_periods for month in p.months]
    params.update({f"month{i}": month for i, month in enumerate(trend_months)})
    params.update({
        "min_documents": settings.min_documents, "declining_floor": max(settings.min_documents, 1),
        "drop": settings.declining_drop, "paper_share": settings.paper_share,
        "personal_only_share": settings.personal_only_share, "default_target": settings.default_target,
    })  # fmt: skip
    params.update({name: value for name, value in (("unit", unit), ("level", level)) if value is not None})
    level_targets = dict(settings.level_targets)  # as ``SummarySettings.target`` reads them: the last wins
    targets = " ".join(f"WHEN :target_level{i} THEN :target{i}" for i in range(len(level_targets)))
    for i, (target_level, target) in enumerate(level_targets.items()):
        params[f"target_level{i}"], params[f"target{i}"] = target_level, target
    level_rank = " ".join(f"WHEN '{name}' THEN {rank}" for rank, name in enumerate(LEVELS))
    months = ", ".join(f":month{i}" for i in range(len(trend_months)))
    sql = f"""
WITH totals AS (
    SELECT unit, {sums}
    FROM unit_counters
    WHERE period IN ({months}){' AND unit = :unit' if unit is not None else ''}
    GROUP BY unit
),
everyone AS (
    SELECT t.unit AS code, COALESCE(NULLIF(u.level, ''), 'unknown') AS level,
           COALESCE(u.code_valid, 1) AS code_valid, {_SUM_NAMES}
    FROM totals t LEFT JOIN units u ON u.code = t.unit
    -- A unit with counters but no units row is reported too, rather than vanishing.
    WHERE u.code IS NOT NULL OR t.rows_in_period > 0
    UNION ALL
    SELECT code, COALESCE(NULLIF(level, ''), 'unknown'), code_valid, {", ".join("0" for _ in _SUM_NAMES.split(","))}
    FROM units WHERE code NOT IN (SELECT unit FROM totals){' AND code = :unit' if unit is not None else ''}
),
rated AS (
    SELECT *, outgoing + other_data > 0 AS has_data,
           CASE WHEN outgoing <> 0 THEN 1.0 * issued / outgoing END AS rate
    FROM everyone
    {'WHERE level = :level' if level is not None else ''}
),
tiered AS (
    SELECT *,
           (outgoing < :min_documents OR rate IS NULL) AS unranked,
           NOT (outgoing < :min_documents OR rate IS NULL)
               AND rate < CASE level {targets} ELSE :default_target END AS below_target,
           CASE level {level_rank} ELSE {len(LEVELS)} END AS level_rank
    FROM rated
),
problems AS (
    -- The flags a unit with data can raise, each a 0/1 (flags_of's checks, in its order).
    SELECT code, level, level_rank, unranked, rate, has_data, code_valid,
           below_target,
           COALESCE(1.0 * paper / NULLIF(outgoing, 0), 0.0) > :paper_share AS paper,
           unsigned > 0 AS unsigned,
           signed - nd30 > :personal_only_share * signed AS personal_only,
           invalid > 0 AS invalid_signatures,
           wrong_unit > 0 AS wrong_unit,
           MIN(early_out, late_out) >= :declining_floor
               AND 1.0 * late_issued / late_out <= 1.0 * early_issued / early_out - :drop AS declining
    FROM tiered
)
SELECT code, level,
       CASE WHEN has_data THEN {" + ".join(f"{1 << bit} * {word}" for bit, word in enumerate(_FLAG_BITS[:7]))}
            ELSE {1 << _FLAG_BITS.index("no_data")} END
       + {1 << _FLAG_BITS.index("invalid_code")} * (NOT code_valid) AS flag_mask
FROM problems
ORDER BY level_rank, unranked, rate IS NULL, COALESCE(rate, 0.0),
         -(CASE WHEN has_data THEN {" + ".join(_FLAG_BITS[:7])} ELSE 1 END) - (NOT code_valid), code
"""
    return sql, params


def _rank_units(
    conn: sqlite3.Connection, period: Period, trend_periods: Sequence[Period], settings: SummarySettings, *,
    level: str | None, unit: str | None,
) -> _Ranking:
    sql, params = _ranking_sql(period, trend_periods, settings, level=level, unit=unit)
    rows: list[_Ranked] = conn.execute(sql, params).fetchall()
    # Tallied over itemgetter: C loops, where ten thousand Python steps would show.
    return _Ranking(rows, Tally(map(itemgetter(1), rows)), Tally(map(itemgetter(2), rows)))


def _codes_filter(codes: Sequence[str] | None, column: str = "unit") -> tuple[str, tuple[object, ...]]:
    """An SQL condition on ``column`` keeping ``codes`` (None: every unit), with its parameter."""
    if codes is None:
        return "1", ()
    # One JSON parameter rather than one per code: SQLite caps bound parameters.
    return f"{column} IN (SELECT value FROM json_each(?))", (json.dumps(list(codes)),)


def _units_of(conn: sqlite3.Connection, codes: Sequence[str] | None) -> dict[str, Unit]:
    if codes is None:
        return load_units(conn)
    condition, params = _codes_filter(codes, "code")
    rows = conn.execute(f"SELECT code, name, level, parent, code_valid FROM units WHERE {condition}", params)
    return {
        code: Unit(code, name, level or "unknown", parent, bool(valid))
        for code, name, level, parent, valid in rows
    }


def _unit_summaries(
    conn: sqlite3.Connection,
    chosen: Sequence[_Ranked],
    period: Period,
    trend_periods: Sequence[Period],
    settings: SummarySettings,
    every_unit: bool,
) -> tuple[UnitSummary, ...]:
    """The full rows of ``chosen``, in its order, computed by the reference functions above.

    ``every_unit`` says ``chosen`` is the whole store: then one plain scan beats a code list.
    """
    codes = None if every_unit else [code for code, _, _ in chosen]
    condition, params = _codes_filter(codes)
    trend_months = [p.months for p in trend_periods]
    totals = {
        row[0]: Counters(*(int(value or 0) for value in row[1:]))
        for row in conn.execute(
            f"SELECT unit, {_SUMS} FROM unit_counters"
            f" WHERE period IN ({_placeholders(period.months)}) AND {condition} GROUP BY unit",
            (*period.months, *params),
        )
    }
    months = tuple(month for months_of_period in trend_months for month in months_of_period)
    by_month = {
        (code, month): Counters(outgoing=outgoing or 0, outgoing_issued_electronic=issued or 0)
        for code, month, outgoing, issued in conn.execute(
            "SELECT unit, period, outgoing, outgoing_issued_electronic FROM unit_counters"
            f" WHERE period IN ({_placeholders(months)}) AND {condition}",
            (*months, *params),
        )
    }
    known = _units_of(conn, codes)
    rows = []
    for code, _, _ in chosen:
        unit = known.get(code) or Unit(code, None, "unknown", None, True)
        counters = totals.get(code, _NOTHING)
        trend = _trend(code, trend_months, by_month)
        tier = tier_of(counters, unit.level, settings)
        flags = flags_of(counters, tier, trend, settings, unit.code_valid)
        # rates_of(...).e_issuance_rate without building all six rates for each trend point.
        rates = tuple(rate(point.outgoing_issued_electronic, point.outgoing) for point in trend)
        rows.append(UnitSummary(unit, counters, rates_of(counters), tier, flags, rates))
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
) -> Summary:
    """Every unit (or those of one level, or one unit) over ``period``.

    With ``rows_per_level``, ``units`` holds only the worst that many of each level,
    which is all a table shows: a national store's other ten thousand rows are ranked
    and counted in SQL but never built. Counts and flags seen cover every unit either way.
    """
    trend_periods = period.trend_periods(settings.trend_length)
    ranking = _rank_units(conn, period, trend_periods, settings, level=level, unit=unit)
    chosen = ranking.worst_of_each_level(rows_per_level)
    whole_store = level is None and unit is None and len(chosen) == len(ranking.rows)
    units = _unit_summaries(conn, chosen, period, trend_periods, settings, every_unit=whole_store)
    return Summary(
        period=period,
        period_is_default=period_is_default,
        trend_labels=tuple(p.label for p in trend_periods),
        units=units,
        settings=settings,
        units_per_level=tuple(ranking.per_level.items()),
        flags_seen=ranking.flags_seen,
        flagged_count=len(ranking.rows) - ranking.masks[0],
    )
