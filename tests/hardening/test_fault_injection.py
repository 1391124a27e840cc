"""Fault injection: polling through a platform that fails 30% of requests ends with a clean run's numbers.

Two companies, each on its own fake Mastodon instance (recorded-shape payloads, many small pages), are
polled by the real MastodonSource over real HTTP. The platform fails a seeded 30% of requests at random
(500/503, stalls past the read timeout, truncated or cut-off bodies, 429 with a reset header). Scheduled
runs follow each other five minutes apart until one run completes every unit; then the stored complaints
and the aggregate snapshots must equal those of a single clean run at that same time — nothing lost,
nothing counted twice, no reply mis-paired.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from chalicelib.domain.models import Company
from chalicelib.jobs.aggregate import WINDOWS, AggregateOptions, company_key, leaderboard_key, run_aggregate
from chalicelib.jobs.poll import DONE, PollResult, run_poll
from chalicelib.registry import parse_registry
from chalicelib.sources.http import build_session, default_retry
from chalicelib.sources.mastodon import MastodonSource
from chalicelib.store.sqlite import SQLiteStore
from tests.e2e.fake_platform import TAG, FakeMastodon
from tests.hardening.faulty_platform import FAULTS, FaultyPlatform

T0 = datetime(2026, 8, 3, 12, 0, tzinfo=UTC)
RUN_EVERY = timedelta(minutes=5)
MAX_RUNS = 60
AGGREGATE_AT = T0 + timedelta(days=1)
READ_TIMEOUT = 0.2
HANDLES = {"acme": "admin@localhost", "beta": "admin@beta.localhost"}
PREFIXES = {"acme": "a", "beta": "b"}


def companies() -> dict[str, Company]:
    return parse_registry({"companies": {
        slug: {"name": slug.title(), "handles": {"mastodon": [handle]}, "search": {"mastodon": [f"#{TAG}"]}}
        for slug, handle in HANDLES.items()
    }})  # fmt: skip


def build_fakes() -> dict[str, FakeMastodon]:
    """Two instances with different traffic; ids kept distinct (post ids are unique per platform)."""
    acme, beta = FakeMastodon(), FakeMastodon()
    acme.populate(T0 - timedelta(hours=1), threads=16)
    beta._seq = 10_000  # Snowflake sequence bits: beta's ids never collide with acme's
    beta.populate(T0 - timedelta(hours=3), threads=9)
    return {PREFIXES["acme"]: acme, PREFIXES["beta"]: beta}


def source(platform: FaultyPlatform) -> MastodonSource:
    """The real source with small pages, tiny timeouts and retries without backoff (fast, many checkpoints)."""
    session = build_session(
        retries=default_retry(total=2, backoff_factor=0, backoff_jitter=0), timeout=(0.5, READ_TIMEOUT)
    )
    base_urls = {HANDLES[slug]: platform.base_url(prefix) for slug, prefix in PREFIXES.items()}
    return MastodonSource(session=session, base_urls=base_urls, page_size=2)


def poll_until_done(store: SQLiteStore, platform: FaultyPlatform) -> tuple[list[PollResult], datetime]:
    """Scheduled runs five minutes apart until one completes every unit; returns the runs and that run's time."""
    registry, runs = companies(), []
    for n in range(MAX_RUNS):
        now = T0 + n * RUN_EVERY
        platform.now = now
        result = run_poll(store, registry, {"mastodon": source(platform)}, now=now)
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


def clean_numbers(tmp_path: Path, fakes: dict[str, FakeMastodon], now: datetime) -> dict[str, Any]:
    store = SQLiteStore(tmp_path / "clean.sqlite3")
    with FaultyPlatform(fakes, seed=0) as platform:
        platform.faulty = False
        platform.now = now
        result = run_poll(store, companies(), {"mastodon": source(platform)}, now=now)
    assert [u.outcome for u in result.units] == [DONE, DONE], result.summary()
    got = numbers(store)
    store.close()
    return got


@pytest.mark.timeout(60)
@pytest.mark.parametrize("seed", [11, 22, 33])
def test_a_platform_failing_30_percent_of_requests_ends_with_the_clean_numbers(tmp_path: Path, seed: int) -> None:
    # GIVEN two companies on a platform that fails a seeded 30% of requests in every way we know of
    fakes = build_fakes()
    store = SQLiteStore(tmp_path / "faulty.sqlite3")
    with FaultyPlatform(fakes, seed=seed, rate=0.3, stall_seconds=READ_TIMEOUT * 3) as platform:
        # WHEN scheduled runs poll it until one run completes every unit
        runs, finished_at = poll_until_done(store, platform)
        injected, served = dict(platform.injected), platform.served
    faulty = numbers(store)
    store.close()

    # THEN the faults really happened, of every kind, and cost runs
    assert set(injected) == set(FAULTS), injected
    assert 0.2 <= sum(injected.values()) / served <= 0.4, (injected, served)
    assert len(runs) > 1
    assert any(u.outcome != DONE for r in runs for u in r.units)
    # AND the scenario is meaningful: answered and unanswered complaints across tiers, for both companies
    clean = clean_numbers(tmp_path, fakes, finished_at)
    for slug, threads in (("acme", 16), ("beta", 9)):
        complaints = clean[f"complaints:{slug}"]
        assert len(complaints) == threads
        assert 0 < sum(c.first_reply is not None for c in complaints) < threads
        assert len({c.tier for c in complaints}) >= 3
    # AND every complaint, reply, horizon and published snapshot equals the clean run's
    assert faulty.keys() == clean.keys()
    for key in clean:
        assert faulty[key] == clean[key], key
