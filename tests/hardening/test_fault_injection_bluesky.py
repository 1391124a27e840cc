"""Fault injection for Bluesky: polling an AppView that fails 30% of requests ends with a clean run's numbers.

Two companies' accounts on one fake AppView (recorded-shape payloads, pages of three) are polled by the real
BlueskySource over real HTTP: its author-feed and mention-search sweeps, with their timestamp and offset
cursors, and the getProfiles calls that fill each page's audiences. Complaints and replies keep arriving
while the runs go on. The platform fails a seeded 30% of requests at random (500/503, stalls past the read
timeout, truncated or cut-off bodies, 429 with the atproto ``RateLimit-Reset``). Scheduled runs follow each
other five minutes apart until one run completes every unit; then the stored complaints and the aggregate
snapshots must equal those of a single clean run at that same time — nothing lost, nothing counted twice,
no reply mis-paired.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from chalicelib.domain.models import Company, ReplyKind
from chalicelib.jobs.aggregate import WINDOWS, AggregateOptions, company_key, leaderboard_key, run_aggregate
from chalicelib.jobs.poll import DONE, PollResult, run_poll
from chalicelib.registry import parse_registry
from chalicelib.sources.bluesky import BlueskySource
from chalicelib.sources.http import build_session, default_retry
from chalicelib.store.sqlite import SQLiteStore
from tests.hardening.fake_bluesky import FakeBluesky
from tests.hardening.faulty_platform import FAULTS, FaultyPlatform

T0 = datetime(2026, 8, 3, 12, 0, tzinfo=UTC)
RUN_EVERY = timedelta(minutes=5)
MAX_RUNS = 60
READ_TIMEOUT = 0.2
PREFIX = "a"
AGGREGATE_AT = T0 + timedelta(days=1)
HANDLES = {"acme": "acme.bsky.social", "beta": "beta.bsky.social"}


def companies() -> dict[str, Company]:
    return parse_registry({"companies": {
        slug: {"name": slug.title(), "handles": {"bluesky": [handle]}} for slug, handle in HANDLES.items()
    }})  # fmt: skip


def build_fake() -> FakeBluesky:
    """Two companies with different traffic; the last complaints and replies arrive after the first run."""
    fake = FakeBluesky()
    for handle in HANDLES.values():
        fake.add_account(handle, followers=120_000)
    fake.populate(HANDLES["acme"], T0 - timedelta(hours=18), 16, seed=1, spacing=timedelta(minutes=75))
    fake.populate(HANDLES["beta"], T0 - timedelta(hours=6), 9, seed=2, spacing=timedelta(minutes=45))
    for seed, handle in enumerate(HANDLES.values(), start=3):  # a burst while the runs go on
        fake.populate(handle, T0 + timedelta(minutes=4 + seed), 4, seed=seed, spacing=timedelta(minutes=9), first=20)
    return fake


def source(platform: FaultyPlatform) -> BlueskySource:
    """The real source with small pages, tiny timeouts and retries without backoff (fast, many checkpoints)."""
    session = build_session(
        retries=default_retry(total=2, backoff_factor=0, backoff_jitter=0), timeout=(0.5, READ_TIMEOUT)
    )
    return BlueskySource(session=session, base_url=platform.base_url(PREFIX), page_size=3)


def poll_at(store: SQLiteStore, platform: FaultyPlatform, fake: FakeBluesky, now: datetime) -> PollResult:
    platform.now = fake.now = now
    return run_poll(store, companies(), {"bluesky": source(platform)}, now=now)


def poll_until_done(store: SQLiteStore, platform: FaultyPlatform, fake: FakeBluesky) -> tuple[list[PollResult], datetime]:
    """Scheduled runs five minutes apart until one completes every unit; returns the runs and that run's time."""
    runs = []
    for n in range(MAX_RUNS):
        now = T0 + n * RUN_EVERY
        result = poll_at(store, platform, fake, now)
        runs.append(result)
        if all(u.outcome == DONE for u in result.units):
            return runs, now
    raise AssertionError(f"no run completed every unit within {MAX_RUNS} runs: {runs[-1].summary()}")


def _without_generated_at(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_generated_at(v) for k, v in value.items() if k != "generated_at"}
    if isinstance(value, list):
        return [_without_generated_at(v) for v in value]
    return value


