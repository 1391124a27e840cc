"""Fault tolerance of the poll job: every failure ends in the numbers of a clean run — nothing lost, nothing twice.

Each test polls the same fake Mastodon instance (recorded-shape payloads, see tests/e2e/fake_platform.py)
through the real MastodonSource, injects one fault, lets later runs recover, then compares the stored
complaints and the aggregate snapshots with those of a single clean run over the same data.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import responses

from chalicelib.domain.models import Checkpoint, Complaint, Post
from chalicelib.jobs.aggregate import AggregateOptions, company_key, run_aggregate
from chalicelib.jobs.poll import DONE, ERROR, PARTIAL, PollResult, run_poll
from chalicelib.store.errors import StoreUnavailable
from chalicelib.store.sqlite import SQLiteStore
from tests.e2e.fake_platform import FakeMastodon, acme_registry, mastodon_source

BASE = "http://mastodon.test"
T0 = datetime(2026, 8, 3, 12, 0, tzinfo=UTC)
# Runs five minutes apart (separate schedule slots); the last one is the clean run's time, so horizons agree.
RUN_TIMES = [T0, T0 + timedelta(minutes=5), T0 + timedelta(minutes=10)]
AGGREGATE_AT = T0 + timedelta(hours=1)
COMPANIES = acme_registry()


class LambdaTimeout(BaseException):
    """What a hard Lambda timeout looks like to our code: the process stops mid-statement, no handler runs."""


class FaultyStore(SQLiteStore):
    """A SQLite store whose writes can be made to fail, and which counts checkpoint writes."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.checkpoints_written = 0
        self.fail_put_complaints: list[BaseException] = []
        self.fail_put_posts_after: tuple[int, BaseException] | None = None
        self._posts_calls = 0

    def put_complaints(self, complaints: Iterable[Complaint]) -> int:
        if self.fail_put_complaints:
            raise self.fail_put_complaints.pop(0)
        return super().put_complaints(complaints)

    def put_posts(self, posts: Iterable[Post]) -> int:
        self._posts_calls += 1
        if self.fail_put_posts_after and self._posts_calls > self.fail_put_posts_after[0]:
            exc, self.fail_put_posts_after = self.fail_put_posts_after[1], None
            raise exc
        return super().put_posts(posts)

    def put_checkpoint(self, cp: Checkpoint) -> None:
        self.checkpoints_written += 1
        super().put_checkpoint(cp)


@pytest.fixture
def fake() -> FakeMastodon:
    fake = FakeMastodon()
    fake.populate(T0 - timedelta(hours=1))
    return fake


def poll(store: SQLiteStore, fake: FakeMastodon, now: datetime, **kwargs: Any) -> PollResult:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        fake.activate(rsps, BASE)
        return run_poll(store, COMPANIES, {"mastodon": mastodon_source(BASE)}, now=now, **kwargs)


def numbers(store: SQLiteStore) -> dict[str, Any]:
    """What a journalist would cite: every stored complaint with its first replies, and the aggregate snapshots."""
    run_aggregate(store, COMPANIES, AGGREGATE_AT, AggregateOptions(min_sample=2, replicates=100))
    complaints = store.list_complaints("acme", limit=1000).items
    snapshots = {w: store.get_snapshot(company_key("acme", w))[0] for w in ("7d", "all")}
    return {"complaints": complaints, "snapshots": snapshots}


@pytest.fixture
def clean(tmp_path: Path, fake: FakeMastodon) -> dict[str, Any]:
    store = SQLiteStore(tmp_path / "clean.sqlite3")
    result = poll(store, fake, RUN_TIMES[-1])
    assert [u.outcome for u in result.units] == [DONE]
    got = numbers(store)
    store.close()
    # The scenario is meaningful: answered and unanswered complaints across tiers.
    assert len(got["complaints"]) == 12
    assert sum(c.first_reply is not None for c in got["complaints"]) == 9
    assert len({c.tier for c in got["complaints"]}) >= 3
    return got


@pytest.fixture
def store(tmp_path: Path) -> FaultyStore:
    s = FaultyStore(tmp_path / "faulty.sqlite3")
    yield s
    s.close()


def _cursor_of(store: SQLiteStore) -> dict[str, Any]:
    cp = store.get_checkpoint("acme", "mastodon")
    return json.loads(cp.cursor) if cp and cp.cursor else {}


