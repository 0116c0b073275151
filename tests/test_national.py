"""The national store (``docflow rollup``): each test runs on SQLite and on a real PostgreSQL server.

Exports are written as a province's ``docflow summary --all --json`` writes them (``UnitSummary.to_json``'s
fields); the race test runs roll-ups in separate processes against one server.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
from click.testing import CliRunner

from docflow.cli import main
from docflow.i18n import set_language
from docflow.reports.metrics import parse_period
from docflow.reports.national import WHOLE_COUNTRY, ExportRefused, national_summary, read_export
from docflow.store.database import Database, open_database
from docflow.store.errors import StoreError
from docflow.store.location import Dialect, parse_location
from docflow.store.national import (
    RollupOutcome,
    UnitsTaken,
    is_national,
    national_counters,
    prepare_national,
    roll_up,
)
from docflow.store.schema import COUNTER_COLUMNS, REASON_WORDS

PERIOD = parse_period("2025")


@pytest.fixture(autouse=True)
def _english() -> None:
    """The reasons are matched as written (msgids); the commands are run with --lang en."""
    set_language("en")


def unit_json(code: str, level: str, outgoing: int, issued: int, *, on_list: bool = True, **more: int) -> dict:
    """One unit as ``docflow summary --json`` prints it (the fields ``docflow rollup`` reads)."""
    counts = {name: 0 for name in COUNTER_COLUMNS if not name.startswith("invalid_")}
    counts.update(outgoing=outgoing, outgoing_issued_electronic=issued, outgoing_electronic=issued, **more)
    invalid = {reason: more.pop(f"invalid_{reason}", 0) for reason in REASON_WORDS}
    return {"unit": code, "name": f"Đơn vị {code}", "level": level, "on_list": on_list, **counts, "invalid": invalid}


def write_export(folder: Path, name: str, units: list[dict]) -> Path:
    path = folder / name
    path.write_text(json.dumps(units, ensure_ascii=False), encoding="utf-8")
    return path


BAC_KAN = [
    unit_json("000.00.00.H04", "province", 100, 95),
    unit_json("000.00.01.H04", "department", 50, 40),
    unit_json("000.00.23.H04", "district", 40, 20),
    unit_json("000.00.00.H55", "province", 7, 7, on_list=False),  # Thái Nguyên's, seen in Bắc Kạn's store
    unit_json("H37.DN.001", "unknown", 3, 3, on_list=False),  # a malformed code
]
THAI_NGUYEN = [
    unit_json("000.00.00.H55", "province", 200, 150),
    unit_json("000.00.01.H55", "department", 60, 60),
    unit_json("000.00.01.H04", "department", 9, 9, on_list=False),  # Bắc Kạn's, seen in Thái Nguyên's store
]


@pytest.fixture(params=["sqlite", "postgresql"])
def location_text(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return str(tmp_path / "national.db")
    server = request.getfixturevalue("postgres_server")
    return server.new_database()  # type: ignore[no-any-return]


@pytest.fixture
def national(location_text: str) -> Iterator[Database]:
    with open_database(parse_location(location_text)) as db:
        prepare_national(db, create=True)
        yield db


def test_a_unit_is_taken_from_its_own_provinces_export_only(national: Database, tmp_path: Path) -> None:
    bac_kan = read_export(write_export(tmp_path, "bk.json", BAC_KAN), PERIOD)
    assert bac_kan.province == "H04"
    assert (bac_kan.left_out_other_province, bac_kan.left_out_malformed) == (1, 1)
    assert roll_up(national, bac_kan).outcome is RollupOutcome.ADDED
    thai_nguyen = read_export(write_export(tmp_path, "tn.json", THAI_NGUYEN), PERIOD)
    assert roll_up(national, thai_nguyen).outcome is RollupOutcome.ADDED
    counted = national_counters(national, "2025")
    # Each province's own figures, never the other's sighting of them (7 and 9 are not added).
    assert counted[("H04", "province")][1].outgoing == 100
    assert counted[("H55", "province")][1].outgoing == 200
    assert counted[("H04", "department")][1].outgoing == 50
    assert sum(units for units, _ in counted.values()) == 5


def test_rolling_up_again_replaces_and_the_same_file_changes_nothing(national: Database, tmp_path: Path) -> None:
    path = write_export(tmp_path, "bk.json", BAC_KAN)
    roll_up(national, read_export(path, PERIOD))
    assert roll_up(national, read_export(path, PERIOD)).outcome is RollupOutcome.UNCHANGED
    corrected = [unit_json("000.00.00.H04", "province", 120, 118), unit_json("000.00.01.H04", "department", 50, 40)]
    result = roll_up(national, read_export(write_export(tmp_path, "bk2.json", corrected), PERIOD))
    assert (result.outcome, result.previous_units) == (RollupOutcome.REPLACED, 3)
    counted = national_counters(national, "2025")
    assert counted[("H04", "province")][1].outgoing == 120  # replaced, not 100 + 120
    assert ("H04", "district") not in counted  # the unit the corrected export no longer has is gone


def test_a_second_province_claiming_a_unit_is_refused_whole(national: Database, tmp_path: Path) -> None:
    roll_up(national, read_export(write_export(tmp_path, "bk.json", BAC_KAN), PERIOD))
    merged = read_export(write_export(tmp_path, "tn.json", THAI_NGUYEN), PERIOD, ("H04", "H55"))
    with pytest.raises(UnitsTaken) as refused:
        roll_up(national, merged)
    assert refused.value.units == (("000.00.01.H04", "H04"),)
    assert "000.00.01.H04 (H04)" in str(refused.value)
    assert all(province == "H04" for province, _ in national_counters(national, "2025"))  # nothing of it written


def test_the_national_summary_sums_counts_and_recomputes_rates(national: Database, tmp_path: Path) -> None:
    roll_up(national, read_export(write_export(tmp_path, "bk.json", BAC_KAN), PERIOD))
    roll_up(national, read_export(write_export(tmp_path, "tn.json", THAI_NGUYEN), PERIOD))
    result = national_summary(national, PERIOD)
    rows = {(row.province, row.level): row for row in result.rows}
    country = rows[(WHOLE_COUNTRY, "province")]
    assert (country.units, country.counters.outgoing, country.counters.outgoing_issued_electronic) == (2, 300, 245)
    assert country.rates.e_issuance_rate == pytest.approx(245 / 300)  # Σ numerators / Σ denominators
    assert rows[("H04", "province")].rates.e_issuance_rate == pytest.approx(0.95)
    assert [row.province for row in result.rows if row.level == "province"] == [WHOLE_COUNTRY, "H55", "H04"]
    assert country.target == 0.9
    assert {export.province for export in result.exports} == {"H04", "H55"}


def test_a_quarter_sums_the_months_a_province_rolled_up(national: Database, tmp_path: Path) -> None:
    """A province rolling up every month is read for the quarter as the sum of its months, saying which are missing;
    a province with an export of the quarter itself is read from it, not from its months as well."""
    for month, outgoing in (("2025-01", 10), ("2025-02", 20)):
        units = [unit_json("000.00.00.H04", "province", outgoing, outgoing // 2)]
        roll_up(national, read_export(write_export(tmp_path, f"bk-{month}.json", units), parse_period(month)))
    quarter = [unit_json("000.00.00.H55", "province", 300, 300)]
    roll_up(national, read_export(write_export(tmp_path, "tn-q1.json", quarter), parse_period("2025-Q1")))
    month = [unit_json("000.00.00.H55", "province", 999, 999)]
    roll_up(national, read_export(write_export(tmp_path, "tn-01.json", month), parse_period("2025-01")))
    result = national_summary(national, parse_period("2025-Q1"))
    rows = {row.province: row for row in result.rows}
    assert (rows["H04"].units, rows["H04"].counters.outgoing) == (1, 30)
    assert rows["H55"].counters.outgoing == 300
    assert rows[WHOLE_COUNTRY].counters.outgoing == 330
    assert result.incomplete == {"H04": ("2025-03",)}


@pytest.mark.parametrize(
    ("content", "why"),
    [
        (b"not json", "not a JSON export"),
        (b'{"unit": "x"}', "expected the JSON array"),
        (json.dumps([{"unit": "000.00.00.H04", "level": "province"}]).encode(), "'invalid' is missing"),
        (json.dumps([{**unit_json("000.00.00.H04", "province", 1, 1), "outgoing": -1}]).encode(), "'outgoing'"),
        (json.dumps([unit_json("000.00.00.H04", "province", 1, 1)] * 2).encode(), "listed twice"),
        (json.dumps([unit_json("000.00.00.H04", "sở", 1, 1)]).encode(), "level 'sở'"),
        (json.dumps([unit_json("000.00.00.H04", "province", 1, 1, on_list=False)]).encode(), "--province"),
    ],
)
def test_an_export_that_cannot_be_read_is_refused_with_its_reason(tmp_path: Path, content: bytes, why: str) -> None:
    path = tmp_path / "export.json"
    path.write_bytes(content)
    with pytest.raises(ExportRefused, match=why.replace("(", r"\(")):
        read_export(path, PERIOD)


def test_a_province_store_is_not_turned_into_a_national_one(tmp_path: Path) -> None:
    from docflow.store.core import Store

    Store.open(tmp_path / "province.db").close()
    province = open_database(parse_location(tmp_path / "province.db"))
    with province as db, pytest.raises(StoreError, match="not a national"):
        prepare_national(db, create=True)


# -- the command line ----------------------------------------------------------------------------------------------


def _cli(*args: str) -> Any:
    return CliRunner().invoke(main, ["--lang", "en", *args])


def test_rollup_and_summary_through_the_commands(location_text: str, tmp_path: Path) -> None:
    bk, tn = write_export(tmp_path, "bk.json", BAC_KAN), write_export(tmp_path, "tn.json", THAI_NGUYEN)
    done = _cli("rollup", "--db", location_text, "--period", "2025", "--json", str(bk), str(tn))
    assert done.exit_code == 0, done.output
    said = json.loads(done.output)
    assert [(r["province"], r["outcome"], r["units"]) for r in said] == [("H04", "added", 3), ("H55", "added", 2)]
    assert said[0]["left_out_other_province"] == 1 and said[0]["left_out_malformed"] == 1
    again = _cli("rollup", "--db", location_text, "--period", "2025", str(bk))
    assert "unchanged" in again.output
    shown = _cli("summary", "--db", location_text, "--json")
    rows = json.loads(shown.output)
    country = next(r for r in rows if r["province"] == WHOLE_COUNTRY and r["level"] == "province")
    assert country["outgoing"] == 300 and country["e_issuance_rate"] == pytest.approx(245 / 300)
    table = _cli("summary", "--db", location_text)
    assert "Whole country" in table.output and "Đơn vị 000.00.00.H55 (H55)" in table.output
    assert _cli("summary", "--db", location_text, "--unit", "x").exit_code == 2


def test_a_refused_export_exits_1_and_says_why(location_text: str, tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("[1]", encoding="utf-8")
    done = _cli("rollup", "--db", location_text, "--period", "2025", str(bad))
    assert done.exit_code == 1
    assert "bad.json: refused: unit 1: not a unit object" in done.output


def test_docflow_sql_on_postgresql_reads_and_never_writes(postgres_server: Any, tmp_path: Path) -> None:
    url = postgres_server.new_database()
    _cli("rollup", "--db", url, "--period", "2025", str(write_export(tmp_path, "bk.json", BAC_KAN)))
    read = _cli("sql", "--db", url, "--json", "SELECT unit, outgoing FROM national_units ORDER BY unit")
    assert read.exit_code == 0, read.output
    assert json.loads(read.output)[0] == {"unit": "000.00.00.H04", "outgoing": 100}
    for statement in (
        "DELETE FROM national_units",
        "SELECT 1; DELETE FROM national_units",
        "WITH gone AS (DELETE FROM national_units RETURNING 1) SELECT * FROM gone",
        "SELECT set_config('transaction_read_only', 'off', false)",
        "SELECT nextval('no_such_sequence')",
    ):
        refused = _cli("sql", "--db", url, statement)
        assert refused.exit_code != 0, statement
    slow = _cli("sql", "--db", url, "--timeout", "0.5", "SELECT pg_sleep(5)")
    assert slow.exit_code == 1 and "time limit" in slow.output
    left = _cli("sql", "--db", url, "--json", "SELECT count(*) AS n FROM national_units")
    assert json.loads(left.output) == [{"n": 3}]


def test_a_province_command_on_a_national_store_on_postgresql_says_what_runs_there(
    postgres_server: Any, tmp_path: Path
) -> None:
    url = postgres_server.new_database()
    _cli("rollup", "--db", url, "--period", "2025", str(write_export(tmp_path, "bk.json", BAC_KAN)))
    for command in (("audit", "X"), ("units",), ("ingest", "--no-trust", str(tmp_path / "bk.json"))):
        done = _cli(*command, "--db", url)
        assert done.exit_code == 2, done.output
        assert "national store" in done.output


def test_a_server_that_cannot_be_reached_is_named_without_its_password(tmp_path: Path) -> None:
    nowhere = tmp_path / "no-server-here"  # a Unix socket folder with no server: nothing leaves the machine
    for url in (
        f"postgresql://auditor:secret@/national?host={nowhere}",
        f"postgresql:///national?host={nowhere}&password=secret",
    ):
        done = _cli("audit", "X", "--db", url)
        assert done.exit_code == 2, done.output
        assert "cannot connect" in done.output and "secret" not in done.output


def test_store_url_in_docflow_toml(tmp_path: Path) -> None:
    from docflow.config import ConfigError, load_config

    good = tmp_path / "good.toml"
    good.write_text('[store]\nurl = "postgresql://docflow@localhost/national"\n', encoding="utf-8")
    assert load_config(good).store_url == "postgresql://docflow@localhost/national"
    bad = tmp_path / "bad.toml"
    bad.write_text('[store]\nurl = "national.db"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="store.url"):
        load_config(bad)


def test_a_password_is_never_shown() -> None:
    location = parse_location("postgresql://auditor:secret@db.example:5432/national")
    assert location.dialect is Dialect.POSTGRESQL
    assert location.shown == "postgresql://auditor:***@db.example:5432/national"
    in_query = parse_location("postgresql://auditor@db.example/national?sslmode=require&password=secret")
    assert in_query.shown == "postgresql://auditor@db.example/national?sslmode=require&password=***"


# -- racing writers (PostgreSQL) -------------------------------------------------------------------------------------


def _race(url: str, path: str, provinces: tuple[str, ...], start: Any) -> str:
    start.wait()
    with open_database(parse_location(url)) as db:
        try:
            return roll_up(db, read_export(Path(path), PERIOD, provinces)).outcome.value
        except UnitsTaken:
            return "refused"


def test_racing_rollups_never_count_a_unit_twice(postgres_server: Any, tmp_path: Path) -> None:
    """Four processes at once, two per province export, two exports claiming the same unit: whatever the order,
    every unit is held once, by one whole export."""
    url = postgres_server.new_database()
    with open_database(parse_location(url)) as db:
        prepare_national(db, create=True)
    bk = write_export(tmp_path, "bk.json", BAC_KAN)
    merged = write_export(tmp_path, "tn.json", THAI_NGUYEN)  # claims 000.00.01.H04 too, as H04,H55
    context = multiprocessing.get_context("spawn")
    manager = context.Manager()
    for _round in range(3):
        with open_database(parse_location(url)) as db, db.transaction():
            db.execute("DELETE FROM national_units")
            db.execute("DELETE FROM national_exports")
        start = manager.Barrier(4)
        jobs = [(str(bk), ("H04",)), (str(bk), ("H04",)), (str(merged), ("H04", "H55")), (str(merged), ("H04", "H55"))]
        with context.Pool(4) as pool:
            outcomes = pool.starmap(_race, [(url, path, codes, start) for path, codes in jobs])
        with open_database(parse_location(url)) as db:
            held = db.execute("SELECT province, count(*) FROM national_units GROUP BY province").fetchall()
            exports = dict(db.execute("SELECT province, units FROM national_exports").fetchall())
        assert len(exports) == 1, outcomes  # the two exports overlap: exactly one of them stands
        assert dict(held) == exports  # and it stands whole
        assert sorted(outcomes) == ["added", "refused", "refused", "unchanged"]
    manager.shutdown()


def test_text_from_an_export_is_printed_as_data(tmp_path: Path) -> None:
    """A unit name carrying rich markup, a terminal escape or a spreadsheet formula reaches the table inert and the
    CSV neutralised."""
    db = str(tmp_path / "national.db")
    hostile = unit_json("000.00.00.H04", "province", 10, 9)
    hostile["name"] = '[red]UBND[/red] \x1b[31mtỉnh\x07 =HYPERLINK("http://x")'
    path = write_export(tmp_path, "=cmd|calc!A0.json", [hostile])
    done = _cli("rollup", "--db", db, "--period", "2025", str(path))
    assert done.exit_code == 0 and "\x1b" not in done.output
    table = _cli("summary", "--db", db)
    assert "[red]UBND[/red]" in table.output and "\x1b" not in table.output and "\x07" not in table.output
    csv_text = _cli("summary", "--db", db, "--csv").output
    assert "\n=" not in csv_text and ",=" not in csv_text


def _prepare(url: str, start: Any) -> bool:
    start.wait()
    with open_database(parse_location(url)) as db:
        prepare_national(db, create=True)
        return is_national(db)


def test_two_rollups_starting_on_an_empty_database_both_find_the_tables(postgres_server: Any) -> None:
    """The second waits for the first's tables and finds them (it failed with DuplicateTable in about 4 of 10
    rounds when the check asked to_regclass(), which answered from the session's cache)."""
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager, context.Pool(2) as pool:
        for _round in range(10):
            url = postgres_server.new_database()
            start = manager.Barrier(2)
            assert pool.starmap(_prepare, [(url, start), (url, start)]) == [True, True]


