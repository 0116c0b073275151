"""File names as the file system gives them, and as people read them.

Linux allows any bytes but ``/`` and NUL in a name; Python hands a name that is not UTF-8 over as
text with "surrogate escapes", which SQLite, JSON and terminals cannot take. Such a file is still
moved and filed under its own bytes; wherever a person reads its name (the store, receipts, logs,
``--json``), each byte that is not UTF-8 is written as ``\\xNN``: ``b"bad\\xff.zip"`` reads ``bad\\xff.zip``.
"""

from __future__ import annotations

__all__ = ["readable_name", "name_bytes"]


def name_bytes(name: str) -> bytes:
    """The bytes of a name as the file system holds them."""
    try:
        return name.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a lone surrogate that no file system produced: keep it visible
        return name.encode("utf-8", "backslashreplace")


def readable_name(name: str) -> str:
    """``name`` unchanged when it is valid text; otherwise with each byte that is not UTF-8 as ``\\xNN``."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return name_bytes(name).decode("utf-8", "backslashreplace")
    return name
