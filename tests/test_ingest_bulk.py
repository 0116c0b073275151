"""The bulk merge of register rows leaves the store exactly as merging them one by one would."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from helpers.ingest import OTHER, PROVINCE, RECIPIENT, SENDER, assert_counters_exact, ingest_all, table, write_edxml

import docflow.ingest.batch_run as batch_run_module
from docflow.ingest.run import ingest_batch
from docflow.store.core import Store
from docflow.store.counters import CounterBook
from samples.edxml import build_status

_HEADER = "unit_code,direction,number,notation,date,channel,confidential,counterpart,subject,file\n"
_COMPARED = (
    "SELECT * FROM documents ORDER BY document_id",
    "SELECT * FROM recipients ORDER BY document_id, unit",
    "SELECT * FROM document_sources ORDER BY document_id, batch_id, item_name",
    "SELECT * FROM units ORDER BY code",
    "SELECT * FROM unit_counters ORDER BY unit, period",
    "SELECT batch_id, item_name, reason FROM rejected_items ORDER BY id",
    "SELECT documents, signatures, rejected_items FROM batches ORDER BY id",
)


def _register(path: Path, *rows: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(_HEADER + "".join(f"{row}\n" for row in rows), encoding="utf-8")
    return path


def _batches(root: Path) -> list[Path]:
    """A history that exercises every branch: documents seen before, twice in a batch, status first."""
    seen_before = write_edxml(root / "1" / "doc.edxml", number="7", recipients=(RECIPIENT, OTHER))
    status = root / "2" / "status.edxml"
    status.parent.mkdir(parents=True)
    status.write_bytes(
        build_status(
            document_id=f"{SENDER},2024/03/02,8/SNV-VP",
            reporter=RECIPIENT,
            code="06",
            timestamp=datetime(2024, 3, 4, 10, 0),
        )
    )
    outgoing = _register(
        root / "3" / "so-di.csv",
        f"{SENDER},out,7,SNV-VP,2024-03-01,paper,0,{RECIPIENT},already stored (from edXML),",
        f"{SENDER},out,8,SNV-VP,2024-03-02,electronic,0,{RECIPIENT};{OTHER};{RECIPIENT},status came first,",
        f"{SENDER},out,9,SNV-VP,2024-03-03,paper,1,{RECIPIENT},confidential,",
        f"{SENDER},out,10,SNV-VP,2024-04-03,both,0,{OTHER},another month,",
        f"{SENDER},out,9,SNV-VP,2024-03-03,electronic,0,{RECIPIENT},same document again,",
        f"{SENDER},out,11,SNV-VP,31/02/2024,electronic,0,{RECIPIENT},bad date,",
        f"{PROVINCE},out,1,UBND-VP,2024-03-05,electronic,0,{SENDER},from the province,",
        f"{SENDER},out,12,SNV-VP,2024-03-06,electronic,0,,no recipient,",
    )
    incoming = _register(
        root / "4" / "so-den.csv",
        f"{RECIPIENT},in,8,SNV-VP,2024-03-02,electronic,0,{SENDER},seen in the sender's register,",
        f"{RECIPIENT},in,20,STC-VP,2024-03-09,paper,0,{OTHER},new incoming,",
        f"{RECIPIENT},in,20,STC-VP,2024-03-09,electronic,0,{OTHER},new incoming twice,",
        f"{OTHER},in,7,SNV-VP,2024-03-01,electronic,0,{SENDER},edXML document,",
    )
    return [seen_before, status, outgoing, incoming, outgoing]  # the last one again: a duplicate


@pytest.mark.parametrize("bulk_rows", [1, 2, 5_000])
def test_bulk_merge_equals_merging_one_by_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, bulk_rows: int) -> None:
    batches = _batches(tmp_path / "in")
    with monkeypatch.context() as patch:
        patch.setattr(batch_run_module, "_mergeable_in_bulk", lambda item: False)
        reference = ingest_all(tmp_path / "reference.db", batches)
    monkeypatch.setattr(batch_run_module, "_BULK_ROWS", bulk_rows)
    bulk = ingest_all(tmp_path / "bulk.db", batches)
    for query in _COMPARED:
        assert table(bulk, query) == table(reference, query), query
    assert table(bulk, "SELECT count(*) FROM documents") == [(7,)]
    reference.close()
    bulk.close()


def test_status_recorded_before_the_register_row_sets_handled_at(tmp_path: Path) -> None:
    batches = _batches(tmp_path / "in")
    store = ingest_all(tmp_path / "docflow.db", batches[1:3])
    assert table(
        store,
        "SELECT unit, handled_at FROM recipients WHERE document_id = ? ORDER BY unit",
        f"{SENDER},2024/03/02,8/SNV-VP",
    ) == [(RECIPIENT, "2024-03-04T10:00:00"), (OTHER, None)]
    store.close()


def test_a_large_register_is_one_transaction_and_counted_exactly(tmp_path: Path) -> None:
    rows = [
        f"{SENDER},out,{number},SNV-VP,2024-03-{1 + number % 28:02d},{('electronic', 'paper', 'both')[number % 3]},"
        f"{int(number % 10 == 0)},{(RECIPIENT, OTHER)[number % 2]},row {number},"
        for number in range(12_000)
    ]
    batch = _register(tmp_path / "so-di.csv", *rows)
    store = Store.open(tmp_path / "docflow.db")
    outcome = ingest_batch(batch, store, None)
    assert (outcome.outcome, outcome.documents, outcome.rejected_items) == ("ingested", 12_000, 0)
    assert table(store, "SELECT count(*) FROM documents") == [(12_000,)]
    assert table(store, "SELECT count(*) FROM recipients") == [(12_000,)]
    assert table(store, "SELECT count(*), count(DISTINCT batch_id) FROM document_sources") == [(12_000, 1)]
    assert_counters_exact(store)
    assert ingest_batch(batch, store, None).outcome == "duplicate"
    assert table(store, "SELECT count(*) FROM documents") == [(12_000,)]
    store.close()


def test_a_failure_inside_the_bulk_merge_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    batch = _register(
        tmp_path / "so-di.csv", *(f"{SENDER},out,{n},SNV-VP,2024-03-01,paper,0,{RECIPIENT},x," for n in range(10))
    )
    store = Store.open(tmp_path / "docflow.db")

    def broken(*args: object) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(CounterBook, "apply", broken)
    with pytest.raises(RuntimeError):
        ingest_batch(batch, store, None)
    for name in ("batches", "documents", "recipients", "document_sources", "units", "unit_counters"):
        assert table(store, f"SELECT count(*) FROM {name}") == [(0,)], name
    monkeypatch.undo()
    assert ingest_batch(batch, store, None).documents == 10
    assert_counters_exact(store)
    store.close()