def assert_checkpoint_covers_only_stored(store: SQLiteStore, fake: FakeMastodon) -> None:
    """The invariant behind "nothing lost": every status at or below a stream's checkpoint is stored and paired."""
    cursor = _cursor_of(store)
    replies_upto = int(cursor.get("account:admin@localhost", {}).get("min_id") or 0)
    for reply_id, reply in fake.replies.items():
        if int(reply_id) <= replies_upto:
            complaint = store.get_complaint("mastodon", reply["in_reply_to_id"])
            assert complaint is not None and complaint.first_reply is not None, reply_id
    complaints_upto = int(cursor.get("search:#acmefail", {}).get("min_id") or 0)
    for complaint_id in fake.complaints:
        if int(complaint_id) <= complaints_upto:
            assert store.get_complaint("mastodon", complaint_id) is not None, complaint_id


def _min_ids(fake: FakeMastodon, endpoint: str) -> list[str]:
    return [
        parse_qs(urlsplit(u).query).get("min_id", [""])[0]
        for u, e in zip(fake.urls, fake.requests, strict=True) if e == endpoint
    ]


def test_a_source_failing_mid_page_loses_nothing(store: FaultyStore, fake: FakeMastodon, clean: dict) -> None:
    # GIVEN page 2 of the company timeline answers 500 in the first run and truncated JSON in the second
    fake.script("statuses", [None, (500, b'{"error": "internal"}')])
    # WHEN three runs happen
    first = poll(store, fake, RUN_TIMES[0])
    after_first = _cursor_of(store)
    assert_checkpoint_covers_only_stored(store, fake)
    fake.script("statuses", [(200, b'[{"id": "1170258", "created_at": "2026-08')])
    second = poll(store, fake, RUN_TIMES[1])
    third = poll(store, fake, RUN_TIMES[2])
    # THEN the failures are recorded, page 1's checkpoint held, and the run after them completes
    assert (first.units[0].outcome, second.units[0].outcome, third.units[0].outcome) == (ERROR, ERROR, DONE)
    assert "HTTP 500" in first.units[0].error and "not valid JSON" in second.units[0].error
    assert after_first["account:admin@localhost"]["min_id"] == _min_ids(fake, "statuses")[1]
    assert _cursor_of(store) == _cursor_of_clean_run(fake)
    # AND the numbers equal a clean run's
    assert numbers(store) == clean


def _cursor_of_clean_run(fake: FakeMastodon) -> dict[str, Any]:
    newest_reply = max(fake.replies, key=int)
    newest_complaint = max(fake.complaints, key=int)
    return {
        "account:admin@localhost": {"id": fake.company_account["id"], "min_id": newest_reply},
        "search:#acmefail": {"min_id": newest_complaint},
    }


def test_a_failed_store_write_does_not_advance_the_checkpoint(store: FaultyStore, fake: FakeMastodon, clean: dict) -> None:
    # GIVEN a store whose complaint write fails once, after one page has been stored
    writes_before_failure = 2
    original = store.put_complaints
    calls = {"n": 0}

    def flaky(complaints: Iterable[Complaint]) -> int:
        calls["n"] += 1
        if calls["n"] == writes_before_failure + 1:
            raise StoreUnavailable("database is locked")
        return original(complaints)

    store.put_complaints = flaky  # type: ignore[method-assign]
    checkpoints: list[dict[str, Any]] = []
    put = store.put_checkpoint
    store.put_checkpoint = lambda cp: (put(cp), checkpoints.append(json.loads(cp.cursor)))  # type: ignore[method-assign]
    # WHEN the first run hits the failure
    first = poll(store, fake, RUN_TIMES[0])
    # THEN the unit records the store error and the checkpoint is the last one written before it
    assert first.units[0].outcome == ERROR and "StoreUnavailable" in first.units[0].error
    assert checkpoints and _cursor_of(store) == checkpoints[-1] != _cursor_of_clean_run(fake)
    assert_checkpoint_covers_only_stored(store, fake)
    # WHEN the next run goes through
    second = poll(store, fake, RUN_TIMES[-1])
    # THEN it completes, and the numbers equal a clean run's
    assert second.units[0].outcome == DONE
    assert numbers(store) == clean


