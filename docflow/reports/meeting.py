"""``docflow report``: the figures the steering committee's meeting reviews, level by level (issue 18 §2).

Nothing here has a formula of its own: each unit's rates, tier and flags are ``docflow.reports.summary``'s
(so the report never contradicts ``docflow summary``), the level targets are ``SummarySettings``', the
reasons a unit is behind are the counters its flags read (``docflow.reports.metrics.flags_of``), and the
expiring certificates are ``docflow.reports.certs``'s review. What the report adds is the comparison with
the previous period, the level's totals and twelve-month trend, and the certificates used by another unit
during the period. Drawing it (HTML, charts, workbook, PDF) is the CLI's job.
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter as Tally
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from docflow.agency import parse_agency_code
from docflow.reports.certs import SeenCertificate, review_certificates
from docflow.reports.lineage import last_day, load_lineage
from docflow.reports.metrics import (
    BELOW_TARGET,
    LEVELS,
    MEETS_TARGET,
    SIGNATURE_FAILURE_REASONS,
    UNRANKED,
    Counters,
    Period,
    PeriodKind,
    Rates,
    SummarySettings,
    counters_by_unit_and_month,
    rate,
    rates_of,
)
from docflow.reports.summary import UnitSummary, summarise
from docflow.reports.units import load_units
from docflow.store.classify import Standing, standing
from docflow.store.merging import STATE_COLUMNS, doc_state

__all__ = [
    "TIERS",
    "REASONS",
    "TREND_MONTHS",
    "UnitLine",
    "WrongUnitUse",
    "LevelReport",
    "MeetingReport",
    "DocumentLine",
    "meeting_report",
    "period_documents",
    "province_name",
]

TIERS: tuple[str, ...] = (MEETS_TARGET, BELOW_TARGET, UNRANKED)
"""The tiers a level's counts are given for, in the order a reader looks for them."""

REASONS: tuple[str, ...] = ("paper", "unsigned", "personal_only", "invalid_signatures", "wrong_unit")
"""Why a unit is behind, as the flags of the same names count them (docs/metrics.md, "Flags")."""

TREND_MONTHS = 12


@dataclass(frozen=True)
class UnitLine:
    """One unit of a level: its summary row and its e-issuance rate in the previous period."""

    summary: UnitSummary
    previous_rate: float | None

    @property
    def code(self) -> str:
        return self.summary.unit.code

    @property
    def name(self) -> str:
        return self.summary.unit.display_name

    @property
    def rate(self) -> float | None:
        return self.summary.rates.e_issuance_rate

    @property
    def change(self) -> float | None:
        """Percentage points (as a fraction) since the previous period; None when either rate is undefined."""
        if self.rate is None or self.previous_rate is None:
            return None
        return self.rate - self.previous_rate

    @property
    def behind(self) -> bool:
        return self.summary.tier == BELOW_TARGET

    @property
    def not_issued(self) -> int:
        """Outgoing documents not issued electronically: the e-issuance rate's failing documents."""
        counters = self.summary.counters
        return counters.outgoing - counters.outgoing_issued_electronic

    @property
    def reasons(self) -> tuple[tuple[str, int], ...]:
        """(reason word, documents) for each of ``REASONS`` with documents, in that order."""
        return tuple((word, count) for word, count in zip(REASONS, reason_counts(self.summary.counters)) if count)


def reason_counts(counters: Counters) -> tuple[int, ...]:
    """Documents behind each of ``REASONS``, as ``flags_of`` reads them from the counters."""
    invalid = sum(counters.invalid_by_reason[reason] for reason in SIGNATURE_FAILURE_REASONS)
    return (
        counters.outgoing_paper,
        counters.outgoing_unsigned,
        max(counters.outgoing_signed_valid - counters.outgoing_nd30, 0),
        invalid,
        counters.invalid_wrong_unit,
    )


@dataclass(frozen=True)
class WrongUnitUse:
    """One certificate another unit owns, used to sign a unit's documents during the period."""

    sender: str
    signer: str | None
    owner: str | None
    """The unit the certificate is registered to or seen signing for; None when unknown."""
    documents: int
    last_signed: str | None


