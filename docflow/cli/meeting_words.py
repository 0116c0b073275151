"""Every word of the meeting report (``docflow report``), in one place, through the gettext catalog.

Messages are English msgids translated when the report is drawn (``docflow.i18n``: Vietnamese unless
``--lang en``); the words other commands already own (level names, tiers, the rates' definitions, the reasons a
document fails) are theirs, so the report and ``docflow summary`` say the same thing.
"""

from __future__ import annotations

from docflow.i18n import N_, _
from docflow.reports.metrics import Period, PeriodKind
from docflow.reports.units import LEVEL_LABELS

__all__ = [
    "TITLE",
    "level_name",
    "period_words",
    "percent",
    "points",
    "reason_line",
    "kind_word",
    "channel_word",
    "yes_no",
    "words",
]

TITLE = N_("Electronic issuance and digital signature report")

_REASON_LINES = {
    "paper": N_("{count} issued on paper only"),
    "unsigned": N_("{count} sent over the axis unsigned"),
    "personal_only": N_("{count} signed without the organisation's signature (personal signature only)"),
    "invalid_signatures": N_("{count} with an invalid signature"),
    "wrong_unit": N_("{count} signed with another unit's certificate"),
}

_KINDS = {"person": N_("personal"), "organisation": N_("organisation")}
_CHANNELS = {"electronic": N_("electronic"), "paper": N_("paper"), "both": N_("electronic with a paper copy")}

_WORDS = {
    "period": N_("Period"),
    "compared_with": N_("compared with"),
    "made_at": N_("Made on"),
    "province_unknown": N_("Province not named: import the unit list ('docflow units import')."),
    "targets": N_("Targets of Resolution 17/NQ-CP (e-issuance rate)"),
    "overview": N_("Levels at a glance"),
    "level": N_("Level"),
    "target": N_("Target"),
    "units": N_("Units"),
    "code": N_("Code"),
    "unit": N_("Unit"),
    "tier": N_("Tier"),
    "outgoing": N_("Outgoing"),
    "e_issuance": N_("E-issuance"),
    "change": N_("Change"),
    "signature": N_("Signed"),
    "nd30": N_("ND 30"),
    "not_issued": N_("Not issued electronically"),
    "reasons": N_("Reasons"),
    "total": N_("Total"),
    "behind_first": N_("Units behind target come first, marked in red; the change is against the previous period."),
    "none_behind": N_("No unit of this level is behind target."),
    "behind_count": N_("Behind target"),
    "trend_chart": N_("E-issuance rate over the last 12 months"),
    "distribution_chart": N_("Units by e-issuance rate"),
    "ranked_chart": N_("Units ranked by e-issuance rate"),
    "ranked_note": N_("Units with no outgoing document in the period have no rate and no bar."),
    "certificates": N_("Digital certificates"),
    "expiring": N_("Expiring soon or expired"),
    "wrong_unit": N_("Another unit's certificate used during the period"),
    "holder": N_("Holder"),
    "kind": N_("Kind"),
    "valid_until": N_("Valid until"),
    "last_used": N_("Last used"),
    "signer": N_("Signer"),
    "owner": N_("Owner of the certificate"),
    "documents": N_("Documents"),
    "last_signed": N_("Last signed"),
    "no_certificate_problem": N_("No certificate problem found for this level."),
    "definitions": N_("How the figures are counted"),
    "made_by": N_("Made by docflow"),
    "rate": N_("Rate"),
    "none": N_("–"),
}


def words() -> dict[str, str]:
    """The report's fixed words, translated now (the language is chosen when the command runs)."""
    return {key: _(message) for key, message in _WORDS.items()}


def level_name(level: str) -> str:
    return _(LEVEL_LABELS.get(level, level))


def period_words(period: Period) -> str:
    """``tháng 11/2026``, ``quý 3/2026``, ``năm 2026``: a period as a heading reads it."""
    if period.kind is PeriodKind.MONTH:
        return _("month {month}/{year}").format(month=f"{period.index:02d}", year=period.year)
    if period.kind is PeriodKind.QUARTER:
        return _("quarter {quarter}/{year}").format(quarter=period.index, year=period.year)
    return _("year {year}").format(year=period.year)


def percent(value: float | None) -> str:
    return _("–") if value is None else f"{value * 100:.0f}%"


def points(change: float | None) -> str:
    """A change of rate in percentage points, signed (``+3``, ``−12``), or a dash."""
    if change is None:
        return _("–")
    rounded = round(change * 100)
    return _("{points} pts").format(points=f"{rounded:+d}".replace("-", "−"))


def reason_line(word: str, count: int) -> str:
    return _(_REASON_LINES[word]).format(count=count)


def kind_word(kind: str | None) -> str:
    return _(_KINDS[kind]) if kind in _KINDS else (kind or _("–"))


def channel_word(channel: str) -> str:
    return _(_CHANNELS[channel]) if channel in _CHANNELS else channel


def yes_no() -> tuple[str, str]:
    return _("yes"), _("no")
