"""The demo province: its unit list and behaviour model, and ``docflow demo`` end to end."""

from __future__ import annotations

import csv
import json
import sqlite3
import unicodedata
from collections import Counter
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner

from docflow.agency import parse_agency_code
from docflow.cli import main
from docflow.cli.demo import next_steps
from docflow.store.classify import classify_level
from samples.province import Profile, SignaturePlan, encode_cp1258, plan_documents, province_units
from samples.reorganisation import (
    LAST_OLD_DAY,
    MERGED_PROVINCE,
    MERGER_DAY,
    UnitSpan,
    plan_reorganised,
    reorganised_units,
)


def test_units_match_bac_kan_2018() -> None:
    units = province_units()
    levels = Counter(unit.level for unit in units)
    assert levels == {"province": 1, "department": 18, "district": 8, "commune": 109}
    assert len({unit.code for unit in units}) == 136


def test_codes_parse_and_parents_follow_the_code() -> None:
    units = province_units()
    for unit in units:
        parsed = parse_agency_code(unit.code)
        assert parsed.valid, unit.code
        assert parsed.parent == unit.parent, unit.code
        assert classify_level(unit.code, unit.name, "district" if unit.level == "commune" else None) == unit.level


def test_every_behaviour_and_signature_plan_appears() -> None:
    units = province_units()
    assert set(Counter(unit.profile for unit in units)) == set(Profile)
    plans = Counter(document.plan for document in plan_documents(units, scale=1.0))
    assert set(plans) == set(SignaturePlan)
    assert 3000 <= sum(plans.values()) <= 6000


def test_plan_is_deterministic_and_scales() -> None:
    units = province_units()
    small = plan_documents(units, scale=0.1)
    assert small == plan_documents(units, scale=0.1)
    assert len(small) < len(plan_documents(units, scale=0.3))
    assert len({document.document_id for document in small}) == len(small)


def test_declining_units_turn_to_paper_over_the_year() -> None:
    units = province_units()
    declining = {unit.code for unit in units if unit.profile is Profile.DECLINING}
    documents = [d for d in plan_documents(units) if d.sender in declining]
    early = [d for d in documents if d.promulgation_date.month <= 3]
    late = [d for d in documents if d.promulgation_date.month >= 10]
    paper_share = [sum(d.plan is SignaturePlan.PAPER for d in part) / len(part) for part in (early, late)]
    assert paper_share[1] > paper_share[0] + 0.3


def test_cp1258_keeps_vietnamese_text() -> None:
    name = "UBND xã Thượng Giáo, huyện Ba Bể, tỉnh Bắc Kạn"
    encoded = encode_cp1258(name)
    assert encoded != name.encode("utf-8")
    assert unicodedata.normalize("NFC", encoded.decode("cp1258")) == name


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("demo") / "province"
    result = CliRunner().invoke(
        main, ["demo", "--scale", "0.3", "--out", str(out)], env={"COLUMNS": "180", "NO_COLOR": "1"}
    )
    assert result.exit_code == 0, result.output
    return out, result.output


def test_demo_prints_the_summary_per_level(demo_run: tuple[Path, str]) -> None:
    _, output = demo_run
    for heading in ("Cấp tỉnh", "Sở, ban, ngành", "Cấp xã", "kỳ 2026 (năm gần nhất có dữ liệu)"):
        assert heading in output
    assert "UBND tỉnh Thái Nguyên" in output and "Sở Nông nghiệp và Môi trường" in output


def test_demo_store_shows_every_behaviour(demo_run: tuple[Path, str]) -> None:
    out, _ = demo_run
    rows = json.loads(CliRunner().invoke(main, ["summary", "--db", str(out / "docflow.db"), "--json"]).output)
    assert len([row for row in rows if row["outgoing"]]) >= 50  # the merged province's units in 2026
    flags = {flag for row in rows for flag in row["flags"]}
    assert {"paper", "personal_only", "invalid_signatures", "wrong_unit"} <= flags
    assert {"Đạt", "Chưa đạt", "Không xếp hạng"} <= {row["tier"] for row in rows}  # communes: a handful each
    assert any(row["invalid"]["revoked"] or row["invalid"]["expired"] for row in rows)


