"""Issue 17: ``docflow ingest`` exits 0 when every item was accepted, 1 when some items were refused or some
signatures did not pass, 2 when a batch was refused whole or had every item refused (several batches: the
worst); ``--json`` unchanged."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner, Result
from helpers.ingest import write_edxml

from docflow.cli import main

GOOD_REGISTER = "unit_code,direction,number,notation,date,channel\n000.00.01.H04,out,7,UBND-VP,2026-03-02,paper\n"
WRONG_HEADERS = "ma,huong,so\n000.00.01.H04,out,7\n"
JSON_KEYS = ["file", "sha256", "outcome", "documents", "signatures", "rejected_items", "reason"]


def _ingest(workdir: Path, *paths: Path, trust: Path | None = None, json_out: bool = True) -> Result:
    trusted = ["--trust", str(trust)] if trust else ["--no-trust"]
    args = ["ingest", *map(str, paths), "--db", str(workdir / "d.db"), *trusted, "--workers", "1"]
    return CliRunner().invoke(main, args + (["--json"] if json_out else []))


def _lines(result: Result) -> list[dict[str, object]]:
    return [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_every_item_accepted_exits_0(workdir: Path) -> None:
    result = _ingest(workdir, _write(workdir / "so-di.csv", GOOD_REGISTER))
    assert result.exit_code == 0, result.output
    [line] = _lines(result)
    assert list(line) == JSON_KEYS and line["documents"] == 1


def test_a_batch_with_every_item_refused_exits_2_as_the_watcher_files_it(workdir: Path) -> None:
    # One rule (Store.nothing_accepted) for both: the watcher files such a batch in rejected/.
    register = _write(workdir / "so-di.csv", WRONG_HEADERS)
    result = _ingest(workdir, register)
    assert result.exit_code == 2, result.output
    [line] = _lines(result)
    assert (line["outcome"], line["rejected_items"]) == ("ingested", 1)  # --json keeps what the store says
    shown = _ingest(workdir, register, json_out=False)  # the same file again: the same answer
    assert shown.exit_code == 2, shown.output
    assert "no recognisable register header" in shown.stdout


def test_some_rows_refused_exits_1(workdir: Path) -> None:
    rows = GOOD_REGISTER + "000.00.01.H04,out,8,UBND-VP,not a date,paper\n"
    result = _ingest(workdir, _write(workdir / "so-di.csv", rows), json_out=False)
    assert result.exit_code == 1, result.output
    assert "đã lưu 1 văn bản" in result.stdout and "not a real date" in result.stdout


def test_a_batch_refused_whole_exits_2(workdir: Path) -> None:
    (workdir / "bad.zip").write_bytes(b"not a zip")
    result = _ingest(workdir, workdir / "bad.zip")
    assert result.exit_code == 2, result.output
    assert [line["outcome"] for line in _lines(result)] == ["rejected"]
    assert _ingest(workdir, workdir / "missing.zip").exit_code == 2
    again = _ingest(workdir, workdir / "bad.zip")  # a duplicate of a refused batch is still refused
    assert again.exit_code == 2 and _lines(again)[0]["outcome"] == "duplicate"


def test_several_batches_exit_with_the_worst(workdir: Path) -> None:
    good = _write(workdir / "good.csv", GOOD_REGISTER)
    partial = _write(workdir / "partial.csv", GOOD_REGISTER.replace("7,", "9,") + "000.00.01.H04,out,8,X,bad,paper\n")
    (workdir / "bad.zip").write_bytes(b"not a zip")
    both = _ingest(workdir, good, partial)
    assert both.exit_code == 1, both.output
    worst = _ingest(workdir, partial, workdir / "bad.zip", good)
    assert worst.exit_code == 2, worst.output
    assert [line["outcome"] for line in _lines(worst)] == ["duplicate", "rejected", "duplicate"]


def test_a_signature_that_did_not_pass_exits_1(
    workdir: Path, signing: object, person: object, untrusted_person: object, trust_dir: Path
) -> None:
    pdf = signing.make_pdf("Công văn", ["Điều 1."])  # type: ignore[attr-defined]
    passed = signing.sign_pdf(pdf, person)  # type: ignore[attr-defined]
    untrusted = signing.sign_pdf(pdf, untrusted_person)  # type: ignore[attr-defined]
    good = write_edxml(workdir / "good" / "cv-1.edxml", number="1", attachment=("cv-1.pdf", passed))
    bad = write_edxml(workdir / "bad" / "cv-2.edxml", number="2", attachment=("cv-2.pdf", untrusted))
    accepted = _ingest(workdir, good.parent, trust=trust_dir)
    assert accepted.exit_code == 0, accepted.output
    refused = _ingest(workdir, bad.parent, trust=trust_dir, json_out=False)
    assert refused.exit_code == 1, refused.output
    assert "1 chữ ký không đạt" in refused.stdout


def test_no_trust_is_not_a_failed_signature(workdir: Path, signing: object, person: object) -> None:
    signed = signing.sign_pdf(signing.make_pdf("Công văn", ["Điều 1."]), person)  # type: ignore[attr-defined]
    batch = write_edxml(workdir / "b" / "cv-1.edxml", number="1", attachment=("cv-1.pdf", signed)).parent
    result = _ingest(workdir, batch)
    assert result.exit_code == 0, result.output
    assert _lines(result)[0]["signatures"] == 1


def test_the_help_documents_the_exit_codes(workdir: Path) -> None:
    shown = " ".join(CliRunner().invoke(main, ["--lang", "en", "ingest", "--help"]).output.split())
    assert "0 when every item was accepted" in shown and "some items were refused" in shown and "refused whole" in shown
    shown = " ".join(CliRunner().invoke(main, ["ingest", "--help"], env={"DOCFLOW_LANG": ""}).output.split())
    assert "0 khi mọi mục được nhận" in shown and "có mục bị từ chối" in shown and "từ chối cả lô" in shown


def test_the_line_for_people_says_what_was_stored_not_what_was_read(workdir: Path) -> None:
    write_edxml(workdir / "first.edxml", number="1")
    assert _ingest(workdir, workdir / "first.edxml").exit_code == 0
    folder = workdir / "second"
    write_edxml(folder / "again.edxml", number="1")  # the same document, already stored
    write_edxml(folder / "twice.edxml", number="2")
    write_edxml(folder / "twice-copy.edxml", number="2")  # named twice in one batch: one document
    result = _ingest(workdir, folder, json_out=False)
    assert "đã lưu 2 văn bản (1 mới, 1 cập nhật)" in result.stdout, result.stdout
