"""``docflow verify``: exit codes, JSON lines, .p7s pairing, the rich table."""

from __future__ import annotations

import json
import os
import select
import shutil
import subprocess
import sys
import time
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
    assert code == 0 and "TOTAL_PASSED" in output and "tổ chức" in output


@pytest.mark.parametrize(
    "args",
    [[], ["missing.pdf"], ["--content", "cv.txt", "cv.txt.p7s", "qd.pdf"], ["--bogus", "qd.pdf"]],
)
def test_usage_errors_exit_two(args: list[str], files: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(files)
    assert run(*args)[0] == 2


# -- archive scale: streaming, workers, folders, pairing ------------------------------------------


def _feed_fifo(fifo: Path, data: bytes, process: subprocess.Popen[str]) -> None:
    """Write ``data`` into ``fifo`` once the process opens it for reading (never block on a dead process)."""
    while process.poll() is None:
        try:
            descriptor = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        except OSError:  # no reader yet
            time.sleep(0.05)
            continue
        os.set_blocking(descriptor, True)
        try:
            os.write(descriptor, data)
        finally:
            os.close(descriptor)
        return


def test_first_file_is_printed_before_a_later_file_is_read(
    files: Path, trust_dir: Path, person: Issued, signing_time: datetime
) -> None:
    # The last file is a named pipe: it cannot be read, so not verified, until the test writes into it,
    # which it does only after reading the first file's line (or giving up).
    late = files / "late.p7s"
    os.mkfifo(late)
    command = [sys.executable, "-c", "from docflow.cli import main; main()", "verify"]
    process = subprocess.Popen(
        [*command, str(files / "cv.txt.p7s"), str(late), "--trust", str(trust_dir), "--json", "--workers", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    try:
        ready, _, _ = select.select([process.stdout], [], [], 60)
        first = process.stdout.readline() if ready else ""
    finally:
        _feed_fifo(late, sign_cms(CONTENT, person, signing_time=signing_time), process)
        output, errors = process.communicate(timeout=120)
    assert first, f"nothing printed before the last file was read: {errors[-2000:]}"
    assert Path(json.loads(first)["file"]).name == "cv.txt.p7s"
    assert Path(json.loads(output.splitlines()[-1])["file"]).name == "late.p7s"


def _many(files: Path, tmp_path: Path, sets: int = 8) -> Path:
    """``sets`` × 5 files (a detached pair, a revoked .p7s, a PDF, an unsigned PDF) in nested folders."""
    folder = tmp_path / "many"
    for number in range(sets):
        sub = folder / f"d{number % 3}"
        sub.mkdir(parents=True, exist_ok=True)
        shutil.copy(files / "cv.txt", sub / f"cv{number}.txt")
        shutil.copy(files / "cv.txt.p7s", sub / f"cv{number}.txt.p7s")
        shutil.copy(files / "other.p7s", sub / f"other{number}.p7s")
        shutil.copy(files / "qd.pdf", sub / f"qd{number}.pdf")
        shutil.copy(files / "unsigned.pdf", sub / f"unsigned{number}.pdf")
    return folder


def test_workers_give_the_same_lines_in_the_same_order(files: Path, trust_dir: Path, tmp_path: Path) -> None:
    folder = _many(files, tmp_path)
    one = run(str(folder), "--trust", str(trust_dir), "--json", "--workers", "1")
    two = run(str(folder), "--trust", str(trust_dir), "--json", "--workers", "2")
    assert one[0] == two[0] == 1
    assert one[1] == two[1]
    assert len(one[1].splitlines()) == 8 * 5  # a pair, a revoked one, two in each PDF, an unsigned PDF
    table_one, table_two = (run(str(folder), "--trust", str(trust_dir), "--workers", n) for n in ("1", "2"))
    assert table_one == table_two


def test_folder_is_walked_and_p7s_paired_with_its_content(files: Path, trust_dir: Path, tmp_path: Path) -> None:
    folder = tmp_path / "folder"
    (folder / "sub").mkdir(parents=True)
    shutil.copy(files / "cv.txt", folder / "sub" / "cv.txt")
    shutil.copy(files / "cv.txt.p7s", folder / "sub" / "cv.txt.p7s")
    shutil.copy(files / "qd.pdf", folder / "qd.pdf")
    code, output = run(str(folder), "--trust", str(trust_dir), "--json")
    rows = [json.loads(line) for line in output.splitlines()]
    assert [(Path(r["file"]).name, r["index"], r["indication"]) for r in rows] == [
        ("qd.pdf", 0, "TOTAL_PASSED"),
        ("qd.pdf", 1, "TOTAL_PASSED"),
        ("cv.txt.p7s", 0, "TOTAL_PASSED"),
    ]
    assert code == 0
    code, output = run(str(folder), "--trust", str(trust_dir))
    assert code == 0 and "KHÔNG CÓ CHỮ KÝ" not in output and "cv.txt.p7s" in output


def test_content_named_beside_its_signature_is_not_reported_unsigned(
    files: Path, trust_dir: Path, person: Issued, signing_time: datetime
) -> None:
    pdf = files / "unsigned.pdf"
    (files / "unsigned.pdf.p7s").write_bytes(sign_cms(pdf.read_bytes(), person, signing_time=signing_time))
    code, output = run(str(pdf), str(files / "unsigned.pdf.p7s"), "--trust", str(trust_dir), "--json")
    rows = [json.loads(line) for line in output.splitlines()]
    assert [(Path(r["file"]).name, r["indication"]) for r in rows] == [("unsigned.pdf.p7s", "TOTAL_PASSED")]
    assert code == 0


def test_signatures_inside_a_paired_pdf_are_still_verified(
    files: Path, trust_dir: Path, revoked_person: Issued, signing_time: datetime
) -> None:
    pdf = files / "qd.pdf"
    (files / "qd.pdf.p7s").write_bytes(sign_cms(pdf.read_bytes(), revoked_person, signing_time=signing_time))
    code, output = run(str(files / "qd.pdf.p7s"), str(pdf), "--trust", str(trust_dir), "--json")
    rows = [json.loads(line) for line in output.splitlines()]
    assert [(Path(r["file"]).name, r["index"], r["subindication"]) for r in rows] == [
        ("qd.pdf.p7s", 0, "REVOKED"),
        ("qd.pdf", 0, None),
        ("qd.pdf", 1, None),
    ]
    assert code == 1


def test_table_comes_in_chunks_with_every_column(files: Path, trust_dir: Path, tmp_path: Path) -> None:
    code, output = run(str(_many(files, tmp_path, sets=12)), "--trust", str(trust_dir))
    assert code == 1
    # 60 files, a table per 50: the second table, with the same columns, starts at file 51.
    assert output.count("Sửa sau khi ký") == 2 and "Chữ ký số (từ tệp thứ 51)" in output
    assert output.count("KHÔNG CÓ CHỮ KÝ") == 12 and output.count("REVOKED") == 12


def test_a_walked_folder_keeps_a_paired_pdf_and_leaves_out_a_paired_document(
    files: Path, trust_dir: Path, person: Issued, signing_time: datetime, tmp_path: Path
) -> None:
    # With --json the walk skips a detached signature's document by its name alone; a PDF is never skipped.
    folder = tmp_path / "paired"
    folder.mkdir()
    for name in ("cv.txt", "cv.txt.p7s", "qd.pdf"):
        shutil.copy(files / name, folder / name)
    (folder / "qd.pdf.p7s").write_bytes(sign_cms((files / "qd.pdf").read_bytes(), person, signing_time=signing_time))
    code, output = run(str(folder), "--trust", str(trust_dir), "--json", "--workers", "1")
    rows = [json.loads(line) for line in output.splitlines()]
    assert [(Path(r["file"]).name, r["index"]) for r in rows] == [
        ("cv.txt.p7s", 0),
        ("qd.pdf", 0),
        ("qd.pdf", 1),
        ("qd.pdf.p7s", 0),
    ]
    assert code == 0