def numbers(store: SQLiteStore) -> dict[str, Any]:
    """What a journalist would cite: every complaint with its first replies, the horizons and every snapshot."""
    run_aggregate(store, companies(), AGGREGATE_AT, AggregateOptions(min_sample=2, replicates=100))
    out: dict[str, Any] = {}
    for slug in HANDLES:
        out[f"complaints:{slug}"] = sorted(store.list_complaints(slug, limit=1000).items, key=lambda c: c.post_id)
        out[f"horizons:{slug}"] = store.get_horizons(slug)
        for window in WINDOWS:
            out[company_key(slug, window)] = _without_generated_at(store.get_snapshot(company_key(slug, window))[0])
    for window in WINDOWS:
        out[leaderboard_key(window)] = _without_generated_at(store.get_snapshot(leaderboard_key(window))[0])
    return out


def clean_numbers(tmp_path: Path, fake: FakeBluesky, now: datetime) -> dict[str, Any]:
    store = SQLiteStore(tmp_path / "clean.sqlite3")
    with FaultyPlatform({PREFIX: fake}, seed=0) as platform:
        platform.faulty = False
        result = poll_at(store, platform, fake, now)
    assert [u.outcome for u in result.units] == [DONE, DONE], result.summary()
    got = numbers(store)
    store.close()
    return got


@pytest.mark.timeout(30)
def test_a_clean_run_finds_every_generated_complaint_with_its_first_reply(tmp_path: Path) -> None:
    # GIVEN an AppView with complaint threads to two companies, some answered (some by deflection), some not
    fake = build_fake()
    at = T0 + timedelta(hours=3)  # every generated complaint and reply exists by then
    # WHEN one fault-free run polls it
    got = clean_numbers(tmp_path, fake, at)
    # THEN each company has exactly the complaints addressed to it, each paired with its generated reply
    for slug, handle in HANDLES.items():
        threads = {t.complaint_uri: t for t in fake.visible(at) if t.company == handle}
        complaints = got[f"complaints:{slug}"]
        assert len(complaints) == len(threads) == len({c.post_id for c in complaints})
        for c in complaints:
            thread = threads[c.post_id]
            assert (c.author_id, c.created_at, c.followers) == (thread.customer_did, thread.complaint_at,
                                                               thread.followers)
            reply = c.first_reply
            if thread.reply_at is None or thread.reply_at > at:
                assert reply is None
            else:
                assert reply is not None and (reply.post_id, reply.created_at) == (thread.reply_uri, thread.reply_at)
                assert (reply.kind is ReplyKind.DEFLECTION) == thread.deflection
        # AND the scenario is meaningful: answered and unanswered complaints across tiers
        assert 0 < sum(c.first_reply is not None for c in complaints) < len(complaints)
        assert len({c.tier for c in complaints}) >= 3


@pytest.mark.timeout(60)
@pytest.mark.parametrize("seed", [11, 22, 33])
def test_an_appview_failing_30_percent_of_requests_ends_with_the_clean_numbers(tmp_path: Path, seed: int) -> None:
    # GIVEN two companies on an AppView that fails a seeded 30% of requests in every way we know of
    fake = build_fake()
    store = SQLiteStore(tmp_path / "faulty.sqlite3")
    with FaultyPlatform({PREFIX: fake}, seed=seed, rate=0.3, stall_seconds=READ_TIMEOUT * 3) as platform:
        # WHEN scheduled runs poll it until one run completes every unit
        runs, finished_at = poll_until_done(store, platform, fake)
        injected, served = dict(platform.injected), platform.served
    faulty = numbers(store)
    store.close()

    # THEN the faults really happened, of every kind, and cost runs
    assert set(injected) == set(FAULTS), injected
    assert 0.2 <= sum(injected.values()) / served <= 0.4, (injected, served)
    assert len(runs) > 1
    assert any(u.outcome != DONE for r in runs for u in r.units)
    # AND the clean run at that time sees every complaint visible then, none twice
    clean = clean_numbers(tmp_path, fake, finished_at)
    for slug, handle in HANDLES.items():
        expected = {t.complaint_uri for t in fake.visible(finished_at) if t.company == handle}
        assert [c.post_id for c in clean[f"complaints:{slug}"]] == sorted(expected)
        assert [c.post_id for c in faulty[f"complaints:{slug}"]] == sorted(expected)
    # AND every complaint, reply, horizon and published snapshot equals the clean run's
    assert faulty.keys() == clean.keys()
    for key in clean:
        assert faulty[key] == clean[key], key
