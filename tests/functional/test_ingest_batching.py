"""Batched ingest pairs exactly as the one-thread-at-a-time ingest did, in one transaction per batch.

The reference below is the ingest loop before batching: per post a root walk with single reads, per thread
one ``thread_posts`` read, one ``posts_replying_to`` read per post of the reply tree, and one
``put_complaints`` per thread. Both run over real recorded data (the TWCS sample: no thread ids, deep reply
chains; the shared X pages: thread ids), in batches of several sizes and in shuffled order, so that replies
arrive before their complaints and threads span batches; the stored complaints must be identical.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from pathlib import Path

import pytest

from chalicelib.domain.models import Account, Company, Complaint, Post
from chalicelib.domain.pairing import thread_root
from chalicelib.jobs import ingest as ingest_module
from chalicelib.jobs.ingest import Ingestor, IngestStats
from chalicelib.registry import parse_registry
from chalicelib.sources.archives import ArchivedPost, iter_twarc2, iter_twcs
from chalicelib.store.sqlite import SQLiteStore
from tests.conftest import REPO_ROOT, shared_dir

TWCS = shared_dir() / "fixtures" / "twcs" / "twcs_first1000_rows.csv"
TWARC2 = REPO_ROOT / "tests" / "fixtures" / "archives" / "twarc2_shared_x_pages.jsonl"
TWCS_BRANDS = ("sprintcare", "Ask_Spectrum", "VerizonSupport", "AskPlayStation", "ChipotleTweets", "AppleSupport")
X_HANDLES = ("NFL", "Eagles", "TwitterDev", "BleacherReport")


def registry(handles: Iterable[str]) -> dict[str, Company]:
    return parse_registry({"companies": {h.lower().replace("_", "-"): {"name": h, "handles": {"x": [h]}} for h in handles}})


def archive_posts(path: Path, reader) -> list[Post]:
    with path.open("rb") as fp:
        return [item.post for item in reader(fp) if isinstance(item, ArchivedPost)]


def authors(posts: Iterable[Post]) -> list[Account]:
    return list({p.author.account_id: p.author for p in posts}.values())


class ReferenceIngestor(Ingestor):
    """The ingest loop as it was before bulk reads and batches (kept here as the behaviour to match)."""

    def ingest(self, posts: Sequence[Post], accounts: Iterable[Account] = ()) -> IngestStats:
        stats = IngestStats(posts_read=len(posts))
        accounts = list(accounts)
        if accounts:
            self.store.put_accounts(accounts)
        if not posts:
            return stats
        stats.posts_new = self.store.put_posts(posts)
        batch = {post.key: post for post in posts}
        roots = set()
        for post in posts:

            def lookup(post_id: str, platform: str = post.platform) -> Post | None:
                return batch.get((platform, post_id)) or self.store.get_post(platform, post_id)

            roots.add((post.platform, thread_root(post, lookup)))
        for platform, root in sorted(roots):
            complaints = self._pair(platform, self._load_thread(platform, root, batch), stats)
            if complaints:
                self.store.put_complaints(complaints)
        return stats


def stored_complaints(store: SQLiteStore, companies: Iterable[str]) -> dict[tuple[str, str], Complaint]:
    found: dict[tuple[str, str], Complaint] = {}
    for company in companies:
        cursor = None
        while True:
            page = store.list_complaints(company, limit=1000, cursor=cursor)
            found.update((c.key, c) for c in page.items)
            cursor = page.next_cursor
            if cursor is None:
                break
    return found


def run(kind: type[Ingestor], tmp_path: Path, posts: list[Post], companies: dict[str, Company], size: int):
    store = SQLiteStore(tmp_path / f"{kind.__name__}-{size}.sqlite3")
    ingestor = kind(store, companies, source="archive")
    totals = IngestStats()
    for start in range(0, len(posts), size):
        chunk = posts[start : start + size]
        totals.add(ingestor.ingest(chunk, authors(chunk)))
    result = stored_complaints(store, companies)
    store.close()
    return result, totals


@pytest.mark.parametrize("size", [1, 37, 250, 5000])
@pytest.mark.parametrize("shuffled", [False, True])
def test_twcs_batched_ingest_matches_the_one_thread_ingest(tmp_path: Path, size: int, shuffled: bool) -> None:
    # GIVEN the real TWCS sample (reply links only), possibly out of order
    posts = archive_posts(TWCS, iter_twcs)
    if shuffled:
        random.Random(size).shuffle(posts)
    companies = registry(TWCS_BRANDS)

    # WHEN it is ingested batched and by the reference, in the same batches
    got, got_stats = run(Ingestor, tmp_path, posts, companies, size)
    want, want_stats = run(ReferenceIngestor, tmp_path, posts, companies, size)

    # THEN the store holds the same complaints with the same first replies, and the counts agree
    assert len(want) > 80 and sum(c.first_reply is not None for c in want.values()) > 40
    assert got == want
    assert got_stats == want_stats


@pytest.mark.parametrize("size", [1, 3, 200])
def test_x_pages_batched_ingest_matches_the_one_thread_ingest(tmp_path: Path, size: int) -> None:
    # GIVEN the recorded X pages (conversation ids), reversed so replies come first
    posts = archive_posts(TWARC2, iter_twarc2)[::-1]
    companies = registry(X_HANDLES)
    got, got_stats = run(Ingestor, tmp_path, posts, companies, size)
    want, want_stats = run(ReferenceIngestor, tmp_path, posts, companies, size)
    assert want, "the recorded pages must yield complaints for these handles"
    assert got == want
    assert got_stats == want_stats


def test_threads_at_the_size_cap_are_cut_as_before(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN a thread size cap small enough that real TWCS threads reach it
    monkeypatch.setattr(ingest_module, "_MAX_THREAD_POSTS", 3)
    posts = archive_posts(TWCS, iter_twcs)
    companies = registry(TWCS_BRANDS)

    # WHEN both ingest (where the walk order decides which posts are kept)
    got, got_stats = run(Ingestor, tmp_path, posts, companies, 100)
    want, want_stats = run(ReferenceIngestor, tmp_path, posts, companies, 100)

    # THEN the cut threads are cut the same way
    assert got == want
    assert got_stats == want_stats


def test_one_ingest_batch_is_one_transaction(tmp_path: Path) -> None:
    # GIVEN a store that records every statement it runs
    store = SQLiteStore(tmp_path / "tx.sqlite3")
    statements: list[str] = []
    store._conn.set_trace_callback(statements.append)
    posts = archive_posts(TWCS, iter_twcs)[:500]

    # WHEN one batch of 500 posts is ingested
    stats = Ingestor(store, registry(TWCS_BRANDS)).ingest(posts, authors(posts))

    # THEN it committed once, yet stored everything
    assert stats.complaints > 20
    assert sum(s.strip().upper() == "COMMIT" for s in statements) == 1
    assert len(stored_complaints(store, registry(TWCS_BRANDS))) > 20
    store.close()


def test_a_failed_batch_is_rolled_back_whole_and_a_retry_completes_it(tmp_path: Path) -> None:
    # GIVEN a store whose complaint write fails once, mid-batch
    class Failing(SQLiteStore):
        fail = True

        def put_complaints(self, complaints: Iterable[Complaint]) -> int:
            if self.fail:
                self.fail = False
                raise RuntimeError("disk full")
            return super().put_complaints(complaints)

    posts = archive_posts(TWCS, iter_twcs)[:300]
    companies = registry(TWCS_BRANDS)
    store = Failing(tmp_path / "failing.sqlite3")
    ingestor = Ingestor(store, companies, source="archive")

    # WHEN the batch fails, THEN none of its posts stay behind half-paired
    with pytest.raises(RuntimeError):
        ingestor.ingest(posts)
    assert store.get_posts("x", [p.post_id for p in posts]) == {}

    # WHEN it is retried THEN the result is that of a clean run
    ingestor.ingest(posts)
    want, _ = run(ReferenceIngestor, tmp_path, posts, companies, 300)
    assert stored_complaints(store, companies) == want
    store.close()
