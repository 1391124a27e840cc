"""Store errors, raised identically by every backend so callers handle what happened, not which library noticed.

* StoreError
  + InvalidCursor        a pagination cursor that is malformed or was made for other filters (also a ValueError)
  + NotFound             an item that must exist does not
  + StoreUnavailable     the backend cannot be reached, is throttling, or its table/file is missing
  + IncompatibleSchema   the SQLite file was written by a newer version of Fair Reply
"""

from __future__ import annotations


class StoreError(Exception):
    """Base class for every error a store raises."""


class InvalidCursor(StoreError, ValueError):
    """A cursor that this store did not issue, or issued for a different query; the message names it."""

    def __init__(self, cursor: str, reason: str) -> None:
        self.cursor = cursor
        self.reason = reason
        shown = cursor if len(cursor) <= 80 else cursor[:77] + "..."
        super().__init__(f"invalid cursor {shown!r}: {reason}")


class NotFound(StoreError):
    """The item an operation needs is not stored."""


class StoreUnavailable(StoreError):
    """The backend failed for a reason a retry may fix (network, throttling, locked or missing storage)."""


class IncompatibleSchema(StoreError):
    """The database schema is newer than this code understands; upgrade the code, never downgrade the data."""
