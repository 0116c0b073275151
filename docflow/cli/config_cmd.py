"""``docflow config``: the settings a command would run with, each with where it came from; ``--example``
writes a commented ``docflow.toml`` with every key at its default (``docflow.cli.settings``)."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from docflow.cli.options import config_option, current_config
from docflow.cli.settings import Setting, Source, example_toml, settings_of
from docflow.cli.summary_options import UsageRefused
from docflow.config import CONFIG_NAME
from docflow.i18n import _
from docflow.safe_text import cell, for_terminal

__all__ = ["config"]

_PATH_OPTIONS = {"db": ("paths.db", "--db"), "trust": ("paths.trust", "--trust"), "inbox": ("paths.inbox", "--inbox")}
"""The options other commands take over a ``[paths]`` key; given here, they show what those commands would use."""


@click.command(epilog="Example: docflow config --example --out docflow.toml")
@config_option
@click.option("--db", type=click.Path(path_type=Path), help="As the other commands' --db: shown as given.")
@click.option("--trust", type=click.Path(path_type=Path), help="As the other commands' --trust: shown as given.")
@click.option("--inbox", type=click.Path(path_type=Path), help="As docflow watch's INBOX: shown as given.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object: the file read and every setting.")
@click.option("--example", is_flag=True, help="Write a commented docflow.toml with every key at its default.")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="With --example: write it to this file instead of printing it.",
)
@click.option("--force", is_flag=True, help="With --example --out: replace the file when it exists.")
def config(
    db: Path | None,
    trust: Path | None,
    inbox: Path | None,
    as_json: bool,
    example: bool,
    out: Path | None,
    force: bool,
) -> None:
    """The settings in effect (paths, limits, watcher, summary, display), each with where it came from:
    default, the file (which one), or an option."""
    if example:
        _write_example(out, force, as_json)
        return
    if out is not None or force:
        raise UsageRefused(_("--out and --force go with --example"))
    chosen = {"db": db, "trust": trust, "inbox": inbox}
    options = {key: (name, chosen[option]) for option, (key, name) in _PATH_OPTIONS.items() if chosen[option]}
    loaded = current_config()
    found = settings_of(loaded, options)
    if as_json:
        source = None if loaded.source is None else str(loaded.source)
        shown = {"file": source, "settings": [setting.to_json() for setting in found]}
        click.echo(json.dumps(shown, ensure_ascii=False, indent=2))
        return
    Console(no_color=bool(os.environ.get("NO_COLOR")) or None, highlight=False).print(_table(found, loaded.source))


def _write_example(out: Path | None, force: bool, as_json: bool) -> None:
    if as_json:
        raise UsageRefused(_("--example writes a toml file; --json does not go with it"))
    text = example_toml()
    if out is None:
        click.echo(text, nl=False)
        return
    shown = for_terminal(str(out))
    if out.exists() and not force:
        raise UsageRefused(_("{path} exists: give --force to replace it").format(path=shown))
    try:
        out.write_text(text, encoding="utf-8")
    except OSError as error:
        raise UsageRefused(
            _("cannot write {path}: {reason}").format(path=shown, reason=error.strerror or error)
        ) from error
    click.echo(_("Wrote {path}: every key at its default, each with a comment.").format(path=shown))


def _table(found: tuple[Setting, ...], source: Path | None) -> Table:
    if source is None:
        title = _("Default settings: no {name} in {folder}, no --config").format(name=CONFIG_NAME, folder=Path.cwd())
    else:
        title = _("Settings read from {path}").format(path=source.absolute())
    table = Table(title=cell(title), title_justify="left")
    for header in (_("Setting"), _("Value"), _("Source")):
        table.add_column(header, overflow="fold")
    for setting in found:
        table.add_row(cell(setting.key), cell(_value(setting.value)), cell(_source(setting)))
    return table


def _source(setting: Setting) -> str:
    if setting.source is Source.FILE:
        return _("file {path}").format(path=setting.origin)
    if setting.source is Source.OPTION:
        return _("option {name}").format(name=setting.origin)
    return _("default")


def _value(value: object) -> str:
    if value is None or value == {}:
        return _("(none)")
    if isinstance(value, Mapping):
        return "\n".join(f"{key} = {item}" for key, item in value.items())
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"  # byte limits are read, not copied
    return str(value)
