"""Storage: one narrow interface (:class:`Store`), two backends (SQLite file, DynamoDB single table).

Importing this package never imports boto3: the DynamoDB backend is loaded only when asked for, because
Lambda cold starts pay for every import.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.store.base import Page, Store
from chalicelib.store.errors import IncompatibleSchema, InvalidCursor, NotFound, StoreError, StoreUnavailable

if TYPE_CHECKING:
    from chalicelib.config import Settings

__all__ = [
    "IncompatibleSchema", "InvalidCursor", "NotFound", "Page", "Store", "StoreError", "StoreUnavailable", "open_store",
]


def open_store(settings: Settings) -> Store:
    """The store ``settings.store`` names: SQLite at ``settings.sqlite_path`` or the DynamoDB table."""
    if settings.store == "dynamodb":
        import boto3

        from chalicelib.store.dynamodb import DynamoDBStore

        return DynamoDBStore(boto3.client("dynamodb"), settings.table_name)
    from chalicelib.store.sqlite import SQLiteStore

    return SQLiteStore(settings.sqlite_path)