def test_demo_refuses_a_used_folder(demo_run: tuple[Path, str]) -> None:
    out, _ = demo_run
    result = CliRunner().invoke(main, ["demo", "--scale", "0.05", "--out", str(out)])
    assert result.exit_code == 1 and "không trống" in result.output


def test_demo_documents_have_a_full_audit_trail(demo_run: tuple[Path, str]) -> None:
    out, _ = demo_run
    runner = CliRunner()
    db = str(out / "docflow.db")
    failed = json.loads(
        runner.invoke(
            main,
            [
                "sql",
                "--db",
                db,
                "SELECT document_id FROM v_failed_signatures WHERE subindication = 'REVOKED' LIMIT 1",
                "--json",
            ],
        ).output
    )
    assert failed, "the demo should hold a signature made with a revoked certificate"
    trail = json.loads(runner.invoke(main, ["audit", "--db", db, failed[0]["document_id"], "--json"]).output)
    assert {batch["file_name"] for batch in trail["batches"]} and all(b["sha256"] for b in trail["batches"])
    revoked = [s for s in trail["signatures"] if s["subindication"] == "REVOKED"]
    assert revoked and any(check["name"] == "revocation" for check in revoked[0]["checks"])


# -- the 2025 reorganisation (issue 19) -------------------------------------------------


def _spans() -> dict[str, UnitSpan]:
    return {span.unit.code: span for span in reorganised_units()}


def test_reorganisation_merges_the_provinces_and_dissolves_the_districts() -> None:
    spans = _spans()
    bac_kan = spans["000.00.00.H04"]
    assert (bac_kan.valid_to, bac_kan.successors) == (LAST_OLD_DAY, (MERGED_PROVINCE,))
    assert spans[MERGED_PROVINCE].valid_to is None and spans[MERGED_PROVINCE].valid_from is None
    districts = [span for span in spans.values() if span.unit.level == "district"]
    assert len(districts) == 10  # Bắc Kạn's 8 and the two of Thái Nguyên in the demo
    assert all(span.valid_to == LAST_OLD_DAY and not span.successors for span in districts)
    assert not [span for span in spans.values() if span.unit.level == "district" and span.in_force(MERGER_DAY)]


def test_reorganisation_merges_communes_and_departments() -> None:
    spans = _spans()
    predecessors: dict[str, list[str]] = {}
    for span in spans.values():
        for successor in span.successors:
            predecessors.setdefault(successor, []).append(span.unit.code)
            # Every successor exists and is in force the day the old unit is gone.
            assert spans[successor].in_force(MERGER_DAY), (span.unit.code, successor)
    new_communes = [s for s in spans.values() if s.unit.level == "commune" and s.valid_from == MERGER_DAY]
    assert len(new_communes) >= 30
    assert all(len(predecessors[s.unit.code]) >= 2 and s.unit.parent == MERGED_PROVINCE for s in new_communes)
    assert sum(len(predecessors[s.unit.code]) for s in new_communes) == 127  # 109 of Bắc Kạn, 18 of Thái Nguyên
    environment = spans["000.00.31.H55"]
    assert environment.valid_from == MERGER_DAY and environment.unit.name == "Sở Nông nghiệp và Môi trường"
    assert sorted(predecessors["000.00.31.H55"]) == ["000.00.06.H04", "000.00.06.H55", "000.00.09.H04", "000.00.09.H55"]
    assert spans["000.00.11.H55"].successors == ("000.00.01.H55", "000.00.15.H55")  # the split


def test_documents_carry_the_codes_in_force_when_issued() -> None:
    spans = _spans()
    documents = plan_reorganised(tuple(spans.values()), scale=0.1)
    for document in documents:
        day = document.promulgation_date
        assert all(spans[code].in_force(day) for code in (document.sender, *document.recipients)), document
    quarters = Counter(f"{d.promulgation_date.year}-Q{(d.promulgation_date.month - 1) // 3 + 1}" for d in documents)
    assert {"2025-Q1", "2025-Q2", "2025-Q3", "2026-Q3"} <= set(quarters)
    assert max(d.promulgation_date for d in documents) <= date(2026, 9, 30)
    assert all(d.sender.endswith("H55") for d in documents if d.promulgation_date >= MERGER_DAY)


