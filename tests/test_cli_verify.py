"""``docflow verify``: exit codes, JSON lines, .p7s pairing, the rich table."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from docflow.cli import main
from samples.pdfgen import make_pdf, sign_pdf
from samples.pki import Issued
from samples.sign import sign_cms

CONTENT = "Công văn số 5/UBND-VP".encode()


@pytest.fixture()
def files(tmp_path: Path, person: Issued, organisation: Issued, revoked_person: Issued, signing_time: datetime) -> Path:
    (tmp_path / "cv.txt").write_bytes(CONTENT)
    (tmp_path / "cv.txt.p7s").write_bytes(sign_cms(CONTENT, person, signing_time=signing_time))
    (tmp_path / "other.p7s").write_bytes(sign_cms(CONTENT, revoked_person, signing_time=signing_time))
    (tmp_path / "lone.p7s").write_bytes(sign_cms(CONTENT, person, signing_time=signing_time))
    pdf = make_pdf("Quyết định")
    signed = sign_pdf(sign_pdf(pdf, person, signing_time=signing_time), organisation, signing_time=signing_time)
    (tmp_path / "qd.pdf").write_bytes(signed)
    (tmp_path / "unsigned.pdf").write_bytes(pdf)
    return tmp_path


def run(*args: str) -> tuple[int, str]:
    result = CliRunner(env={"COLUMNS": "250"}).invoke(main, ["verify", *args])
    return result.exit_code, result.output


def test_good_files_exit_zero_with_json_lines(files: Path, trust_dir: Path) -> None:
    code, output = run(str(files / "cv.txt.p7s"), str(files / "qd.pdf"), "--trust", str(trust_dir), "--json")
    rows = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    assert code == 0, output
    assert [(Path(r["file"]).name, r["index"], r["kind"]) for r in rows] == [
        ("cv.txt.p7s", 0, "person"),
        ("qd.pdf", 0, "person"),
        ("qd.pdf", 1, "organisation"),
    ]
    required = {
        "file",
        "index",
        "indication",
        "subindication",
        "signer",
        "serial",
        "issuer",
        "signing_time",
        "digest_algorithm",
        "signature_algorithm",
        "kind",
        "covers_whole_file",
        "reason",
    }
    assert all(required <= set(row) for row in rows)
    assert [r["covers_whole_file"] for r in rows] == [None, False, True]


def test_explicit_content_and_failure_exit_one(files: Path, trust_dir: Path) -> None:
    code, output = run(
        str(files / "other.p7s"), "--content", str(files / "cv.txt"), "--trust", str(trust_dir), "--json"
    )
    assert code == 1
    assert json.loads(output.splitlines()[-1])["subindication"] == "REVOKED"


def test_unpaired_p7s_reports_missing_document(files: Path, trust_dir: Path) -> None:
    code, output = run(str(files / "lone.p7s"), "--trust", str(trust_dir), "--json")
    assert code == 1 and json.loads(output.splitlines()[-1])["subindication"] == "SIGNED_DATA_NOT_FOUND"


def test_unsigned_file_is_not_silently_passed(files: Path, trust_dir: Path) -> None:
    code, output = run(str(files / "unsigned.pdf"), "--trust", str(trust_dir), "--json")
    assert code == 1 and "no digital signature" in output


def test_table_output(files: Path, trust_dir: Path) -> None:
    code, output = run(str(files / "qd.pdf"), "--trust", str(trust_dir))
    assert code == 0 and "TOTAL_PASSED" in output and "organisation" in output


@pytest.mark.parametrize(
    "args",
    [[], ["missing.pdf"], ["--content", "cv.txt", "cv.txt.p7s", "qd.pdf"], ["--bogus", "qd.pdf"]],
)
def test_usage_errors_exit_two(args: list[str], files: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(files)
    assert run(*args)[0] == 2
