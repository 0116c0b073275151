"""Which watchdog observer hears the inbox: native events where they can be trusted, polling elsewhere.

On a network share (NFS, SMB/CIFS, sshfs and other FUSE file systems) the kernel hears only what
this machine writes: a file a clerk copies from another machine raises no event at all. Such an
inbox is polled. Either way the watcher also rescans the inbox on its own (``rescan_seconds``),
since even native events can be lost without a word (an inotify queue overflow).
"""

from __future__ import annotations

import os
from enum import StrEnum
from pathlib import Path

__all__ = ["ObserverChoice", "NETWORK_FILE_SYSTEMS", "file_system_type", "uses_polling"]

NETWORK_FILE_SYSTEMS = frozenset(
    {
        "nfs", "nfs4", "cifs", "smb", "smb2", "smb3", "smbfs", "9p", "afs", "ceph", "glusterfs", "lustre",
        "gpfs", "ocfs2", "gfs2", "davfs", "vboxsf", "vmhgfs", "virtiofs",
    }
)  # fmt: skip
"""File-system types whose changes may come from another machine; ``fuse.*`` types count too (sshfs, rclone)."""

_MOUNTS = Path("/proc/mounts")


class ObserverChoice(StrEnum):
    """``[watch] observer``."""

    AUTO = "auto"
    NATIVE = "native"
    POLLING = "polling"


def uses_polling(choice: ObserverChoice, inbox: Path, mounts: Path = _MOUNTS) -> bool:
    if choice is not ObserverChoice.AUTO:
        return choice is ObserverChoice.POLLING
    kind = file_system_type(inbox, mounts)
    return kind is not None and (kind in NETWORK_FILE_SYSTEMS or kind.startswith("fuse.") or kind == "fuse")


def file_system_type(path: Path, mounts: Path = _MOUNTS) -> str | None:
    """The type of the file system holding ``path`` (the longest mount point above it), None when unknown."""
    try:
        lines = mounts.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None  # not Linux: native events, as before
    where = os.path.realpath(path)
    best: tuple[int, str] | None = None
    for line in lines:
        fields = line.split()
        if len(fields) < 3:
            continue
        point = _unescape(fields[1])
        inside = where == point or where.startswith(point.rstrip("/") + "/")
        if inside and (best is None or len(point) > best[0]):
            best = (len(point), fields[2])
    return best[1] if best else None


def _unescape(field: str) -> str:
    # /proc/mounts writes a space in a mount point as \040 (and tab, newline, backslash alike).
    return field.replace("\\040", " ").replace("\\011", "\t").replace("\\012", "\n").replace("\\134", "\\")