def test_a_fault_of_the_server_is_said_plainly(postgres_server: Any, tmp_path: Path) -> None:
    url = postgres_server.new_database()
    _cli("rollup", "--db", url, "--period", "2025", str(write_export(tmp_path, "bk.json", BAC_KAN)))
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP TABLE national_units")  # a store broken behind docflow's back
    done = _cli("summary", "--db", url)
    assert done.exit_code == 2
    assert "the PostgreSQL store stopped answering or refused" in done.output
    assert "Traceback" not in done.output


def test_one_provinces_units_worst_first(location_text: str, tmp_path: Path) -> None:
    """--province lists the units whose code names the province, whichever export holds them, summed over months."""
    for month, issued in (("2025-01", 10), ("2025-02", 30)):
        units = [unit_json("000.00.01.H04", "department", 40, issued), unit_json("000.00.02.H04", "department", 40, 39)]
        path = write_export(tmp_path, f"bk-{month}.json", units)
        assert _cli("rollup", "--db", location_text, "--period", month, str(path)).exit_code == 0
    done = _cli("summary", "--db", location_text, "--period", "2025-Q1", "--province", "h04", "--json")
    rows = json.loads(done.output)
    assert [(row["unit"], row["outgoing"], row["outgoing_issued_electronic"]) for row in rows] == [
        ("000.00.01.H04", 80, 40),  # 50 %: the worst first
        ("000.00.02.H04", 80, 78),
    ]
    assert _cli("summary", "--db", location_text, "--period", "2025-Q1", "--province", "H55").exit_code == 1
    assert _cli("summary", "--db", location_text, "--province", "Hà Nội").exit_code == 2


