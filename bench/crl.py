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
from asn1crypto import core
from asn1crypto import crl as asn1_crl
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.serialization import Encoding

from samples.pki import SamplePKI, build_pki, issue_person, make_crl, revoke, write_trust_dir
from samples.sign import sign_cms

CONTENT = b"Cong van so 1/STP" * 1000


def _tlv(tag: int, content: bytes) -> bytes:
    length = len(content)
    if length < 0x80:
        return bytes([tag, length]) + content
    octets = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(octets)]) + octets + content


def _big_crl(pki: SamplePKI, entries: int) -> bytes:
    """The intermediate's CRL with ``entries`` more serials, signed by it.

    ``CertificateRevocationListBuilder`` copies its list on every added entry (quadratic: hours for a
    million), so the entries are written directly into the TBS of a small CRL it made, which is then
    signed again by ``cryptography``.
    """
    small = make_crl(pki)
    parsed = asn1_crl.CertificateList.load(small.public_bytes(Encoding.DER))
    tbs = parsed["tbs_cert_list"]
    revoked_at = _tlv(0x17, (pki.now - timedelta(days=400)).strftime("%y%m%d%H%M%SZ").encode())
    # The real revocation goes last: a lookup that walks the list pays for all of it.
    listed = [_tlv(0x30, core.Integer(serial * 7919).dump() + revoked_at) for serial in range(10**12, 10**12 + entries)]
    listed += [tbs["revoked_certificates"][i].dump() for i in range(len(tbs["revoked_certificates"]))]
    fields = [tbs[name].dump() for name in ("version", "signature", "issuer", "this_update", "next_update")]
    tbs_der = _tlv(0x30, b"".join(fields) + _tlv(0x30, b"".join(listed)) + tbs["crl_extensions"].dump())
    signature = pki.intermediate.key.sign(tbs_der, padding.PKCS1v15(), hashes.SHA256())  # type: ignore[union-attr]
    return _tlv(
        0x30,
        tbs_der + parsed["signature_algorithm"].dump() + core.BitString.load(_tlv(0x03, b"\x00" + signature)).dump(),
    )


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
    peak_mb = _peak_rss_mb()
    print(json.dumps({"load": loaded - started, "verdicts": results, "peak_mb": peak_mb}))


def _peak_rss_mb() -> float:
    # VmHWM belongs to this process image; ru_maxrss would carry the parent's peak across fork and exec.
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _run_child(folder: Path, store: str) -> dict[str, object]:
    completed = subprocess.run(
        [sys.executable, __file__, "--child", str(folder), store], capture_output=True, text=True, check=True
    )
    return json.loads(completed.stdout.strip().splitlines()[-1])


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        child(Path(sys.argv[2]), sys.argv[3])
        return
    args = parse_args(
        __doc__.splitlines()[0],
        lambda parser: (
            parser.add_argument("--entries", type=int, default=None),
            parser.add_argument("--keep", type=Path, default=None, help="build (or reuse) the inputs in DIR"),
        ),
    )
    entries = args.entries or (20_000 if args.quick else 1_000_000)
    with tempfile.TemporaryDirectory() as scratch:
        folder = args.keep or Path(scratch)
        if not (folder / "good.p7s").exists():
            prepare(folder, entries)
        big, plain = _run_child(folder, "big"), _run_child(folder, "plain")
    size_mb = (folder / "big" / "ca-nha-nuoc-g2-mau.crl").stat().st_size / 2**20 if args.keep else 0.0
    rows = [
        Row("trust store load", big["load"] * 1000, "ms", "without the big CRL", plain["load"] * 1000),
        *(
            Row(
                f"verify, {name} signer ({big['verdicts'][name][1]})",
                big["verdicts"][name][0] * 1000,
                "ms",
                "without the big CRL",
                plain["verdicts"][name][0] * 1000,
            )
            for name in ("good", "revoked")
        ),
        Row("peak RSS", big["peak_mb"], "MB", "without the big CRL", plain["peak_mb"]),
    ]
    print_rows(f"verify with a CRL of {entries:,} entries" + (f" ({size_mb:.1f} MB)" if size_mb else ""), rows)


if __name__ == "__main__":
    main()
