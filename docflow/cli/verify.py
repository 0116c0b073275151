"""``docflow verify``: verify signed files with the engine and print one row per signature.

All files of one run share one trust store, loaded once (each worker process inherits it), so the path
cache stays warm; results are printed as they come, in the order of the files (``verify_run``).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import click
from rich.console import Console
from rich.text import Text

from docflow.checks_json import checks_json, encode
from docflow.cli.options import config_option, current_config
from docflow.cli.signature_words import change_word, kind_word, time_source_word, yes_no
from docflow.cli.tables import TableColumn, fitted_table
from docflow.cli.verify_run import Checked, Job, checked, in_chunks, jobs_of, verify_job
from docflow.i18n import N_, _
from docflow.safe_text import cell, markup_safe
from signatures import TrustStore, Verdict
from signatures.modification import changes_permitted

__all__ = ["verify"]

_STYLE = {"TOTAL_PASSED": "green", "TOTAL_FAILED": "red", "INDETERMINATE": "yellow"}
_NO_SIGNATURE = N_("The file carries no digital signature.")
_TABLE_FILES = 50
"""Files per printed table: a long run shows its first results at once, with the same columns."""


@click.command(epilog="Example: docflow verify cong-van.pdf --trust trust")
@config_option
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option(
    "--content",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The signed document, for a single detached signature (.p7s).",
)
@click.option(
    "--trust",
    "trust_dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Trust-store directory: root and intermediate certificates and CRLs.",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per signature per line.")
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=os.cpu_count() or 1,
    show_default="the CPU count",
    help="Processes verifying at once; the output keeps the order of the files.",
)
def verify(files: tuple[Path, ...], content: Path | None, trust_dir: Path | None, as_json: bool, workers: int) -> None:
    """Verify the digital signatures in FILE... (PDF, .p7s with its document, .p7m, S/MIME .eml) or under a folder.

    A .p7s is paired with the file named without ".p7s" beside it; that file is then its signed content,
    not an unsigned document. Results are printed as each file is verified, in the order given.
    Exits 0 when every signature is TOTAL_PASSED and nothing its PDF's signatures do not allow changed
    after them (see docs/signatures.md, "Changes after signing"), 1 otherwise.
    """
    if content is not None and (len(files) != 1 or files[0].is_dir()):
        raise click.UsageError(_("--content pairs with exactly one signature file"))
    console = Console(stderr=True)
    trust = _trust_store(trust_dir or configured_trust_dir(console), console)
    # With --json a signature's document prints no line of its own and is accepted through the signature: left
    # out, it costs no job to build, send, verify and print (about 8 µs a pair on one worker).
    jobs = jobs_of(files, content, documents=not as_json)
    if as_json:
        # Each worker renders a chunk's lines as bytes: the one process printing them does little more than write.
        all_passed = _print_json(result for _, result in in_chunks(jobs, partial(_json_of, trust=trust), workers))
    else:
        all_passed = _print_tables(checked(jobs, partial(verify_job, trust=trust), workers))
    raise SystemExit(0 if all_passed else 1)


def _trust_store(trust_dir: Path | None, console: Console) -> TrustStore:
    if trust_dir is None:
        warning = _("No --trust directory: no signature can chain to a trusted root.")
        console.print(f"[yellow]{markup_safe(warning)}[/yellow]")
    trust = TrustStore.load(trust_dir) if trust_dir else TrustStore.from_objects([])
    for problem in trust.problems:
        warning = _("trust store: {problem}").format(problem=problem)
        console.print(f"[yellow]{markup_safe(warning)}[/yellow]")
    return trust


def configured_trust_dir(console: Console) -> Path | None:
    """Without ``--trust``: the trust directory ``docflow ingest`` would use ([paths] trust of docflow.toml,
    else ``trust``), when it exists; a directory the toml names but that is missing is said so."""
    config = current_config()
    if config.trust_path.is_dir():
        return config.trust_path
    if config.source is not None:
        shown = _("No trust directory at {path} ({config}).").format(path=config.trust_path, config=config.source)
        console.print(f"[yellow]{markup_safe(shown)}[/yellow]")
    return None


@dataclass(frozen=True)
class _Lines:
    """Some files' JSON lines, encoded, and whether every one of those files was accepted."""

    accepted: bool
    text: bytes


def _accepted(job: Job, verdicts: list[Verdict]) -> bool:
    if not verdicts:
        return job.signed_content  # the document of a detached signature, judged through it
    return all(verdict.passed and changes_permitted(verdict) is not False for verdict in verdicts)


