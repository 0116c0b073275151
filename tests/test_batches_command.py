"""Issue 17: ``docflow batches`` answers "what happened to my file?" without SQL; times for people are
dd/mm/yyyy HH:MM:SS in ``[display] timezone`` (Asia/Ho_Chi_Minh by default), JSON keeps ISO 8601 with offset."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from helpers.ingest import write_edxml

from docflow.cli import main
from docflow.config import CONFIG_NAME, ConfigError, load_config
from docflow.ingest.run import ingest_batch
from docflow.store.core import Store
from signatures import TrustStore

GOOD = "unit_code,direction,number,notation,date,channel\n000.00.01.H04,out,{n},UBND-VP,2026-03-02,paper\n"
WRONG_HEADERS = "ma,huong,so\n000.00.01.H04,out,7\n"
BAD_ROWS = GOOD + "000.00.01.H04,out,8,UBND-VP,not a date,paper\n000.00.01.H04,out,9,UBND-VP,,paper\n"


def _take(store: Store, path: Path, text: str | bytes, received: datetime) -> None:
    if isinstance(text, str):
        path.write_text(text, encoding="utf-8")
    else:
        path.write_bytes(text)
    ingest_batch(path, store, None, received_at=received)


@pytest.fixture
def db(workdir: Path) -> Path:
    """Four batches: 3 Dec 23:30, 4 Dec 00:30, 4 Dec 10:00 and 14:00 in Hà Nội (UTC+7)."""
    path = workdir / "d.db"
    with Store.open(path) as store:
        _take(store, workdir / "old.csv", GOOD.format(n=1), datetime(2026, 12, 3, 16, 30, tzinfo=UTC))
        _take(store, workdir / "so [bold]di[link=x].csv", WRONG_HEADERS, datetime(2026, 12, 3, 17, 30, tzinfo=UTC))
        _take(store, workdir / "bad.zip", b"not a zip", datetime(2026, 12, 4, 3, 0, tzinfo=UTC))
        _take(store, workdir / "rows.csv", BAD_ROWS, datetime(2026, 12, 4, 7, 0, tzinfo=UTC))
    return path


def _run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def test_the_table_lists_newest_first_with_people_times_and_reasons(db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "260")  # each reason on one line, to be found whole
    result = _run("batches", "--db", str(db))
    assert result.exit_code == 0, result.output
    text = result.output
    order = [text.index(name) for name in ("rows.csv", "bad.zip", "so [bold]di[link=x].csv", "old.csv")]
    assert order == sorted(order)
    assert "04/12/2026 14:00:00" in text and "03/12/2026 23:30:00" in text  # 07:00 and 16:30 UTC in Hà Nội
    assert "T07:00" not in text and "+00:00" not in text
    assert "not a readable zip" in text  # the batch's own reason
    assert "no recognisable register header" in text  # a refused item's reason
    assert "rows.csv row 3" in text and "not a real date" in text


def test_since_takes_both_spellings_and_the_day_starts_in_the_display_zone(db: Path) -> None:
    for spelling in ("04/12/2026", "2026-12-04"):
        listed = json.loads(_run("batches", "--db", str(db), "--since", spelling, "--json").stdout)
        assert [entry["file"] for entry in listed] == ["rows.csv", "bad.zip", "so [bold]di[link=x].csv"], spelling
    refused = _run("batches", "--db", str(db), "--since", "yesterday")
    assert refused.exit_code == 2 and "dd/mm/yyyy" in refused.output


def test_outcome_and_limit_choose_the_batches(db: Path) -> None:
    rejected = json.loads(_run("batches", "--db", str(db), "--outcome", "rejected", "--json").stdout)
    assert [entry["file"] for entry in rejected] == ["bad.zip"]
    newest = json.loads(_run("batches", "--db", str(db), "--limit", "2", "--json").stdout)
    assert [entry["file"] for entry in newest] == ["rows.csv", "bad.zip"]


def test_json_is_one_array_with_iso_times_and_the_first_reasons(db: Path) -> None:
    [rows, *_] = json.loads(_run("batches", "--db", str(db), "--json").stdout)
    assert rows["received_at"] == "2026-12-04T07:00:00+00:00"
    assert datetime.fromisoformat(rows["processed_at"]).utcoffset() is not None
    assert (rows["outcome"], rows["documents"], rows["rejected_items"], rows["signatures_not_passed"]) == (
        "ingested",
        1,
        2,
        0,
    )
    assert [entry["item"] for entry in rows["first_rejected"]] == ["rows.csv row 3", "rows.csv row 4"]
    assert set(rows) == {
        "file", "sha256", "kind", "received_at", "processed_at", "outcome", "reason", "documents",
        "signatures", "signatures_not_passed", "rejected_items", "first_rejected",
    }  # fmt: skip


def test_without_since_the_newest_50_are_listed(workdir: Path) -> None:
    path = workdir / "many.db"
    with Store.open(path) as store:
        for number in range(53):
            received = datetime(2026, 12, 1, 8, number, tzinfo=UTC)
            _take(store, workdir / f"b{number:02d}.csv", GOOD.format(n=number + 1), received)
    listed = json.loads(_run("batches", "--db", str(path), "--json").stdout)
    assert len(listed) == 50 and listed[0]["file"] == "b52.csv" and listed[-1]["file"] == "b03.csv"
    assert len(json.loads(_run("batches", "--db", str(path), "--since", "01/12/2026", "--json").stdout)) == 53


def test_a_missing_store_is_a_plain_message(workdir: Path) -> None:
    result = _run("batches", "--db", str(workdir / "none.db"))
    assert result.exit_code != 0 and "không có kho dữ liệu tại" in result.output and "Traceback" not in result.output
    assert not (workdir / "none.db").exists()


def test_display_timezone_from_docflow_toml(db: Path, workdir: Path) -> None:
    (workdir / CONFIG_NAME).write_text('[display]\ntimezone = "Europe/Paris"\n', encoding="utf-8")
    assert "04/12/2026 08:00:00" in _run("batches", "--db", str(db)).output  # 07:00 UTC in Paris, winter


def test_the_default_display_zone_and_an_unknown_one(workdir: Path) -> None:
    assert load_config().display.timezone == "Asia/Ho_Chi_Minh"
    (workdir / CONFIG_NAME).write_text('[display]\ntimezone = "Asia/Hanoi"\n', encoding="utf-8")
    with pytest.raises(ConfigError) as error:
        load_config()
    assert "display.timezone" in str(error.value) and '"Asia/Ho_Chi_Minh"' in str(error.value)
    refused = _run("batches")
    assert refused.exit_code == 2 and "display.timezone" in refused.output


def test_ingest_says_when_a_duplicate_was_processed_in_people_time(db: Path, workdir: Path) -> None:
    result = _run("ingest", str(workdir / "rows.csv"), "--db", str(db), "--no-trust", "--workers", "1")
    assert result.exit_code == 1, result.output
    stored = json.loads(_run("batches", "--db", str(db), "--json").stdout)[0]["processed_at"]
    shown = datetime.fromisoformat(stored).astimezone(load_config().display.zone).strftime("%d/%m/%Y %H:%M:%S")
    assert f"trùng lặp: đã xử lý lúc {shown} với tên rows.csv (đã nạp)" in result.output


def test_stored_text_is_printed_inert(workdir: Path) -> None:
    path = workdir / "d.db"
    with Store.open(path) as store, store.transaction():
        store.conn.execute(
            "INSERT INTO batches (file_name, sha256, size_bytes, kind, received_at, processed_at, outcome, reason)"
            " VALUES (?, 'ab', 1, 'file', '2026-12-04T07:00:00+00:00', '2026-12-04T07:00:01+00:00', 'rejected', ?)",
            ("a\x1b[2Jb.csv", "bad \x1b]8;;http://x\x07link\x1b]8;;\x07 [bold]x[/bold]"),
        )
    shown = _run("batches", "--db", str(path)).output
    assert "\x1b" not in shown and "ab.csv" in shown and "[bold]x[/bold]" in shown


def test_problems_lists_only_batches_with_something_refused_or_not_passed(
    workdir: Path, signing: object, person: object, untrusted_person: object, trust: TrustStore
) -> None:
    pdf = signing.make_pdf("Công văn", ["Điều 1."])  # type: ignore[attr-defined]
    path = workdir / "d.db"
    with Store.open(path) as store:
        for number, (name, signer) in enumerate((("good", person), ("untrusted", untrusted_person))):
            signed = signing.sign_pdf(pdf, signer)  # type: ignore[attr-defined]
            batch = write_edxml(workdir / name / "cv.edxml", number=str(number), attachment=("cv.pdf", signed)).parent
            ingest_batch(batch, store, trust, received_at=datetime(2026, 12, 4, number, tzinfo=UTC))
        _take(store, workdir / "rows.csv", BAD_ROWS, datetime(2026, 12, 4, 5, tzinfo=UTC))
        _take(store, workdir / "fine.csv", GOOD.format(n=4), datetime(2026, 12, 4, 6, tzinfo=UTC))
        _take(store, workdir / "bad.zip", b"not a zip", datetime(2026, 12, 4, 7, tzinfo=UTC))
    listed = json.loads(_run("batches", "--db", str(path), "--problems", "--json").stdout)
    assert [(entry["file"], entry["signatures_not_passed"]) for entry in listed] == [
        ("bad.zip", 0),
        ("rows.csv", 0),
        ("untrusted", 1),
    ]
    table = _run("batches", "--db", str(path), "--problems").output
    assert "1 (1 không đạt)" in table and "fine.csv" not in table and "good" not in table
