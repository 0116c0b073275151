"""``docflow verify``: verify signed files with the engine and print one row per signature.

All files of one run share one trust store, loaded once, so the path cache stays warm.
"""

from __future__ import annotations

import json
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from docflow.config import CONFIG_NAME, ConfigError, ConfigRefused, load_config
from docflow.safe_text import cell, markup_safe
from signatures import TrustStore, Verdict, verify_file
from signatures.modification import changes_permitted, describe

__all__ = ["verify"]

_STYLE = {"TOTAL_PASSED": "green", "TOTAL_FAILED": "red", "INDETERMINATE": "yellow"}


@click.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
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
def verify(files: tuple[Path, ...], content: Path | None, trust_dir: Path | None, as_json: bool) -> None:
    """Verify the digital signatures in FILE... (PDF, .p7s with its document, .p7m, S/MIME .eml).

    Exits 0 when every signature is TOTAL_PASSED and nothing its PDF's signatures do not allow changed
    after them (see docs/signatures.md, "Changes after signing"), 1 otherwise.
    """
    if content is not None and len(files) != 1:
        raise click.UsageError("--content pairs with exactly one signature file")
    console = Console(stderr=True)
    trust_dir = trust_dir or configured_trust_dir(console)
    if trust_dir is None:
        console.print("[yellow]No --trust directory: no signature can chain to a trusted root.[/yellow]")
    trust = TrustStore.load(trust_dir) if trust_dir else TrustStore.from_objects([])
    for problem in trust.problems:
        console.print(f"[yellow]trust store: {markup_safe(problem)}[/yellow]")
    results = [(path, verify_file(path, content, trust=trust)) for path in files]
    if as_json:
        _print_json(results)
    else:
        _print_table(results)
    all_passed = all(verdicts and all(_accepted(v) for v in verdicts) for _, verdicts in results)
    raise SystemExit(0 if all_passed else 1)


def configured_trust_dir(console: Console) -> Path | None:
    """Without ``--trust``: the trust directory ``docflow ingest`` would use ([paths] trust of docflow.toml,
    else ``trust``), when it exists; a directory the toml names but that is missing is said so."""
    try:
        config = load_config()
    except ConfigError as error:
        raise ConfigRefused(str(error)) from error
    if config.trust_path.is_dir():
        return config.trust_path
    if config.source is not None:
        console.print(f"[yellow]No trust directory at {markup_safe(str(config.trust_path))} ({CONFIG_NAME}).[/yellow]")
    return None


def _accepted(verdict: Verdict) -> bool:
    return verdict.passed and changes_permitted(verdict) is not False


def _print_json(results: list[tuple[Path, list[Verdict]]]) -> None:
    for path, verdicts in results:
        for verdict in verdicts:
            click.echo(json.dumps({"file": str(path), **verdict.to_json()}, ensure_ascii=False))
        if not verdicts:
            click.echo(
                json.dumps(
                    {
                        "file": str(path),
                        "index": None,
                        "indication": None,
                        "subindication": None,
                        "reason": "The file carries no digital signature.",
                    },
                    ensure_ascii=False,
                )
            )


def _print_table(results: list[tuple[Path, list[Verdict]]]) -> None:
    table = Table(title="Signatures")
    for column in ("File", "#", "Indication", "Signer", "Kind", "Signed at", "Whole file", "Changed after", "Reason"):
        table.add_column(column, overflow="fold")
    for path, verdicts in results:
        if not verdicts:
            table.add_row(
                cell(path.name),
                "-",
                "[red]NO SIGNATURE[/red]",
                "",
                "",
                "",
                "",
                "",
                "The file carries no digital signature.",
            )
        for verdict in verdicts:
            table.add_row(*_row(path, verdict))
    Console().print(table)


def _row(path: Path, verdict: Verdict) -> tuple[str | Text, ...]:
    indication = verdict.indication.value
    if verdict.subindication is not None:
        indication += f" / {verdict.subindication.value}"
    style = _STYLE[verdict.indication.value]
    when = verdict.signing_time.strftime("%Y-%m-%d %H:%M") if verdict.signing_time else ""
    if when:
        when += f" ({verdict.signing_time_source.value})"
    whole = {None: "", True: "yes", False: "no"}[verdict.covers_whole_file]
    # The file name, the certificate's name and the reason quoting it come from outside: shown as text.
    return (
        cell(path.name),
        str(verdict.index),
        f"[{style}]{indication}[/{style}]",
        cell(verdict.signer_common_name or ""),
        verdict.kind.value,
        when,
        whole,
        _changed_after(verdict),
        cell(verdict.reason),
    )


def _changed_after(verdict: Verdict) -> str:
    if verdict.modification is None:
        return ""
    words = describe(verdict.modification)
    return words if changes_permitted(verdict) is not False else f"[red]{words} (not permitted)[/red]"