@dataclass(frozen=True)
class LevelReport:
    level: str
    target: float
    totals: Counters
    previous_rate: float | None
    """The level's pooled e-issuance rate in the previous period."""
    units: tuple[UnitLine, ...]
    """Behind target first, then the rest, each part worst first (the summary's order)."""
    trend: tuple[tuple[str, float | None], ...]
    """(``yyyy-mm``, the level's pooled e-issuance rate) for the twelve months up to the period's end."""
    expiring: tuple[SeenCertificate, ...]
    wrong_unit: tuple[WrongUnitUse, ...]

    @property
    def rates(self) -> Rates:
        return rates_of(self.totals)

    @property
    def change(self) -> float | None:
        current = self.rates.e_issuance_rate
        return None if current is None or self.previous_rate is None else current - self.previous_rate

    @property
    def tiers(self) -> tuple[tuple[str, int], ...]:
        counted = Tally(line.summary.tier for line in self.units)
        return tuple((tier, counted[tier]) for tier in TIERS)

    @property
    def behind(self) -> tuple[UnitLine, ...]:
        return tuple(line for line in self.units if line.behind)


@dataclass(frozen=True)
class MeetingReport:
    province: str | None
    period: Period
    previous: Period
    made_at: datetime
    settings: SummarySettings
    expiring_days: int
    levels: tuple[LevelReport, ...]
    """Levels with at least one unit, in ``LEVELS`` order."""

    @property
    def units(self) -> tuple[UnitLine, ...]:
        return tuple(line for level in self.levels for line in level.units)


def province_name(conn: sqlite3.Connection) -> str | None:
    """The name of the province's own body (a level-1 code of level ``province``), as the unit list gives it."""
    for unit in sorted(load_units(conn).values(), key=lambda unit: unit.code):
        if unit.level == "province" and unit.name and parse_agency_code(unit.code).depth == 1:
            return unit.name
    return None


def _trend_months(period: Period) -> tuple[str, ...]:
    last = Period(period.year, PeriodKind.MONTH, int(period.months[-1][5:7]))
    return tuple(month for back in range(TREND_MONTHS - 1, -1, -1) for month in last.shifted(-back).months)


def _level_trend(
    by_month: dict[tuple[str, str], Counters], codes: set[str], months: tuple[str, ...]
) -> tuple[tuple[str, float | None], ...]:
    outgoing, issued = Tally[str](), Tally[str]()
    for (unit, month), counters in by_month.items():
        if unit in codes:
            outgoing[month] += counters.outgoing
            issued[month] += counters.outgoing_issued_electronic
    return tuple((month, rate(issued[month], outgoing[month])) for month in months)


def _wrong_unit_uses(conn: sqlite3.Connection, period: Period) -> tuple[WrongUnitUse, ...]:
    """Certificates of another unit on the period's documents, grouped per sender and certificate."""
    months = period.months
    rows = conn.execute(
        "SELECT d.sender, MAX(s.signer_subject), MAX(c.unit), COUNT(DISTINCT s.document_id), MAX(s.signing_time)"
        " FROM signatures s JOIN documents d ON d.document_id = s.document_id"
        " LEFT JOIN certificates c ON c.sha256 = s.cert_sha256"
        f" WHERE s.belongs_to_sender = 0 AND d.period IN ({', '.join('?' for _ in months)})"
        " AND d.sender IS NOT NULL"
        " GROUP BY d.sender, COALESCE(s.cert_sha256, s.signer_subject)"
        " ORDER BY d.sender, 4 DESC",
        months,
    )
    return tuple(WrongUnitUse(*row) for row in rows)


def _pooled_rate(lines: Sequence[UnitSummary]) -> float | None:
    return rate(
        sum(line.counters.outgoing_issued_electronic for line in lines), sum(line.counters.outgoing for line in lines)
    )


