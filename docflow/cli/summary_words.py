"""The summary's words: flag and problem hints, rate names, the footer's column definitions, in one place.

Each is an English message marked with ``N_`` and translated where it is shown (``docflow.i18n``); the
functions below return them in the reader's language. The keys (flag and reason words, column keys) are the
English words of JSON, CSV and ``--fail-on-flags``, and are never translated.
"""

from __future__ import annotations

from datetime import date

from docflow.i18n import N_, _, ngettext
from docflow.reports.drilldown import Rate
from docflow.reports.metrics import BELOW_TARGET, MEETS_TARGET, UNRANKED
from docflow.reports.units import Unit

__all__ = [
    "life_span_notes",
    "day_for_people",
    "structure_lines",
    "FLAG_HINTS",
    "FLAG_WORDS_SHOWN",
    "PROBLEM_HINTS",
    "NOT_TRUST_CHECKED",
    "not_trust_checked_line",
    "RATE_FAILURES",
    "RATE_SHORT",
    "flag_hint",
    "flag_label",
    "flag_word",
    "problem_hint",
    "rate_failures",
    "rate_short",
    "tier_word",
    "percent",
    "column_legend",
    "left_out_line",
]

FLAG_WORDS_SHOWN: dict[str, str] = {
    "below_target": N_("below target"),
    "paper": N_("paper"),
    "unsigned": N_("unsigned"),
    "personal_only": N_("personal signature only"),
    "invalid_signatures": N_("invalid signatures"),
    "wrong_unit": N_("wrong unit"),
    "declining": N_("declining"),
    "no_data": N_("no data"),
    "invalid_code": N_("malformed code"),
}
"""A flag as the table's flags column shows it (the key is the word JSON, CSV and --fail-on-flags use)."""

FLAG_HINTS: dict[str, str] = {
    "below_target": N_("electronic issuance rate below the level's target"),
    "paper": N_("many outgoing documents issued on paper only"),
    "unsigned": N_("documents sent over the axis without a digital signature"),
    "personal_only": N_("signed documents lacking the organisation's signature (personal signature only)"),
    "invalid_signatures": N_("invalid digital signatures (modified, untrusted, revoked, expired, weak algorithm)"),
    "wrong_unit": N_("organisation signature belonging to another unit"),
    "declining": N_("rate declining"),
    "no_data": N_("no documents in the period"),
    "invalid_code": N_("malformed agency code"),
}

PROBLEM_HINTS: dict[str, str] = {
    "paper": N_("issued on paper only"),
    "paper_copy": N_("sent with a paper copy"),
    "not_sent": N_("not seen sent over the interconnection axis (register says electronic)"),
    "unsigned": N_("not digitally signed"),
    "no_valid_signature": N_("no valid signature"),
    "no_organisation_signature": N_("no valid organisation signature"),
    "no_personal_signature": N_("no valid personal signature"),
    "tampered": N_("content modified after signing"),
    "untrusted": N_("certificate not trusted"),
    "revoked": N_("certificate revoked"),
    "expired": N_("signed outside the certificate's validity"),
    "weak": N_("weak algorithm"),
    "wrong_unit": N_("signature of another unit"),
    "other": N_("unreadable signature"),
}

RATE_FAILURES: dict[Rate, str] = {
    Rate.E_ISSUANCE: N_("outgoing documents not issued electronically"),
    Rate.SIGNATURE: N_("electronic outgoing documents without a valid digital signature"),
    Rate.ND30: N_("electronic outgoing documents without both digital signatures of Decree 30"),
}
"""What a rate's failing documents are, after their count (the drill-down's lines)."""

RATE_SHORT: dict[Rate, str] = {Rate.E_ISSUANCE: N_("E-issue"), Rate.SIGNATURE: N_("Signed"), Rate.ND30: N_("ND30")}

_TIER_WORDS = {MEETS_TARGET: N_("Meets target"), BELOW_TARGET: N_("Below target"), UNRANKED: N_("Unranked")}


def flag_word(flag: str) -> str:
    return _(FLAG_WORDS_SHOWN[flag]) if flag in FLAG_WORDS_SHOWN else flag


def flag_label(flag: str) -> str:
    """The flag's word with its code where they differ ("dưới chỉ tiêu (below_target)"): the code is what
    --fail-on-flags takes."""
    word = flag_word(flag)
    return word if word == flag else f"{word} ({flag})"


def flag_hint(flag: str) -> str:
    return _(FLAG_HINTS[flag]) if flag in FLAG_HINTS else flag


def problem_hint(word: str) -> str:
    return _(PROBLEM_HINTS[word]) if word in PROBLEM_HINTS else word


