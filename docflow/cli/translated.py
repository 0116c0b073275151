"""Commands shown in the reader's language: help texts are English in the code, translated when shown.

A command's and option's help are plain strings in click's decorators, fixed when the module is imported,
before ``--lang`` is read; so they are translated at the last moment, on a shallow copy of the command that
``docflow.cli._LazyGroup`` hands out (the originals stay English, so one process can serve both languages, as
the tests do). The catalog tools (``docflow.cli.catalog``) collect the same strings by walking the same tree.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import TypeVar

import click

from docflow.i18n import gettext, language

__all__ = ["translated", "help_texts", "choose_language"]

C = TypeVar("C", bound=click.Command)


def translated(command: C) -> C:
    """``command`` with its help, its options' help and its subcommands' help in the current language."""
    if language() == "en":
        return command
    clone = copy.copy(command)
    for attribute in ("help", "short_help", "epilog"):
        text = getattr(command, attribute)
        if text:
            setattr(clone, attribute, gettext(text))
    clone.params = [_translated_parameter(parameter) for parameter in command.params]
    # click caches the --help option on the command; the copy builds its own, in today's language.
    if hasattr(clone, "_help_option"):
        clone._help_option = None
    if isinstance(command, click.Group) and isinstance(clone, click.Group):
        clone.commands = {name: translated(sub) for name, sub in command.commands.items()}
    return clone


def _translated_parameter(parameter: click.Parameter) -> click.Parameter:
    help_text = getattr(parameter, "help", None)
    if not help_text:
        return parameter
    clone = copy.copy(parameter)
    clone.help = gettext(help_text)
    return clone


def help_texts(command: click.Command, path: str) -> Iterator[tuple[str, str]]:
    """(text, where) for every help text of ``command`` and its subcommands, for the catalog."""
    for text in (command.help, command.short_help, command.epilog):
        if text:
            yield text, path
    for parameter in command.params:
        help_text = getattr(parameter, "help", None)
        if help_text:
            yield help_text, f"{path} {parameter.opts[-1]}"
    if isinstance(command, click.Group):
        for name, sub in command.commands.items():
            yield from help_texts(sub, f"{path} {name}")


def choose_language(args: list[str], environment_choice: str) -> str:
    """The language a command line asks for: ``--lang X`` / ``--lang=X`` before the command name, else the
    environment's. Read before click parses, so that click's own words (the usage line, its errors) and the
    help of ``--help`` come out in that language too. An unknown value is left for click to refuse."""
    for position, word in enumerate(args):
        if word == "--lang" and position + 1 < len(args):
            return args[position + 1]
        if word.startswith("--lang="):
            return word.partition("=")[2]
        if not word.startswith("-"):
            break
    return environment_choice
