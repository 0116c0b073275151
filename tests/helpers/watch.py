"""Running the watcher in a subprocess and reading back what it filed and counted (crash and fault tests)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from docflow.store.core import Store
from docflow.watch.lock import INBOX_LOCK_NAME
from helpers.ingest import assert_counters_exact

__all__ = ["DOCFLOW", "watch_once", "snapshot", "batch_names", "filed", "batches_in", "is_receipt", "RECEIPT_SUFFIXES"]

RECEIPT_SUFFIXES = (".receipt.txt", ".receipt.json")


def is_receipt(name: str) -> bool:
    """A receipt filed beside a batch, or the .error.json of a rejected one: not a batch."""
    return name.endswith((*RECEIPT_SUFFIXES, ".error.json"))


DOCFLOW = (sys.executable, "-c", "from docflow.cli import main; main()")


def watch_once(workdir: Path, inbox: Path, db: Path, trust: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [*DOCFLOW, "watch", str(inbox), "--db", str(db), "--trust", str(trust), "--once"],
        cwd=workdir,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, "NO_COLOR": "1", "COLUMNS": "200"},
    )


def snapshot(db: Path) -> dict[str, list[tuple[object, ...]]]:
    """Everything counted, with batch ids replaced by batch hashes (ids are not the contract)."""
    with Store.open_readonly(db) as store:
        assert_counters_exact(store)
        queries = {
            "batches": "SELECT file_name, sha256, outcome, reason, documents, signatures, rejected_items, archived_as"
            " FROM batches ORDER BY sha256",
            "documents": "SELECT d.document_id, sender, period, channel, sent_over_axis, business_status,"
            " signature_count, invalid_reasons, f.sha256, l.sha256 FROM documents d"
            " JOIN batches f ON f.id = d.first_batch_id JOIN batches l ON l.id = d.last_batch_id"
            " ORDER BY d.document_id",
            "recipients": "SELECT * FROM recipients ORDER BY document_id, unit",
            "sources": "SELECT document_id, b.sha256, item_name, source FROM document_sources s"
            " JOIN batches b ON b.id = s.batch_id ORDER BY 1, 2, 3",
            "signatures": "SELECT payload_sha256, idx, document_id, indication, subindication, kind,"
            " belongs_to_sender, cert_sha256 FROM signatures ORDER BY 1, 2",
            "certificates": "SELECT sha256, kind, unit, signature_count FROM certificates ORDER BY 1",
            "rejected": "SELECT b.sha256, r.item_name, r.reason FROM rejected_items r"
            " JOIN batches b ON b.id = r.batch_id ORDER BY 1, 2, 3",
            "units": "SELECT * FROM units ORDER BY code",
        }
        snapshot = {name: [tuple(row) for row in store.conn.execute(sql)] for name, sql in queries.items()}
        snapshot["counters"] = [(row.unit, row.period, *row.values) for row in store.counter_rows()]
        return snapshot


def batch_names(inbox: Path) -> list[str]:
    return sorted(p.name for p in inbox.iterdir() if p.name not in ("archive", "rejected", INBOX_LOCK_NAME))


def batches_in(folder: Path) -> list[Path]:
    """What was filed in ``archive/`` or ``rejected/``, without the receipts and error files beside it."""
    return sorted(path for path in folder.iterdir() if not is_receipt(path.name))


def filed(inbox: Path) -> list[str]:
    """Original names of everything in archive/ and rejected/ (hash prefixes and error files stripped)."""
    names = [
        p.name
        for folder in ("archive", "rejected")
        if (inbox / folder).exists()
        for p in (inbox / folder).iterdir()
        if not is_receipt(p.name) and not p.name.endswith(".tmp")
    ]
    return sorted(name.split("-", 1)[1] for name in names)
