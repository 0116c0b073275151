"""The meeting report as one self-contained HTML file: Jinja2 with autoescaping, the charts inline as SVG.

Every string from the store (unit names, signers, certificate holders) reaches the page twice made inert:
``docflow.safe_text.for_terminal`` drops control characters and bidi overrides (which reorder what a reader
sees in a browser as much as in a terminal), and the template's autoescaping makes ``<script>`` text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import tzinfo

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from docflow import __version__
from docflow.cli.meeting_words import (
    TITLE,
    kind_word,
    level_name,
    percent,
    period_words,
    points,
    reason_line,
    words,
)
from docflow.cli.summary_words import column_legend, tier_word
from docflow.i18n import _, language
from docflow.reports.meeting import TIERS, LevelReport, MeetingReport, UnitLine
from docflow.safe_text import for_terminal
from docflow.times import for_people

__all__ = ["Chart", "render_html"]


@dataclass(frozen=True)
class Chart:
    """One drawn chart: ``svg`` is markup made by the chart library, which escapes the labels it is given."""

    kind: str
    """trend, distribution or ranked: what the page (and a test) knows it by."""
    svg: str
    note: str = ""
    wide: bool = False


def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("docflow.cli", "templates"),
        autoescape=True,  # every value is text unless wrapped in Markup (only the charts' SVG is)
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _change_class(change: float | None) -> str:
    if change is None or round(change * 100) == 0:
        return ""
    return "up" if change > 0 else "down"


def _day(stored: str | None, zone: tzinfo | None) -> str:
    return for_people(stored, zone, seconds=False)[:10] if stored else _("–")


def _unit_row(line: UnitLine) -> dict[str, object]:
    counters, rates = line.summary.counters, line.summary.rates
    return {
        "code": for_terminal(line.code),
        "name": for_terminal(line.name),
        "tier": tier_word(line.summary.tier),
        "behind": line.behind,
        "outgoing": counters.outgoing,
        "rate": percent(line.rate),
        "change": points(line.change),
        "change_class": _change_class(line.change),
        "signature": percent(rates.signature_rate),
        "nd30": percent(rates.nd30_rate),
        "not_issued": line.not_issued,
        "reasons": [reason_line(word, count) for word, count in line.reasons],
    }


def _certificates(level: LevelReport, names: dict[str, str], zone: tzinfo | None) -> dict[str, object]:
    def unit(code: str | None) -> str:
        return for_terminal(names.get(code or "", code or _("–")))

    return {
        "expiring": [
            {
                "unit": unit(cert.unit),
                "holder": for_terminal(cert.common_name or cert.organisation or cert.sha256[:16]),
                "kind": kind_word(cert.kind),
                "valid_until": _day(cert.not_after, zone),
                "last_used": _day(cert.last_used, zone),
            }
            for cert in level.expiring
        ],
        "wrong_unit": [
            {
                "unit": unit(use.sender),
                "signer": for_terminal(use.signer or _("–")),
                "owner": unit(use.owner),
                "documents": use.documents,
                "last_signed": _day(use.last_signed, zone),
            }
            for use in level.wrong_unit
        ],
    }


def _level_view(
    level: LevelReport, names: dict[str, str], charts: Sequence[Chart], zone: tzinfo | None
) -> dict[str, object]:
    rates = level.rates
    target = percent(level.target)
    return {
        "key": level.level,
        "name": level_name(level.level),
        "heading": _("{level}: target {target}").format(level=level_name(level.level), target=target),
        "target": target,
        "unit_count": len(level.units),
        "outgoing": level.totals.outgoing,
        "rate": percent(rates.e_issuance_rate),
        "change": points(level.change),
        "change_class": _change_class(level.change),
        "signature": percent(rates.signature_rate),
        "nd30": percent(rates.nd30_rate),
        "not_issued": level.totals.outgoing - level.totals.outgoing_issued_electronic,
        "tiers": [(tier_word(tier), count) for tier, count in level.tiers],
        "behind_count": len(level.behind),
        "units": [_unit_row(line) for line in level.units],
        "charts": [
            {"kind": chart.kind, "svg": Markup(chart.svg), "note": chart.note, "wide": chart.wide} for chart in charts
        ],
        **_certificates(level, names, zone),
    }


def _definitions(report: MeetingReport) -> list[tuple[str, str]]:
    legend = column_legend(("", ""), report.settings.min_documents)
    t = words()
    return [(t["e_issuance"], legend["E-issue"]), (t["signature"], legend["Signed"]), (t["nd30"], legend["ND30"]),
            (t["tier"], legend["Tier"])]  # fmt: skip


def render_html(report: MeetingReport, charts: dict[str, Sequence[Chart]] | None = None) -> str:
    """The whole page; ``charts`` maps a level to its charts (none: tables only)."""
    names = {line.code: line.name for line in report.units}
    zone = report.made_at.tzinfo
    template = _environment().get_template("meeting.html")
    return template.render(
        lang=language(),
        title=_(TITLE),
        t=words(),
        province=for_terminal(report.province) if report.province else words()["province_unknown"],
        period=period_words(report.period),
        previous=period_words(report.previous),
        made_at=for_people(report.made_at, zone, seconds=False),
        tiers=[tier_word(tier) for tier in TIERS],
        levels=[_level_view(level, names, (charts or {}).get(level.level, ()), zone) for level in report.levels],
        definitions=_definitions(report),
        version=__version__,
    )
