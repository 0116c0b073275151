"""Verifying signatures in worker processes changes how fast a batch goes in, never what goes in."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from helpers.ingest import OTHER, RECIPIENT, SENDER, SIGNATURES_COMPARED, assert_counters_exact, table, write_edxml

import docflow.ingest.verifier as verifier_module
from docflow.ingest.run import BatchOutcome, IngestOptions, ingest_batch
from docflow.store.core import Store
from signatures import TrustStore, verify_pdf

_COMPARED = (
    "SELECT * FROM documents ORDER BY document_id",
    SIGNATURES_COMPARED,
    "SELECT * FROM certificates ORDER BY sha256",
    "SELECT batch_id, item_name, reason FROM rejected_items ORDER BY id",
    "SELECT * FROM unit_counters ORDER BY unit, period",
    "SELECT documents, signatures, rejected_items FROM batches ORDER BY id",
)


@pytest.fixture(autouse=True)
def small_pool_thresholds(monkeypatch: pytest.MonkeyPatch) -> None:
    # Small batches must still go through the pool, the look-ahead window and partial chunks.
    monkeypatch.setattr(verifier_module, "_POOL_MIN_PAYLOADS", 2)
    monkeypatch.setattr(verifier_module, "_AHEAD_ITEMS", 2)
    monkeypatch.setattr(verifier_module, "_CHUNK_PAYLOADS", 2)


@pytest.fixture
def pools(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many worker processes each pool started in ingest had."""
    started: list[int] = []
    real = verifier_module.ProcessPoolExecutor

    def counting(workers: int, **options: object) -> object:
        started.append(workers)
        return real(workers, **options)  # type: ignore[arg-type]

    monkeypatch.setattr(verifier_module, "ProcessPoolExecutor", counting)
    return started


@pytest.fixture(scope="module")
def batch(tmp_path_factory: pytest.TempPathFactory, signing: object, person: object, organisation: object) -> Path:
    """Signed packages, a package whose PDF has no signature, a stray signed file and a register naming a file."""
    root = tmp_path_factory.mktemp("parallel") / "batch"

    def signed(title: str) -> bytes:
        pdf = signing.make_pdf(title, ["Điều 1."])  # type: ignore[attr-defined]
        return signing.sign_pdf(signing.sign_pdf(pdf, person), organisation)  # type: ignore[attr-defined]

    for number in range(1, 8):
        write_edxml(
            root / f"cv-{number}.edxml",
            number=str(number),
            recipients=(RECIPIENT, OTHER),
            attachment=(f"cv-{number}.signed.pdf", signed(f"Công văn {number}")),
        )
    unsigned = signing.make_pdf("Không ký", ["Điều 1."])  # type: ignore[attr-defined]
    write_edxml(root / "cv-8.edxml", number="8", attachment=("cv-8.pdf", unsigned))
    (root / "stray.signed.pdf").write_bytes(signed("Tệp lẻ"))
    (root / "pdf").mkdir()
    (root / "pdf" / "qd-20.pdf").write_bytes(signed("Quyết định 20"))
    (root / "so-di.csv").write_text(
        "unit_code,direction,number,notation,date,channel,confidential,counterpart,subject,file\n"
        f"{SENDER},out,20,SNV-VP,2024-03-01,electronic,0,{RECIPIENT},QĐ,pdf/qd-20.pdf\n"
        f"{SENDER},out,21,SNV-VP,2024-03-02,paper,0,{RECIPIENT},Giấy mời,\n",
        encoding="utf-8",
    )
    return root


def _ingest(db: Path, batch: Path, trust_dir: Path, workers: int) -> tuple[Store, BatchOutcome]:
    store = Store.open(db)
    outcome = ingest_batch(
        batch, store, TrustStore.load(trust_dir), IngestOptions(workers=workers), received_at=datetime(2024, 5, 1)
    )
    assert_counters_exact(store)
    return store, outcome


@pytest.fixture
def reference(tmp_path: Path, batch: Path, trust_dir: Path) -> Iterator[tuple[Store, BatchOutcome]]:
    store, outcome = _ingest(tmp_path / "one-process.db", batch, trust_dir, workers=1)
    yield store, outcome
    store.close()


def _assert_same_store(store: Store, expected: Store) -> None:
    for query in _COMPARED:
        assert table(store, query) == table(expected, query), query


