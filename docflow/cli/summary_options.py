"""The ``docflow summary`` options that need more than click: which unit ``--unit`` names, which flags
``--fail-on-flags`` fails on, and the combinations refused."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

import click

from docflow.i18n import _, ngettext
from docflow.reports.ranking import FLAG_WORDS
from docflow.reports.units import find_units
from docflow.safe_text import for_terminal

__all__ = ["UsageRefused", "resolve_unit", "parse_fail_on_flags", "DEFAULT_FAIL_FLAGS", "fails_on", "FAIL_HELP"]

_LISTED_MATCHES = 20


class UsageRefused(click.ClickException):
    """What the user asked cannot be done as asked: a plain message and exit 2, as click's usage errors."""

    exit_code = 2


def resolve_unit(conn: sqlite3.Connection, text: str) -> str:
    """The code of the one unit ``text`` names (a code, or a name with or without diacritics)."""
    matches = find_units(conn, text)
    if not matches:
        raise click.ClickException(
            for_terminal(_("no unit {text!r} in the store (give its code or part of its name)").format(text=text))
        )
    if len(matches) == 1:
        return matches[0].code
    lines = [f"  {unit.code}  {unit.display_name}" for unit in matches[:_LISTED_MATCHES]]
    if len(matches) > _LISTED_MATCHES:
        lines.append("  " + _("… and {count} more").format(count=len(matches) - _LISTED_MATCHES))
    listing = "\n".join(lines)
    fit = ngettext("{count} unit fits {text!r}", "{count} units fit {text!r}", len(matches))
    message = _("{fit}; give one code with --unit:").format(fit=fit.format(count=len(matches), text=text))
    raise UsageRefused(for_terminal(f"{message}\n{listing}"))


DEFAULT_FAIL_FLAGS: frozenset[str] = FLAG_WORDS - {"no_data"}
"""``--fail-on-flags`` alone: every flag but ``no_data`` (a unit with no documents in the period has usually not
reported yet, which is for the table to show rather than for a scheduled run to fail on)."""

FAIL_HELP = (
    "Exit 1 when a unit has a flag (scheduled runs). Alone: any flag but no_data; "
    "=WORDS: only these, comma-separated (e.g. --fail-on-flags=no_data,below_target; 'all': every flag)."
)


def parse_fail_on_flags(value: str | None) -> frozenset[str]:
    """The flags a run fails on: none without the option, ``DEFAULT_FAIL_FLAGS`` for the bare option."""
    if value is None:
        return frozenset()
    if value == "default":
        return DEFAULT_FAIL_FLAGS
    words = frozenset(word.strip() for word in value.split(",") if word.strip())
    if "all" in words:
        return FLAG_WORDS
    unknown = sorted(words - FLAG_WORDS)
    if unknown or not words:
        given = ", ".join(unknown) or _("(none given)")
        flags = ", ".join(sorted(FLAG_WORDS))
        raise UsageRefused(
            _("--fail-on-flags: unknown flag {given}; flags are {flags}").format(given=given, flags=flags)
        )
    return words


def fails_on(raised: Iterable[str], chosen: frozenset[str]) -> bool:
    return bool(chosen.intersection(raised))