def _level_report(
    level: str,
    rows: Sequence[UnitSummary],
    previous: dict[str, UnitSummary],
    trend: tuple[tuple[str, float | None], ...],
    settings: SummarySettings,
    certificates: tuple[Sequence[SeenCertificate], Sequence[WrongUnitUse]],
) -> LevelReport:
    lines = [UnitLine(row, previous[row.unit.code].rates.e_issuance_rate if row.unit.code in previous else None)
             for row in rows]  # fmt: skip
    # The summary's order is worst first; a stable sort keeps it within "behind" and the rest.
    lines.sort(key=lambda line: not line.behind)
    codes = {row.unit.code for row in rows}
    expiring, wrong_unit = certificates
    return LevelReport(
        level=level,
        target=settings.target(level),
        totals=sum((row.counters for row in rows), Counters()),
        previous_rate=_pooled_rate([previous[code] for code in codes if code in previous]),
        units=tuple(lines),
        trend=trend,
        expiring=tuple(cert for cert in expiring if cert.unit in codes),
        wrong_unit=tuple(use for use in wrong_unit if use.sender in codes),
    )


def meeting_report(
    conn: sqlite3.Connection,
    period: Period,
    settings: SummarySettings = SummarySettings(),
    *,
    level: str | None = None,
    made_at: datetime,
    province: str | None = None,
    expiring_days: int = 30,
) -> MeetingReport:
    """Every unit (or one level's) over ``period``, compared with the period before it.

    ``made_at`` is the moment the report says it was made, in the people's zone (``docflow.times``); the
    certificates' expiry is judged from its day.
    """
    current = summarise(conn, period, settings, level=level)
    previous_period = period.shifted(-1)
    # The period before is read in this period's structure, so a merged unit is compared with its predecessors.
    earlier = summarise(conn, previous_period, settings, level=level, structure_day=current.structure_day)
    previous = {row.unit.code: row for row in earlier.units}
    months = _trend_months(period)
    lineage = load_lineage(conn, current.structure_day or last_day(period))
    codes = None if level is None else lineage.sources(r.unit.code for r in current.units)
    by_month = lineage.fold_months(counters_by_unit_and_month(conn, months, codes))
    review = review_certificates(conn, expiring_days, as_of=made_at.date())
    certificates = (review.expiring, _wrong_unit_uses(conn, period))
    known_levels = (*LEVELS, *sorted({row.unit.level for row in current.units} - set(LEVELS)))
    levels = []
    for name in known_levels:
        rows = [row for row in current.units if row.unit.level == name]
        if rows:
            trend = _level_trend(by_month, {row.unit.code for row in rows}, months)
            levels.append(_level_report(name, rows, previous, trend, settings, certificates))
    return MeetingReport(
        province=province if province is not None else province_name(conn),
        period=period,
        previous=previous_period,
        made_at=made_at,
        settings=settings,
        expiring_days=expiring_days,
        levels=tuple(levels),
    )


@dataclass(frozen=True)
class DocumentLine:
    """One outgoing document the period's rates count, judged by the one rule (``classify.standing``)."""

    document_id: str
    sender: str
    number: str | None
    promulgation_date: date | None
    subject: str | None
    channel: str
    sent_over_axis: bool
    signature_count: int
    standing: Standing


def _day(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def period_documents(conn: sqlite3.Connection, period: Period, codes: Sequence[str]) -> Iterator[DocumentLine]:
    """The non-confidential outgoing documents of ``codes`` in ``period``: what the rates count, in sender order."""
    months = period.months
    rows = conn.execute(
        "SELECT document_id, number, notation, promulgation_date, subject, "
        f"{', '.join(STATE_COLUMNS)} FROM documents"
        f" WHERE sender IN (SELECT value FROM json_each(?)) AND period IN ({', '.join('?' for _ in months)})"
        " AND confidential = 0 AND business_status NOT IN ('revoked', 'replaced')"
        " ORDER BY sender, promulgation_date, document_id",
        (json.dumps(list(codes)), *months),
    )
    for document_id, number, notation, promulgation_date, subject, *state in rows:
        doc = doc_state(tuple(state))
        shown_number = "/".join(part for part in (number, notation) if part) or None
        yield DocumentLine(
            document_id,
            str(doc.sender),
            shown_number,
            _day(promulgation_date),
            subject,
            doc.channel,
            doc.sent_over_axis,
            doc.signature_count,
            standing(doc),
        )
