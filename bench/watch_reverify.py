"""The watcher's re-verification after its trust directory changed: its rate in parts, and how long a part holds
the inbox.

    python bench/watch_reverify.py [--quick] [--signatures N] [--part P]

N detached signatures (default 5,000; 300 with --quick) are ingested under a trust directory lacking the
issuing CA's CRL (every verdict INDETERMINATE); the CRL is then added and ``docflow.watch.trust_watch`` judges
them again a part of P signatures at a time (default 1,000; 100 with --quick), as the watcher does between
batches: every verdict changes. The longest part is how long a batch dropped meanwhile waits at most. Baseline:
one ``docflow reverify`` call (``docflow.ingest.reverify.reverify``) over the same signatures after a second
change (the signer revoked), every verdict changing again. Both use every core.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from _common import Row, parse_args, print_rows
from cryptography.hazmat.primitives.serialization import Encoding

from docflow.ingest.reverify import reverify
from docflow.ingest.run import IngestOptions, ingest_batch
from docflow.store.core import Store
from docflow.watch.events import EventLog
from docflow.watch.trust_watch import TrustWatch
from samples.pki import build_pki, issue_organisation, make_crl, revoke, write_trust_dir
from samples.sign import sign_cms
from signatures import TrustStore

CA_CRL = "ca-nha-nuoc-g2-mau.crl"


def _options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--signatures", type=int, default=None, help="signatures stored (default 5000)")
    parser.add_argument("--part", type=int, default=None, help="signatures per part (default 1000)")


def _parts(store: Store, trust: Path, part: int, workers: int) -> tuple[float, float, int]:
    """(seconds in all, longest part, signatures judged) for the watcher's parts after the CRL is added."""
    watch = TrustWatch(
        trust,
        TrustStore.load(trust),
        EventLog(None, trust),
        settle_seconds=0,
        check_seconds=0,
        part_signatures=part,
        retry_seconds=1,
        kinds={},
        workers=workers,
    )
    (trust.parent / CA_CRL).rename(trust / CA_CRL)
    watch.notice(time.monotonic(), settle=False, force=True)
    longest, started = 0.0, time.perf_counter()
    while watch.busy:
        one = time.perf_counter()
        watch.work(store, time.monotonic())
        longest = max(longest, time.perf_counter() - one)
    judged = store.conn.execute("SELECT count(*) FROM verdict_changes").fetchone()[0]
    return time.perf_counter() - started, longest, judged


def main() -> None:
    args = parse_args(__doc__ or "", _options)
    count = args.signatures or (300 if args.quick else 5000)
    part = args.part or (100 if args.quick else 1000)
    workers = os.cpu_count() or 1
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        pki = build_pki()
        signer = issue_organisation(pki, "Sở Tư pháp tỉnh Bắc Kạn")
        batch = root / "batch"
        batch.mkdir()
        for number in range(count):
            content = b"PK\x03\x04 van ban %d " % number + b"x" * 2000
            (batch / f"vb-{number}.docx").write_bytes(content)
            (batch / f"vb-{number}.docx.p7s").write_bytes(sign_cms(content, signer))
        trust = write_trust_dir(pki, root / "trust")
        (trust / CA_CRL).rename(root / CA_CRL)
        with Store.open(root / "docflow.db") as store:
            ingest_batch(batch, store, TrustStore.load(trust), IngestOptions(workers=workers))
            seconds, longest, judged = _parts(store, trust, part, workers)
            assert judged == count, f"{judged} verdicts changed, not {count}"
            revoke(pki, signer, pki.now - timedelta(days=400))
            (trust / CA_CRL).write_bytes(make_crl(pki).public_bytes(Encoding.DER))
            started = time.perf_counter()
            result = reverify(store, TrustStore.load(trust), workers=workers)
            baseline = time.perf_counter() - started
            assert result.changed == count, result
    rows = [
        Row(f"watcher, parts of {part:,}", count / seconds, "signatures/s", "one reverify", count / baseline, 0.8),
        Row("watcher, longest part (a batch waits at most)", longest * 1000, "ms"),
    ]
    print_rows(f"re-verification after a CRL is added ({count:,} signatures, {workers} workers)", rows)


if __name__ == "__main__":
    main()
