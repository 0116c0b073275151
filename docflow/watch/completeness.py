"""Whether a dropped file may still be arriving: the completeness rule the watcher states to clerks.

A batch is judged only once it is complete, and docflow cannot see a copy end; it can only see what
a copy leaves behind. So a batch is taken when one of these holds (``docs/batch-format.md``):

- it arrived under a temporary name and was renamed (``docflow.readers.archive.is_temporary``), or a
  ``NAME.done`` marker appeared beside it: the writer said it is complete, so it is taken at once;
- it stayed unchanged (size and modification time of every file) for the quiet period, and does not
  read as cut short;
- it reads as cut short (a zip without its central directory, XML or PDF that stops early) but has
  stayed unchanged for the longer grace period: then it is what the sender sent, and is judged.

The look for a cut-short file reads only its ends (a zip's or PDF's tail, an XML file's first and last
few kilobytes), so it costs the same for any size; it is a hint to wait, never a verdict.
"""

from __future__ import annotations

import os
import re
import stat
import zipfile
from pathlib import Path

from docflow.readers.archive import member_kind
from docflow.readers.identity import open_regular

__all__ = ["DONE_SUFFIX", "cut_short", "is_done_marker", "marked_batch"]

DONE_SUFFIX = ".done"
"""``NAME.done`` beside ``NAME``: the writer says ``NAME`` is complete."""

_TAIL = 4096
_HEAD = 4096
_ROOT = re.compile(rb"<([A-Za-z_][\w.:-]*)")


def is_done_marker(name: str) -> bool:
    return name.lower().endswith(DONE_SUFFIX) and len(name) > len(DONE_SUFFIX)


def marked_batch(marker: str) -> str:
    """The batch a ``NAME.done`` marker stands for."""
    return marker[: -len(DONE_SUFFIX)]


def cut_short(path: Path) -> str | None:
    """Why ``path`` looks like a copy that stopped part-way, or None (a folder: the first such file)."""
    try:
        if path.is_symlink() or not path.is_dir():
            return _file_cut_short(path, path.name)
        for root, _dirs, names in os.walk(path):
            for name in sorted(names):
                full = Path(root, name)
                if (reason := _file_cut_short(full, name)) is not None:
                    return f"{full.relative_to(path).as_posix()}: {reason}"
    except OSError:
        return None  # gone or unreadable: the reader says so with a reason
    return None


def _file_cut_short(path: Path, name: str) -> str | None:
    # Only ordinary files are looked into: opening a pipe blocks, a link is never followed.
    if not stat.S_ISREG(path.lstat().st_mode):
        return None
    kind = member_kind(name)
    if kind == "zip":
        return None if _has_central_directory(path) else "the zip has no central directory yet"
    if kind == "pdf":
        return None if b"%%EOF" in _tail(path) else "the PDF does not end with %%EOF yet"
    if kind == "edxml":
        return _xml_cut_short(path)
    return None


def _has_central_directory(path: Path) -> bool:
    # zipfile looks only for the end-of-central-directory record near the end of the file.
    return path.stat().st_size > 0 and zipfile.is_zipfile(path)


def _tail(path: Path) -> bytes:
    with open_regular(path) as (stream, _status):
        size = stream.seek(0, os.SEEK_END)
        stream.seek(max(0, size - _TAIL))
        return stream.read()


def _xml_cut_short(path: Path) -> str | None:
    """XML whose last bytes are not the end of its root element; only ASCII-compatible encodings are judged."""
    with open_regular(path) as (stream, _status):
        head = stream.read(_HEAD)
    if not head.lstrip().startswith(b"<") or b"\0" in head[:4]:
        return None  # base64, UTF-16 or not XML: the reader decides
    root = next((match.group(1) for match in _ROOT.finditer(head)), None)
    if root is None:
        return "the XML stops before its first element"
    tail = _tail(path).rstrip()
    if not tail.endswith(b">"):
        return "the XML stops in the middle of an element"
    if b"</" + root + b">" in tail or b"</" + root + b" " in tail or tail.endswith(b"/>") and tail.count(b"<") <= 2:
        return None
    return f"the XML stops before the end of <{root.decode('ascii', 'replace')}>"
