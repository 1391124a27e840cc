"""Bulk reads and batches: the same answers as the one-at-a-time primitives, on every backend.

The ingest path reads whole levels of reply trees and whole sets of threads at once, and groups its writes in
``batch()``; each bulk primitive must agree exactly with the single-key primitive it replaces.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from chalicelib.domain.models import Category
from chalicelib.store.base import Store
from chalicelib.store.sqlite import IN_CHUNK
from contract.builders import T0, make_complaint, make_post, make_reply


def _forest() -> list:
    """Two threads with ids, one reply chain without, a post on another platform with a clashing id."""
    return [
        make_post("t1", at=T0, thread_id="t1"),
        make_post("t1-b", at=T0 + timedelta(minutes=2), thread_id="t1", in_reply_to="t1"),
        make_post("t1-a", at=T0 + timedelta(minutes=1), thread_id="t1", in_reply_to="t1"),
        make_post("t2", at=T0, thread_id="t2"),
        make_post("c0", at=T0),
        make_post("c1", at=T0 + timedelta(minutes=1), in_reply_to="c0"),
        make_post("c2", at=T0 + timedelta(minutes=2), in_reply_to="c1"),
        make_post("c3", at=T0 + timedelta(minutes=1), in_reply_to="c0", deleted=True),
        make_post("t1", platform="mastodon", thread_id="t1", in_reply_to="c0"),
    ]


def test_get_posts_agrees_with_get_post(store: Store) -> None:
    # GIVEN stored posts on two platforms
    store.put_posts(_forest())
    wanted = ["t1", "c3", "missing", "c1", "t1"]

    # WHEN they are read in bulk (with an unknown id and a repeated one)
    found = store.get_posts("x", wanted)

    # THEN every stored id maps to exactly what get_post returns, unknown ids are absent
    assert found == {i: store.get_post("x", i) for i in wanted if store.get_post("x", i) is not None}
    assert set(found) == {"t1", "c3", "c1"}
    assert found["c3"].deleted and found["t1"].platform == "x"
    assert store.get_posts("x", []) == {}


def test_thread_posts_many_agrees_with_thread_posts(store: Store) -> None:
    store.put_posts(_forest())
    found = store.thread_posts_many("x", ["t1", "t2", "nothing"])
    assert found == {t: store.thread_posts("x", t) for t in ("t1", "t2", "nothing")}
    assert [p.post_id for p in found["t1"]] == ["t1", "t1-a", "t1-b"]  # oldest first
    assert found["nothing"] == []


def test_posts_replying_to_any_agrees_with_posts_replying_to(store: Store) -> None:
    store.put_posts(_forest())
    parents = ["c0", "c1", "c2", "t1"]
    found = store.posts_replying_to_any("x", parents)
    assert found == {p: store.posts_replying_to("x", p) for p in parents}
    assert [p.post_id for p in found["c0"]] == ["c1", "c3"]  # the other platform's reply to c0 is not here
    assert found["c2"] == []
    assert [p.post_id for p in store.posts_replying_to_any("mastodon", ["c0"])["c0"]] == ["t1"]


def test_bulk_reads_span_many_chunks(store: Store) -> None:
    # GIVEN more replies than one bulk query carries
    n = IN_CHUNK + 37
    posts = [make_post(f"p{i}", at=T0 + timedelta(seconds=i), thread_id=f"th{i % 3}") for i in range(n)]
    store.put_posts(posts)
    ids = [p.post_id for p in posts]

    # WHEN they are read in bulk THEN nothing is lost at chunk borders
    assert set(store.get_posts("x", ids)) == set(ids)
    threads = store.thread_posts_many("x", [f"th{k}" for k in range(3)])
    assert sorted(p.post_id for posts in threads.values() for p in posts) == sorted(ids)


def test_a_batch_sees_its_own_writes_and_keeps_them(store: Store) -> None:
    # GIVEN a batch that stores posts and a complaint, and reads them back inside the batch
    complaint = make_complaint()
    with store.batch():
        assert store.put_posts(_forest()) == len(_forest())
        assert store.put_complaints([complaint]) == 1
        inside = store.thread_posts_many("x", ["t1"])["t1"]
        deleted_inside = store.get_posts("x", ["c3"])["c3"]

    # THEN reads inside agreed with reads after it ended
    assert inside == store.thread_posts("x", "t1")
    assert deleted_inside == store.get_post("x", "c3")
    assert store.get_complaint("x", complaint.post_id) == complaint


def test_a_deletion_inside_a_batch_is_what_reads_see(store: Store) -> None:
    post = make_post("d1", thread_id="d1")
    with store.batch():
        store.put_posts([post])
        store.put_posts([replace(post, deleted=True)])
        assert store.get_posts("x", ["d1"])["d1"].deleted
        assert store.thread_posts_many("x", ["d1"])["d1"][0].deleted
    assert store.get_post("x", "d1") == replace(post, deleted=True)


def test_a_refetched_copy_inside_a_batch_does_not_replace_the_stored_one(store: Store) -> None:
    # GIVEN a stored post
    post = make_post("r1", thread_id="r1", followers=10)
    store.put_posts([post])

    # WHEN a batch brings a different copy of it and reads the thread
    with store.batch():
        store.put_posts([replace(post, text="edited", created_at=T0 + timedelta(hours=1))])
        inside = store.thread_posts_many("x", ["r1"])["r1"]

    # THEN the first copy stands, inside the batch and after it
    assert inside == [post]
    assert store.get_post("x", "r1") == post


def test_bulk_complaint_upsert_mixes_new_and_stored(store: Store) -> None:
    # GIVEN one stored complaint, answered late
    stored = make_complaint()
    stored = replace(stored, first_reply=make_reply(stored, "late", 90))
    store.put_complaints([stored])
    _, seq = store.changed_complaints("acme")

    # WHEN one call brings it again with an earlier reply and a new category, plus two new complaints
    earlier = make_reply(stored, "early", 10)
    again = replace(stored, category=Category.CHATTER, first_reply=earlier, first_substantive_reply=earlier)
    new = [make_complaint(at=T0 + timedelta(minutes=i)) for i in (1, 2)]
    assert store.put_complaints([new[0], again, new[1], new[0]]) == 2

    # THEN the stored one took the earlier reply and the category, and every change got its own new seq
    got = store.get_complaint("x", stored.post_id)
    assert (got.first_reply, got.first_substantive_reply, got.category) == (earlier, earlier, Category.CHATTER)
    assert [store.get_complaint("x", c.post_id) for c in new] == new
    changed, last = store.changed_complaints("acme", after=seq)
    assert {c.post_id for c in changed} == {stored.post_id, *(c.post_id for c in new)}
    assert last > seq


def test_a_failing_batch_leaves_nothing_behind_on_sqlite(store: Store) -> None:
    if type(store).__name__ != "SQLiteStore":
        pytest.skip("DynamoDB batches do not group writes: each write stands on its own")
    with pytest.raises(RuntimeError), store.batch():
        store.put_posts(_forest())
        store.put_complaints([make_complaint("gone")])
        raise RuntimeError("crash mid-batch")
    assert store.get_posts("x", ["t1", "c0"]) == {}
    assert store.get_complaint("x", "gone") is None
    # and the next batch starts clean: nothing of the failed one is served from memory
    assert store.thread_posts_many("x", ["t1"]) == {"t1": []}
