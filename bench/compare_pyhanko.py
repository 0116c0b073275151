"""Run ``docflow verify`` and pyHanko over a folder of signed files and print where they disagree.

    python bench/compare_pyhanko.py FOLDER... [--trust DIR] [--json] [--all] [--timeout 60]

Both validators see the same files (PDFs, ``.p7m``, ``.p7s`` paired with the file named without
``.p7s``, ``.pkcs7``/``.p7b``/``.der`` attached CMS). Each signature is reduced to facts the two can be
held to alike, without depending on trust settings they express differently:

- ``readable``: whether the file could be read as a signed file at all;
- ``count``: how many signatures each found (document timestamps left out on both sides);
- ``integrity``: ``intact`` (the signed bytes hash to the signed digest and the signature value
  verifies), ``broken`` (a digest or signature mismatch), ``unreadable`` (not a readable signature),
  or ``unknown`` (not decidable: no signer certificate);
- ``modification`` (PDFs): what changed after the signature: none, ltv, form_filling, annotations,
  other — pyHanko's difference analysis against docflow's;
- ``trusted`` (only with ``--trust``, which both use): docflow's TOTAL_PASSED with what changed after
  the signature permitted, against pyHanko's ``bottom_line``.

Each side runs in a child process per chunk of files with a time limit, so one file that hangs a
validator costs that file, not the comparison. pyHanko is optional for docflow (``pip install
pyhanko``); this script needs it.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

__all__ = ["Facts", "compare", "docflow_facts", "pyhanko_facts", "signed_files"]

SIGNED_SUFFIXES = (".pdf", ".p7m", ".p7s", ".pkcs7", ".p7b", ".p7c", ".der")
_CHUNK = 40
_DOCFLOW = (sys.executable, "-c", "from docflow.cli import main; main()")
_FACTS = ("readable", "count", "integrity", "modification", "trusted")
_DOCFLOW_INTEGRITY_FAILURES = {"HASH_FAILURE": "broken", "SIG_CRYPTO_FAILURE": "broken", "FORMAT_FAILURE": "unreadable"}
_PYHANKO_MODIFICATION = {
    "NONE": "none",
    "LTA_UPDATES": "ltv",
    "FORM_FILLING": "form_filling",
    "ANNOTATIONS": "annotations",
    "OTHER": "other",
}


@dataclass(frozen=True)
class Facts:
    """What one validator says of one signature (``index`` None: of the file as a whole)."""

    file: str
    index: int | None
    integrity: str
    modification: str | None = None
    trusted: bool | None = None
    note: str = ""


# -- inputs ------------------------------------------------------------------------------------


def signed_files(roots: Iterable[Path]) -> list[Path]:
    """Signed files under ``roots``, sorted; a ``.p7s`` is listed, its content is found beside it."""
    found: list[Path] = []
    for root in roots:
        candidates = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
        found += [p for p in candidates if p.suffix.lower() in SIGNED_SUFFIXES and not p.is_symlink()]
    return sorted(set(found))


def _detached_content(path: Path) -> bytes | None:
    partner = path.with_suffix("")
    return partner.read_bytes() if path.suffix.lower() == ".p7s" and partner.is_file() else None


# -- docflow's side ----------------------------------------------------------------------------


def docflow_facts(files: list[Path], trust: Path | None, timeout: float) -> dict[str, list[Facts]]:
    """``docflow verify --json`` over the files, a chunk per process."""
    results: dict[str, list[Facts]] = {}
    for chunk in _chunks(files):
        command = [*_DOCFLOW, "verify", "--json", *map(str, chunk)]
        if trust is not None:
            command[len(_DOCFLOW) + 2 : len(_DOCFLOW) + 2] = ["--trust", str(trust)]
        for file, lines in _run_chunk(command, chunk, timeout).items():
            results[file] = [_docflow_row(file, json.loads(line)) for line in lines]
    return results


def _docflow_row(file: str, row: dict[str, object]) -> Facts:
    if row.get("index") is None:
        return Facts(file, None, "unsigned", note=str(row.get("reason", "")))
    if [c["name"] for c in row.get("checks", [])] == ["structure"] and row.get("signer") is None:  # type: ignore[union-attr]
        # format_failure(): the file as a whole could not be read, no signature was reached.
        return Facts(file, None, "unreadable", note=str(row.get("reason", "")))
    sub = str(row.get("subindication") or "")
    checks = {c["name"]: c["outcome"] for c in row.get("checks", [])}  # type: ignore[union-attr]
    if sub in _DOCFLOW_INTEGRITY_FAILURES:
        integrity = _DOCFLOW_INTEGRITY_FAILURES[sub]
    elif checks.get("message_digest") == "failed" or checks.get("signature_value") == "failed":
        integrity = "broken"
    elif checks.get("signature_value") == "passed":
        integrity = "intact"
    else:
        integrity = "unknown"
    modification = row.get("modification")
    return Facts(
        file,
        int(row["index"]),
        integrity,  # type: ignore[arg-type]
        str(modification) if modification is not None else None,
        # pyHanko's bottom line includes its DocMDP verdict: docflow's, the modification check.
        row.get("indication") == "TOTAL_PASSED" and checks.get("modification") != "failed",
        f"{row.get('indication')}/{sub}".rstrip("/"),
    )


# -- pyHanko's side ----------------------------------------------------------------------------


def pyhanko_facts(files: list[Path], trust: Path | None, timeout: float) -> dict[str, list[Facts]]:
    results: dict[str, list[Facts]] = {}
    for chunk in _chunks(files):
        command = [sys.executable, __file__, "--pyhanko-worker", *map(str, chunk)]
        if trust is not None:
            command[3:3] = ["--trust", str(trust)]
        for file, lines in _run_chunk(command, chunk, timeout).items():
            results[file] = [Facts(**json.loads(line)) for line in lines]
    return results


def _pyhanko_worker(files: list[Path], trust: Path | None) -> None:
    import asyncio
    import warnings

    warnings.simplefilter("ignore")
    context = _pyhanko_context(trust)
    loop = asyncio.new_event_loop()
    for path in files:
        try:
            rows = list(_pyhanko_one(path, context, loop))
        except Exception as error:  # noqa: BLE001 - a file pyHanko cannot read is a fact too
            rows = [Facts(str(path), None, "unreadable", note=f"{type(error).__name__}: {error}"[:200])]
        for row in rows:
            print(json.dumps({"file": str(path), **asdict(row)}), flush=True)


def _pyhanko_one(path: Path, context: object, loop: object) -> Iterator[Facts]:
    data = path.read_bytes()
    name = str(path)
    if data.lstrip()[:5] == b"%PDF-" or path.suffix.lower() == ".pdf":
        yield from _pyhanko_pdf(name, data, context, loop)
        return
    from signatures.cms import load_signed_data  # the same armour decoding as docflow

    signed_data = load_signed_data(data)
    content = _detached_content(path)
    from pyhanko.sign.validation import async_validate_cms_signature, async_validate_detached_cms

    if content is not None:
        coroutine = async_validate_detached_cms(content, signed_data, signer_validation_context=context)
    else:
        from pyhanko.sign.validation.status import StandardCMSSignatureStatus

        coroutine = async_validate_cms_signature(signed_data, StandardCMSSignatureStatus, validation_context=context)
    status = loop.run_until_complete(coroutine)  # type: ignore[attr-defined]
    yield _status_facts(name, 0, status, None)


def _pyhanko_pdf(name: str, data: bytes, context: object, loop: object) -> Iterator[Facts]:
    import io

    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import async_validate_pdf_signature

    reader = PdfFileReader(io.BytesIO(data), strict=False)
    signatures = reader.embedded_regular_signatures
    if not signatures:
        yield Facts(name, None, "unsigned")
    for index, embedded in enumerate(signatures):
        try:
            status = loop.run_until_complete(  # type: ignore[attr-defined]
                async_validate_pdf_signature(embedded, signer_validation_context=context)
            )
        except Exception as error:  # noqa: BLE001
            yield Facts(name, index, "unreadable", note=f"{type(error).__name__}: {error}"[:200])
            continue
        level = getattr(status, "modification_level", None)
        modification = _PYHANKO_MODIFICATION.get(level.name) if level is not None else None
        yield _status_facts(name, index, status, modification)


def _status_facts(name: str, index: int, status: object, modification: str | None) -> Facts:
    intact, valid = getattr(status, "intact", False), getattr(status, "valid", False)
    integrity = "intact" if intact and valid else "broken"
    summary = status.summary() if hasattr(status, "summary") else ""
    return Facts(name, index, integrity, modification, bool(getattr(status, "bottom_line", False)), summary)


def _pyhanko_context(trust: Path | None) -> object:
    from _common import pyhanko_context  # the worker runs as a script from bench/

    return pyhanko_context(trust, revocation_mode="soft-fail")


# -- running chunks with a time limit ------------------------------------------------------------


def _chunks(files: list[Path]) -> Iterator[list[Path]]:
    for start in range(0, len(files), _CHUNK):
        yield files[start : start + _CHUNK]


def _run_chunk(command: list[str], chunk: list[Path], timeout: float) -> dict[str, list[str]]:
    """JSON lines by file; a chunk that times out or dies is run again a file at a time."""
    try:
        done = subprocess.run(command, capture_output=True, timeout=timeout * len(chunk), env=_env(), check=False)
        lines = _by_file(done.stdout)
        if all(str(path) in lines for path in chunk):
            return lines
    except subprocess.TimeoutExpired:
        pass
    if len(chunk) == 1:
        return {
            str(chunk[0]): [
                json.dumps(
                    {
                        "file": str(chunk[0]),
                        "index": None,
                        "integrity": "timeout",
                        "indication": None,
                        "reason": "no answer in time",
                    }
                )
            ]
        }
    results: dict[str, list[str]] = {}
    for path in chunk:
        single = [part for part in command if part not in {str(p) for p in chunk}] + [str(path)]
        results.update(_run_chunk(single, [path], timeout))
    return results


def _by_file(stdout: bytes) -> dict[str, list[str]]:
    lines: dict[str, list[str]] = {}
    for line in stdout.decode("utf-8", "replace").splitlines():
        if line.startswith("{"):
            lines.setdefault(json.loads(line)["file"], []).append(line)
    return lines


def _env() -> dict[str, str]:
    root = str(Path(__file__).resolve().parents[1])
    return {
        **os.environ,
        "PYTHONPATH": root + os.pathsep + os.environ.get("PYTHONPATH", ""),
        "PYTHONWARNINGS": "ignore",
    }


# -- comparing ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Disagreement:
    file: str
    index: int | None
    fact: str
    docflow: object
    pyhanko: object
    docflow_note: str
    pyhanko_note: str


def compare(
    ours: dict[str, list[Facts]], theirs: dict[str, list[Facts]], *, with_trust: bool
) -> tuple[Counter[tuple[str, bool]], list[Disagreement]]:
    """Per fact, how many signatures agree (True) or not; and each disagreement."""
    tally: Counter[tuple[str, bool]] = Counter()
    disagreements: list[Disagreement] = []
    for file in sorted(set(ours) | set(theirs)):
        mine = [f for f in ours.get(file, []) if f.index is not None]
        other = [f for f in theirs.get(file, []) if f.index is not None]
        readable = (_readable(ours.get(file, [])), _readable(theirs.get(file, [])))
        tally["readable", readable[0] == readable[1]] += 1
        if readable[0] != readable[1]:
            notes = (_notes(ours.get(file, [])), _notes(theirs.get(file, [])))
            disagreements.append(Disagreement(file, None, "readable", *readable, *notes))
            continue
        if not readable[0]:
            continue
        same_count = len(mine) == len(other)
        tally["count", same_count] += 1
        if not same_count:
            notes = (_notes(ours.get(file, [])), _notes(theirs.get(file, [])))
            disagreements.append(Disagreement(file, None, "count", len(mine), len(other), *notes))
            continue
        for a, b in zip(mine, other):
            pairs = [("integrity", a.integrity, b.integrity)]
            if a.modification is not None or b.modification is not None:
                pairs.append(("modification", a.modification, b.modification))
            if with_trust:
                pairs.append(("trusted", a.trusted, b.trusted))
            for fact, left, right in pairs:
                if fact == "integrity" and "unknown" in (left, right):
                    continue
                tally[fact, left == right] += 1
                if left != right:
                    disagreements.append(Disagreement(file, a.index, fact, left, right, a.note, b.note))
    return tally, disagreements


def _readable(rows: list[Facts]) -> bool:
    return not any(row.index is None and row.integrity in ("unreadable", "timeout") for row in rows)


def _notes(rows: list[Facts]) -> str:
    return "; ".join(sorted({r.note for r in rows if r.note}))[:160]


def _print_markdown(tally: Counter[tuple[str, bool]], disagreements: list[Disagreement], files: int) -> None:
    print(f"{files} files\n")
    print("| fact | agree | disagree |\n|---|---|---|")
    for fact in _FACTS:
        if tally[fact, True] or tally[fact, False]:
            print(f"| {fact} | {tally[fact, True]} | {tally[fact, False]} |")
    if disagreements:
        print("\n| file | # | fact | docflow | pyHanko | docflow says | pyHanko says |\n|---|---|---|---|---|---|---|")
    for d in disagreements:
        index = "" if d.index is None else d.index
        print(
            f"| {Path(d.file).name} | {index} | {d.fact} | {d.docflow} | {d.pyhanko} | {d.docflow_note} "
            f"| {d.pyhanko_note} |"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folders", nargs="+", type=Path)
    parser.add_argument("--trust", type=Path, help="one trust directory for both validators")
    parser.add_argument("--json", action="store_true", help="the disagreements as JSON lines")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per file before giving up on it")
    parser.add_argument("--pyhanko-worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.pyhanko_worker:
        _pyhanko_worker(args.folders, args.trust)
        return 0
    files = signed_files(args.folders)
    ours = docflow_facts(files, args.trust, args.timeout)
    theirs = pyhanko_facts(files, args.trust, args.timeout)
    tally, disagreements = compare(ours, theirs, with_trust=args.trust is not None)
    if args.json:
        for d in disagreements:
            print(json.dumps(asdict(d), default=str))
    else:
        _print_markdown(tally, disagreements, len(files))
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    raise SystemExit(main())
