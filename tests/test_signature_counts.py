"""Issue 14, item 16: a batch reports the signatures it stored, not one per copy of the same signed file."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers.ingest import RECIPIENT, SENDER, table

from docflow.cli import main
from docflow.ingest.run import ingest_batch
from docflow.store.core import Store
from samples.edxml import Attachment, build_edxml

COPIES = 200


@pytest.fixture(scope="module")
def signed_pdf(organisation: object) -> bytes:
    signing = pytest.importorskip("samples.pdfgen", reason="the sample PDF signer (samples.pdfgen) is not available")
    return signing.sign_pdf(signing.make_pdf("Công văn", ["Nội dung"]), organisation)  # type: ignore[attr-defined]


def _package(path: Path, pdf: bytes, copies: int, number: str = "7") -> Path:
    path.write_bytes(
        build_edxml(
            sender=SENDER,
            recipients=[(RECIPIENT, "Sở Tài chính")],
            number=number,
            notation="SNV-VP",
            promulgation=date(2024, 3, 1),
            attachments=[Attachment(f"cv-{n}.pdf", pdf) for n in range(copies)],
        )
    )
    return path


def test_identical_attachments_report_the_one_signature_stored(tmp_path: Path, signed_pdf: bytes) -> None:
    with Store.open(tmp_path / "docflow.db") as store:
        outcome = ingest_batch(_package(tmp_path / "copies.edxml", signed_pdf, COPIES), store, None)
        stored = table(store, "SELECT count(*) FROM signatures")[0][0]
        recorded = table(store, "SELECT signatures FROM batches")[0][0]
    assert stored == 1
    assert (outcome.outcome, outcome.signatures, recorded) == ("ingested", 1, 1)


def test_a_signed_file_stored_by_an_earlier_batch_adds_no_signature(tmp_path: Path, signed_pdf: bytes) -> None:
    with Store.open(tmp_path / "docflow.db") as store:
        first = ingest_batch(_package(tmp_path / "a.edxml", signed_pdf, 1, "7"), store, None)
        again = ingest_batch(_package(tmp_path / "b.edxml", signed_pdf, 3, "8"), store, None)
        assert table(store, "SELECT count(*) FROM signatures")[0][0] == 1
    assert (first.signatures, again.signatures) == (1, 0)


def test_cli_json_line_counts_stored_signatures(
    tmp_path: Path, signed_pdf: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    package = _package(tmp_path / "copies.edxml", signed_pdf, 20)
    result = CliRunner().invoke(
        main, ["ingest", "--workers", "1", "--json", "--no-trust", "--db", str(tmp_path / "d.db"), str(package)]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout.splitlines()[-1])["signatures"] == 1
