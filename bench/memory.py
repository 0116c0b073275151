"""Peak memory of `docflow ingest` on a large zip batch, against the same process importing docflow only.

    python bench/memory.py [--quick] [--megabytes N]
    python bench/memory.py --register-rows N


Writes a zip of about N MB (default 1024; --quick 24) of distinct signed PDFs of
about 100 KB each (stored, not compressed, so the zip really is that big): half
of them bare, with a register export naming a tenth of those, half inside edXML
packages (base64, so about a third larger), then runs `docflow ingest` on it in a
child process and reads the child's peak RSS. The baseline is the peak RSS of a
child that only imports docflow and the verifier, so the ratio shows what the
batch itself costs. `docflow ingest` verifies on every core, in worker processes,
so the figure that counts is the whole tree's: the main process plus its workers,
by proportional set size (shared pages counted once). Target: under 300 MB for the
1 GB batch.

With ``--register-rows N``: a register export (CSV, UTF-8 with BOM) of N rows instead,
ingested by `docflow ingest` the same way; the figure is the process's peak RSS and
the time. Target: under 300 MB for any N (2,000,000 is a large province's decade).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from _common import Row, parse_args, print_rows

from samples.edxml import Attachment, build_edxml
from samples.pdfgen import make_pdf, sign_pdf
from samples.pki import build_pki, issue_organisation, write_trust_dir

PDF_BYTES = 100_000


def write_big_zip(path: Path, trust: Path, megabytes: int) -> int:
    """Distinct signed PDFs for ``megabytes`` of PDF, half of them in edXML packages; returns how many."""
    pki = build_pki()
    organisation = issue_organisation(pki, "Sở Tài chính tỉnh Bắc Kạn")
    write_trust_dir(pki, trust)
    signed_at = datetime.now(UTC) - timedelta(days=3)
    count = megabytes * 1_000_000 // PDF_BYTES
    register = io.StringIO()
    writer = csv.writer(register)
    writer.writerow(["ma_don_vi", "huong", "so", "ky_hieu", "ngay_ban_hanh", "kenh", "noi_nhan", "file"])
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as archive:
        for number in range(count):
            # Random bytes in the page keep each file distinct and incompressible, as scans are.
            pdf = make_pdf(f"Cong van {number}/STC", [os.urandom(16).hex()], pad_to=PDF_BYTES)
            name = f"van-ban/cv-{number}.pdf"
            signed = sign_pdf(pdf, organisation, signing_time=signed_at)
            if number % 2:
                archive.writestr(
                    f"edxml/cv-{number}.edxml",
                    build_edxml(
                        sender="000.00.05.H04",
                        sender_name="Sở Tài chính tỉnh Bắc Kạn",
                        recipients=[("000.00.00.H04", "UBND tỉnh Bắc Kạn")],
                        number=str(number),
                        notation="STC-VP",
                        promulgation=signed_at.date(),
                        subject=f"Công văn {number}",
                        attachments=[Attachment(f"cv-{number}.pdf", signed)],
                    ),
                )
                continue
            archive.writestr(name, signed)
            if number % 10 == 0:
                writer.writerow(
                    ["000.00.05.H04", "di", number, "STC-NS", "15/03/2026", "dien_tu", "000.00.00.H04", name]
                )
        archive.writestr("so-van-ban-di.csv", register.getvalue().encode("utf-8-sig"))
    return count


def child_peak_rss_mb(arguments: list[str]) -> tuple[float, float, str]:
    """Run a child Python: the peak RSS in MB of the child alone, the peak memory of the child and its
    worker processes together (PSS, sampled every 20 ms from /proc), and its output."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    process = subprocess.Popen([sys.executable, *arguments], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    tree_peak = 0
    sampling = threading.Event()

    def sample() -> None:
        nonlocal tree_peak
        while not sampling.wait(0.02):
            tree_peak = max(tree_peak, _tree_rss_kib(process.pid))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    output, errors = process.communicate()
    sampling.set()
    sampler.join()
    if process.returncode not in (0, 1):
        raise SystemExit(f"child failed ({process.returncode}): {errors[-2000:]}")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    # ru_maxrss for children is the maximum over all of them: measure the small child first.
    alone = max(peak, before) / 1024
    return alone, max(tree_peak / 1024, alone), output


