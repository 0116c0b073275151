"""Bounds on what one batch may make docflow read (``[limits]`` in docflow.toml).

Apart from the readers so that the configuration can name them without importing any reader.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Limits", "size_text", "MiB"]

MiB = 1 << 20
_GiB = 1 << 30


@dataclass(frozen=True)
class Limits:
    """Bounds on what one batch may make docflow read (``[limits]`` in docflow.toml)."""

    max_batch_bytes: int = 2 * _GiB
    """The batch file (or a folder's files together) on disk."""
    max_member_bytes: int = 200 * MiB
    """One file inside the batch, unpacked; also bounds a decoded edXML attachment."""
    max_total_uncompressed_bytes: int = 4 * _GiB
    """Everything the batch unpacks to, nested zips included."""
    max_compression_ratio: float = 200.0
    """Unpacked size / packed size of one zip member, checked above ``ratio_checked_above_bytes``."""
    max_members: int = 100_000
    """Files in one zip."""
    max_zip_depth: int = 2
    """A batch zip holding zips is depth 2; deeper nesting is refused."""
    max_field_chars: int = 10_000
    """One text field of a register row or an edXML element."""
    max_xml_bytes: int = 300 * MiB
    """One edXML file; it is parsed in memory, base64 attachments included."""
    ratio_checked_above_bytes: int = MiB
    """Small files (a page of blanks) compress very well without being bombs."""


def size_text(count: float) -> str:
    """A byte count as a person reads it (``3.2 MiB``, ``512 bytes``)."""
    return f"{count / MiB:,.1f} MiB" if count >= MiB else f"{int(count):,} bytes"
