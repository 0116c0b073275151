"""Text read from files and the store, made inert before a terminal or a spreadsheet sees it.

Register subjects, organ names, file names and certificate names come from other people.
Printed through rich, ``[link=…]`` in one becomes a hyperlink and ``[bold]`` vanishes; printed
at all, an ESC or OSC sequence drives the terminal and a bidi override reorders what the
reader sees. Opened in a spreadsheet, ``=HYPERLINK(…)`` in a CSV cell runs. Every rendering
and every CSV writer of docflow goes through this module, so there is one rule to check.
"""

from __future__ import annotations

import logging
import re

from rich.markup import escape
from rich.text import Text

__all__ = ["for_terminal", "cell", "markup_safe", "for_spreadsheet", "SafeLogFormatter"]

# Whole escape sequences first (their payload, such as an OSC 8 link's address, goes too), then single
# controls: C0 except the newline, DEL, C1 (0x9b is a one-character CSI), and the bidi embeddings,
# overrides and isolates (U+202A–U+202E, U+2066–U+2069) that make text read differently than it is.
_SEQUENCES = re.compile(
    r"\x1b\][^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"  # OSC … BEL / ST (unterminated: to the next ESC or the end)
    r"|\x1b\[[0-?]*[ -/]*[@-~]"  # CSI
    r"|\x1b[PX^_][^\x1b\x9c]*(?:\x1b\\|\x9c)?"  # DCS, SOS, PM, APC strings
    r"|\x1b[ -/]*[0-~]"  # any other two-character escape
)
_CONTROLS = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def for_terminal(text: object) -> str:
    """``text`` as a string with no escape sequence, control character or bidi override; newlines kept.

    A tab becomes a space (it is layout, not a command); everything else is dropped.
    """
    plain = "" if text is None else str(text)
    if plain.isprintable() or not plain:
        return plain
    return _CONTROLS.sub("", _SEQUENCES.sub("", plain.replace("\t", " ")))


def cell(value: object, style: str = "") -> Text:
    """A rich table cell showing ``value`` literally: brackets stay brackets, controls are gone."""
    return Text(for_terminal(value), style=style)


def markup_safe(text: object) -> str:
    """``text`` ready to sit inside a rich markup string (``f"[yellow]{markup_safe(name)}[/yellow]"``)."""
    return escape(for_terminal(text))


def for_spreadsheet(value: object) -> object:
    """A CSV cell a spreadsheet will not run as a formula (OWASP: prefix a single quote).

    Only text is changed: a number, even a negative one, stays a number.
    """
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


class SafeLogFormatter(logging.Formatter):
    """Makes a log line terminal-safe: file names and reasons in it come from batches.

    It cleans the text it formats, never the record: other handlers (the watcher's JSON log, a test's capture)
    see the same record, with its message template and arguments intact.
    """

    def format(self, record: logging.LogRecord) -> str:
        return for_terminal(super().format(record))