def rate_failures(rate: Rate) -> str:
    return _(RATE_FAILURES[rate])


def rate_short(rate: Rate) -> str:
    return _(RATE_SHORT[rate])


def tier_word(tier: str) -> str:
    """A tier (stored and in JSON as the Vietnamese words of the rules) in the reader's language."""
    return _(_TIER_WORDS[tier]) if tier in _TIER_WORDS else tier


def life_span_notes(unit: Unit, successors: tuple[str, ...]) -> list[str]:
    """What ``docflow units`` says of a unit's life span: from when, until when, and into what."""
    notes = []
    if unit.valid_from:
        notes.append(_("in force from {day}").format(day=day_for_people(unit.valid_from)))
    if unit.valid_to and successors:
        notes.append(
            _("ended {day}, went into {codes}").format(day=day_for_people(unit.valid_to), codes=", ".join(successors))
        )
    elif unit.valid_to:
        notes.append(_("dissolved {day}: its history is not carried").format(day=day_for_people(unit.valid_to)))
    return notes


def day_for_people(day: str) -> str:
    """yyyy-mm-dd as dd/mm/yyyy."""
    return date.fromisoformat(day).strftime("%d/%m/%Y")


def structure_lines(structure_day: str | None, attributed: int, unknown: int) -> list[str]:
    """Which structure the units are reported in, and how many codes the unit list does not know."""
    lines = []
    if structure_day is None:
        lines.append(_("Units as they were when each document was issued (--as-issued)."))
    elif attributed:
        day = day_for_people(structure_day)
        lines.append(
            ngettext(
                "Units as in force on {day}: {count} code of a unit that ended counts towards its successor "
                "(--as-issued: as the documents carry them).",
                "Units as in force on {day}: {count} codes of units that ended count towards their successors "
                "(--as-issued: as the documents carry them).",
                attributed,
            ).format(day=day, count=attributed)
        )
    if unknown:
        lines.append(
            ngettext(
                "{count} code is not on the unit list and is counted as unknown to it: import it with "
                "'docflow units import'.",
                "{count} codes are not on the unit list and are counted as unknown to it: import them with "
                "'docflow units import'.",
                unknown,
            ).format(count=unknown)
        )
    return lines


def not_trust_checked_line(count: int) -> str:
    """Said whenever a figure rests on signatures no trust anchor was consulted for: their verdicts can change."""
    return ngettext(
        "{count} signature not checked against a trust store (--no-trust)",
        "{count} signatures not checked against a trust store (--no-trust)",
        count,
    ).format(count=count)


NOT_TRUST_CHECKED = N_("signatures not checked against a trust store (--no-trust)")


def percent(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.0f}%"


def column_legend(trend_labels: tuple[str, ...], min_documents: int) -> dict[str, str]:
    """What each column of the summary table means, by its key (``Column.header``, docs/metrics.md); the
    footer prints those shown."""
    return {
        "Code": _("the unit's agency code (use it with --unit)"),
        "E-issue": _(
            "outgoing documents sent over the interconnection axis, with a valid digital signature of the "
            "organisation itself, without a paper copy, not modified after signing / all outgoing documents; "
            "confidential documents not counted (docs/metrics.md)"
        ),
        "Tier": _(
            "Meets target / Below target against the level's target; Unranked: fewer than {count} outgoing "
            "documents in the period"
        ).format(count=min_documents),
        "Outgoing": _("all outgoing documents in the period (confidential documents not counted)"),
        "ND30": _("outgoing documents with both valid personal and organisation signatures / electronic outgoing"),
        "Signed": _(
            "outgoing documents with a valid digital signature / electronic outgoing documents (sent over the "
            "axis, or marked electronic in the register)"
        ),
        "Trend": _("E-issue rate from {first} to {last} (· = no data)").format(
            first=trend_labels[0], last=trend_labels[-1]
        ),
        "Electronic": _("electronic outgoing documents (sent over the axis, or marked electronic in the register)"),
        "Paper": _("outgoing documents issued on paper only"),
        "Incoming": _("all incoming documents in the period"),
        "Incoming e.": _("incoming documents received electronically / all incoming documents"),
        "On time": _("incoming documents with a deadline handled on time / incoming documents with a deadline"),
        "Flags": _("why the unit needs a look:"),
    }


def left_out_line(headers: list[str]) -> str:
    """The footer's last word on the table: what it did not print, and how to see it (``headers`` as shown)."""
    return _(
        "Not printed for want of room: {columns} (a wider window, COLUMNS=200 when writing to a file, or "
        "--csv/--json for every column)."
    ).format(columns=", ".join(headers))
