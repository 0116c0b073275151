"""``--db`` for every command on a store: an SQLite file, or a PostgreSQL database.

The value is kept as text until ``docflow.store.location`` reads it, so that a ``postgresql://`` URL reaches
the driver whole. Without ``--db``: ``[store] url`` from docflow.toml, else ``[paths] db``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit

import click

from docflow.cli.options import current_config
from docflow.reports.audit import ReadOnlyError, open_readonly
from docflow.store.location import StoreLocation, parse_location

__all__ = ["LOCATION_HELP", "location_option", "chosen_location", "payload_folder", "reading", "store_target"]

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


@contextmanager
def reading(db: str | StoreLocation | None, *, national_ok: bool = False) -> Iterator[sqlite3.Connection]:
    """The chosen province store, read-only (``open_readonly``, on either engine); ``national_ok``: a national
    store (``docflow rollup``'s) too, for ``docflow sql``. A missing store is a plain message and exit 1."""
    location = db if isinstance(db, StoreLocation) else chosen_location(db)
    try:
        conn = open_readonly(location, national_ok=national_ok)
    except ReadOnlyError as error:
        raise click.ClickException(str(error)) from error
    try:
        yield conn
    finally:
        conn.close()


def store_target(db: str | None) -> Path | str:
    """What ``Store.open`` takes for the chosen store: the SQLite file, or the PostgreSQL URL."""
    location = chosen_location(db)
    return location.path if location.path is not None else location.url or ""


def payload_folder(target: Path | str) -> Path | None:
    """Where the store ``target`` keeps its signed files, for ``Store.open``: None for an SQLite file, which keeps
    them beside itself; ``[store] payloads`` for a PostgreSQL store, else ``<database>.payloads`` beside
    ``[paths] db``."""
    if isinstance(target, Path):
        return None
    config = current_config()
    if config.store_payloads is not None:
        return config.store_payloads
    database = urlsplit(target).path.strip("/") or "docflow"
    return Path(config.db_path).parent / f"{database}.payloads"
