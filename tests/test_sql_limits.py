"""Issue 14, item 19: an auditor's query has a time limit, a row cap, a value-size cap, stops on Ctrl-C,
and cannot call functions that hand out pointers or touch files."""

from __future__ import annotations

import csv
import io
import json
import os
import resource
import signal
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers.db import DEPARTMENT, new_store, put_unit

from docflow.cli import main
from docflow.i18n import set_language
from docflow.reports.audit import QueryLimits, ReadOnlyError, open_readonly, run_sql

FOREVER = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c"


@pytest.fixture(autouse=True)
def _english(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests read docflow sql's messages in English (their Vietnamese: tests/test_translations.py)."""
    monkeypatch.setenv("DOCFLOW_LANG", "en")
    set_language("en")


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "docflow.db"
    conn = new_store(path)
    put_unit(conn, DEPARTMENT, "Sở Tài chính", "department")
    conn.close()
    return path


def test_a_recursive_cte_stops_at_the_timeout_with_a_plain_message(db: Path) -> None:
    result = CliRunner().invoke(main, ["sql", "--db", str(db), "--timeout", "1", FOREVER])
    assert result.exit_code == 1
    assert "stopped after 1 s" in result.output and "--timeout" in result.output
    assert "Traceback" not in result.output


def test_a_huge_value_is_refused_before_it_is_made(db: Path) -> None:
    result = CliRunner().invoke(main, ["sql", "--db", str(db), "SELECT length(randomblob(300000000))"])
    assert result.exit_code == 1
    assert "over the 16 MiB" in result.output and "Traceback" not in result.output


def test_randomblob_over_the_cap_is_never_allocated(db: Path) -> None:
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    with open_readonly(db) as conn, pytest.raises(ReadOnlyError, match="limit on one value"):
        run_sql(conn, "SELECT randomblob(300000000)")
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 100_000


def test_a_value_under_the_cap_is_returned(db: Path) -> None:
    with open_readonly(db) as conn:
        assert run_sql(conn, "SELECT length(zeroblob(1000000))").rows == ((1000000,),)


@pytest.mark.parametrize(
    "query",
    [
        "SELECT fts3_tokenizer('simple')",
        "SELECT hex(fts3_tokenizer('simple'))",
        "SELECT load_extension('x')",
    ],
)
def test_pointer_and_extension_functions_are_denied_by_the_authorizer(db: Path, query: str) -> None:
    with open_readonly(db) as conn, pytest.raises(ReadOnlyError, match="refused"):
        run_sql(conn, query)


@pytest.mark.parametrize(
    "query",
    [
        "SELECT readfile('/etc/passwd')",
        "SELECT writefile('/tmp/x', 'y')",
        "SELECT edit('x')",
    ],
)
def test_file_functions_never_run(db: Path, query: str) -> None:
    # The shell's file functions are not in the library; were they ever registered, the authorizer denies them.
    with open_readonly(db) as conn, pytest.raises(ReadOnlyError):
        run_sql(conn, query)


def test_a_stop_request_from_another_thread_interrupts_a_long_query(db: Path) -> None:
    stop = threading.Event()
    timer = threading.Timer(0.2, stop.set)
    timer.start()
    with open_readonly(db) as conn, pytest.raises(ReadOnlyError, match="stopped"):
        run_sql(conn, FOREVER, limits=QueryLimits(timeout=None), stop=stop)
    timer.join()


def test_ctrl_c_stops_docflow_sql_with_exit_130(db: Path) -> None:
    timer = threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    try:
        result = CliRunner().invoke(main, ["sql", "--db", str(db), "--timeout", "20", FOREVER])
    finally:
        timer.cancel()
    assert result.exit_code == 130, result.output
    assert "interrupted (Ctrl-C)" in result.output and "Traceback" not in result.output


def test_the_connection_works_after_an_interrupted_query(db: Path) -> None:
    with open_readonly(db) as conn:
        with pytest.raises(ReadOnlyError):
            run_sql(conn, FOREVER, limits=QueryLimits(timeout=0.2))
        assert run_sql(conn, "SELECT 1").rows == ((1,),)


ROWS = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 50) SELECT x FROM c"


def test_limit_cuts_the_rows_and_says_so(db: Path) -> None:
    result = CliRunner().invoke(main, ["sql", "--db", str(db), "--limit", "10", ROWS])
    assert result.exit_code == 0, result.output
    assert "first 10 rows" in result.output and "--limit" in result.output
    assert "│ 11 " not in result.output


def test_csv_to_a_pipe_has_every_row_by_default(db: Path) -> None:
    result = CliRunner().invoke(main, ["sql", "--db", str(db), "--csv", ROWS])
    assert result.exit_code == 0, result.output
    assert len(list(csv.reader(io.StringIO(result.stdout)))) == 51


def test_json_with_a_limit_is_cut_and_says_so_on_stderr(db: Path) -> None:
    result = CliRunner().invoke(main, ["sql", "--db", str(db), "--json", "--limit", "5", ROWS])
    assert result.exit_code == 0, result.output
    assert [row["x"] for row in json.loads(result.stdout)] == [1, 2, 3, 4, 5]
    assert "first 5 rows" in result.stderr


def test_run_sql_reports_whether_rows_were_cut(db: Path) -> None:
    with open_readonly(db) as conn:
        cut = run_sql(conn, ROWS, limits=QueryLimits(max_rows=7))
        whole = run_sql(conn, ROWS, limits=QueryLimits(max_rows=50))
    assert len(cut.rows) == 7 and cut.truncated
    assert len(whole.rows) == 50 and not whole.truncated
