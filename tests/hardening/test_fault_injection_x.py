"""Fault injection for X: polling a search API that fails 30% of requests ends with a clean run's numbers.

Two companies with two handles each on one fake X API v2 (recorded-shape tweets, 10-result pages with
``next_token``, ``since_id`` sweeps) are polled by the real XSource over real HTTP. A backlog of several
pages per sweep, then complaints (one storm of them) and replies that keep arriving for the first hours:
sweeps are cut off mid-pagination and resumed from their saved token while new tweets appear above them. The platform fails a seeded 30% of requests at random (500/503, stalls past the read timeout,
truncated or cut-off bodies, 429 with X's epoch ``x-rate-limit-reset``). Scheduled runs follow each other
five minutes apart until one run completes every unit; then the stored complaints and the aggregate
snapshots must equal those of a single clean run at that same time — nothing lost, nothing counted twice,
no reply mis-paired.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from chalicelib.domain.models import Company, ReplyKind
from chalicelib.jobs.aggregate import WINDOWS, AggregateOptions, company_key, leaderboard_key, run_aggregate
from chalicelib.jobs.poll import DONE, PollResult, run_poll
from chalicelib.registry import parse_registry
from chalicelib.sources.http import build_session, default_retry
from chalicelib.sources.x import XSource
from chalicelib.store.sqlite import SQLiteStore
from tests.hardening.fake_x import FakeX, Thread
from tests.hardening.faulty_platform import FAULTS, FaultyPlatform

T0 = datetime(2026, 8, 3, 12, 0, tzinfo=UTC)
RUN_EVERY = timedelta(minutes=5)
MAX_RUNS = 90
AGGREGATE_AT = T0 + timedelta(days=1)
READ_TIMEOUT = 0.2
PAGE_SIZE = 10  # recent search's minimum max_results: the fake refuses less, as X does
PREFIX = "x"
HANDLES = {"acme": ["AcmeHelp", "AcmeAir"], "beta": ["BetaCares", "BetaShop"]}


def companies() -> dict[str, Company]:
    return parse_registry({"companies": {
        slug: {"name": slug.title(), "handles": {"x": handles}} for slug, handles in HANDLES.items()
    }})  # fmt: skip


def build_fake() -> FakeX:
    """One X for both companies: a backlog of several pages per sweep, then complaints and replies that appear
    after polling has begun, so sweeps are resumed across runs with new tweets arriving above them."""
    fake = FakeX()
    for n, handle in enumerate(h for handles in HANDLES.values() for h in handles):
        fake.add_company(handle, 7_000 + n)
    fake.populate(HANDLES["acme"], T0 - timedelta(hours=8), threads=40, spacing=timedelta(minutes=15))
    fake.populate(HANDLES["beta"], T0 - timedelta(hours=4), threads=24, spacing=timedelta(minutes=15), first=100)
    # an outage: a storm of complaints to one handle within four minutes, more than two pages of one sweep
    fake.populate(HANDLES["beta"][1:], T0 + timedelta(minutes=41), threads=24, spacing=timedelta(seconds=10), first=200)
    return fake


def source(platform: FaultyPlatform) -> XSource:
    """The real source with the smallest pages, tiny timeouts and retries without backoff (fast, many checkpoints)."""
    session = build_session(
        retries=default_retry(total=2, backoff_factor=0, backoff_jitter=0), timeout=(0.5, READ_TIMEOUT)
    )
    return XSource("test-token", session=session, base_url=platform.base_url(PREFIX), max_results=PAGE_SIZE)


def pending_sweeps(store: SQLiteStore) -> set[str]:
    """The streams whose saved checkpoint holds a ``next_token``: a sweep cut off mid-pagination."""
    pending = set()
    for slug in HANDLES:
        checkpoint = store.get_checkpoint(slug, "x")
        state = json.loads(checkpoint.cursor) if checkpoint and checkpoint.cursor else {}
        pending.update(f"{slug}:{key}" for key, sweep in state.items() if sweep.get("token"))
    return pending


def poll_until_done(
    store: SQLiteStore, platform: FaultyPlatform, fake: FakeX, saved_tokens: list[set[str]]
) -> tuple[list[PollResult], datetime]:
    """Scheduled runs five minutes apart until one completes every unit after the last tweet was posted.

    Returns the runs and that run's time; ``saved_tokens`` gets, after each run, the sweeps left mid-pagination.
    Polling through the arrivals makes sweeps resume under new tweets.
    """
    registry, runs = companies(), []
    for n in range(MAX_RUNS):
        now = T0 + n * RUN_EVERY
        platform.now = fake.now = now
        result = run_poll(store, registry, {"x": source(platform)}, now=now)
        runs.append(result)
        saved_tokens.append(pending_sweeps(store))
        if now >= fake.last_posted_at and all(u.outcome == DONE for u in result.units):
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


def clean_numbers(tmp_path: Path, fake: FakeX, now: datetime) -> dict[str, Any]:
    """One fault-free run at ``now`` over the same fake: the numbers the faulty runs must end with."""
    store = SQLiteStore(tmp_path / "clean.sqlite3")
    with FaultyPlatform({PREFIX: fake}, seed=0) as platform:
        platform.faulty = False
        platform.now = fake.now = now
        result = run_poll(store, companies(), {"x": source(platform)}, now=now)
    assert [u.outcome for u in result.units] == [DONE, DONE], result.summary()
    got = numbers(store)
    store.close()
    return got


def expected(fake: FakeX, slug: str, at: datetime) -> list[Thread]:
    return fake.visible_threads(set(HANDLES[slug]), at)


def first_replies(complaints: list[Any]) -> dict[str, str | None]:
    return {c.post_id: c.first_reply.post_id if c.first_reply else None for c in complaints}


@pytest.mark.timeout(60)
def test_a_clean_run_finds_every_generated_complaint_with_its_first_reply(tmp_path: Path) -> None:
    # GIVEN the fake X half an hour into polling: some complaints and replies are not posted yet
    fake = build_fake()
    at = T0 + timedelta(minutes=30)
    assert any(t.created_at > at for t in fake.threads) and any(
        t.replied_at and t.replied_at > at for t in fake.threads
    )
    # WHEN one fault-free run reads it
    clean = clean_numbers(tmp_path, fake, at)
    for slug in HANDLES:
        threads = expected(fake, slug, at)
        complaints = clean[f"complaints:{slug}"]
        # THEN every generated complaint to the company's handles is stored once, none from other companies
        assert [c.post_id for c in complaints] == sorted(t.complaint_id for t in threads)
        # AND each is paired with the company reply the fake generated, if it had been posted by then
        assert first_replies(complaints) == {
            t.complaint_id: t.reply_id if t.replied_at and t.replied_at <= at else None for t in threads
        }
        # AND the scenario is meaningful: answered (substantively or "DM us") and unanswered, across all tiers
        assert 0 < sum(c.first_reply is not None for c in complaints) < len(complaints)
        assert {c.first_reply.kind for c in complaints if c.first_reply} == set(ReplyKind)
        assert len({c.tier for c in complaints}) >= 3


@pytest.mark.timeout(60)
@pytest.mark.parametrize("seed", [11, 22, 33])
def test_x_failing_30_percent_of_requests_ends_with_the_clean_numbers(tmp_path: Path, seed: int) -> None:
    # GIVEN two companies on an X that fails a seeded 30% of requests in every way we know of
    fake = build_fake()
    store = SQLiteStore(tmp_path / "faulty.sqlite3")
    with FaultyPlatform({PREFIX: fake}, seed=seed, rate=0.3, stall_seconds=READ_TIMEOUT * 3) as platform:
        # WHEN scheduled runs poll it until one run completes every unit
        saved_tokens: list[set[str]] = []
        runs, finished_at = poll_until_done(store, platform, fake, saved_tokens)
        injected, served = dict(platform.injected), platform.served
    faulty = numbers(store)
    store.close()

    # THEN the faults really happened, of every kind, and cost runs
    assert set(injected) == set(FAULTS), injected
    assert 0.2 <= sum(injected.values()) / served <= 0.4, (injected, served)
    assert len(runs) > 1
    assert any(u.outcome != DONE for r in runs for u in r.units)
    # AND tweets kept arriving while the faulty runs polled, and some sweep was cut off mid-pagination and resumed
    # by a later run from its saved next_token
    assert any(T0 < t.created_at <= finished_at for t in fake.threads)
    assert any(saved_tokens[:-1]), "no run ended with a sweep cut off mid-pagination"
    assert not saved_tokens[-1]
    # AND every generated complaint is stored exactly once, with the reply the fake generated
    for slug in HANDLES:
        threads = expected(fake, slug, finished_at)
        complaints = faulty[f"complaints:{slug}"]
        assert [c.post_id for c in complaints] == sorted(t.complaint_id for t in threads)
        assert first_replies(complaints) == {
            t.complaint_id: t.reply_id if t.replied_at and t.replied_at <= finished_at else None for t in threads
        }
    # AND every complaint, reply, horizon and published snapshot equals the clean run's at the same time
    clean = clean_numbers(tmp_path, fake, finished_at)
    assert faulty.keys() == clean.keys()
    for key in clean:
        assert faulty[key] == clean[key], key


@pytest.mark.xfail(
    strict=True,
    reason="Newest-first X sweeps store a customer's follow-up (a reply to the company's answer, mentioning the "
    "company) one page before the complaint it follows; pairing that batch without the complaint makes the "
    "follow-up a complaint, and re-pairing once the real complaint is stored never retracts it (Ingestor / "
    "Store.put_complaints only upsert): the thread counts two complaints, the second one unanswered. "
    "Happens without any fault; not local to chalicelib/sources/x.py.",
)
@pytest.mark.timeout(60)
def test_a_follow_up_read_before_its_complaint_is_not_a_second_complaint(tmp_path: Path) -> None:
    # GIVEN a complaint answered two hours later and followed up by its customer, with eleven newer complaints
    # in between: newest first, the follow-up is on the first page of the mentions sweep, its complaint on the second
    fake = FakeX()
    for n, handle in enumerate(h for handles in HANDLES.values() for h in handles):
        fake.add_company(handle, 7_000 + n)
    start = T0 - timedelta(hours=3)
    fake.add_thread("AcmeHelp", 0, start, followers=12, reply_after=timedelta(hours=2), follow_up=True)
    for n in range(1, PAGE_SIZE + 2):
        fake.add_thread("AcmeHelp", n, start + n * timedelta(minutes=5), followers=12, reply_after=None)
    # WHEN one fault-free run reads everything
    clean = clean_numbers(tmp_path, fake, T0)
    # THEN each thread is still one complaint, the first one answered by the company's reply
    assert first_replies(clean["complaints:acme"]) == {t.complaint_id: t.reply_id for t in fake.threads}
