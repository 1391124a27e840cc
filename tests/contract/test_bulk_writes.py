"""Bulk write paths (posts inserted before asking which were new, complaint changes in a few statements) give
the same stored state, counts and change numbers as one write at a time."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from chalicelib.domain.models import Category
from chalicelib.store.base import ComplaintChange, Store
from chalicelib.store.sqlite import SQLiteStore
from tests.contract.builders import T0, make_complaint, make_post, make_reply


def test_a_batch_mixing_stored_and_new_posts_counts_and_reads_back_the_stored_copies(store: Store) -> None:
    # GIVEN two stored posts of a thread
    old = [make_post(f"m{i}", thread_id="m0", at=T0 + timedelta(minutes=i)) for i in range(2)]
    store.put_posts(old)

    # WHEN one batch brings edited copies of them interleaved with new posts, and reads the thread inside it
    edited = [replace(p, text="edited") for p in old]
    new = [make_post(f"m{i}", thread_id="m0", at=T0 + timedelta(minutes=i)) for i in (2, 3)]
    with store.batch():
        added = store.put_posts([new[0], edited[0], new[1], edited[1]])
        inside = store.thread_posts_many("x", ["m0"])["m0"]

    # THEN only the new ones count, and the stored copies stand next to the new posts, inside the batch and after
    assert added == 2
    assert inside == [*old, *new]
    assert store.thread_posts("x", "m0") == [*old, *new]


class _OneWriteEach(SQLiteStore):
    """The SQLite store with the base class's one-write-per-change path, as the reference."""

    def _change_complaints(self, changes: list[ComplaintChange]) -> None:
        Store._change_complaints(self, changes)


def _changes_scenario(store: Store) -> list[tuple[int, str, object]]:
    stored = [make_complaint(f"s{i}", at=T0 + timedelta(minutes=i)) for i in range(4)]
    stored[1] = replace(stored[1], first_reply=make_reply(stored[1], "late", 90))
    store.put_complaints(stored)
    early = make_reply(stored[1], "early", 10)
    again = [
        replace(stored[0], category=Category.PRAISE),  # a field only
        replace(stored[1], first_reply=early, first_substantive_reply=early, deleted=True),  # field and both slots
        replace(stored[2], first_reply=make_reply(stored[2], "r2", 5)),  # one slot
        stored[3],  # nothing
        make_complaint("n1", at=T0 + timedelta(minutes=9)),  # new
    ]
    store.put_complaints(again)
    rows = store._conn.execute(  # type: ignore[attr-defined]
        "SELECT seq, post_id, category, deleted, first_reply_id, first_substantive_reply_id FROM complaints "
        "ORDER BY seq"
    ).fetchall()
    counter = store._conn.execute("SELECT value FROM counters").fetchone()[0]  # type: ignore[attr-defined]
    return [*rows, ("counter", counter)]


def test_bulk_complaint_changes_number_every_write_as_one_write_each_does(tmp_path) -> None:
    # GIVEN the same upserts (field changes, earlier replies in one or both slots, unchanged, new) on two stores
    with SQLiteStore(tmp_path / "bulk.sqlite3") as bulk, _OneWriteEach(tmp_path / "each.sqlite3") as each:
        # WHEN each applies them, in bulk and one write at a time
        got, want = _changes_scenario(bulk), _changes_scenario(each)
    # THEN the stored complaints, their change numbers and the counter are identical
    assert got == want
    # AND each write took its own number, in upsert order: insert n1, then s0's field, s1's three writes, s2's slot
    assert [r[1] for r in got[:-1]] == ["s3", "n1", "s0", "s1", "s2"]
    assert got[-1] == ("counter", 4 + 1 + 1 + 3 + 1)


def test_inserting_complaints_some_already_stored_reports_only_the_new_ones(tmp_path) -> None:
    # GIVEN a stored complaint
    with SQLiteStore(tmp_path / "s.sqlite3") as store:
        stored = make_complaint("k1")
        store.put_complaints([stored])
        # WHEN the insert primitive is handed it again with a new one (as a racing writer could cause)
        with store.batch():
            inserted = store._insert_complaints([replace(stored, category=Category.SPAM), make_complaint("k2")])
        # THEN only the new one counts as inserted, the stored one is untouched, and change numbers stay unique
        assert inserted == {("x", "k2")}
        assert store.get_complaint("x", "k1") == stored
        seqs = [r[0] for r in store._conn.execute("SELECT seq FROM complaints")]
        assert len(set(seqs)) == 2
        _, last = store.changed_complaints("acme")
        assert last == max(seqs)
