"""Issue 14, items 17 and 18: what the store holds is shown as text, never run as terminal markup,
escape sequences or spreadsheet formulas."""

from __future__ import annotations

import csv
import io
import json
import logging
import sqlite3
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers.db import DEPARTMENT, PROVINCE, new_store, put_counters, put_unit
from helpers.ingest import verdict
from rich.console import Console

import docflow.cli.report as cli_report
import docflow.cli.sql as cli_sql
import docflow.cli.verify as cli_verify
from docflow.cli import main
from docflow.cli.audit_view import render_trail
from docflow.cli.certs_view import render_review
from docflow.cli.summary_view import render_detail, render_summary, summary_csv, unit_detail
from docflow.cli.verify_run import Checked, Job
from docflow.reports.audit import audit_trail
from docflow.reports.certs import review_certificates
from docflow.reports.metrics import parse_period
from docflow.reports.summary import summarise
from docflow.safe_text import SafeLogFormatter, for_spreadsheet, for_terminal

LINK = "[link=https://evil.example/]bấm vào đây[/link]"
BOLD = "[bold]Khẩn[/bold]"
REASON = "set [register.columns] in docflow.toml"
ESCAPES = "\x1b[2J\x1b]8;;https://evil.example/\x07xem\x1b]8;;\x07\u202egnp.exe"
NAME = f"{LINK} {BOLD} {ESCAPES}"
FORMULA = '=HYPERLINK("https://evil.example/","bấm")'
DOCUMENT = f"{DEPARTMENT},2026/09/15,12/STC-VP"
OSC8 = "\x1b]8;"


def _terminal(width: int = 200) -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out, width=width, force_terminal=True, color_system="truecolor", highlight=False), out


def _assert_literal(shown: str, *literals: str) -> None:
    for literal in literals:
        assert literal in shown, f"{literal!r} not shown literally"
    assert OSC8 not in shown and "\x1b[2J" not in shown and "\u202e" not in shown


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "docflow.db"
    conn = new_store(path)
    put_unit(conn, PROVINCE, FORMULA, "province")
    put_unit(conn, DEPARTMENT, NAME, "department", PROVINCE)
    put_counters(conn, DEPARTMENT, "2026-09", outgoing=20, outgoing_electronic=10, outgoing_paper=10)
    put_counters(conn, PROVINCE, "2026-09", outgoing=20, outgoing_electronic=20, outgoing_issued_electronic=20)
    conn.execute(
        "INSERT INTO documents (document_id, sender, period, channel, subject, promulgation_date, invalid_reasons)"
        " VALUES (?, ?, '2026-09', 'paper', ?, '2026-09-15', ?)",
        (DOCUMENT, DEPARTMENT, f"{LINK} {BOLD}", "[red]x[/red]"),
    )
    conn.execute(
        "INSERT INTO batches (id, file_name, sha256, size_bytes, kind, received_at, processed_at, outcome)"
        " VALUES (1, ?, 'ef', 1, 'zip', '2026-09-16', '2026-09-16', 'ingested')",
        (f"{BOLD}.zip",),
    )
    conn.execute(
        "INSERT INTO signatures (payload_sha256, idx, document_id, batch_id, item_name, indication, reason, kind,"
        " signing_time_source, checks_json, signer_subject)"
        " VALUES ('ab', 0, ?, 1, ?, 'TOTAL_FAILED', ?, 'person', 'none', ?, ?)",
        (
            DOCUMENT,
            f"{ESCAPES}.pdf",
            REASON,
            json.dumps([{"name": "chain", "outcome": "failed", "detail": REASON}]),
            f"CN={LINK}",
        ),
    )
    conn.execute(
        "INSERT INTO certificates (sha256, common_name, kind, unit, signature_count) VALUES ('cd', ?, 'person', ?, 1)",
        (f"{LINK} {ESCAPES}", DEPARTMENT),
    )
    conn.commit()
    conn.close()
    return path


def test_for_terminal_removes_escapes_controls_and_bidi_and_keeps_the_words() -> None:
    shown = for_terminal("a\x1b[31mb\x1b]8;;https://x/\x1b\\c\x1b]8;;\x1b\\d\u202ee\u2066f\x00\x9bg\th\ni")
    assert shown == "abcdefg h\ni"


def test_summary_table_shows_a_markup_unit_name_as_text(db: Path) -> None:
    with sqlite3.connect(db) as conn:
        result = summarise(conn, parse_period("2026-09"))
    for width in (200, 60):  # the drawn table, and rich's squeezed table on a narrow terminal
        console, out = _terminal(width)
        render_summary(result, console)
        _assert_literal(out.getvalue(), "[link=")


def test_unit_drill_down_shows_markup_in_subjects_literally(db: Path) -> None:
    console, out = _terminal()
    with sqlite3.connect(db) as conn:
        detail = unit_detail(conn, DEPARTMENT, parse_period("2026-09"))
    render_detail(detail, parse_period("2026-09"), console)
    _assert_literal(out.getvalue(), LINK, BOLD, "[red]x[/red]")


