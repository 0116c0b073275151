"""docflow speaks Vietnamese by default and English on request (issue 18 §5).

The catalog test is the gate for new strings: a message marked for translation (``_()``, ``N_()``, a help
text, one of click's own words) without Vietnamese fails it; ``python -m docflow.cli.catalog update`` then
``compile`` after filling in the ``.po`` is the fix.
"""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from docflow.cli import _COMMAND_MODULES, main
from docflow.i18n import language
from samples.pdfgen import make_pdf, sign_pdf
from samples.pki import Issued

pytest.importorskip("babel", reason="the catalog tools need Babel (pip install -e '.[test]')")

from helpers.db import DEPARTMENT, PROVINCE, new_store, put_counters, put_unit  # noqa: E402
from helpers.ingest import write_edxml  # noqa: E402

from docflow.cli.catalog import stale_mo, untranslated  # noqa: E402


def _run(*args: str, env: dict[str, str] | None = None) -> str:
    result = CliRunner().invoke(main, list(args), env=env)
    return result.output


def test_every_message_has_vietnamese() -> None:
    assert untranslated(with_click=False) == []


def test_clicks_own_words_have_vietnamese() -> None:
    # Those of the click release the catalog was made with; a newer click's new words are collected by
    # ``update`` and shown in English until translated (see docflow.cli.catalog.messages).
    missing = untranslated()
    for word in ("'Usage:'", "'Options'", "'Commands'", "'Error: {message}'", "'No such option {name!r}.'"):
        assert not any(line.endswith(word) for line in missing), word


def test_the_compiled_catalog_is_the_catalog() -> None:
    assert not stale_mo(), "run: python -m docflow.cli.catalog compile"


def test_help_is_vietnamese_by_default() -> None:
    shown = _run("--help", env={"DOCFLOW_LANG": ""})
    assert "Cách dùng:" in shown
    assert "Theo dõi việc phát hành văn bản điện tử" in shown
    assert "Hiện hướng dẫn này rồi thoát." in shown
    assert "Show this message" not in shown


@pytest.mark.parametrize("how", [("--lang", "en"), ("--lang=en",)])
def test_lang_en_gives_english(how: tuple[str, ...]) -> None:
    shown = _run(*how, "summary", "--help", env={"DOCFLOW_LANG": ""})
    assert "Usage:" in shown
    assert "Per-unit rates, tiers, trends and flags" in shown
    assert "Show this message and exit." in shown
    assert "Cách dùng" not in shown


def test_docflow_lang_environment_gives_english_and_lang_wins_over_it() -> None:
    assert "Usage:" in _run("--help", env={"DOCFLOW_LANG": "en"})
    assert "Cách dùng:" in _run("--lang", "vi", "--help", env={"DOCFLOW_LANG": "en"})


def test_a_servers_english_locale_does_not_switch_the_language() -> None:
    shown = _run("--help", env={"DOCFLOW_LANG": "", "LANG": "en_US.UTF-8", "LC_ALL": "en_US.UTF-8"})
    assert "Cách dùng:" in shown


def test_each_run_speaks_its_own_language() -> None:
    # One process, two runs: the second must not inherit the first's choice (the watcher's tests and
    # scripts call main() repeatedly).
    assert "Usage:" in _run("--lang", "en", "--help")
    assert "Cách dùng:" in _run("--help", env={"DOCFLOW_LANG": ""})
    assert language() == "vi"


@pytest.mark.parametrize("command", sorted(_COMMAND_MODULES))
def test_every_commands_help_is_translated(command: str) -> None:
    vietnamese = _run(command, "--help", env={"DOCFLOW_LANG": "vi"})
    english = _run(command, "--help", env={"DOCFLOW_LANG": "en"})
    assert vietnamese.startswith("Cách dùng:") and english.startswith("Usage:")
    vietnamese_body = vietnamese.split("\n", 2)[2]
    english_body = english.split("\n", 2)[2]
    assert vietnamese_body != english_body


def test_clicks_errors_are_vietnamese() -> None:
    result = CliRunner().invoke(main, ["summary", "--no-such-option"], env={"DOCFLOW_LANG": ""})
    assert result.exit_code == 2
    assert "Lỗi: Không có tùy chọn '--no-such-option'." in result.output
    result = CliRunner().invoke(main, ["--lang", "fr", "summary"], env={"DOCFLOW_LANG": ""})
    assert result.exit_code == 2
    assert "'fr' không thuộc các lựa chọn: 'vi', 'en'." in result.output


def test_an_installed_docflow_reads_its_catalog(tmp_path: Path) -> None:
    # A fresh process, as a user runs it: the catalog is found beside the package, not via the tests.
    result = subprocess.run(
        [sys.executable, "-m", "docflow", "--help"],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "DOCFLOW_LANG": "", "LANG": "C.UTF-8"},
        cwd=tmp_path,
        check=False,
    )
    assert "Cách dùng:" in result.stdout, result.stderr


