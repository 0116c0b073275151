"""Every unit of a summary ranked worst first, with its flags, in one SQL query.

The ranking applies the formulas of ``docflow.reports.metrics`` (``tier_of``, ``flags_of``,
``is_declining``) written in SQL over per-unit sums of ``unit_counters``. A national store
has ten thousand units: ranking them in Python meant a ``Counters`` object per unit and
month, while one GROUP BY costs a single pass over the counters and no Python object per
unit. A year summary (the default view) takes its totals from ``unit_year_counters``, one row
per unit, instead (migration 5). ``docflow.reports.summary`` then builds full rows, with the Python
functions, only for the units it shows; tests/test_summary_scale.py holds the two to the same answers.
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter as Tally  # named apart from docflow.reports.metrics.Counters
from collections.abc import Sequence
from dataclasses import dataclass
from operator import itemgetter

from docflow.reports.lineage import Lineage, first_day, last_day
from docflow.reports.metrics import LEVELS, SIGNATURE_FAILURE_REASONS, Period, PeriodKind, SummarySettings
from docflow.reports.units import has_life_spans
from docflow.store.connection import schema_has

__all__ = ["Ranked", "Ranking", "flag_words", "rank_units", "FLAG_WORDS", "BELOW_TARGET_BIT"]


# Bit per flag in the ranking query's mask, in ``flags_of`` order (the first seven are
# raised only on units with data); ``no_data`` replaces them, ``invalid_code`` goes with either.
_FLAG_BITS: tuple[str, ...] = (
    "below_target", "paper", "unsigned", "personal_only", "invalid_signatures", "wrong_unit",
    "declining", "invalid_code", "no_data",
)  # fmt: skip


FLAG_WORDS: frozenset[str] = frozenset(_FLAG_BITS)
"""Every flag a summary can raise."""

BELOW_TARGET_BIT = 1 << _FLAG_BITS.index("below_target")


def flag_words(mask: int) -> frozenset[str]:
    return frozenset(word for bit, word in enumerate(_FLAG_BITS) if mask >> bit & 1)


Ranked = tuple[str, str, int]
"""(code, level, flag mask): what the listing, counts and legend need of every unit. A plain
tuple because there are ten thousand of them and an object each costs more than the query's sort."""


@dataclass(frozen=True)
class Ranking:
    """Every unit, worst first level by level (each level's units are consecutive)."""

    rows: list[Ranked]
    per_level: Tally[str]
    """Units per level."""
    masks: Tally[int]
    """Units per flag mask (0: no flag)."""

    def worst_of_each_level(self, limit: int | None) -> list[Ranked]:
        """The first ``limit`` units of each level's block (None: all), in ranking order."""
        if limit is None:
            return self.rows
        chosen: list[Ranked] = []
        start = 0
        # Levels come in LEVELS order, then every level docflow does not know as one block.
        for level in LEVELS:
            chosen += self.rows[start : start + min(self.per_level[level], limit)]
            start += self.per_level[level]
        return chosen + self.rows[start : start + limit]

    def below_target(self) -> Ranking:
        """Only the units below their level's target (``--behind``), in the same order."""
        rows = [row for row in self.rows if row[2] & BELOW_TARGET_BIT]
        return Ranking(rows, Tally(map(itemgetter(1), rows)), Tally(map(itemgetter(2), rows)))

    @property
    def flags_seen(self) -> tuple[str, ...]:
        return tuple(sorted(frozenset().union(*(flag_words(mask) for mask in self.masks))))


_SUM_NAMES = (
    "rows_in_period, outgoing, issued, paper, signed, nd30, unsigned, invalid, wrong_unit, other_data,"
    " early_out, early_issued, late_out, late_issued"
)
"""The columns ``_sum_columns`` makes, in its order."""


_INVALID_COLUMNS = tuple(f"invalid_{reason}" for reason in SIGNATURE_FAILURE_REASONS)
"""The counters ``flags_of`` adds up for ``invalid_signatures``."""


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

    invalid = " + ".join(_INVALID_COLUMNS)
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


