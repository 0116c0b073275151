"""Why a store cannot be used: the one error type every command turns into a plain message and exit 2.

Kept apart from ``docflow.store.core`` so that the command line can catch it without loading the store's code.
"""

from __future__ import annotations

from docflow.i18n import N_

__all__ = ["CONFLICT_MESSAGE", "StoreError", "StoreBusy", "StoreConflict", "StoreMissing", "StoreReplaced"]


class StoreError(Exception):
    """The store file cannot be used: not a docflow store, newer than this docflow, busy or replaced."""


class StoreBusy(StoreError):
    """Another docflow held the write lock for longer than docflow waits; nothing was written."""


class StoreReplaced(StoreError):
    """The store's file was moved, replaced or deleted while this process had it open."""


class StoreMissing(StoreError):
    """There is no store at the path a reading command was given."""


CONFLICT_MESSAGE = N_(
    "another docflow was writing the same documents or batch at the same moment each time this batch was tried; "
    "nothing of it was kept: run the command again (docflow watch takes it again by itself)"
)
"""What a write conflict on PostgreSQL says, once ``docflow.ingest.run`` has stopped taking the batch again."""


class StoreConflict(StoreBusy):
    """On PostgreSQL: another docflow wrote the same rows at the same moment (the same new document or batch, or a
    deadlock the server broke); this transaction was rolled back whole and can be taken again."""
