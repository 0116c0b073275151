"""``--db`` for the commands that run on PostgreSQL as well as SQLite (``rollup``, ``summary``, ``sql``).

The value is kept as text until ``docflow.store.location`` reads it, so that a ``postgresql://`` URL reaches
the driver whole. Without ``--db``: ``[store] url`` from docflow.toml, else ``[paths] db``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import click

from docflow.cli.options import current_config
from docflow.store.location import StoreLocation, parse_location

__all__ = ["LOCATION_HELP", "location_option", "chosen_location"]

F = TypeVar("F", bound=Callable[..., object])

LOCATION_HELP = (
    "Store: an SQLite file, or a PostgreSQL database as postgresql://user@host/database "
    "(default: [store] url, else [paths] db in docflow.toml, else docflow.db here)."
)


def location_option(function: F) -> F:
    return click.option("--db", "db", default=None, metavar="FILE|URL", help=LOCATION_HELP)(function)


def chosen_location(db: str | None) -> StoreLocation:
    """The store ``--db`` names, else the one docflow.toml names."""
    if db:
        return parse_location(db)
    config = current_config()
    return parse_location(config.store_url) if config.store_url else parse_location(config.db_path)
