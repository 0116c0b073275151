"""Where a store lives: an SQLite file (a province's embedded default) or a PostgreSQL database (``postgresql://``).

One reading of ``--db`` and ``[store] url`` for every command, so that a URL is never taken for a file name
(``Path`` would fold its ``//``), and a password in it is never printed.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

__all__ = ["Dialect", "StoreLocation", "parse_location", "is_server_url"]

_SERVER_SCHEMES = ("postgresql", "postgres")


class Dialect(str, enum.Enum):
    SQLITE = "sqlite"
    POSTGRESQL = "postgresql"


def is_server_url(text: str) -> bool:
    """``text`` names a PostgreSQL database, not a file (``postgresql://…`` or ``postgres://…``)."""
    return re.match(r"(?i)(postgresql|postgres)://", text) is not None


@dataclass(frozen=True)
class StoreLocation:
    dialect: Dialect
    path: Path | None = None
    """The SQLite file (``Dialect.SQLITE``)."""
    url: str | None = None
    """The libpq connection URL, as given (``Dialect.POSTGRESQL``)."""

    @property
    def shown(self) -> str:
        """For people and logs: the file, or the URL with its password replaced by ``***``."""
        if self.path is not None:
            return str(self.path)
        parts = urlsplit(self.url or "")
        if parts.password is not None:
            host = parts.netloc.rsplit("@", 1)[1]
            parts = parts._replace(netloc=f"{parts.username or ''}:***@{host}")
        # libpq also takes the password as a parameter: ?password=…
        query = "&".join(
            "password=***" if pair.split("=", 1)[0].lower() == "password" else pair for pair in parts.query.split("&")
        )
        return urlunsplit(parts._replace(query=query))


def parse_location(value: str | Path) -> StoreLocation:
    """A ``--db`` value or ``[store] url``: a PostgreSQL URL, else a file path."""
    text = str(value)
    if isinstance(value, str) and is_server_url(text):
        scheme, rest = text.split("://", 1)
        return StoreLocation(Dialect.POSTGRESQL, url=f"{scheme.lower()}://{rest}")
    return StoreLocation(Dialect.SQLITE, path=Path(value))