def _tree_rss_kib(root: int) -> int:
    """Memory in KiB of ``root`` and all its descendants now (0 where /proc cannot be read)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            # The command name (field 2) may hold spaces: the parent pid follows its closing parenthesis.
            parents[int(entry.name)] = int(entry.joinpath("stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
    tree = {root}
    grew = True
    while grew:
        grown = {pid for pid, parent in parents.items() if parent in tree} - tree
        tree |= grown
        grew = bool(grown)
    return sum(_rss_kib(pid) for pid in tree)


def _rss_kib(pid: int) -> int:
    """The process's proportional set size: forked workers share the parent's pages, and summing
    their plain RSS would count those pages once per process."""
    for name, field in (("smaps_rollup", "Pss:"), ("status", "VmRSS:")):
        try:
            for line in Path(f"/proc/{pid}/{name}").read_text().splitlines():
                if line.startswith(field):
                    return int(line.split()[1])
        except (OSError, ValueError):
            continue
    return 0


def checked_outcome(output: str, signed_pdfs: int) -> dict[str, object]:
    """The ingest's --json line; a figure for a batch that was not really read would mean nothing."""
    outcome = json.loads(output.strip().splitlines()[-1])
    if outcome["outcome"] != "ingested" or outcome["signatures"] != signed_pdfs:
        raise SystemExit(f"the batch was not ingested whole: {outcome}")
    return outcome


def write_register(path: Path, rows: int) -> None:
    """``rows`` distinct outgoing documents of 19 units over a year, written as they are made."""
    units = [f"000.{n:02d}.00.H04" for n in range(1, 20)]
    with path.open("w", encoding="utf-8-sig", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(
            ["ma_don_vi", "huong", "so", "ky_hieu", "ngay_ban_hanh", "loai", "kenh", "mat", "trich_yeu", "noi_nhan"]
        )
        for number in range(rows):
            day = datetime(2026, 1, 1) + timedelta(days=number % 365)
            writer.writerow(
                [
                    units[number % 19],
                    "di",
                    number,
                    "CV-STC",
                    day.strftime("%d/%m/%Y"),
                    "Công văn",
                    ("dien_tu", "giay", "ca_hai")[number % 3],
                    "0",
                    f"Trích yếu văn bản số {number}",
                    units[(number + 1) % 19],
                ]
            )


def register_memory(rows: int) -> None:
    with tempfile.TemporaryDirectory() as temp:
        folder = Path(temp)
        register = folder / "so-van-ban-di.csv"
        write_register(register, rows)
        idle, _, _ = child_peak_rss_mb(["-c", "import docflow.cli, signatures.api"])
        started = time.perf_counter()
        peak, _, output = child_peak_rss_mb(
            ["-m", "docflow", "ingest", str(register), "--db", str(folder / "m.db"), "--json", "--no-trust"]
        )
        seconds = time.perf_counter() - started
        outcome = json.loads(output.strip().splitlines()[-1])
        if outcome["outcome"] != "ingested" or outcome["documents"] != rows:
            raise SystemExit(f"the register was not ingested whole: {outcome}")
        size_mb = register.stat().st_size / 1_000_000
    print_rows(
        f"memory ({size_mb:,.0f} MB register, {rows:,} rows)",
        [Row("peak RSS, docflow ingest", peak, "MB", "import only", idle)],
    )
    print(f"ingested {rows:,} rows in {seconds:.0f} s ({rows / seconds:,.0f} rows/s)")
    print(f"target: under 300 MB → {'meets' if peak < 300 else 'MISSES'} ({peak:.0f} MB)")


def main() -> None:
    def options(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--megabytes", type=int, default=None)
        parser.add_argument(
            "--register-rows",
            type=int,
            default=None,
            help="measure a register export of this many rows instead of the zip batch",
        )

    args = parse_args(__doc__, options)
    if args.register_rows:
        register_memory(args.register_rows)
        return
    megabytes = args.megabytes or (24 if args.quick else 1024)
    with tempfile.TemporaryDirectory() as temp:
        folder = Path(temp)
        batch = folder / "lo-lon.zip"
        count = write_big_zip(batch, folder / "trust", megabytes)
        idle, _, _ = child_peak_rss_mb(["-c", "import docflow.cli, signatures.api"])
        started = time.perf_counter()
        peak, tree_peak, output = child_peak_rss_mb(
            [
                "-m",
                "docflow",
                "ingest",
                str(batch),
                "--db",
                str(folder / "m.db"),
                "--trust",
                str(folder / "trust"),
                "--json",
            ]
        )
        seconds = time.perf_counter() - started
        outcome = checked_outcome(output, count)
        size_mb = batch.stat().st_size / 1_000_000
    print_rows(
        f"memory ({size_mb:,.0f} MB zip, {count:,} signed PDFs, half in edXML packages)",
        [
            Row("peak RSS, docflow ingest (main process)", peak, "MB", "import only", idle),
            Row("peak memory (PSS) with its verification workers", tree_peak, "MB", "import only", idle),
        ],
    )
    print(f"ingested {outcome['signatures']:,} signatures and {outcome['documents']:,} documents in {seconds:.0f} s")
    print(f"target: under 300 MB, workers included → {'meets' if tree_peak < 300 else 'MISSES'} ({tree_peak:.0f} MB)")


if __name__ == "__main__":
    main()