# The long tail: what commands print, in Vietnamese by default and in English with --lang en.


@pytest.fixture
def summary_db(tmp_path: Path) -> Path:
    path = tmp_path / "docflow.db"
    conn = new_store(path)
    put_unit(conn, PROVINCE, "UBND tỉnh Bắc Kạn", "province")
    put_unit(conn, DEPARTMENT, "Sở Nông nghiệp và Phát triển nông thôn", "department", PROVINCE)
    put_counters(conn, PROVINCE, "2026-11", outgoing=20, outgoing_electronic=20, outgoing_issued_electronic=19,
                 outgoing_signed_valid=20, outgoing_nd30=19)  # fmt: skip
    put_counters(conn, DEPARTMENT, "2026-11", outgoing=12, outgoing_electronic=4, outgoing_paper=8,
                 outgoing_issued_electronic=3, outgoing_signed_valid=4, outgoing_nd30=3)  # fmt: skip
    conn.commit()
    conn.close()
    return path


def _summary(db: Path, *args: str, lang: str = "") -> str:
    env = {"DOCFLOW_LANG": lang, "COLUMNS": "200", "NO_COLOR": "1"}
    return _run("summary", "--db", str(db), "--period", "2026-11", *args, env=env)


def test_summary_is_vietnamese_by_default(summary_db: Path) -> None:
    shown = " ".join(_summary(summary_db).split())
    assert "Tình hình phát hành văn bản điện tử và ký số — kỳ" in shown
    assert "Xếp loại" in shown and "Chưa đạt" in shown and "Cờ" in shown
    assert "dưới chỉ tiêu, giấy" in shown  # the flags in words, not below_target
    assert "dưới chỉ tiêu (below_target): tỷ lệ phát hành điện tử dưới chỉ tiêu của cấp" in shown
    assert "chỉ tiêu phát hành điện tử" in shown
    assert "below target" not in shown and "Tier" not in shown


def test_summary_in_english(summary_db: Path) -> None:
    shown = " ".join(_summary(summary_db, lang="en").split())
    assert "Electronic issuance and digital signatures — period" in shown
    assert "Tier" in shown and "Below target" in shown and "Flags" in shown
    assert "below target, paper" in shown
    assert "below target (below_target): electronic issuance rate below the level's target" in shown
    assert "Xếp loại" not in shown and "dưới chỉ tiêu" not in shown and "Chưa đạt" not in shown
    # The data stays as it is: the units' names are Vietnamese in both languages.
    assert "UBND tỉnh Bắc Kạn" in shown


def test_summary_drill_down_in_both_languages(summary_db: Path) -> None:
    vietnamese = " ".join(_summary(summary_db, "--unit", DEPARTMENT).split())
    english = " ".join(_summary(summary_db, "--unit", DEPARTMENT, lang="en").split())
    assert "— kỳ 2026-11: Chưa đạt" in vietnamese and "PHĐT 25% (3/12)" in vietnamese
    assert "văn bản đi chưa phát hành điện tử" in vietnamese
    assert "— period 2026-11: Below target" in english and "E-issue 25% (3/12)" in english
    assert "outgoing documents not issued electronically" in english
    assert "văn bản đi" not in english


def test_errors_are_vietnamese_by_default_and_english_on_request(tmp_path: Path, summary_db: Path) -> None:
    missing = str(tmp_path / "none.db")
    result = CliRunner().invoke(main, ["summary", "--db", missing], env={"DOCFLOW_LANG": ""})
    assert result.exit_code == 1 and "Lỗi: không có kho dữ liệu tại" in result.output
    result = CliRunner().invoke(main, ["--lang", "en", "summary", "--db", missing], env={"DOCFLOW_LANG": ""})
    assert "Error: no store at" in result.output and "kho dữ liệu" not in result.output
    both = ("summary", "--db", str(summary_db), "--json", "--csv")
    assert "không dùng được --json cùng với --csv" in _run(*both, env={"DOCFLOW_LANG": ""})
    assert "--json and --csv cannot be used together" in _run(*both, env={"DOCFLOW_LANG": "en"})
    period = ("summary", "--db", str(summary_db), "--period", "March")
    assert "kỳ 'March' không phải là một tháng" in _run(*period, env={"DOCFLOW_LANG": ""})
    assert "period 'March' is not a month" in _run(*period, env={"DOCFLOW_LANG": "en"})


def test_json_stays_english_in_vietnamese(summary_db: Path) -> None:
    shown = _run("summary", "--db", str(summary_db), "--period", "2026-11", "--json", env={"DOCFLOW_LANG": ""})
    assert '"below_target"' in shown and "dưới chỉ tiêu" not in shown