def _json_of(jobs: list[Job], trust: TrustStore) -> _Lines:
    lines, accepted = [], True
    for job in jobs:
        verdicts = verify_job(job, trust)
        accepted &= _accepted(job, verdicts)
        file = str(job.path)
        lines += [_json_line(file, verdict) for verdict in verdicts]
        if not verdicts and not job.signed_content:
            lines.append(encode({"file": file, **_UNSIGNED}))
    return _Lines(accepted, "".join(line + "\n" for line in lines).encode())


def _print_json(results: Iterable[_Lines]) -> bool:
    """One line per signature, printed as each file (or a worker's chunk of files) is done; whether every
    file was accepted."""
    all_passed = True
    output = sys.stdout.buffer  # once: click.echo looks for the binary stream again on every call
    for lines in results:
        all_passed &= lines.accepted
        if lines.text:
            output.write(lines.text)
            output.flush()
    return all_passed


def _json_line(file: str, verdict: Verdict) -> str:
    """``json.dumps({"file": file, **verdict.to_json()}, ensure_ascii=False)``, byte for byte, with the
    ``checks`` array (the last member) encoded once per distinct tuple of checks: about a third of the cost."""
    return f'{encode({"file": file, **verdict.json_fields()})[:-1]}, "checks": {checks_json(verdict.checks)}}}'


_UNSIGNED = {"index": None, "indication": None, "subindication": None, "reason": _NO_SIGNATURE}


def _columns() -> tuple[TableColumn, ...]:
    """Made when printed, so that the headers are in the language chosen (``docflow.i18n``)."""
    return (
        # Which file, which signature, the verdict and why are always shown; who signed and when join as room allows.
        TableColumn(_("File"), min_width=8, fold_over=40),
        TableColumn("#", wraps=False, justify="right"),
        TableColumn(_("Indication"), min_width=13, fold_over=32),
        TableColumn(_("Signer"), priority=1),
        TableColumn(_("Kind"), priority=4, wraps=False),
        TableColumn(_("Signed at"), priority=2, min_width=16),
        TableColumn(_("Whole file"), priority=5, min_width=5),
        TableColumn(_("Changed after"), priority=3, min_width=12),
        TableColumn(_("Reason"), min_width=20),
    )


def _print_tables(results: Iterable[Checked[list[Verdict]]]) -> bool:
    """A table per ``_TABLE_FILES`` files, printed as each is filled; whether every file was accepted."""
    all_passed = True
    rows: list[tuple[str | Text, ...]] = []
    first, count = 1, 0
    for count, checked_file in enumerate(results, start=1):
        job, verdicts = checked_file.job, checked_file.result
        all_passed &= _accepted(job, verdicts)
        if not verdicts and not job.signed_content:
            no_signature = Text(_("NO SIGNATURE"), style="red")
            rows.append((cell(job.path.name), "-", no_signature, "", "", "", "", "", _(_NO_SIGNATURE)))
        rows += [_row(job.path, verdict) for verdict in verdicts]
        if count % _TABLE_FILES == 0:
            _print_table(first, rows)
            rows, first = [], count + 1
    if count == 0 or count >= first:
        _print_table(first, rows)
    return all_passed


def _print_table(first: int, rows: list[tuple[str | Text, ...]]) -> None:
    console = Console()
    title = _("Digital signatures") if first == 1 else _("Signatures (from file {first})").format(first=first)
    console.print(fitted_table(title, _columns(), rows, console.width))


def _row(path: Path, verdict: Verdict) -> tuple[str | Text, ...]:
    indication = verdict.indication.value
    if verdict.subindication is not None:
        indication += f" / {verdict.subindication.value}"
    style = _STYLE[verdict.indication.value]
    when = verdict.signing_time.strftime("%Y-%m-%d %H:%M") if verdict.signing_time else ""
    if when:
        when += f" ({time_source_word(verdict.signing_time_source.value)})"
    whole = yes_no(verdict.covers_whole_file)
    # The file name, the certificate's name and the reason quoting it come from outside: shown as text.
    return (
        cell(path.name),
        str(verdict.index),
        Text(indication, style=style),
        cell(verdict.signer_common_name or ""),
        kind_word(verdict.kind.value),
        when,
        whole,
        _changed_after(verdict),
        cell(verdict.reason),
    )


def _changed_after(verdict: Verdict) -> str | Text:
    if verdict.modification is None:
        return ""
    words = change_word(verdict.modification)
    if changes_permitted(verdict) is not False:
        return words
    return Text(_("{changes} (not permitted)").format(changes=words), style="red")
