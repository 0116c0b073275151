"""Exactly-once under SIGKILL: kill the watcher at varied instants, restart, compare with a clean run."""

from __future__ import annotations

import random
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
from helpers.ingest import OTHER, RECIPIENT, SENDER, write_edxml
from helpers.watch import DOCFLOW, batch_names, filed, snapshot, watch_once

from samples.pdfgen import make_pdf, sign_pdf
from samples.pki import Issued

BATCHES = 10
DOCUMENTS_PER_BATCH = 25
KILLS = 8


def _make_inbox(inbox: Path, person: Issued, organisation: Issued) -> None:
    """Ten folder batches, every fifth document with a signed PDF; each batch overlaps the
    previous one by a document, one package revokes, one batch is unreadable."""
    # An overlapping document carries the same PDF bytes in both batches. Signed twice, the two copies
    # differed whenever a second ticked between the signatures (the signing time is signed), and each
    # copy rightly got its own pair of signature rows: that was the unexplained 104 instead of 102.
    signed_pdfs: dict[int, bytes] = {}
    for batch in range(BATCHES):
        folder = inbox / f"batch-{batch:02d}"
        for doc in range(DOCUMENTS_PER_BATCH + 1):
            number = batch * DOCUMENTS_PER_BATCH + doc
            pdf = None
            if number % 5 == 0:
                if number not in signed_pdfs:
                    signed_pdfs[number] = sign_pdf(
                        sign_pdf(make_pdf(f"QĐ {number}", ["Điều 1."]), person), organisation
                    )
                pdf = ("qd.signed.pdf", signed_pdfs[number])
            write_edxml(
                folder / f"doc-{number}.edxml", number=str(number), recipients=(RECIPIENT, OTHER), attachment=pdf
            )
    write_edxml(
        inbox / "batch-99-revoke.edxml", number="999", business="revoke", names_document=f"{SENDER},2024/03/01,3/SNV-VP"
    )
    (inbox / "broken.zip").write_bytes(b"not a zip at all")


@pytest.mark.slow
def test_sigkill_at_varied_instants_loses_nothing_and_counts_nothing_twice(
    tmp_path: Path, trust_dir: Path, person: Issued, organisation: Issued
) -> None:
    (tmp_path / "docflow.toml").write_text("[watch]\nsettle_seconds = 0.05\npoll_interval = 0.05\n", encoding="utf-8")
    _make_inbox(tmp_path / "template", person, organisation)
    dropped = batch_names(tmp_path / "template")

    clean_inbox = tmp_path / "clean"
    shutil.copytree(tmp_path / "template", clean_inbox)
    started = time.monotonic()
    clean = watch_once(tmp_path, clean_inbox, tmp_path / "clean.db", trust_dir)
    assert clean.wait(timeout=300) == 0, clean.stderr.read() if clean.stderr else ""
    clean_seconds = time.monotonic() - started
    reference = snapshot(tmp_path / "clean.db")
    assert len(reference["documents"]) == BATCHES * DOCUMENTS_PER_BATCH + 1
    assert {row[3] for row in reference["signatures"]} == {"TOTAL_PASSED"}
    # The NĐ 30 pair of every signed document, once each.
    assert len(reference["signatures"]) == 2 * len([n for n in range(BATCHES * DOCUMENTS_PER_BATCH + 1) if n % 5 == 0])

    inbox = tmp_path / "crashing"
    shutil.copytree(tmp_path / "template", inbox)
    db = tmp_path / "crashing.db"
    chance = random.Random(20240301)
    for _ in range(KILLS):
        process = watch_once(tmp_path, inbox, db, trust_dir)
        time.sleep(chance.uniform(0.0, clean_seconds))
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        if db.exists() and not batch_names(inbox):
            break
    final = watch_once(tmp_path, inbox, db, trust_dir)
    assert final.wait(timeout=300) == 0, final.stderr.read() if final.stderr else ""

    assert batch_names(inbox) == []
    assert filed(inbox) == dropped
    assert snapshot(db) == reference


@pytest.mark.slow
def test_sigterm_stops_the_watcher_cleanly(tmp_path: Path) -> None:
    (tmp_path / "trust").mkdir()
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    process = subprocess.Popen(
        [*DOCFLOW, "watch", str(inbox), "--db", str(tmp_path / "d.db"), "--no-trust"],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 30
    while not (tmp_path / "d.db").exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert process.poll() is None, process.stderr.read() if process.stderr else ""
    time.sleep(0.3)
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 0
