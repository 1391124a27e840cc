"""SQLite rows written by older code (documents as sorted-key JSON objects) read back the same as new rows.

The store now writes compact positional documents; files imported before must keep working untouched.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from chalicelib.domain.models import Account, Category, Complaint, Post, PostKind, Reply, ReplyKind, Tier
from chalicelib.store import codec
from chalicelib.store.sqlite import SQLiteStore

T0 = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)


def _post() -> Post:
    author = Account("x", "a1", "Zoë", display_name="Zoë Ü", followers=1234, verified=True, url="https://x.com/Zoë")
    return Post("x", "p1", author, T0, "ça ne marche pas @acme", PostKind.REPLY, "t1", "p0", "c9", ("acme",),
                "https://x.com/Zoë/status/p1", "fr")


def _complaint() -> Complaint:
    reply = Reply("x", "r1", "p1", "acme", "AcmeHelp", T0 + timedelta(minutes=3), ReplyKind.DEFLECTION, "https://r")
    return Complaint("x", "p1", "acme", "a1", "Zoë", T0, Tier.NOTABLE, 1234, Category.COMPLAINT, "t1", "https://c",
                     "ça ne marche pas", reply, None, False, "archive")


def _rewrite_as_dicts(store: SQLiteStore) -> None:
    """Turn the stored documents into the object shape older code wrote."""
    db = store._conn
    db.execute("UPDATE posts SET doc = ?", (codec.dumps(codec.post_doc(_post())),))
    c = _complaint()
    db.execute("UPDATE complaints SET doc = ?, first_reply = ?",
               (codec.dumps(codec.complaint_doc(c)), codec.dumps(codec.reply_doc(c.first_reply))))


def test_new_and_old_documents_read_back_as_the_same_objects(tmp_path) -> None:
    # GIVEN a post and a complaint stored now
    store = SQLiteStore(tmp_path / "s.sqlite3")
    store.put_posts([_post()])
    store.put_complaints([_complaint()])
    new_post, new_complaint = store.get_post("x", "p1"), store.get_complaint("x", "p1")
    new_count = store.count_complaints("acme", since=T0, until=T0 + timedelta(days=1), source="archive")

    # WHEN the same rows hold documents in the older object shape
    _rewrite_as_dicts(store)
    old_post, old_complaint = store.get_post("x", "p1"), store.get_complaint("x", "p1")
    old_count = store.count_complaints("acme", since=T0, until=T0 + timedelta(days=1), source="archive")
    store.close()

    # THEN both shapes decode to the objects that were stored (the author's verified_type is not kept)
    assert new_post == old_post == replace(_post(), author=replace(_post().author, verified_type=None))
    assert new_complaint == old_complaint == _complaint()
    assert new_count == old_count == (1, 1, 1, {"notable": 1})
