"""The demo province: its unit list and behaviour model, and ``docflow demo`` end to end."""

from __future__ import annotations

import json
import unicodedata
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner

from docflow.agency import parse_agency_code
from docflow.cli import main
from docflow.store.classify import classify_level
from samples.province import Profile, SignaturePlan, encode_cp1258, plan_documents, province_units


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
    for heading in ("Cấp tỉnh", "Sở, ban, ngành", "Cấp huyện", "Cấp xã", "năm gần nhất có dữ liệu"):
        assert heading in output
    assert "UBND tỉnh Bắc Kạn" in output


def test_demo_store_shows_every_behaviour(demo_run: tuple[Path, str]) -> None:
    out, _ = demo_run
    rows = json.loads(CliRunner().invoke(main, ["summary", "--db", str(out / "docflow.db"), "--json"]).output)
    assert len(rows) >= 136
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
