"""Complaints and first replies: idempotent upserts, earliest reply wins (also under concurrency), change log."""

from __future__ import annotations

import contextlib
import random
import threading
from dataclasses import replace

import pytest

from chalicelib.domain.models import Category, ReplyKind
from chalicelib.store.base import Store
from contract.builders import make_complaint, make_reply


def test_reinserting_the_same_complaints_changes_nothing(store: Store) -> None:
    # GIVEN stored complaints, one already answered
    first = make_complaint()
    answered = make_complaint()
    answered = replace(answered, first_reply=make_reply(answered, "r1", 30))
    assert store.put_complaints([first, answered]) == 2
    _, seq = store.changed_complaints("acme")

    # WHEN they are upserted again
    assert store.put_complaints([first, answered]) == 0

    # THEN they read back unchanged and no change was logged
    assert store.get_complaint("x", first.post_id) == first
    assert store.get_complaint("x", answered.post_id) == answered
    assert store.changed_complaints("acme", after=seq) == ([], seq)


def test_record_reply_keeps_the_earliest(store: Store) -> None:
    complaint = make_complaint()
    store.put_complaints([complaint])
    later, earlier = make_reply(complaint, "r2", 60), make_reply(complaint, "r1", 10)

    # WHEN a reply is recorded, then a later one, then an earlier one, then the earlier one again
    results = [store.record_reply(r) for r in (later, make_reply(complaint, "r3", 90), earlier, earlier)]

    # THEN only the first and the earlier reply changed anything, and the earliest is kept
    assert results == [True, False, True, False]
    stored = store.get_complaint("x", complaint.post_id)
    assert stored.first_reply == earlier
    assert stored.first_substantive_reply == earlier


def test_equal_times_go_to_the_smaller_post_id(store: Store) -> None:
    complaint = make_complaint()
    store.put_complaints([complaint])
    assert store.record_reply(make_reply(complaint, "b", 5))
    assert store.record_reply(make_reply(complaint, "a", 5))
    assert not store.record_reply(make_reply(complaint, "c", 5))
    assert store.get_complaint("x", complaint.post_id).first_reply.post_id == "a"


def test_substantive_reply_is_tracked_independently(store: Store) -> None:
    # GIVEN a complaint first deflected ("DM us") and later really answered
    complaint = make_complaint()
    store.put_complaints([complaint])
    deflection = make_reply(complaint, "d", 5, ReplyKind.DEFLECTION)
    answer = make_reply(complaint, "s", 50)

    # WHEN both are recorded, the substantive one first
    assert store.record_reply(answer)
    assert store.record_reply(deflection)

    # THEN the first reply is the deflection and the first substantive reply the answer
    stored = store.get_complaint("x", complaint.post_id)
    assert (stored.first_reply, stored.first_substantive_reply) == (deflection, answer)


def test_reply_to_an_unknown_complaint_changes_nothing(store: Store) -> None:
    complaint = make_complaint()
    assert store.record_reply(make_reply(complaint, "r", 5)) is False
    assert store.get_complaint("x", complaint.post_id) is None


@pytest.mark.parametrize("workers", [6])
def test_concurrent_reply_recording_keeps_the_earliest(store: Store, workers: int) -> None:
    # GIVEN a complaint and many candidate replies, recorded from several threads in random orders
    complaint = make_complaint()
    store.put_complaints([complaint])
    replies = [make_reply(complaint, f"r{i:02d}", minutes=1 + (i * 7) % 13, kind=ReplyKind(k))
               for i, k in enumerate(["substantive", "deflection"] * 6)]
    barrier = threading.Barrier(workers)
    errors: list[BaseException] = []
    # moto's in-memory DynamoDB is not thread-safe ("dictionary changed size during iteration"); real DynamoDB
    # serialises conditional writes per item. Under moto the calls still interleave in random orders, one at a time.
    moto_guard = threading.Lock() if type(store).__name__ == "DynamoDBStore" else contextlib.nullcontext()

    def work(seed: int) -> None:
        order = replies[:]
        random.Random(seed).shuffle(order)
        barrier.wait()
        try:
            for reply in order:
                with moto_guard:
                    store.record_reply(reply)
        except BaseException as exc:  # surfaced in the main thread below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(seed,)) for seed in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    # THEN no writer failed and the earliest (ties: smallest id) of each kind won
    assert errors == []
    stored = store.get_complaint("x", complaint.post_id)
    assert stored.first_reply == min(replies, key=lambda r: (r.created_at, r.post_id))
    substantive = [r for r in replies if r.kind == ReplyKind.SUBSTANTIVE]
    assert stored.first_substantive_reply == min(substantive, key=lambda r: (r.created_at, r.post_id))