def _month_totals(period: Period, trend_periods: Sequence[Period], only: str) -> tuple[str, dict[str, object]]:
    """Per-unit sums (``_SUM_NAMES``) of every unit with a counters row in the trend months, from the month rows
    (``only``: a condition on the code, as ``_only`` writes it, or empty)."""
    sums, params = _sum_columns(period, trend_periods)
    trend_months = [month for p in trend_periods for month in p.months]
    params.update({f"month{i}": month for i, month in enumerate(trend_months)})
    months = ", ".join(f":month{i}" for i in range(len(trend_months)))
    sql = f"""
    SELECT unit, {sums}
    FROM unit_counters
    WHERE period IN ({months}){only.format(column="unit")}
    GROUP BY unit"""
    return sql, params


def _reads_year_rollup(period: Period, trend_periods: Sequence[Period]) -> bool:
    """A whole year whose trend is its own months, halved evenly: ``_sum_columns``' lean case."""
    trend_months = [month for p in trend_periods for month in p.months]
    return (period.kind is PeriodKind.YEAR and set(trend_months) == set(period.months)
            and len(trend_periods) % 2 == 0)  # fmt: skip


def _year_totals(period: Period, trend_periods: Sequence[Period], only: str) -> tuple[str, dict[str, object]]:
    """``_month_totals`` for a year, from its rollup: one row per unit, where the month rows are twelve.

    The year's totals are the rollup row as it stands (the triggers of migration 5 keep it the sum of
    the year's month rows, and a row exists exactly while a month row does); only the trend's earlier
    half is summed from the month rows, over two columns. The later half is the total minus the earlier.
    At 10 000 units this halves the ranking query (~110 ms to ~65 ms on the 10-million-document bench).
    """
    early_months = [month for p in trend_periods[: len(trend_periods) // 2] for month in p.months]
    params: dict[str, object] = {"year": f"{period.year:04d}"}
    params.update({f"early{i}": month for i, month in enumerate(early_months)})
    early = ", ".join(f":early{i}" for i in range(len(early_months)))
    invalid = " + ".join(f"y.{column}" for column in _INVALID_COLUMNS)
    sql = f"""
    SELECT y.unit, 1 AS rows_in_period, y.outgoing, y.outgoing_issued_electronic AS issued,
           y.outgoing_paper AS paper, y.outgoing_signed_valid AS signed, y.outgoing_nd30 AS nd30,
           y.outgoing_unsigned AS unsigned, {invalid} AS invalid, y.invalid_wrong_unit AS wrong_unit,
           y.incoming + y.outgoing_confidential + y.incoming_confidential AS other_data,
           COALESCE(e.early_out, 0) AS early_out, COALESCE(e.early_issued, 0) AS early_issued,
           y.outgoing - COALESCE(e.early_out, 0) AS late_out,
           y.outgoing_issued_electronic - COALESCE(e.early_issued, 0) AS late_issued
    FROM unit_year_counters y
    LEFT JOIN (
        SELECT unit, SUM(outgoing) AS early_out, SUM(outgoing_issued_electronic) AS early_issued
        FROM unit_counters
        WHERE period IN ({early}){only.format(column="unit")}
        GROUP BY unit
    ) e ON e.unit = y.unit
    WHERE y.year = :year{only.format(column="y.unit")}"""
    return sql, params


# The flags a unit with data can raise, each a 0/1 (flags_of's checks, in its order), then the flag mask and the
# worst-first order. Fixed text: what varies is a parameter, or comes from _FLAG_BITS.
_PROBLEMS_AND_FLAGS = f"""problems AS (
    -- The flags a unit with data can raise, each a 0/1 (flags_of's checks, in its order).
    SELECT code, level, level_rank, unranked, rate, has_data, code_valid,
           below_target,
           CASE WHEN COALESCE(1.0 * paper / NULLIF(outgoing, 0), 0.0) > :paper_share THEN 1 ELSE 0 END AS paper,
           CASE WHEN unsigned > 0 THEN 1 ELSE 0 END AS unsigned,
           CASE WHEN signed - nd30 > :personal_only_share * signed THEN 1 ELSE 0 END AS personal_only,
           CASE WHEN invalid > 0 THEN 1 ELSE 0 END AS invalid_signatures,
           CASE WHEN wrong_unit > 0 THEN 1 ELSE 0 END AS wrong_unit,
           CASE WHEN early_out >= :declining_floor AND late_out >= :declining_floor
               AND 1.0 * late_issued / NULLIF(late_out, 0) <= 1.0 * early_issued / NULLIF(early_out, 0) - :drop
               THEN 1 ELSE 0 END AS declining
    FROM tiered
)
SELECT code, level,
       CASE WHEN has_data = 1 THEN {" + ".join(f"{1 << bit} * {word}" for bit, word in enumerate(_FLAG_BITS[:7]))}
            ELSE {1 << _FLAG_BITS.index("no_data")} END
       + {1 << _FLAG_BITS.index("invalid_code")} * (1 - code_valid) AS flag_mask
FROM problems
ORDER BY level_rank, unranked, CASE WHEN rate IS NULL THEN 1 ELSE 0 END, COALESCE(rate, 0.0),
         -(CASE WHEN has_data = 1 THEN {" + ".join(_FLAG_BITS[:7])} ELSE 1 END) - (1 - code_valid), code"""


def _add_settings(params: dict[str, object], settings: SummarySettings, *, level: str | None, unit: str | None) -> str:
    """The thresholds and filters as query parameters; returns the CASE arms giving each level's target."""
    params.update({
        "min_documents": settings.min_documents, "declining_floor": max(settings.min_documents, 1),
        "drop": settings.declining_drop, "paper_share": settings.paper_share,
        "personal_only_share": settings.personal_only_share, "default_target": settings.default_target,
    })  # fmt: skip
    params.update({name: value for name, value in (("unit", unit), ("level", level)) if value is not None})
    level_targets = dict(settings.level_targets)  # as ``SummarySettings.target`` reads them: the last wins
    for i, (target_level, target) in enumerate(level_targets.items()):
        params[f"target_level{i}"], params[f"target{i}"] = target_level, target
    return " ".join(f"WHEN :target_level{i} THEN :target{i}" for i in range(len(level_targets)))


_LINEAGE_TABLE = "lineage(code, target) AS MATERIALIZED (SELECT key, value FROM json_each(:lineage)),\n"
"""Code → attributed unit (``Lineage.as_json``), materialised so that the join with the month rows is indexed."""


def _in_force(params: dict[str, object], period: Period, lineage: Lineage | None) -> str:
    """The SQL condition on ``units u`` keeping the units in force on the lineage's day, or at some time in
    ``period`` when there is none (as issued)."""
    day = lineage.day if lineage is not None else None
    params["span_first"] = day or first_day(period)
    params["span_last"] = day or last_day(period)
    return "(COALESCE(u.valid_from, '') <= :span_last AND (u.valid_to IS NULL OR u.valid_to >= :span_first))"


def _only(unit: str | None, lineage: Lineage | None, params: dict[str, object]) -> str:
    """The condition keeping one unit's codes (``{column}`` to fill in): the unit's own, or with a lineage that
    moves codes, the unit's and those attributed to it. Empty for every unit."""
    if unit is None:
        return ""
    if lineage is None or not lineage.moves:
        return " AND {column} = :unit"
    params["sources"] = json.dumps(lineage.sources([unit]))
    return " AND {column} IN (SELECT value FROM json_each(:sources))"


def _totals(
    period: Period, trend_periods: Sequence[Period], unit: str | None, year_rollup: bool, lineage: Lineage | None
) -> tuple[str, dict[str, object]]:
    """The per-unit sums' query. With a lineage that moves codes, the per-code sums (additive, every one) are
    summed again per attributed unit: 10 000 rows re-grouped cost far less than re-grouping the month rows."""
    extra: dict[str, object] = {}
    only = _only(unit, lineage, extra)
    totals_of = _year_totals if year_rollup and _reads_year_rollup(period, trend_periods) else _month_totals
    totals, params = totals_of(period, trend_periods, only)
    params.update(extra)
    if lineage is None or not lineage.moves:
        return totals, params
    params["lineage"] = lineage.as_json()
    sums = ", ".join(f"SUM(t.{name}) AS {name}" for name in (name.strip() for name in _SUM_NAMES.split(",")))
    return (
        f"""
    SELECT COALESCE(l.target, t.unit) AS unit, {sums}
    FROM ({totals}
    ) t LEFT JOIN lineage l ON l.code = t.unit{" WHERE COALESCE(l.target, t.unit) = :unit" if unit else ""}
    GROUP BY 1""",
        params,
    )


def _ranking_sql(
    period: Period,
    trend_periods: Sequence[Period],
    settings: SummarySettings,
    *,
    level: str | None,
    unit: str | None,
    year_rollup: bool = True,
    lineage: Lineage | None = None,
    life_spans: bool = False,
) -> tuple[str, dict[str, object]]:
    """Every unit's level, flags (as a bit mask) and place, worst first, in one query.

    Worst first is: level order, ranked before unranked, then e-issuance rate rising
    (no rate last), more flags first, code. The formulas are those of ``tier_of`` and
    ``flags_of`` written in SQL over per-unit sums, so that ranking ten thousand units
    costs one GROUP BY over ``unit_counters`` and no Python object per unit;
    tests/test_summary_scale.py holds the two to the same answers. ``year_rollup``: a year may be read
    from ``unit_year_counters`` (False: from the month rows, as for any other period). ``lineage``: counters
    attributed to the units in force on its day (``docflow.reports.lineage``); ``life_spans``: the store has
    them (migration 13), and only the units in force (on the lineage's day, or during the period as issued)
    are listed without counters.
    """
    totals, params = _totals(period, trend_periods, unit, year_rollup, lineage)
    attributed = "lineage" in params
    in_force = _in_force(params, period, lineage) if life_spans else "1 = 1"
    one_unit = " AND code = :unit" if unit is not None else ""
    targets = _add_settings(params, settings, level=level, unit=unit)
    level_rank = " ".join(f"WHEN '{name}' THEN {rank}" for rank, name in enumerate(LEVELS))
    sql = f"""
WITH {_LINEAGE_TABLE if attributed else ""}totals AS ({totals}
),
everyone AS (
    SELECT t.unit AS code, COALESCE(NULLIF(u.level, ''), 'unknown') AS level,
           COALESCE(u.code_valid, 1) AS code_valid, {_SUM_NAMES}
    FROM totals t LEFT JOIN units u ON u.code = t.unit
    -- A unit with counters but no units row is reported too, rather than vanishing.
    -- A unit no longer (or not yet) in force is listed only with counters in the period: never dropped.
    WHERE t.rows_in_period > 0 OR (u.code IS NOT NULL AND {in_force})
    UNION ALL
    SELECT code, COALESCE(NULLIF(level, ''), 'unknown'), code_valid, {", ".join("0" for _ in _SUM_NAMES.split(","))}
    FROM units u WHERE code NOT IN (SELECT unit FROM totals) AND {in_force}{one_unit}
),
rated AS (
    SELECT *, CASE WHEN outgoing + other_data > 0 THEN 1 ELSE 0 END AS has_data,
           CASE WHEN outgoing <> 0 THEN 1.0 * issued / outgoing END AS rate
    FROM everyone
    {"WHERE level = :level" if level is not None else ""}
),
tiered AS (
    SELECT *,
           CASE WHEN outgoing < :min_documents OR rate IS NULL THEN 1 ELSE 0 END AS unranked,
           CASE WHEN NOT (outgoing < :min_documents OR rate IS NULL)
               AND rate < CASE level {targets} ELSE :default_target END THEN 1 ELSE 0 END AS below_target,
           CASE level {level_rank} ELSE {len(LEVELS)} END AS level_rank
    FROM rated
),
{_PROBLEMS_AND_FLAGS}
"""
    return sql, params


def rank_units(
    conn: sqlite3.Connection,
    period: Period,
    trend_periods: Sequence[Period],
    settings: SummarySettings,
    *,
    level: str | None,
    unit: str | None,
    lineage: Lineage | None = None,
) -> Ranking:
    """Every unit ranked (``lineage``: counters attributed to the units in force on its day)."""
    # A store last written by a docflow older than migration 5 has no rollup (reading never migrates).
    year_rollup = schema_has(conn, "table", "unit_year_counters")
    sql, params = _ranking_sql(period, trend_periods, settings, level=level, unit=unit, year_rollup=year_rollup,
                               lineage=lineage, life_spans=has_life_spans(conn))  # fmt: skip
    rows: list[Ranked] = conn.execute(sql, params).fetchall()
    # Tallied over itemgetter: C loops, where ten thousand Python steps would show.
    return Ranking(rows, Tally(map(itemgetter(1), rows)), Tally(map(itemgetter(2), rows)))
