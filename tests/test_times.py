"""Times for people (dd/mm/yyyy HH:MM:SS, Asia/Ho_Chi_Minh) and for machines (ISO 8601 with offset)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta, timezone

import pytest

from docflow.times import PeopleTimeFormatter, for_machines, for_people, parse_iso, people_zone


def test_people_read_the_province_zone_day_first() -> None:
    # 22:00 UTC on 3 December is 05:00 on 4 December in Hanoi (UTC+7): the date changes too.
    assert for_people(datetime(2026, 12, 3, 22, 0, 12, tzinfo=UTC)) == "04/12/2026 05:00:12"
    assert for_people("2026-12-03T22:00:12+00:00", seconds=False) == "04/12/2026 05:00"


def test_a_stored_time_without_offset_is_utc_and_other_text_is_kept() -> None:
    assert for_people("2026-12-04 14:44:10") == "04/12/2026 21:44:10"
    assert for_people("not a time") == "not a time"
    assert for_people(None) == ""


def test_machines_get_iso_with_offset() -> None:
    moment = datetime(2026, 12, 4, 5, 0, tzinfo=timezone(timedelta(hours=7)))
    assert for_machines(moment) == "2026-12-04T05:00:00+07:00"
    assert for_machines(datetime(2026, 12, 4, 5, 0)) == "2026-12-04T05:00:00+00:00"
    assert parse_iso("2026-12-04T05:00:00Z") == datetime(2026, 12, 4, 5, 0, tzinfo=UTC)
    assert parse_iso("04/12/2026") is None


def test_an_unknown_zone_says_what_to_write() -> None:
    with pytest.raises(ValueError, match="Asia/Ho_Chi_Minh"):
        people_zone("Mars/Olympus")


def test_log_lines_carry_people_time() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "m", None, None)
    record.created = datetime(2026, 12, 4, 15, 0, 12, tzinfo=UTC).timestamp()
    assert PeopleTimeFormatter().formatTime(record) == "04/12/2026 22:00:12"
