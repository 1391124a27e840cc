"""Posts and accounts: idempotent, keyed by (platform, post id); a re-fetch can only mark a post deleted."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from chalicelib.store.base import Store
from contract.builders import T0, make_account, make_post


def test_reinserting_the_same_posts_changes_nothing(store: Store) -> None:
    # GIVEN three stored posts
    posts = [make_post(at=T0 + timedelta(minutes=i), thread_id="t") for i in range(3)]
    assert store.put_posts(posts) == 3

    # WHEN the same posts arrive again (as a retried poll would deliver them)
    again = store.put_posts(posts)

    # THEN nothing is new and every stored post is unchanged
    assert again == 0
    assert [store.get_post("x", p.post_id) for p in posts] == posts
    assert store.thread_posts("x", "t") == posts


def test_duplicates_within_one_batch_count_once(store: Store) -> None:
    post = make_post()
    assert store.put_posts([post, post, post]) == 1


def test_a_refetch_never_rewrites_time_or_audience_but_can_mark_deleted(store: Store) -> None:
    # GIVEN a stored post by an author with 10 followers
    post = make_post(followers=10)
    store.put_posts([post])

    # WHEN a later fetch reports a different time and audience
    store.put_posts([replace(post, created_at=T0 + timedelta(hours=1), author=make_account(followers=5_000_000))])

    # THEN the first copy stands (the tier was measured on it)
    assert store.get_post("x", post.post_id) == post

    # WHEN a fetch reports it deleted, and a yet later one not deleted
    store.put_posts([replace(post, deleted=True)])
    store.put_posts([post])

    # THEN it stays deleted: a deletion is news, a stale copy does not resurrect it
    assert store.get_post("x", post.post_id) == replace(post, deleted=True)


def test_same_post_id_on_another_platform_is_another_post(store: Store) -> None:
    assert store.put_posts([make_post("42", platform="x"), make_post("42", platform="mastodon")]) == 2
    assert store.get_post("mastodon", "42").platform == "mastodon"
    assert store.get_post("reddit", "42") is None


def test_thread_posts_are_ordered_by_time_then_post_id(store: Store) -> None:
    # GIVEN a thread stored out of order, with a tie in time, and a post of another thread
    late = make_post("9", at=T0 + timedelta(minutes=5), thread_id="root")
    tie_b = make_post("b", at=T0, thread_id="root")
    tie_a = make_post("a", at=T0, thread_id="root")
    store.put_posts([late, tie_b, make_post("z", thread_id="other"), tie_a])

    # WHEN the thread is read THEN it comes oldest first, ties by post id
    assert [p.post_id for p in store.thread_posts("x", "root")] == ["a", "b", "9"]
    assert store.thread_posts("x", "missing") == []


def test_posts_replying_to_a_post(store: Store) -> None:
    parent = make_post("p")
    children = [make_post(f"c{i}", at=T0 + timedelta(minutes=3 - i), in_reply_to="p") for i in range(3)]
    store.put_posts([parent, *children, make_post("other", in_reply_to="q")])
    assert [p.post_id for p in store.posts_replying_to("x", "p")] == ["c2", "c1", "c0"]


def test_accounts_upsert_latest_copy(store: Store) -> None:
    # GIVEN an account
    assert store.put_accounts([make_account("a1", followers=10)]) == 1
    # WHEN the same copy arrives again THEN nothing changes
    assert store.put_accounts([make_account("a1", followers=10)]) == 0
    # WHEN its audience grows THEN the newer copy is stored
    assert store.put_accounts([make_account("a1", followers=20)]) == 1
    assert store.get_account("x", "a1") == make_account("a1", followers=20)
    assert store.get_account("x", "nobody") is None