def test_audit_trail_shows_stored_reasons_and_names_literally(db: Path) -> None:
    console, out = _terminal()
    with sqlite3.connect(db) as conn:
        trail = audit_trail(conn, DOCUMENT)
    assert trail is not None
    render_trail(trail, console)
    _assert_literal(out.getvalue(), LINK, BOLD, REASON)


def test_certificate_review_shows_names_literally(db: Path) -> None:
    console, out = _terminal()
    with sqlite3.connect(db) as conn:
        review = review_certificates(conn, as_of=date(2026, 10, 1))
    render_review(review, console)
    _assert_literal(out.getvalue(), LINK)


def _cli_on_terminal(monkeypatch: pytest.MonkeyPatch, *args: str) -> str:
    console, out = _terminal()
    monkeypatch.setattr(cli_report, "_console", lambda: console)
    monkeypatch.setattr(cli_sql, "_console", lambda: console)
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == 0, result.output
    return out.getvalue()


def test_sql_and_units_tables_show_values_and_column_names_literally(db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shown = _cli_on_terminal(
        monkeypatch, "sql", "--db", str(db), f"SELECT subject AS \"[bold]c[/bold]\", '{REASON}' FROM documents"
    )
    _assert_literal(shown, LINK, BOLD, "[bold]c[/bold]", REASON)
    _assert_literal(_cli_on_terminal(monkeypatch, "units", "--db", str(db)), "[link=", "HYPERLINK")


def test_verify_table_shows_a_certificate_name_literally(monkeypatch: pytest.MonkeyPatch) -> None:
    out = io.StringIO()
    monkeypatch.setattr(cli_verify, "Console", lambda **_: Console(file=out, width=400, force_terminal=True))
    cli_verify._print_tables([Checked(Job(Path("cv.pdf")), [verdict(common_name=f"{LINK} {ESCAPES}")])])
    _assert_literal(out.getvalue(), LINK)


def test_log_messages_lose_escape_sequences(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("docflow.test_output_safety")
    record = logger.makeRecord(logger.name, logging.INFO, __file__, 1, "%s: ingested", (ESCAPES,), None)
    assert SafeLogFormatter().format(record) == "xemgnp.exe: ingested"


def test_the_terminal_s_cleaning_leaves_the_record_to_other_handlers() -> None:
    """Cleaning the record itself (as a filter did) rewrote it for every handler after the terminal's: the
    watcher's JSON log and anything matching on the message's template then saw text, not template and args."""
    logger = logging.getLogger("docflow.test_output_safety")
    record = logger.makeRecord(logger.name, logging.INFO, __file__, 1, "%s: ingested", (ESCAPES,), None)
    SafeLogFormatter().format(record)
    assert (record.msg, record.args) == ("%s: ingested", (ESCAPES,))


def test_summary_csv_neutralises_formulas_in_names(db: Path) -> None:
    with sqlite3.connect(db) as conn:
        text = summary_csv(summarise(conn, parse_period("2026-09")))
    rows = {row["unit"]: row for row in csv.DictReader(io.StringIO(text.removeprefix("\ufeff")))}
    assert rows[PROVINCE]["name"] == "'" + FORMULA
    assert not any(value.startswith(("=", "+", "-", "@")) for row in rows.values() for value in row.values())


def test_sql_csv_neutralises_text_cells_and_keeps_negative_numbers(db: Path) -> None:
    result = CliRunner().invoke(
        main,
        [
            "sql",
            "--db",
            str(db),
            "--csv",
            "SELECT '=1+1' AS \"@h\", -5 AS n, -2.5 AS f, '-x' AS t, '+7' AS p, "
            "'@SUM(A1)' AS s, char(9) || 'x' AS tab, 'plain' AS ok",
        ],
    )
    assert result.exit_code == 0, result.output
    assert result.output.startswith("\ufeff")
    [header, row] = list(csv.reader(io.StringIO(result.output[1:])))
    assert header[0] == "'@h"
    # A tab is layout, not a command: it becomes a space (docflow.safe_text.for_terminal), so nothing runs.
    assert row == ["'=1+1", "-5", "-2.5", "'-x", "'+7", "'@SUM(A1)", " x", "plain"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=cmd", "'=cmd"),
        ("\rx", "'\rx"),
        (-5, -5),
        (-0.5, -0.5),
        (None, None),
        ("Sở Nội vụ", "Sở Nội vụ"),
    ],
)
def test_for_spreadsheet_changes_only_text_that_starts_a_formula(value: object, expected: object) -> None:
    assert for_spreadsheet(value) == expected


def test_ingest_progress_bar_shows_a_batch_name_literally() -> None:
    from docflow.cli.ingest import _PROGRESS_AFTER_ITEMS, _rich_progress

    console, out = _terminal()
    with _rich_progress(console, f"{LINK}.zip") as report:
        report(_PROGRESS_AFTER_ITEMS)
    _assert_literal(out.getvalue(), LINK)
