"""One ``store`` fixture over every backend, so the same assertions prove both interchangeable."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import pytest

from chalicelib.store.base import Store
from chalicelib.store.sqlite import SQLiteStore

# Small, so that the DynamoDB suite writes multi-part snapshots without moto handling megabytes.
SNAPSHOT_CHUNK = 2048
_tables = itertools.count(1)


@pytest.fixture(scope="package")
def dynamodb_client() -> Iterator[Any]:
    """One moto-mocked DynamoDB for this package (starting moto per test costs about a second each)."""
    with pytest.MonkeyPatch.context() as mp:
        for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
            mp.setenv(name, "testing")
        mp.setenv("AWS_DEFAULT_REGION", "us-east-1")
        import boto3
        from moto import mock_aws

        with mock_aws():
            yield boto3.client("dynamodb", region_name="us-east-1")


@pytest.fixture(params=["sqlite", "dynamodb"])
def store(request: pytest.FixtureRequest, tmp_path) -> Iterator[Store]:
    if request.param == "sqlite":
        s = SQLiteStore(tmp_path / "nested" / "store.sqlite3")
        yield s
        s.close()
        return
    from chalicelib.store.dynamodb import DynamoDBStore, create_table

    client = request.getfixturevalue("dynamodb_client")
    table = f"fair-reply-contract-{next(_tables)}"  # a fresh table per test keeps tests independent
    create_table(client, table)
    yield DynamoDBStore(client, table, snapshot_chunk_bytes=SNAPSHOT_CHUNK)
    client.delete_table(TableName=table)
