"""The ``docflow`` command: a thin click layer over the library.

Each command lives beside the concept it drives; this module only names them. A command's
module is imported when that command runs, so ``docflow ingest`` does not load the report
code, nor ``docflow summary`` the verification engine's PDF reader.
"""

from __future__ import annotations

import importlib
import sqlite3

import click

from docflow import __version__
from docflow.cli.translated import choose_language, translated
from docflow.i18n import LANGUAGES, _, language_from_environment, set_language
from docflow.store.errors import StoreError

_COMMAND_MODULES = {
    "verify": "docflow.cli.verify",
    "ingest": "docflow.cli.ingest",
    "watch": "docflow.cli.watch",
    "batches": "docflow.cli.batches",
    "summary": "docflow.cli.report",
    "units": "docflow.cli.report",
    "certs": "docflow.cli.report",
    "sql": "docflow.cli.sql",
    "audit": "docflow.cli.report",
    "reverify": "docflow.cli.reverify",
    "rollup": "docflow.cli.rollup",
    "export": "docflow.cli.export",
    "demo": "docflow.cli.report",
    "report": "docflow.cli.meeting",
    "config": "docflow.cli.config_cmd",
}
"""Command name → the module defining it (as a click command of the same name)."""


class StoreUnusable(click.ClickException):
    """The store given cannot be used (not a docflow store, damaged, busy, replaced): exit 2, no traceback."""

    exit_code = 2


class _LazyGroup(click.Group):
    def make_context(
        self, info_name: str | None, args: list[str], parent: click.Context | None = None, **extra: object
    ) -> click.Context:
        # Each run speaks the language it asks for, chosen before click parses or says anything.
        if parent is None:
            wanted = choose_language(args, language_from_environment())
            set_language(wanted if wanted in LANGUAGES else language_from_environment())
            self._help_option = None
        return super().make_context(info_name, args, parent, **extra)

    def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        click.Group.format_help(translated(self), ctx, formatter)

    def invoke(self, ctx: click.Context) -> object:
        # One place for every command: wherever a store is opened or written, its faults end here.
        try:
            return super().invoke(ctx)
        except StoreError as error:
            raise StoreUnusable(str(error)) from error
        except sqlite3.DatabaseError as error:
            from docflow.store.core import describe_database_error

            reason = describe_database_error(error)
            if reason is None:
                raise
            raise StoreUnusable(reason) from error
        except Exception as error:
            # The PostgreSQL driver's faults (a server that stopped, a lost connection), without loading it here.
            if not type(error).__module__.startswith("psycopg"):
                raise
            first = (str(error).strip().splitlines() or [type(error).__name__])[0]
            raise StoreUnusable(
                _(
                    "the PostgreSQL store stopped answering or refused ({reason}); nothing of the unfinished step "
                    "was kept: run the command again"
                ).format(reason=first)
            ) from error

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(_COMMAND_MODULES)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        module = _COMMAND_MODULES.get(cmd_name)
        return translated(getattr(importlib.import_module(module), cmd_name)) if module else None


def _chosen_language(ctx: click.Context, parameter: click.Parameter, value: str | None) -> None:
    if value is not None:
        set_language(value)


@click.group(cls=_LazyGroup)
@click.version_option(__version__, prog_name="docflow", help="Show the version and exit.")
@click.option(
    "--lang",
    type=click.Choice(LANGUAGES),
    is_eager=True,
    expose_value=False,
    callback=_chosen_language,
    help="Language of messages: vi (default) or en; DOCFLOW_LANG sets it too.",
)
def main() -> None:
    """Monitor electronic issuance and digital signatures of official documents."""
