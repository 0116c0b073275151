"""Issue 16, "No silent unverified store": ingest and watch need a trust store or an explicit ``--no-trust``.

Signatures stored without a trust store are marked (``signatures.trust_checked = 0``), counted in the
summary, and ``docflow verify`` finds the trust directory in docflow.toml as ingest does.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from helpers.ingest import assert_counters_exact, write_edxml

from docflow.cli import main
from docflow.ingest.run import ingest_batch
from docflow.store.core import Store
from signatures import TrustStore

NOT_CHECKED_LINE = "chữ ký chưa được kiểm tra với kho tin cậy (--no-trust)"


@pytest.fixture(scope="module")
def signed_batch(
    tmp_path_factory: pytest.TempPathFactory, signing: object, person: object, organisation: object
) -> Path:
    """Two edXML packages, each with a PDF carrying the NĐ 30 pair: four signatures."""
    root = tmp_path_factory.mktemp("no-trust") / "batch"
    for number in ("1", "2"):
        pdf = signing.make_pdf(f"Công văn {number}", ["Điều 1."])  # type: ignore[attr-defined]
        signed = signing.sign_pdf(signing.sign_pdf(pdf, person), organisation)  # type: ignore[attr-defined]
        write_edxml(root / f"cv-{number}.edxml", number=number, attachment=(f"cv-{number}.pdf", signed))
    return root


def _run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def _marks(db: Path) -> list[object]:
    with Store.open(db) as store:
        return [row[0] for row in store.conn.execute("SELECT trust_checked FROM signatures ORDER BY id")]


def _refusal_line(result: Result) -> str:
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    return lines[0]


def test_ingest_without_a_trust_store_is_refused(workdir: Path, signed_batch: Path) -> None:
    result = _run("--lang", "en", "ingest", str(signed_batch), "--db", str(workdir / "d.db"))
    assert result.exit_code == 2, result.output
    line = _refusal_line(result)
    assert "--trust DIR" in line and "docflow.toml" in line and "--no-trust" in line
    assert not (workdir / "d.db").exists(), "nothing is stored, not even an empty store"


@pytest.mark.parametrize("problem", ["missing", "empty", "no anchor"])
def test_ingest_refuses_a_trust_directory_it_cannot_use(
    workdir: Path, signed_batch: Path, trust_dir: Path, problem: str
) -> None:
    directory = workdir / "trust-here"
    if problem != "missing":
        directory.mkdir()
    if problem == "no anchor":  # only CRLs and intermediates: nothing can chain to a root
        for path in trust_dir.rglob("*"):
            if path.is_file() and "root" not in path.name.lower():
                (directory / path.name).write_bytes(path.read_bytes())
    result = _run("--lang", "en", "ingest", str(signed_batch), "--db", str(workdir / "d.db"), "--trust", str(directory))
    assert result.exit_code == 2, result.output
    line = _refusal_line(result)
    assert str(directory) in line and "--no-trust" in line
    expected = {"missing": "no trust directory", "empty": "is empty", "no anchor": "no trust anchor"}[problem]
    assert expected in line


def test_ingest_refuses_an_unreadable_trust_directory(
    workdir: Path, signed_batch: Path, trust_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    directory = workdir / "locked"
    directory.mkdir()
    (directory / "root.pem").write_bytes(next(p for p in trust_dir.rglob("*") if p.is_file()).read_bytes())
    real_scandir = os.scandir

    def denied(path: object = ".") -> object:  # as for a folder without read permission (the tests may run as root)
        if Path(str(path)) == directory:
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)  # type: ignore[call-overload]

    monkeypatch.setattr(os, "scandir", denied)
    result = _run("--lang", "en", "ingest", str(signed_batch), "--db", str(workdir / "d.db"), "--trust", str(directory))
    assert result.exit_code == 2, result.output
    line = _refusal_line(result)
    assert "cannot read the trust directory" in line and "Permission denied" in line and "--no-trust" in line


def test_no_trust_and_trust_together_is_a_usage_error(workdir: Path, signed_batch: Path, trust_dir: Path) -> None:
    result = _run("ingest", str(signed_batch), "--db", str(workdir / "d.db"), "--trust", str(trust_dir), "--no-trust")
    assert result.exit_code == 2
    assert "--no-trust" in result.output


def test_no_trust_ingests_and_marks_every_signature(workdir: Path, signed_batch: Path) -> None:
    db = workdir / "d.db"
    result = _run("ingest", str(signed_batch), "--db", str(db), "--no-trust", "--json", "--workers", "1")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout.splitlines()[-1])["signatures"] == 4
    assert _marks(db) == [0, 0, 0, 0]


def test_a_trust_directory_from_docflow_toml_marks_signatures_checked(
    workdir: Path, signed_batch: Path, trust_dir: Path
) -> None:
    (workdir / "docflow.toml").write_text(f"[paths]\ntrust = {json.dumps(str(trust_dir))}\n", encoding="utf-8")
    db = workdir / "d.db"
    result = _run("ingest", str(signed_batch), "--db", str(db), "--workers", "1")
    assert result.exit_code == 0, result.output
    assert _marks(db) == [1, 1, 1, 1]


def test_the_library_without_a_trust_store_marks_rows_the_same_way(
    tmp_path: Path, signed_batch: Path, trust: TrustStore
) -> None:
    with Store.open(tmp_path / "none.db") as store:
        ingest_batch(signed_batch, store, None)
        assert_counters_exact(store)
    with Store.open(tmp_path / "empty.db") as store:
        ingest_batch(signed_batch, store, TrustStore.from_objects([]))  # no anchor: nothing was checked
    with Store.open(tmp_path / "trusted.db") as store:
        ingest_batch(signed_batch, store, trust)
    assert _marks(tmp_path / "none.db") == [0, 0, 0, 0]
    assert _marks(tmp_path / "empty.db") == [0, 0, 0, 0]
    assert _marks(tmp_path / "trusted.db") == [1, 1, 1, 1]


def test_the_summary_counts_signatures_stored_without_a_trust_store(
    workdir: Path, signed_batch: Path, trust_dir: Path
) -> None:
    unchecked, checked = workdir / "unchecked.db", workdir / "checked.db"
    assert _run("ingest", str(signed_batch), "--db", str(unchecked), "--no-trust", "--workers", "1").exit_code == 0
    assert _run("ingest", str(signed_batch), "--db", str(checked), "--trust", str(trust_dir)).exit_code == 0

    table = _run("summary", "--db", str(unchecked))
    assert table.exit_code == 0, table.output
    assert f"4 {NOT_CHECKED_LINE}" in table.output
    rows = json.loads(_run("summary", "--db", str(unchecked), "--json").stdout)
    assert {row["unit"]: row["signatures_not_trust_checked"] for row in rows if row["outgoing"]} == {"000.00.01.H04": 4}
    assert sum(row["signatures_not_trust_checked"] for row in rows) == 4
    detail = json.loads(_run("summary", "--db", str(unchecked), "--unit", "000.00.01.H04", "--json").stdout)
    assert detail["signatures_not_trust_checked"] == 4

    assert NOT_CHECKED_LINE not in _run("summary", "--db", str(checked)).output
    rows = json.loads(_run("summary", "--db", str(checked), "--json").stdout)
    assert {row["signatures_not_trust_checked"] for row in rows} == {0}


def test_verify_reads_the_trust_directory_from_docflow_toml(
    workdir: Path, trust_dir: Path, signing: object, person: object
) -> None:
    pdf = workdir / "cv.pdf"
    pdf.write_bytes(signing.sign_pdf(signing.make_pdf("Công văn", ["Điều 1."]), person))  # type: ignore[attr-defined]
    untrusted = _run("verify", str(pdf), "--json")
    assert untrusted.exit_code == 1  # no toml, no ./trust: nothing chains
    (workdir / "docflow.toml").write_text(f"[paths]\ntrust = {json.dumps(str(trust_dir))}\n", encoding="utf-8")
    result = _run("verify", str(pdf), "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout.splitlines()[-1])["indication"] == "TOTAL_PASSED"


def test_watch_without_a_trust_store_is_refused(workdir: Path, signed_batch: Path) -> None:
    inbox = workdir / "inbox"
    inbox.mkdir()
    (inbox / "cv-1.edxml").write_bytes((signed_batch / "cv-1.edxml").read_bytes())
    result = _run("--lang", "en", "watch", str(inbox), "--db", str(workdir / "d.db"), "--once")
    assert result.exit_code == 2, result.output
    line = _refusal_line(result)
    assert "--trust DIR" in line and "--no-trust" in line
    assert (inbox / "cv-1.edxml").exists() and not (workdir / "d.db").exists()


def test_watch_with_no_trust_files_the_batch_and_marks_it(workdir: Path, signed_batch: Path) -> None:
    inbox = workdir / "inbox"
    inbox.mkdir()
    (inbox / "cv-1.edxml").write_bytes((signed_batch / "cv-1.edxml").read_bytes())
    result = _run("watch", str(inbox), "--db", str(workdir / "d.db"), "--once", "--no-trust", "--workers", "1")
    assert result.exit_code == 0, result.output
    assert not (inbox / "cv-1.edxml").exists()
    assert _marks(workdir / "d.db") == [0, 0]


def test_a_store_read_before_migration_9_reached_it_counts_nothing(tmp_path: Path, signed_batch: Path) -> None:
    from docflow.reports.metrics import parse_period
    from docflow.reports.summary import summarise

    with Store.open(tmp_path / "d.db") as store:
        ingest_batch(signed_batch, store, None)
        assert summarise(store.conn, parse_period("2024")).signatures_not_trust_checked == 4
        # What a read-only command sees on a store no writer has migrated yet: no mark, no index.
        store.conn.execute("DROP INDEX signatures_not_trust_checked")
        summary = summarise(store.conn, parse_period("2024"))
    assert summary.signatures_not_trust_checked == 0
    assert {row.signatures_not_trust_checked for row in summary.units} == {0}
