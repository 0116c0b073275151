"""The meeting report's charts, drawn by pygal as inline SVG: no script, no font and nothing fetched.

pygal builds its SVG with lxml, so a unit's name is escaped as text; names also pass through
``docflow.safe_text.for_terminal`` first, because XML cannot hold control characters at all. pygal's
interactive tooltips need its JavaScript from the network, which the report leaves out (``js=[]``): the page
must open on a machine without network, and the values are printed on the bars and in the tables instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pygal
from pygal.style import Style

from docflow.cli.meeting_html import Chart
from docflow.cli.meeting_words import level_name, words
from docflow.i18n import _
from docflow.reports.meeting import LevelReport, MeetingReport, UnitLine
from docflow.reports.metrics import BELOW_TARGET, MEETS_TARGET
from docflow.safe_text import for_terminal

__all__ = ["level_charts", "report_charts", "BINS", "RANKED_BARS", "LABEL_LENGTH"]

BINS = 10
"""The distribution's bars: 0–10 %, 10–20 % … 90–100 %."""
RANKED_BARS = 200
"""Bars on a ranked chart at most: a province's level has fewer units; a national store's would make a chart
metres long, so it shows the units with the lowest rates, the ones the meeting is about."""
LABEL_LENGTH = 42
"""Characters of a unit's name on the ranked chart; the tables give the whole name."""

_COLOURS = {BELOW_TARGET: "#c0392b", MEETS_TARGET: "#2e8b57"}
_UNRANKED_COLOUR = "#9aa5b1"
_STYLE = Style(
    font_family='"DejaVu Sans", "Noto Sans", Arial, sans-serif',
    background="white",
    plot_background="white",
    foreground="#1d2329",
    foreground_strong="#1d2329",
    foreground_subtle="#8c959f",
    colors=("#2a5d8f", "#c0392b", "#2e8b57", "#9aa5b1"),
    title_font_size=16,
    label_font_size=12,
    major_label_font_size=12,
    value_font_size=11,
    legend_font_size=12,
    guide_stroke_color="#d8dee4",
    major_guide_stroke_color="#d8dee4",
    guide_stroke_dasharray="2,2",
    major_guide_stroke_dasharray="2,2",
)


def _config(**options: object) -> dict[str, object]:
    return {
        "js": [],  # pygal's tooltips load a script from the network: the report must open without one
        "disable_xml_declaration": True,  # the SVG sits inside the HTML page
        "style": _STYLE,
        "explicit_size": False,  # the viewBox alone: the page's CSS scales the chart to its column
        "print_values": True,
        "value_formatter": lambda value: f"{value:.0f}%",
        **options,
    }


def _inert(root: Any) -> Any:
    """pygal's SVG without its script (a config object for the tooltips, holding every label again) and its
    comments (its name and web addresses): the page runs no script at all."""
    for element in list(root.iter()):
        if callable(element.tag) or str(element.tag).rpartition("}")[2] == "script":
            element.getparent().remove(element)
    return root


def _svg(chart: Any) -> str:
    chart.add_xml_filter(_inert)
    return str(chart.render(is_unicode=True))


def _percent(value: float | None) -> float | None:
    return None if value is None else round(value * 100, 1)


def _month_label(month: str) -> str:
    return f"{month[5:7]}/{month[:4]}"


def trend_chart(level: LevelReport) -> Chart:
    """The level's pooled e-issuance rate, month by month, against its target."""
    chart = pygal.Line(**_config(title=words()["trend_chart"], width=640, height=320, range=(0, 100),
                                 print_values=False, show_dots=True, dots_size=4, legend_at_bottom=True,
                                 x_label_rotation=30))  # fmt: skip
    chart.x_labels = [_month_label(month) for month, _rate in level.trend]
    chart.add(level_name(level.level), [_percent(value) for _month, value in level.trend])
    chart.add(words()["target"], [_percent(level.target)] * len(level.trend), show_dots=False,
              stroke_style={"dasharray": "6, 4", "width": 2})  # fmt: skip
    return Chart("trend", _svg(chart))


def distribution(lines: Sequence[UnitLine]) -> list[int]:
    """Units per tenth of the e-issuance rate; a rate of exactly 100 % is in the last tenth."""
    counts = [0] * BINS
    for line in lines:
        if line.rate is not None:
            counts[min(int(line.rate * BINS), BINS - 1)] += 1
    return counts


def distribution_chart(level: LevelReport) -> Chart:
    width = 100 // BINS
    chart = pygal.Bar(**_config(title=words()["distribution_chart"], width=640, height=320, show_legend=False,
                                value_formatter=str, x_label_rotation=30))  # fmt: skip
    chart.x_labels = [f"{start}–{start + width}%" for start in range(0, 100, width)]
    counts = distribution(level.units)
    step = max(1, -(-max(counts) // 8))  # about eight whole-unit guides, never fractions of a unit
    chart.y_labels = list(range(0, max(counts) + step + 1, step))
    chart.add(words()["units"], counts)
    return Chart("distribution", _svg(chart))


def _label(line: UnitLine) -> str:
    name = for_terminal(line.name)
    return name if len(name) <= LABEL_LENGTH else name[: LABEL_LENGTH - 1] + "…"


def ranked_chart(level: LevelReport) -> Chart:
    """One bar per unit with a rate, best at the top, red when behind target."""
    every = sorted((line for line in level.units if line.rate is not None), key=lambda line: (line.rate, line.code))
    rated = every[:RANKED_BARS]
    note = words()["ranked_note"]
    if len(every) > len(rated):
        note += " " + _(
            "Only the {shown} units with the lowest rates of {total} are drawn; the table lists every unit."
        ).format(shown=len(rated), total=len(every))
    chart = pygal.HorizontalBar(**_config(title=words()["ranked_chart"], width=900,
                                          height=110 + 22 * max(len(rated), 1), show_legend=False,
                                          range=(0, 100), truncate_label=-1))  # fmt: skip
    # pygal draws a horizontal bar chart's first label at the bottom: worst at the bottom, best on top.
    chart.x_labels = [_label(line) for line in rated]
    values = [
        {"value": _percent(line.rate), "color": _COLOURS.get(line.summary.tier, _UNRANKED_COLOUR),
         "label": for_terminal(line.code)}
        for line in rated
    ]  # fmt: skip
    chart.add(_("Rate"), values)
    return Chart("ranked", _svg(chart), note=note, wide=True)


def level_charts(level: LevelReport) -> tuple[Chart, ...]:
    return trend_chart(level), distribution_chart(level), ranked_chart(level)


def report_charts(report: MeetingReport) -> dict[str, Sequence[Chart]]:
    return {level.level: level_charts(level) for level in report.levels}
