"""Poll cost against stored history: one poll run over the same new page, with 1× and 10× history stored.

A poll must cost what is *new*, not what is stored: every store access on its path (post upsert, thread
lookup, checkpoint) is keyed, so a run should take the same time with 2,000 or 20,000 complaints behind it.
The new page comes from the recorded-shape fake Mastodon instance of the end-to-end test, read through the
real MastodonSource (HTTP mocked by ``responses``), so parsing, ingest, pairing and checkpoints are all in
the measured path. Each repeat polls a fresh copy of the prepared database; the figure is the ratio of
medians (target ≤ 1.5×).
"""

from __future__ import annotations

import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.common import replace_section, stamp

NOW = datetime(2026, 8, 3, 12, 0, tzinfo=UTC)
BASE = "http://mastodon.bench"
BASE_HISTORY = 2_000  # complaints (each with a customer post and a company reply) at 1×
NEW_THREADS = 40


def _history_posts(n: int) -> list:
    """``n`` answered complaint threads to the company account, spread over the previous 60 days."""
    from chalicelib.domain.models import Account, Post, PostKind

    company = Account("mastodon", "admin@localhost", "admin@localhost", followers=10)
    posts = []
    for i in range(n):
        at = NOW - timedelta(days=60) + timedelta(days=59) * i / n
        customer = Account("mastodon", f"h{i}@elsewhere.example", f"h{i}@elsewhere.example", followers=i % 5000)
        root = f"h{i}"
        posts.append(Post("mastodon", root, customer, at, "@admin my parcel never arrived", PostKind.POST, root,
                          mentions=("admin@localhost",)))
        posts.append(Post("mastodon", f"{root}r", company, at + timedelta(minutes=30),
                          "sorry, we have refunded your order", PostKind.REPLY, root, root, customer.account_id,
                          (customer.handle,)))
    return posts


def _prepare(path: Path, threads: int) -> None:
    from chalicelib.jobs.ingest import Ingestor
    from chalicelib.store.sqlite import SQLiteStore
    from tests.e2e.fake_platform import acme_registry

    store = SQLiteStore(path)
    ingestor = Ingestor(store, acme_registry(), source="mastodon")
    posts = _history_posts(threads)
    for i in range(0, len(posts), 2_000):
        ingestor.ingest(posts[i : i + 2_000])
    store.close()


def _poll_once(db: Path, workdir: Path) -> float:
    import responses

    from chalicelib.jobs.poll import run_poll
    from chalicelib.store.sqlite import SQLiteStore
    from tests.e2e.fake_platform import FakeMastodon, acme_registry, mastodon_source

    copy = workdir / "run.sqlite3"
    shutil.copyfile(db, copy)
    fake = FakeMastodon()
    fake.populate(NOW - timedelta(hours=1), threads=NEW_THREADS)
    store = SQLiteStore(copy)
    try:
        with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
            fake.activate(rsps, BASE)
            source = mastodon_source(BASE, page_size=20)
            started = time.perf_counter()
            result = run_poll(store, acme_registry(), {"mastodon": source}, now=NOW, use_claims=False)
            elapsed = time.perf_counter() - started
        assert result.units[0].stats.complaints >= NEW_THREADS, result.summary()
    finally:
        store.close()
        copy.unlink()
    return elapsed


def measure(repeats: int = 7, base: int = BASE_HISTORY) -> dict[str, float]:
    import logging

    from chalicelib.logs import get_logger

    get_logger().setLevel(logging.WARNING)  # per-unit INFO lines are not what is being measured
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        small, large = work / "x1.sqlite3", work / "x10.sqlite3"
        _prepare(small, base)
        _prepare(large, base * 10)
        _poll_once(small, work)  # warm imports and caches before timing
        times: dict[str, list[float]] = {"x1": [], "x10": []}
        for _ in range(repeats):  # alternate, so machine noise hits both alike
            times["x1"].append(_poll_once(small, work))
            times["x10"].append(_poll_once(large, work))
    x1, x10 = statistics.median(times["x1"]) * 1000, statistics.median(times["x10"]) * 1000
    return {"x1_ms": x1, "x10_ms": x10, "ratio": x10 / x1}


def main(argv: list[str] | None = None) -> int:
    result = measure()
    table = (
        "| stored history | median poll run (same new page) | ratio to 1× |\n|---|---|---|\n"
        f"| 1× ({BASE_HISTORY:,} complaints, {2 * BASE_HISTORY:,} posts) | {result['x1_ms']:.1f} ms | 1.00× |\n"
        f"| 10× ({10 * BASE_HISTORY:,} complaints, {20 * BASE_HISTORY:,} posts) | {result['x10_ms']:.1f} ms | "
        f"{result['ratio']:.2f}× (target ≤ 1.5×: flat) |\n"
    )
    body = (
        stamp("make bench  (or: .venv/bin/python -m bench.poll_history)")
        + f"\n\nEach run polls {NEW_THREADS} new complaint threads (recorded-shape Mastodon payloads) into a copy of"
        " the prepared database.\n\n" + table
    )
    replace_section("poll-history", body)
    print(table)
    return 0 if result["ratio"] <= 1.5 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
