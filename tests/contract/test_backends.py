"""What each backend adds beyond the contract: SQLite migrations and files, DynamoDB errors, the factory."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import threading
from datetime import timedelta
from pathlib import Path

import pytest

from chalicelib.config import Settings
from chalicelib.store import StoreUnavailable, codec, open_store
from chalicelib.store.errors import IncompatibleSchema
from chalicelib.store.sqlite import MIGRATIONS, SCHEMA_VERSION, SQLiteStore, connect, migrate
from contract.builders import T0, make_complaint, make_post, make_reply

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_sqlite_file_and_directory_are_created_on_first_use_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "store.sqlite3"
    with SQLiteStore(path):
        pass
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == len(MIGRATIONS)


def test_an_old_version_file_is_migrated_and_keeps_its_data(tmp_path: Path) -> None:
    # GIVEN a file at schema version 1 holding a complaint, written as version 1 wrote them
    path = tmp_path / "old.sqlite3"
    conn = connect(path)
    assert migrate(conn, target=1) == 1
    complaint = make_complaint("old-1")
    conn.execute(
        "INSERT INTO complaints (platform, post_id, company, created_at, tier, category, deleted, doc) "
        "VALUES (?, ?, ?, ?, ?, ?, 0, ?)",
        ("x", "old-1", "acme", codec.to_us(complaint.created_at), "ordinary", "complaint",
         json.dumps(codec.complaint_doc(complaint))),
    )
    conn.close()

    # WHEN the current code opens it
    with SQLiteStore(path) as store:
        # THEN the schema is current, the old complaint reads back, and later features work on it
        assert store.get_complaint("x", "old-1") == complaint
        assert store.changed_complaints("acme")[0] == [complaint]
        _, seq = store.changed_complaints("acme")
        assert store.record_reply(make_reply(complaint, "r", 5))
        assert [c.post_id for c in store.changed_complaints("acme", after=seq)[0]] == ["old-1"]
        store.set_horizon("acme", "x", T0)
    assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_a_file_from_a_newer_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "new.sqlite3"
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(IncompatibleSchema, match="newer"):
        SQLiteStore(path)


def test_two_sqlite_stores_on_one_file_agree_on_the_earliest_reply(tmp_path: Path) -> None:
    # GIVEN two stores (as a server and an import process would open) on one file
    path = tmp_path / "shared.sqlite3"
    first, second = SQLiteStore(path), SQLiteStore(path)
    complaint = make_complaint()
    first.put_complaints([complaint])
    replies = [make_reply(complaint, f"r{i}", 30 - i) for i in range(20)]

    # WHEN each records the replies concurrently, in opposite orders
    threads = [
        threading.Thread(target=lambda s=s, rs=rs: [s.record_reply(r) for r in rs])
        for s, rs in ((first, replies), (second, replies[::-1]))
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    # THEN both see the earliest
    assert first.get_complaint("x", complaint.post_id).first_reply == replies[-1]
    assert second.get_complaint("x", complaint.post_id).first_reply == replies[-1]
    first.close()
    second.close()


def test_bulk_post_import_is_one_pass(tmp_path: Path) -> None:
    # GIVEN many posts (archive imports go through put_posts), some repeated
    posts = [make_post(f"bulk{i}", at=T0 + timedelta(seconds=i), thread_id=f"t{i % 50}") for i in range(20_000)]
    with SQLiteStore(tmp_path / "bulk.sqlite3") as store:
        # WHEN imported twice, streamed from a generator
        assert store.put_posts(p for p in posts) == len(posts)
        assert store.put_posts(iter(posts[:1000])) == 0
        # THEN everything is there once
        assert len(store.thread_posts("x", "t7")) == 400


def test_unopenable_sqlite_path_is_store_unavailable(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(StoreUnavailable):
        SQLiteStore(blocker / "store.sqlite3")


def test_missing_dynamodb_table_is_store_unavailable(dynamodb_client) -> None:
    from chalicelib.store.dynamodb import DynamoDBStore

    store = DynamoDBStore(dynamodb_client, "no-such-table")
    with pytest.raises(StoreUnavailable, match="no-such-table"):
        store.get_post("x", "1")


def test_factory_opens_sqlite_under_the_data_dir(tmp_path: Path) -> None:
    settings = Settings(store="sqlite", data_dir=tmp_path / "data")
    with open_store(settings) as store:
        assert isinstance(store, SQLiteStore)
        store.put_posts([make_post("f1")])
    assert settings.sqlite_path.exists()


def test_factory_opens_dynamodb_table(dynamodb_client) -> None:
    from chalicelib.store.dynamodb import DynamoDBStore, create_table

    create_table(dynamodb_client, "factory-table")
    store = open_store(Settings(store="dynamodb", table_name="factory-table"))
    assert isinstance(store, DynamoDBStore)
    assert store.put_posts([make_post("f2")]) == 1


def test_importing_the_store_package_does_not_import_boto3() -> None:
    # Lambda cold starts pay for every import; boto3 must load only when DynamoDB is asked for.
    code = "import sys, chalicelib.store, chalicelib.store.sqlite; print('boto3' in sys.modules or 'botocore' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
