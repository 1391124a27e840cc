"""Fault injection on Reddit: polling through a platform that fails 30% of requests ends with a clean run's numbers.

Two companies, each with an official account and a support subreddit on one fake Reddit (recorded-shape
things, Reddit's ``after`` paging, two things a page), are polled by the real RedditSource over real HTTP
(public ``.json`` endpoints, profiles fetched for audiences). Complaints are submissions or comments naming
``u/<company>``; the company's replies arrive through its comment stream with their parents fetched by
``/api/info``. Complaints and replies keep appearing while the test polls. The platform fails a seeded 30%
of requests at random (500/503, stalls past the read timeout, truncated or cut-off bodies, 429 with Reddit's
``x-ratelimit-reset``). Scheduled runs follow each other five minutes apart until one run completes every
unit; then the stored complaints and the aggregate snapshots must equal those of a single clean run at that
same time against the same data — nothing lost, nothing counted twice, no reply mis-paired, no tier lost.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from chalicelib.domain.models import Company
from chalicelib.domain.tiers import tier_for
from chalicelib.jobs.aggregate import WINDOWS, AggregateOptions, company_key, leaderboard_key, run_aggregate
from chalicelib.jobs.poll import DONE, PollResult, run_poll
from chalicelib.registry import parse_registry
from chalicelib.sources.http import build_session, default_retry
from chalicelib.sources.reddit import RedditSource
from chalicelib.store.sqlite import SQLiteStore
from tests.hardening.fake_reddit import FakeReddit
from tests.hardening.faulty_platform import FAULTS, FaultyPlatform

T0 = datetime(2026, 8, 3, 12, 0, tzinfo=UTC)
RUN_EVERY = timedelta(minutes=5)
MAX_RUNS = 300
AGGREGATE_AT = T0 + timedelta(days=1)
READ_TIMEOUT = 0.2
PREFIX = "reddit"
ACCOUNTS = {"acme": ("AcmeSupport", "AcmeHelp"), "beta": ("BetaCare", "BetaHelp")}


@pytest.fixture(autouse=True)
def _public_json(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without credentials the source reads the public ``.json`` endpoints (no OAuth token POST)."""
    for name in ("FAIR_REPLY_REDDIT_CLIENT_ID", "FAIR_REPLY_REDDIT_CLIENT_SECRET", "FAIR_REPLY_REDDIT_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(f"{name}_SSM_PARAMETER", raising=False)


def companies() -> dict[str, Company]:
    return parse_registry({"companies": {
        slug: {"name": slug.title(), "handles": {"reddit": [handle]}, "search": {"reddit": [f"r/{sub}"]}}
        for slug, (handle, sub) in ACCOUNTS.items()
    }})  # fmt: skip


def build_fake() -> FakeReddit:
    """Acme's complaints run from 22 h before T0 up to T0, Beta's stop an hour before; replies trail them."""
    fake = FakeReddit()
    fake.populate(*ACCOUNTS["acme"], T0 - timedelta(hours=22), threads=12)
    fake.populate(*ACCOUNTS["beta"], T0 - timedelta(hours=17), threads=9)
    return fake


def source(platform: FaultyPlatform) -> RedditSource:
    """The real source with small pages, tiny timeouts and retries without backoff (fast, many checkpoints)."""
    session = build_session(
        retries=default_retry(total=2, backoff_factor=0, backoff_jitter=0), timeout=(0.5, READ_TIMEOUT)
    )
    return RedditSource(
        session=session, base_url=platform.base_url(PREFIX), client_id="", client_secret="", page_size=2
    )


def serve(fake: FakeReddit, **kwargs: Any) -> FaultyPlatform:
    """The fake behind a FaultyPlatform whose replies are not held back by Nagle's algorithm.

    Its handler writes headers and body separately; with Nagle on, each response waits out the client's
    delayed ACK (~40 ms), which makes the hundreds of requests here take minutes instead of seconds.
    """
    platform = FaultyPlatform({PREFIX: fake}, **kwargs)
    platform._server.RequestHandlerClass.disable_nagle_algorithm = True  # type: ignore[attr-defined]
    return platform


def run(store: SQLiteStore, platform: FaultyPlatform, fake: FakeReddit, now: datetime) -> PollResult:
    platform.now = fake.now = now
    return run_poll(store, companies(), {"reddit": source(platform)}, now=now)


def poll_until_done(
    store: SQLiteStore, platform: FaultyPlatform, fake: FakeReddit
) -> tuple[list[PollResult], datetime]:
    """Scheduled runs five minutes apart until one completes every unit; returns the runs and that run's time."""
    runs = []
    for n in range(MAX_RUNS):
        now = T0 + n * RUN_EVERY
        result = run(store, platform, fake, now)
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
    for slug in ACCOUNTS:
        out[f"complaints:{slug}"] = sorted(store.list_complaints(slug, limit=1000).items, key=lambda c: c.post_id)
        out[f"horizons:{slug}"] = store.get_horizons(slug)
        for window in WINDOWS:
            out[company_key(slug, window)] = _without_generated_at(store.get_snapshot(company_key(slug, window))[0])
    for window in WINDOWS:
        out[leaderboard_key(window)] = _without_generated_at(store.get_snapshot(leaderboard_key(window))[0])
    return out


def clean_numbers(tmp_path: Path, now: datetime) -> tuple[dict[str, Any], FakeReddit, PollResult]:
    """One run at ``now`` against a fresh copy of the same data, nothing failing."""
    fake = build_fake()
    store = SQLiteStore(tmp_path / "clean.sqlite3")
    with serve(fake, seed=0) as platform:
        platform.faulty = False
        result = run(store, platform, fake, now)
    assert [u.outcome for u in result.units] == [DONE, DONE], result.summary()
    got = numbers(store)
    store.close()
    return got, fake, result


@pytest.mark.timeout(60)
@pytest.mark.parametrize("when", [T0, T0 + timedelta(hours=2)])
def test_a_clean_run_finds_every_generated_complaint_with_its_reply_and_tier(tmp_path: Path, when: datetime) -> None:
    # GIVEN the fake's threads, some still unanswered at ``when`` (T0: replies pending; T0+2h: all in)
    # WHEN one clean run polls at ``when``
    clean, fake, result = clean_numbers(tmp_path, when)

    # THEN each company has exactly the complaints the fake generated, answered by exactly its replies
    for slug, (handle, _) in ACCOUNTS.items():
        expected = {t.complaint_id: t for t in fake.visible(handle, when)}
        stored = {c.post_id: c for c in clean[f"complaints:{slug}"]}
        assert stored.keys() == expected.keys()
        assert {k: (c.first_reply.post_id if c.first_reply else None) for k, c in stored.items()} == {
            k: t.reply_id for k, t in expected.items()
        }
        # AND each complainant's tier comes from their profile's subscribers (a 404 profile: unknown)
        assert {k: c.tier for k, c in stored.items()} == {k: tier_for(t.subscribers) for k, t in expected.items()}
        assert {c.created_at for c in stored.values()} == {t.created_at for t in expected.values()}
    # AND the scenario is meaningful: complaints in submissions and comments, answered and not, several tiers
    everything = [c for slug in ACCOUNTS for c in clean[f"complaints:{slug}"]]
    assert {c.post_id[:3] for c in everything} == {"t1_", "t3_"}
    assert 0 < sum(c.first_reply is not None for c in everything) < len(everything)
    assert len({c.tier for c in everything}) >= 4
    # AND the clean run fits Reddit's logged-out rate-limit window with room to spare, over many pages
    assert 20 < len(fake.requests) < 90
    assert sum(u.pages for u in result.units) >= 10


@pytest.mark.timeout(60)
@pytest.mark.parametrize("seed", [11, 22, 33])
def test_a_platform_failing_30_percent_of_requests_ends_with_the_clean_numbers(tmp_path: Path, seed: int) -> None:
    # GIVEN two companies on a Reddit that fails a seeded 30% of requests in every way we know of
    fake = build_fake()
    store = SQLiteStore(tmp_path / "faulty.sqlite3")
    with serve(fake, seed=seed, rate=0.3, stall_seconds=READ_TIMEOUT * 3) as platform:
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
    # AND every complaint, reply, tier, horizon and published snapshot equals the clean run's at that time
    clean, _, _ = clean_numbers(tmp_path, finished_at)
    assert faulty.keys() == clean.keys()
    for key in clean:
        assert faulty[key] == clean[key], key
    # AND nothing is counted twice: one stored complaint per generated complaint
    for slug, (handle, _) in ACCOUNTS.items():
        ids = [c.post_id for c in faulty[f"complaints:{slug}"]]
        assert sorted(ids) == sorted(t.complaint_id for t in fake.visible(handle, finished_at))