def test_demo_unit_list_has_life_spans_and_successors(demo_run: tuple[Path, str]) -> None:
    out, _ = demo_run
    with (out / "province" / "units.csv").open(encoding="utf-8", newline="") as file:
        rows = {row["code"]: row for row in csv.DictReader(file)}
    assert rows["000.00.00.H04"]["valid_to"] == "2025-06-30" and rows["000.00.00.H04"]["successors"] == MERGED_PROVINCE
    assert rows["000.00.11.H04"]["successors"] == "000.00.01.H55;000.00.15.H55"
    # Imported by the demo through the same code as `docflow units import`: the store has the life spans.
    with sqlite3.connect(out / "docflow.db") as conn:
        ended = dict(conn.execute("SELECT level, COUNT(*) FROM units WHERE valid_to = '2025-06-30' GROUP BY level"))
        dissolved = conn.execute(
            "SELECT COUNT(*) FROM units WHERE level = 'district' AND code NOT IN (SELECT code FROM unit_successors)"
        ).fetchone()[0]
        merged = conn.execute(
            "SELECT COUNT(*) FROM (SELECT successor FROM unit_successors JOIN units ON units.code = successor"
            " WHERE units.level = 'commune' AND units.valid_from = '2025-07-01' GROUP BY successor HAVING COUNT(*) > 1)"
        ).fetchone()[0]
    assert ended["district"] == dissolved == 10
    assert ended["commune"] == 127 and merged >= 30


def test_demo_store_has_documents_before_and_after(demo_run: tuple[Path, str]) -> None:
    out, _ = demo_run
    with sqlite3.connect(out / "docflow.db") as conn:
        senders = {
            period: {
                row[0][-3:] for row in conn.execute("SELECT DISTINCT sender FROM documents WHERE period = ?", (period,))
            }
            for period in ("2025-05", "2026-08")
        }
        quarters = {row[0] for row in conn.execute("SELECT DISTINCT period FROM unit_counters")}
    assert {"2025-04", "2025-05", "2025-06", "2026-07", "2026-08", "2026-09"} <= quarters
    assert senders["2025-05"] == {"H04", "H55"} and senders["2026-08"] == {"H55"}


def _has_structure_in_force() -> bool:
    """i19-core's summary by the structure in force (``--as-issued``) has landed on this branch."""
    return "--as-issued" in CliRunner().invoke(main, ["summary", "--help"]).output


needs_core = pytest.mark.skipif(
    not _has_structure_in_force(), reason="needs i19-core's summary by the structure in force (--as-issued)"
)


def _summary(out: Path, *options: str) -> list[dict[str, object]]:
    result = CliRunner().invoke(main, ["summary", "--db", str(out / "docflow.db"), "--json", *options])
    assert result.exit_code == 0, result.output
    rows: list[dict[str, object]] = json.loads(result.output)
    return rows


@needs_core
def test_demo_summary_after_shows_the_two_tier_province(demo_run: tuple[Path, str]) -> None:
    out, _ = demo_run
    rows = _summary(out, "--period", "2026-Q3")
    assert {row["level"] for row in rows} == {"province", "department", "commune"}
    assert not [row for row in rows if str(row["unit"]).endswith("H04")]
    new_communes = [row for row in rows if row["level"] == "commune"]
    trends = [row["trend"] for row in new_communes]
    assert isinstance(trends[0], list)
    # The trend's first quarter is 2025-Q2: the predecessors' documents count towards the merged commune.
    assert all(isinstance(trend, list) and trend[0] is not None for trend in trends)


@needs_core
def test_demo_summary_before_as_issued_shows_the_old_structure(demo_run: tuple[Path, str]) -> None:
    out, _ = demo_run
    rows = _summary(out, "--period", "2025-Q2", "--as-issued")
    levels = Counter(row["level"] for row in rows if row["outgoing"])
    assert levels["district"] == 10 and levels["commune"] >= 100
    assert any(row["unit"] == "000.00.00.H04" and row["outgoing"] for row in rows)


def test_kept_demo_names_the_before_and_after_commands(demo_run: tuple[Path, str]) -> None:
    out, _ = demo_run
    steps = next_steps(out / "docflow.db", ())
    assert any("--period 2025-Q2 --as-issued" in step for step in steps)
    assert any("--period 2026-Q3" in step for step in steps)
