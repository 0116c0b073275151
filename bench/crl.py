"""One verification against a trust store holding a huge CRL: time and peak memory.

    python bench/crl.py [--quick] [--entries N] [--keep DIR]

A CRL of N revoked serials (default 1,000,000; 20,000 with --quick) is issued by the sample
intermediate, with a revoked and a good signer among them. A fresh process then loads the
trust store and verifies one signature of each (two path-cache misses), so the figures are
those of a `docflow verify` run: load time, time per verification, and peak RSS. Baseline:
the same process verifying against the same store without the big CRL.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from _common import Row, parse_args, print_rows
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding

from samples.pki import SamplePKI, build_pki, issue_person, revoke, write_trust_dir
from samples.sign import sign_cms

CONTENT = b"Cong van so 1/STP" * 1000


def _big_crl(pki: SamplePKI, entries: int) -> bytes:
    when = pki.now - timedelta(days=400)
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(pki.intermediate.cert.subject)
        .last_update(pki.now - timedelta(days=1))
        .next_update(pki.now + timedelta(days=30))
        .add_extension(x509.CRLNumber(7), critical=False)
    )
    for revocation in pki.revoked:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder().serial_number(revocation.serial).revocation_date(revocation.revoked_at).build())
    for serial in range(10**12, 10**12 + entries):
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder().serial_number(serial * 7919).revocation_date(when).build())
    return builder.sign(pki.intermediate.key, hashes.SHA256()).public_bytes(Encoding.DER)


def prepare(folder: Path, entries: int) -> None:
    pki = build_pki()
    good = issue_person(pki, "Nguyễn Văn Bình", agency="Sở Tư pháp")
    bad = issue_person(pki, "Trần Thị Hoa", agency="Sở Tư pháp")
    revoke(pki, bad, pki.now - timedelta(days=10))
    for name in ("plain", "big"):
        write_trust_dir(pki, folder / name)
    (folder / "big" / "ca-nha-nuoc-g2-mau.crl").write_bytes(_big_crl(pki, entries))
    signed_at = pki.now - timedelta(days=2)
    (folder / "good.p7s").write_bytes(sign_cms(CONTENT, good, signing_time=signed_at))
    (folder / "revoked.p7s").write_bytes(sign_cms(CONTENT, bad, signing_time=signed_at))


def child(folder: Path, store: str) -> None:
    """Runs in a fresh process: load the store, verify each signature once, report times and peak RSS."""
    from signatures import TrustStore, verify_cms

    started = time.perf_counter()
    trust = TrustStore.load(folder / store)
    loaded = time.perf_counter()
    results = {}
    for name in ("good", "revoked"):
        began = time.perf_counter()
        verdict = verify_cms((folder / f"{name}.p7s").read_bytes(), CONTENT, trust=trust)[0]
        results[name] = [time.perf_counter() - began, verdict.subindication.value if verdict.subindication else "OK"]
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"load": loaded - started, "verdicts": results, "peak_mb": peak_mb}))


def _run_child(folder: Path, store: str) -> dict[str, object]:
    completed = subprocess.run([sys.executable, __file__, "--child", str(folder), store],
                               capture_output=True, text=True, check=True)
    return json.loads(completed.stdout.strip().splitlines()[-1])


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        child(Path(sys.argv[2]), sys.argv[3])
        return
    args = parse_args(__doc__.splitlines()[0], lambda parser: (
        parser.add_argument("--entries", type=int, default=None),
        parser.add_argument("--keep", type=Path, default=None, help="build (or reuse) the inputs in DIR")))
    entries = args.entries or (20_000 if args.quick else 1_000_000)
    with tempfile.TemporaryDirectory() as scratch:
        folder = args.keep or Path(scratch)
        if not (folder / "good.p7s").exists():
            prepare(folder, entries)
        big, plain = _run_child(folder, "big"), _run_child(folder, "plain")
    size_mb = (folder / "big" / "ca-nha-nuoc-g2-mau.crl").stat().st_size / 2**20 if args.keep else 0.0
    rows = [
        Row("trust store load", big["load"] * 1000, "ms", "without the big CRL", plain["load"] * 1000),
        *(Row(f"verify, {name} signer ({big['verdicts'][name][1]})", big["verdicts"][name][0] * 1000, "ms",
              "without the big CRL", plain["verdicts"][name][0] * 1000) for name in ("good", "revoked")),
        Row("peak RSS", big["peak_mb"], "MB", "without the big CRL", plain["peak_mb"]),
    ]
    print_rows(f"verify with a CRL of {entries:,} entries" + (f" ({size_mb:.1f} MB)" if size_mb else ""), rows)


if __name__ == "__main__":
    main()
