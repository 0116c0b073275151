"""What every command shares: ``--config FILE`` and the configuration it names.

Without ``--config`` a command reads ``docflow.toml`` in the working directory when there is one, else the
defaults (``docflow.config.load_config``). The option is read before the command runs and the file loaded
once per run; ``current_config()`` hands the same ``Config`` to whatever part of the command asks.
A named file that is missing, unreadable or wrong stops the command with exit 2 and the reason, before
anything is opened or written.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import click

from docflow.config import Config, ConfigError, ConfigRefused, load_config

__all__ = ["CONFIG_HELP", "config_option", "current_config", "config_file_given"]

F = TypeVar("F", bound=Callable[..., object])

CONFIG_HELP = "Settings file to read instead of docflow.toml in the working directory."
_LOADED = "docflow.config"
_GIVEN = "docflow.config_file"


def _load(path: Path | None) -> Config:
    try:
        return load_config(path)
    except ConfigError as error:
        raise ConfigRefused(str(error)) from error


def _remember(ctx: click.Context, _parameter: click.Parameter, value: Path | None) -> None:
    # ``meta`` is shared by a command and its group: ``docflow --config F units import …`` and
    # ``docflow units import … --config F`` read the same file.
    if value is not None:
        ctx.meta[_GIVEN] = value
        ctx.meta[_LOADED] = _load(value)


def config_option(function: F) -> F:
    """``--config FILE`` on a command or group; read it back with :func:`current_config`."""
    return click.option(
        "--config",
        "config_file",
        type=click.Path(dir_okay=True, path_type=Path),
        metavar="FILE",
        default=None,
        expose_value=False,
        callback=_remember,
        help=CONFIG_HELP,
    )(function)


def current_config() -> Config:
    """The configuration of this run: the ``--config`` file, else ``docflow.toml`` here, else the defaults."""
    ctx = click.get_current_context(silent=True)
    if ctx is None:
        return _load(None)
    loaded = ctx.meta.get(_LOADED)
    if not isinstance(loaded, Config):
        loaded = ctx.meta[_LOADED] = _load(None)
    return loaded


def config_file_given() -> Path | None:
    """The file ``--config`` named in this run, or None."""
    ctx = click.get_current_context(silent=True)
    given = ctx.meta.get(_GIVEN) if ctx is not None else None
    return given if isinstance(given, Path) else None
