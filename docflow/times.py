"""Times for people and times for machines: the one place either format is decided.

People read dd/mm/yyyy HH:MM:SS in the province's time zone (Asia/Ho_Chi_Minh unless ``[display]
timezone`` says otherwise); JSON, logs for machines and the store keep ISO 8601 with the offset, so a
moment read back is the moment written. Every command, receipt and log line formats through here.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = [
    "DEFAULT_TIMEZONE",
    "for_people",
    "for_machines",
    "parse_iso",
    "people_zone",
    "PeopleTimeFormatter",
]

DEFAULT_TIMEZONE = "Asia/Ho_Chi_Minh"
_PEOPLE_FORMAT = "%d/%m/%Y %H:%M:%S"


@lru_cache(maxsize=8)
def people_zone(name: str = DEFAULT_TIMEZONE) -> tzinfo:
    """The zone people read times in; an unknown name is the caller's configuration error (ValueError)."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ValueError(f"unknown time zone {name!r}; use a name such as {DEFAULT_TIMEZONE!r}") from error


def for_people(moment: datetime | str | None, zone: tzinfo | None = None, *, seconds: bool = True) -> str:
    """``dd/mm/yyyy HH:MM:SS`` in ``zone`` (default Asia/Ho_Chi_Minh); a stored ISO string is read first.

    A naive datetime or ISO string without an offset is taken as UTC, which is what the store writes.
    Text that is not a time comes back unchanged (a stored value is shown, never dropped); None is "".
    """
    if moment is None:
        return ""
    if isinstance(moment, str):
        parsed = parse_iso(moment)
        if parsed is None:
            return moment
        moment = parsed
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    shown = moment.astimezone(zone or people_zone())
    return shown.strftime(_PEOPLE_FORMAT if seconds else "%d/%m/%Y %H:%M")


def for_machines(moment: datetime) -> str:
    """ISO 8601 with the offset (naive means UTC), to the second: what JSON and the store hold."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.isoformat(timespec="seconds")


def parse_iso(text: str) -> datetime | None:
    """An ISO 8601 time as the store writes it (``Z`` or an offset; none means UTC), or None."""
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


class PeopleTimeFormatter(logging.Formatter):
    """Log records stamped ``dd/mm/yyyy HH:MM:SS`` in the people's zone, not the machine's locale."""

    def __init__(self, fmt: str | None = None, zone: tzinfo | None = None) -> None:
        super().__init__(fmt)
        self._zone = zone

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802 - logging's name
        return for_people(datetime.fromtimestamp(record.created, UTC), self._zone)