def test_the_auditors_grants_in_the_docs_let_read_and_nothing_else(postgres_server: Any, tmp_path: Path) -> None:
    """docs/schema.md's grants, run as written: the auditor's docflow sql reads; its own writes are refused even
    with docflow's read-only settings turned off, and docflow rollup as the auditor stops with a plain reason."""
    import psycopg

    url = postgres_server.new_database()
    _cli("rollup", "--db", url, "--period", "2025", str(write_export(tmp_path, "bk.json", BAC_KAN)))
    page = (Path(__file__).resolve().parents[1] / "docs" / "schema.md").read_text(encoding="utf-8")
    grants = page.split("```sql\nCREATE ROLE auditor", 1)[1].split("```", 1)[0]
    role, database = f"auditor_{os.getpid()}", urlsplit(url).path.lstrip("/")
    script = (
        ("CREATE ROLE auditor" + grants).replace("auditor", role).replace("DATABASE province", f"DATABASE {database}")
    )
    with psycopg.connect(url, autocommit=True) as owner:
        for statement in filter(str.strip, script.replace("'…'", "'x'").split(";")):
            owner.execute(statement)
    parts = urlsplit(url)
    auditor_url = urlunsplit(parts._replace(netloc=f"{role}@{parts.netloc.rsplit('@', 1)[-1]}"))
    read = _cli("sql", "--db", auditor_url, "--json", "SELECT count(*) AS n FROM national_units")
    assert read.exit_code == 0, read.output
    assert json.loads(read.output) == [{"n": 3}]
    with psycopg.connect(auditor_url, autocommit=True) as auditor:
        auditor.execute("SET default_transaction_read_only = off")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            auditor.execute("DELETE FROM national_units")
    again = _cli("rollup", "--db", auditor_url, "--period", "2025", str(write_export(tmp_path, "b2.json", BAC_KAN[:1])))
    assert again.exit_code == 2 and "Traceback" not in again.output


def test_ctrl_c_stops_docflow_sql_on_postgresql_with_exit_130(postgres_server: Any) -> None:
    """docflow sql takes Ctrl-C itself and cancels the statement on the server, whatever handler the process had
    (here one that ignores it, as a watcher's test once left behind)."""
    url = postgres_server.new_database()
    timer = threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGINT))
    previous = signal.signal(signal.SIGINT, lambda _signum, _frame: None)
    timer.start()
    try:
        started = time.monotonic()
        result = _cli("sql", "--db", url, "--timeout", "20", "SELECT pg_sleep(10)")
    finally:
        timer.cancel()
        signal.signal(signal.SIGINT, previous)
    assert result.exit_code == 130, result.output
    assert "interrupted (Ctrl-C)" in result.output and "Traceback" not in result.output
    assert time.monotonic() - started < 5  # the server was told to stop, not waited for