@pytest.fixture
def signed_files(tmp_path: Path, person: Issued, organisation: Issued, signing_time: datetime) -> Path:
    pdf = make_pdf("Quyết định")
    signed = sign_pdf(sign_pdf(pdf, person, signing_time=signing_time), organisation, signing_time=signing_time)
    (tmp_path / "qd.pdf").write_bytes(signed)
    (tmp_path / "unsigned.pdf").write_bytes(pdf)
    return tmp_path


def _verify(folder: Path, trust_dir: Path, lang: str) -> str:
    args = ["verify", str(folder / "qd.pdf"), str(folder / "unsigned.pdf"), "--trust", str(trust_dir)]
    return CliRunner().invoke(main, args, env={"COLUMNS": "250", "DOCFLOW_LANG": lang}).output


def test_verify_table_in_both_languages(signed_files: Path, trust_dir: Path) -> None:
    vietnamese, english = _verify(signed_files, trust_dir, ""), _verify(signed_files, trust_dir, "en")
    assert "Chữ ký số" in vietnamese and "Loại" in vietnamese and "Người/cơ quan ký" in vietnamese
    assert "tổ chức" in vietnamese and "cá nhân" in vietnamese and "KHÔNG CÓ CHỮ KÝ" in vietnamese
    assert "Tệp không có chữ ký số." in vietnamese and "The file carries no digital signature." in english
    assert "Digital signatures" in english and "Kind" in english and "Signer" in english
    assert "organisation" in english and "person" in english and "NO SIGNATURE" in english
    assert "tổ chức" not in english and "Loại" not in english
    # The verdict's own words are the standard's (ETSI EN 319 102-1), the same in both languages.
    assert "TOTAL_PASSED" in vietnamese and "TOTAL_PASSED" in english


def test_ingest_and_batches_in_both_languages(tmp_path: Path) -> None:
    batch = write_edxml(tmp_path / "cv-1.edxml")
    db = str(tmp_path / "docflow.db")
    env = {"DOCFLOW_LANG": "", "COLUMNS": "200"}
    ingest = ["ingest", str(batch), "--db", db, "--no-trust", "--workers", "1"]
    assert "cv-1.edxml: đã nạp: đã lưu 1 văn bản (1 mới, 0 cập nhật)" in _run(*ingest, env=env)
    english = _run("--lang", "en", *ingest, env=env)
    assert "cv-1.edxml: duplicate: already processed on" in english and "(ingested)" in english
    assert "1 lô, mới nhất trước" in _run("batches", "--db", db, env=env)
    assert "1 batch, newest first" in _run("--lang", "en", "batches", "--db", db, env=env)


@pytest.mark.parametrize(("lang", "words"), [("", ("BIÊN NHẬN LÔ VĂN BẢN", "ĐÃ TIẾP NHẬN", "giờ Việt Nam")),
                                             ("en", ("BATCH RECEIPT", "RECEIVED", "Vietnam time"))])  # fmt: skip
def test_the_watchers_receipt_speaks_the_watchers_language(tmp_path: Path, lang: str, words: tuple[str, ...]) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    write_edxml(inbox / "cv-1.edxml")
    args = ["watch", str(inbox), "--once", "--no-trust", "--db", str(tmp_path / "d.db"), "--workers", "1"]
    result = CliRunner().invoke(main, args, env={"DOCFLOW_LANG": lang})
    assert result.exit_code == 0, result.output
    (receipt,) = (inbox / "archive").rglob("*.receipt.txt")
    text = receipt.read_text(encoding="utf-8")
    assert all(word in text for word in words), text
    assert ("BIÊN NHẬN" in text) == (lang == "")


def test_sql_refusals_in_both_languages(summary_db: Path) -> None:
    write = ("sql", "--db", str(summary_db), "DELETE FROM units")
    assert "Lỗi: từ chối:" in _run(*write, env={"DOCFLOW_LANG": ""}) and "chỉ đọc" in _run(
        *write, env={"DOCFLOW_LANG": ""}
    )
    assert "Error: refused:" in _run(*write, env={"DOCFLOW_LANG": "en"})


def test_docflow_toml_errors_in_both_languages(tmp_path: Path) -> None:
    (tmp_path / "docflow.toml").write_text("[summary.targets]\ncommune = 1.5\n", encoding="utf-8")
    args = ["summary", "--config", str(tmp_path / "docflow.toml"), "--db", str(tmp_path / "none.db")]
    vietnamese = CliRunner().invoke(main, args, env={"DOCFLOW_LANG": ""}, catch_exceptions=False)
    english = CliRunner().invoke(main, args, env={"DOCFLOW_LANG": "en"}, catch_exceptions=False)
    assert (
        "summary.targets.commune = 1.5 nằm ngoài khoảng cho phép; cho phép: một tỷ lệ từ 0 đến 1" in vietnamese.output
    )
    assert "summary.targets.commune = 1.5 is out of range; allowed: a rate between 0 and 1" in english.output
