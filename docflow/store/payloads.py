"""The signed files kept beside the store, content-addressed, for re-verification to judge them again.

``<store file>.payloads/ab/<sha256>``: one file per SHA-256 (a detached signature's content too, under its own),
written whole or not at all (a temporary file in the same folder, flushed to disk, then renamed), and always
before the transaction recording its signatures commits (``Store.transaction``), so a stored signature never
names a file that a crash lost. A file already there is not written again. Reading one re-hashes it: a file
that no longer has its name's SHA-256 is reported damaged, never judged.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

__all__ = ["PayloadStore", "Unavailable", "payload_directory"]


@dataclass(frozen=True)
class Unavailable:
    """A kept file that cannot be read back; ``reason`` says what happened and what to do."""

    reason: str


def payload_directory(store_file: Path) -> Path:
    """Where the signed files of the store at ``store_file`` are kept."""
    return store_file.with_name(store_file.name + ".payloads")


class PayloadStore:
    """The folder of kept signed files of one store.

    ``put`` writes a file under a temporary name; ``sync`` (called by ``Store`` just before each commit) makes
    every file written since durable and only then gives it its name: flushing them together costs a quarter of
    flushing each as it comes, and a file under its SHA-256 is always whole. ``discard`` (on rollback) removes
    the temporary files.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._pending: dict[Path, Path] = {}
        """Final path → its temporary file, written since the last ``sync``."""

    def path_of(self, sha256: str) -> Path:
        return Path(self._file(sha256))

    def _file(self, sha256: str) -> str:
        # The one place the layout is written. A plain string: pathlib's joins cost as much as reading a small
        # file, and re-verification reads two per signature (profiled).
        return os.path.join(self.directory, sha256[:2], sha256)

    def put(self, sha256: str, data: bytes) -> bool:
        """Keep ``data`` (whose SHA-256 the caller computed) unless it is kept already; whether it was written."""
        target = self.path_of(sha256)
        if target in self._pending or target.exists():
            return False
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        try:
            with os.fdopen(handle, "wb") as file:
                file.write(data)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        self._pending[target] = Path(temporary)
        return True

    def sync(self) -> None:
        """Flush the files written since the last call to disk, then name them (each folder flushed after)."""
        pending, self._pending = self._pending, {}
        for temporary in pending.values():
            _fsync(temporary)
        for target, temporary in pending.items():
            os.replace(temporary, target)
        for folder in {target.parent for target in pending}:
            _fsync(folder)

    def discard(self) -> None:
        """Forget the files written since the last ``sync`` (their transaction was rolled back)."""
        pending, self._pending = self._pending, {}
        for temporary in pending.values():
            temporary.unlink(missing_ok=True)

    def get(self, sha256: str) -> bytes | Unavailable:
        path = self._file(sha256)
        try:
            with open(path, "rb") as file:
                data = file.read()
        except FileNotFoundError:
            return Unavailable(f"the kept signed file {path} is missing: restore {self.directory} from a backup")
        except OSError as error:
            return Unavailable(
                f"the kept signed file {path} cannot be read ({error.strerror or error}): "
                f"check {self.directory} and its permissions, or restore it from a backup"
            )
        if hashlib.sha256(data).hexdigest() != sha256:
            return Unavailable(
                f"the kept signed file {path} is damaged (its SHA-256 no longer matches): "
                f"restore {self.directory} from a backup"
            )
        return data


def _fsync(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