def test_workers_store_exactly_what_one_process_stores(
    tmp_path: Path, batch: Path, trust_dir: Path, reference: tuple[Store, BatchOutcome], pools: list[int]
) -> None:
    expected, expected_outcome = reference
    store, outcome = _ingest(tmp_path / "workers.db", batch, trust_dir, workers=2)
    assert pools == [2]
    assert outcome.to_json() | {"sha256": ""} == expected_outcome.to_json() | {"sha256": ""}
    assert (outcome.documents, outcome.signatures, outcome.rejected_items) == (10, 18, 1)
    assert table(store, "SELECT count(*) FROM signatures WHERE indication = 'TOTAL_PASSED'") == [(18,)]
    _assert_same_store(store, expected)
    store.close()


def test_no_pool_for_a_batch_with_few_signed_files(
    tmp_path: Path, trust_dir: Path, signing: object, person: object, monkeypatch: pytest.MonkeyPatch, pools: list[int]
) -> None:
    monkeypatch.setattr(verifier_module, "_POOL_MIN_PAYLOADS", 16)
    pdf = signing.sign_pdf(signing.make_pdf("Một tệp", ["Điều 1."]), person)  # type: ignore[attr-defined]
    small = write_edxml(tmp_path / "small" / "cv.edxml", attachment=("cv.signed.pdf", pdf)).parent
    store, outcome = _ingest(tmp_path / "docflow.db", small, trust_dir, workers=2)
    assert pools == []
    assert (outcome.documents, outcome.signatures) == (1, 1)
    store.close()


def test_a_file_the_verifier_fails_on_in_a_worker_is_a_rejected_item(
    tmp_path: Path, batch: Path, trust_dir: Path, monkeypatch: pytest.MonkeyPatch, pools: list[int]
) -> None:
    poisoned = hashlib.sha256((batch / "stray.signed.pdf").read_bytes()).hexdigest()

    def choking(data: bytes, **options: object) -> object:
        if hashlib.sha256(data).hexdigest() == poisoned:
            raise ValueError("the verifier chokes")
        return verify_pdf(data, **options)  # type: ignore[arg-type]

    monkeypatch.setattr(verifier_module, "verify_pdf", choking)  # the workers fork after this
    store, outcome = _ingest(tmp_path / "workers.db", batch, trust_dir, workers=2)
    expected, expected_outcome = _ingest(tmp_path / "one-process.db", batch, trust_dir, workers=1)
    assert pools == [2]
    assert (outcome.outcome, outcome.signatures, outcome.rejected_items) == ("ingested", 16, 2)
    assert table(store, "SELECT item_name, reason FROM rejected_items WHERE item_name = 'stray.signed.pdf'") == [
        (
            "stray.signed.pdf",
            "docflow could not verify this signed file (ValueError); send it to the docflow "
            "administrator with this batch",
        )
    ]
    _assert_same_store(store, expected)
    store.close()
    expected.close()


def test_a_worker_that_dies_does_not_lose_or_change_anything(
    tmp_path: Path,
    batch: Path,
    trust_dir: Path,
    reference: tuple[Store, BatchOutcome],
    monkeypatch: pytest.MonkeyPatch,
    pools: list[int],
) -> None:
    parent = os.getpid()

    def dying(data: bytes, **options: object) -> object:
        if os.getpid() != parent:
            os._exit(3)  # as the out-of-memory killer would
        return verify_pdf(data, **options)  # type: ignore[arg-type]

    monkeypatch.setattr(verifier_module, "verify_pdf", dying)
    store, outcome = _ingest(tmp_path / "workers.db", batch, trust_dir, workers=2)
    assert pools == [2]
    assert (outcome.outcome, outcome.signatures) == ("ingested", 18)
    _assert_same_store(store, reference[0])
    store.close()


def test_cli_workers_option(
    tmp_path: Path,
    batch: Path,
    trust_dir: Path,
    pools: list[int],
    reference: tuple[Store, BatchOutcome],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from click.testing import CliRunner

    from docflow.cli.ingest import ingest

    monkeypatch.chdir(tmp_path)  # no docflow.toml from elsewhere
    runner = CliRunner()
    refused = runner.invoke(ingest, [str(batch), "--db", str(tmp_path / "refused.db"), "--workers", "0"])
    assert refused.exit_code == 2 and "--workers" in refused.output
    db = tmp_path / "cli.db"
    result = runner.invoke(ingest, [str(batch), "--db", str(db), "--trust", str(trust_dir), "--json", "--workers", "2"])
    assert result.exit_code == 1, result.output  # the batch holds a refused item and failing signatures
    line = json.loads(result.stdout.splitlines()[-1])
    assert (line["outcome"], line["documents"], line["signatures"], line["rejected_items"]) == ("ingested", 10, 18, 1)
    assert pools == [2]
    with Store.open(db) as store:
        assert table(store, SIGNATURES_COMPARED)[0][1:] == table(reference[0], SIGNATURES_COMPARED)[0][1:]
        assert_counters_exact(store)