def test_a_deadline_mid_run_resumes_from_the_last_committed_checkpoint(
    store: FaultyStore, fake: FakeMastodon, clean: dict
) -> None:
    # GIVEN an invocation whose remaining time drops below the margin once the first page is committed
    def remaining() -> float:
        return 1.0 if store.checkpoints_written >= 1 else 900.0

    # WHEN it runs, and then the next scheduled run
    first = poll(store, fake, RUN_TIMES[0], deadline=remaining)
    committed = _cursor_of(store)
    assert_checkpoint_covers_only_stored(store, fake)
    requests_before = len(fake.urls)
    second = poll(store, fake, RUN_TIMES[-1])
    # THEN the first stopped early with exactly one page committed
    assert first.stopped_early and first.units[0].outcome == PARTIAL and first.units[0].pages == 1
    # AND the second resumed from that checkpoint (no lookup, no re-read from the start)
    resumed = fake.urls[requests_before:]
    assert "lookup" not in fake.requests[requests_before:]
    assert f"min_id={committed['account:admin@localhost']['min_id']}" in resumed[0]
    assert second.units[0].outcome == DONE
    # AND no horizon was claimed by the cut-short run: only the complete one observed "until now"
    assert store.get_horizons("acme") == {"mastodon": RUN_TIMES[-1]}
    assert numbers(store) == clean


def test_a_hard_lambda_timeout_mid_page_is_recovered_by_the_next_run(
    store: FaultyStore, fake: FakeMastodon, clean: dict
) -> None:
    # GIVEN the process dies (no except clause runs) while storing the second page
    store.fail_put_posts_after = (1, LambdaTimeout())
    # WHEN the run is killed, and the next scheduled run follows
    with pytest.raises(LambdaTimeout):
        poll(store, fake, RUN_TIMES[0])
    killed_at = _cursor_of(store)
    assert_checkpoint_covers_only_stored(store, fake)
    second = poll(store, fake, RUN_TIMES[-1])
    # THEN the page committed before the kill is not re-read from scratch and the rest is read once
    assert killed_at and killed_at != _cursor_of_clean_run(fake)
    assert second.units[0].outcome == DONE
    assert numbers(store) == clean


def _overlapping(runs: list[Callable[[], PollResult]]) -> list[PollResult]:
    barrier = threading.Barrier(len(runs))
    results: list[PollResult | BaseException] = [RuntimeError("did not run")] * len(runs)

    def go(i: int) -> None:
        barrier.wait()
        try:
            results[i] = runs[i]()
        except BaseException as exc:  # surfaced below
            results[i] = exc

    threads = [threading.Thread(target=go, args=(i,)) for i in range(len(runs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    for r in results:
        if isinstance(r, BaseException):
            raise r
    return results  # type: ignore[return-value]


def _two_stores(tmp_path: Path) -> tuple[SQLiteStore, SQLiteStore]:
    # Two connections to one database, like two Lambda invocations sharing the table.
    path = tmp_path / "shared.sqlite3"
    return SQLiteStore(path), SQLiteStore(path)


def test_two_runs_of_the_same_slot_do_the_work_once(tmp_path: Path, fake: FakeMastodon, clean: dict) -> None:
    # GIVEN two invocations of the same schedule slot (e.g. a retried EventBridge delivery) started together
    a, b = _two_stores(tmp_path)
    before = len(fake.requests)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        fake.activate(rsps, BASE)
        runs = [
            lambda s=s: run_poll(s, COMPANIES, {"mastodon": mastodon_source(BASE)}, now=RUN_TIMES[-1]) for s in (a, b)
        ]
        results = _overlapping(runs)
    # THEN exactly one of them polled the unit and the other stood aside
    assert sorted(r.units[0].outcome for r in results) == ["claimed", DONE]
    assert fake.requests[before:].count("lookup") == 1
    assert numbers(a) == clean
    a.close()
    b.close()


def test_two_overlapping_runs_without_claims_still_count_everything_once(
    tmp_path: Path, fake: FakeMastodon, clean: dict
) -> None:
    # GIVEN two runs that both poll the unit at once (claims off: e.g. a run overrunning into the next slot)
    a, b = _two_stores(tmp_path)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        fake.activate(rsps, BASE)
        runs = [
            lambda s=s: run_poll(
                s, COMPANIES, {"mastodon": mastodon_source(BASE)}, now=RUN_TIMES[-1], use_claims=False
            )
            for s in (a, b)
        ]
        results = _overlapping(runs)
        # WHEN a later run follows them
        later = run_poll(a, COMPANIES, {"mastodon": mastodon_source(BASE)}, now=RUN_TIMES[-1], use_claims=False)
    # THEN both did real work, the later run found nothing new (no checkpoint pointed past unstored posts)
    assert all(r.units[0].pages >= 1 for r in results)
    assert later.units[0].outcome == DONE and later.units[0].stats.posts_new == 0
    # AND the numbers equal a clean run's: nothing twice
    assert numbers(a) == clean
    a.close()
    b.close()
