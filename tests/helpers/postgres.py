"""A throw-away PostgreSQL server for the tests that run the store on PostgreSQL.

``DOCFLOW_TEST_POSTGRES`` (a ``postgresql://`` URL of a server the tests may create databases on) is used when
set. Otherwise the server's own programs (``initdb``, ``pg_ctl``: on PATH or in Debian's
``/usr/lib/postgresql/<version>/bin``) start one in a temporary folder, listening only on a Unix socket there,
and it is stopped at the end of the run. PostgreSQL refuses to run as root: as root, it runs as the
``postgres`` user Debian's package creates. Where none of this is possible, ``PostgresUnavailable`` says why,
and the tests needing it skip with that reason.
"""

from __future__ import annotations

import itertools
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

__all__ = ["PostgresUnavailable", "PostgresServer", "throwaway_server"]

_ENV = "DOCFLOW_TEST_POSTGRES"


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL server can be had here; the message says why."""


def _program(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    versions = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), key=lambda p: int(p.parts[-3]))
    return str(versions[-1]) if versions else None


def _as_user() -> list[str]:
    """The prefix that runs a server program as a user PostgreSQL accepts."""
    if os.geteuid() != 0:
        return []
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        raise PostgresUnavailable("running as root and there is no 'postgres' user to run the server as") from None
    runuser = shutil.which("runuser")
    if runuser is None:
        raise PostgresUnavailable("running as root and 'runuser' is missing to run the server as 'postgres'")
    return [runuser, "-u", "postgres", "--"]


class PostgresServer:
    """A server the tests own: ``new_database()`` gives each test a database of its own."""

    def __init__(self, base_url: str, maintenance_db: str = "postgres") -> None:
        self.base_url = base_url
        self._maintenance_db = maintenance_db
        self._names = itertools.count(1)

    def url(self, database: str) -> str:
        head, _, query = self.base_url.partition("?")
        head = head.rsplit("/", 1)[0] if head.count("/") > 2 else head
        return f"{head}/{database}" + (f"?{query}" if query else "")

    def new_database(self) -> str:
        import psycopg

        name = f"docflow_test_{os.getpid()}_{next(self._names)}"
        with psycopg.connect(self.url(self._maintenance_db), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


def _run(name: str, command: list[str]) -> None:
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise PostgresUnavailable(f"{name} failed: {done.stderr.strip() or done.stdout.strip()}")


@contextmanager
def throwaway_server(*, durable: bool = False) -> Iterator[PostgresServer]:
    """The server of ``DOCFLOW_TEST_POSTGRES``, or one started here for as long as the context lasts.

    ``durable``: commits reach the disk (``fsync``), as on a real server; the tests' servers skip it."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        raise PostgresUnavailable("psycopg is not installed (pip install 'docflow[postgresql]')") from None
    if os.environ.get(_ENV):
        yield PostgresServer(os.environ[_ENV])
        return
    initdb, pg_ctl = _program("initdb"), _program("pg_ctl")
    if initdb is None or pg_ctl is None:
        raise PostgresUnavailable("no PostgreSQL server programs (initdb, pg_ctl) here; set DOCFLOW_TEST_POSTGRES")
    prefix = _as_user()
    folder = Path(tempfile.mkdtemp(prefix="docflow-pg-"))
    data = folder / "data"
    if prefix:
        shutil.chown(folder, "postgres", "postgres")
    user = pwd.getpwuid(os.geteuid()).pw_name if not prefix else "postgres"
    try:
        _run("initdb", [*prefix, initdb, "-D", str(data), "-A", "trust", "-U", user, "-E", "UTF8", "--no-locale"])
        options = f"-c listen_addresses='' -c unix_socket_directories='{folder}' -c max_connections=60"
        options += "" if durable else " -c fsync=off"
        _run(
            "pg_ctl start", [*prefix, pg_ctl, "-D", str(data), "-o", options, "-l", str(folder / "log"), "-w", "start"]
        )
        try:
            yield PostgresServer(f"postgresql://{quote(user)}@/postgres?host={quote(str(folder))}")
        finally:
            subprocess.run([*prefix, pg_ctl, "-D", str(data), "-m", "immediate", "-w", "stop"],
                           capture_output=True, check=False)  # fmt: skip
    finally:
        shutil.rmtree(folder, ignore_errors=True)