def test_upsert_never_replaces_a_first_reply_with_a_later_one_nor_clears_it(store: Store) -> None:
    # GIVEN a complaint answered after 10 minutes
    complaint = make_complaint()
    store.put_complaints([complaint])
    early = make_reply(complaint, "r1", 10)
    store.record_reply(early)

    # WHEN it is upserted without a reply, then with a later reply
    store.put_complaints([complaint])
    store.put_complaints([replace(complaint, first_reply=make_reply(complaint, "r2", 20))])

    # THEN the early reply stays
    assert store.get_complaint("x", complaint.post_id).first_reply == early

    # WHEN it is upserted with an even earlier reply THEN that one wins
    earliest = make_reply(complaint, "r0", 1)
    store.put_complaints([replace(complaint, first_reply=earliest, first_substantive_reply=earliest)])
    stored = store.get_complaint("x", complaint.post_id)
    assert (stored.first_reply, stored.first_substantive_reply) == (earliest, earliest)


def test_upsert_may_change_category_and_mark_deleted_but_not_undelete(store: Store) -> None:
    complaint = make_complaint()
    store.put_complaints([complaint])
    store.put_complaints([replace(complaint, category=Category.SPAM, deleted=True)])
    store.put_complaints([replace(complaint, category=Category.SPAM, deleted=False)])
    stored = store.get_complaint("x", complaint.post_id)
    assert (stored.category, stored.deleted) == (Category.SPAM, True)


def test_mark_deleted(store: Store) -> None:
    complaint = make_complaint()
    store.put_complaints([complaint])
    assert store.mark_deleted("x", complaint.post_id) is True
    assert store.mark_deleted("x", complaint.post_id) is False
    assert store.get_complaint("x", complaint.post_id).deleted
    assert store.mark_deleted("x", "never-stored") is False


def test_changed_complaints_returns_only_what_changed_since_last_read(store: Store) -> None:
    # GIVEN two complaints of acme and one of another company, read once
    a, b = make_complaint(), make_complaint()
    store.put_complaints([a, b, make_complaint(company="other")])
    first_read, seq = store.changed_complaints("acme")
    assert {c.post_id for c in first_read} == {a.post_id, b.post_id}

    # WHEN one is answered, nothing happens to the other, and a no-op reply arrives
    store.record_reply(make_reply(b, "r", 5))
    store.record_reply(make_reply(b, "r-late", 50))

    # THEN the next read returns just the answered one, with its reply
    changed, next_seq = store.changed_complaints("acme", after=seq)
    assert [c.post_id for c in changed] == [b.post_id]
    assert changed[0].answered
    assert next_seq > seq
    assert store.changed_complaints("acme", after=next_seq) == ([], next_seq)


def test_changed_complaints_pages_by_limit(store: Store) -> None:
    complaints = [make_complaint() for _ in range(5)]
    store.put_complaints(complaints)
    seen, seq = [], 0
    while True:
        page, seq_after = store.changed_complaints("acme", after=seq, limit=2)
        if not page:
            break
        assert len(page) <= 2 and seq_after > seq
        seen += page
        seq = seq_after
    assert sorted(c.post_id for c in seen) == sorted(c.post_id for c in complaints)
