"""The poll job's orchestration: fairness, pauses, errors, claims, status, metrics, and its three entry points."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import responses

from chalicelib.domain.models import Company
from chalicelib.errors import ConfigError
from chalicelib.health import poll_status
from chalicelib.jobs.poll import CLAIMED, DONE, ERROR, NOT_STARTED, RATE_LIMITED, backfill, run_poll
from chalicelib.sources.base import Page, RequestBudget
from chalicelib.sources.errors import RateLimited, SourceUnavailable
from chalicelib.sources.registry import build_sources
from chalicelib.store.sqlite import SQLiteStore
from tests.e2e.fake_platform import COMPANY_HANDLE, TAG, FakeMastodon, acme_registry, mastodon_source

NOW = datetime(2026, 8, 3, 12, 0, tzinfo=UTC)
BASE = "http://mastodon.test"


class StubSource:
    """A source that spends one request per company and yields one empty page; scripted failures per company."""

    def __init__(self, name: str, failures: dict[str, Exception] | None = None) -> None:
        self.name = name
        self.failures = dict(failures or {})
        self.calls: list[str] = []

    def fetch(self, company: Company, cursor: str | None, *, budget: RequestBudget, now: datetime) -> Iterator[Page]:
        budget.spend(self.name, now)
        self.calls.append(company.slug)
        if company.slug in self.failures:
            raise self.failures[company.slug]
        yield Page(next_cursor=f"{company.slug}@{now.isoformat()}", done=True)


def companies(n: int, platforms: tuple[str, ...] = ("mastodon", "bluesky"), **flags: Any) -> dict[str, Company]:
    out = {}
    for i in range(1, n + 1):
        slug = f"c{i}"
        out[slug] = Company(slug=slug, name=slug.upper(), handles=dict.fromkeys(platforms, (f"{slug}-help",)))
    for slug, kind in flags.items():
        out[slug] = Company(slug=slug, name=slug, handles=dict.fromkeys(platforms, (f"{slug}-help",)), **{kind: True})
    return out


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SQLiteStore]:
    s = SQLiteStore(tmp_path / "poll.sqlite3")
    yield s
    s.close()


def at(minutes: int) -> datetime:
    return NOW + timedelta(minutes=minutes)


def test_a_run_out_of_budget_starts_the_next_one_where_it_stopped(store: SQLiteStore) -> None:
    # GIVEN five companies and a source budget that covers two of them per run
    source = StubSource("mastodon")
    registry = companies(5, platforms=("mastodon",))
    # WHEN three scheduled runs happen
    polled = []
    for i in range(3):
        before = len(source.calls)
        run_poll(store, registry, {"mastodon": source}, now=at(5 * i), budgets={"mastodon": RequestBudget(2)})
        polled.append(list(source.calls[before:]))
    # THEN each run continued where the last stopped, and no company waited more than one run in between
    assert polled[0] == ["c1", "c2"]
    assert polled[1][0] == "c3"
    assert {c for run in polled for c in run} == set(registry)


def test_rate_limit_pauses_only_that_source_until_its_reset(store: SQLiteStore) -> None:
    # GIVEN mastodon is rate limited at c2 for ten minutes, while bluesky is healthy
    reset = at(10)
    mastodon = StubSource("mastodon", {"c2": RateLimited("mastodon", reset)})
    bluesky = StubSource("bluesky")
    registry = companies(4)
    sources = {"mastodon": mastodon, "bluesky": bluesky}
    # WHEN a run happens
    result = run_poll(store, registry, sources, now=NOW)
    # THEN mastodon stopped at c2 and bluesky covered everyone
    outcomes = {(u.unit.source, u.unit.company): u.outcome for u in result.units}
    assert outcomes[("mastodon", "c1")] == DONE and outcomes[("mastodon", "c2")] == RATE_LIMITED
    assert outcomes[("mastodon", "c3")] == NOT_STARTED and outcomes[("mastodon", "c4")] == NOT_STARTED
    assert bluesky.calls == ["c1", "c2", "c3", "c4"]
    assert result.metrics.by_source["mastodon"].rate_limit_waits == 1
    rows = {(r["company"], r["source"]): r for r in poll_status(store, registry, NOW)}
    assert rows[("c2", "mastodon")]["paused_until"] == reset.isoformat()
    # WHEN the next run comes before the reset, and another after it
    mastodon.failures.clear()
    run_poll(store, registry, sources, now=at(5))
    calls_before_reset = list(mastodon.calls)
    run_poll(store, registry, sources, now=at(15))
    # THEN the paused source made no request until the reset, then resumed with the company it had not finished
    assert calls_before_reset == ["c1", "c2"]
    assert mastodon.calls[2:] == ["c2", "c3", "c4", "c1"]
    assert poll_status(store, registry, at(15))[0]["paused_until"] is None


def test_a_failing_unit_is_recorded_and_the_others_still_run(store: SQLiteStore) -> None:
    # GIVEN c2's source answers 503 after retries
    source = StubSource("mastodon", {"c2": SourceUnavailable("mastodon", "HTTP 503 from /api/v1/x")})
    registry = companies(3, platforms=("mastodon",))
    # WHEN a run happens
    result = run_poll(store, registry, {"mastodon": source}, now=NOW)
    # THEN c3 was polled, and the status names c2's error while the others are ok
    assert [u.outcome for u in result.units] == [DONE, ERROR, DONE]
    assert result.metrics.by_source["mastodon"].source_errors == 1
    rows = {r["company"]: r for r in poll_status(store, registry, NOW)}
    assert not rows["c2"]["ok"] and "HTTP 503" in rows["c2"]["last_error"]
    assert rows["c1"]["ok"] and rows["c3"]["ok"] and rows["c1"]["last_success"] == NOW.isoformat()
    # WHEN c2 recovers in the next run
    source.failures.clear()
    run_poll(store, registry, {"mastodon": source}, now=at(5))
    rows = {r["company"]: r for r in poll_status(store, registry, at(5))}
    # THEN it is ok again, and its last error is still shown for the record
    assert rows["c2"]["ok"] and rows["c2"]["last_error_at"] == NOW.isoformat()


def test_sample_and_retired_companies_and_platforms_without_handles_are_never_polled(store: SQLiteStore) -> None:
    registry = companies(1, platforms=("mastodon",), demo="sample", gone="retired")
    registry["bsky-only"] = Company(slug="bsky-only", name="B", handles={"bluesky": ("b",)})
    source = StubSource("mastodon")
    run_poll(store, registry, {"mastodon": source}, now=NOW)
    assert source.calls == ["c1"]


def test_a_second_invocation_of_the_same_slot_stands_aside_but_the_next_slot_runs(store: SQLiteStore) -> None:
    source = StubSource("mastodon")
    registry = companies(2, platforms=("mastodon",))
    first = run_poll(store, registry, {"mastodon": source}, now=NOW)
    retry = run_poll(store, registry, {"mastodon": source}, now=NOW + timedelta(minutes=2))
    forced = run_poll(store, registry, {"mastodon": source}, now=NOW + timedelta(minutes=2), use_claims=False)
    later = run_poll(store, registry, {"mastodon": source}, now=at(5))
    assert [u.outcome for u in first.units] == [DONE, DONE]
    assert [u.outcome for u in retry.units] == [CLAIMED, CLAIMED]
    assert [u.outcome for u in forced.units] == [DONE, DONE]
    assert [u.outcome for u in later.units] == [DONE, DONE]


@pytest.fixture
def fake() -> FakeMastodon:
    fake = FakeMastodon()
    fake.populate(NOW - timedelta(hours=1))
    return fake


@pytest.fixture
def mocked(fake: FakeMastodon) -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        fake.activate(rsps, BASE)
        yield rsps


def test_posts_metrics_and_poll_lag_match_what_the_platform_served(
    store: SQLiteStore, fake: FakeMastodon, mocked: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    # WHEN the fake instance is polled
    result = run_poll(store, acme_registry(), {"mastodon": mastodon_source(BASE)}, now=NOW)
    # THEN every distinct post it serves was counted once, and the lag is now − its newest post
    served = {**fake.replies, **fake.complaints}
    counts = result.metrics.by_source["mastodon"]
    assert counts.posts_fetched == len(served)
    assert counts.replies_paired == len(fake.replies)
    newest = max(datetime.fromisoformat(s["created_at"].replace("Z", "+00:00")) for s in served.values())
    assert counts.poll_lag_seconds == (NOW - newest).total_seconds()
    # AND published as EMF only when asked to (locally)
    capsys.readouterr()
    assert result.metrics.publish({}) == 0 and capsys.readouterr().out == ""
    assert result.metrics.publish({"FAIR_REPLY_METRICS": "1", "FAIR_REPLY_STAGE": "test"}) == 2
    blobs = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith('{"_aws"')]
    per_source = next(b for b in blobs if b.get("source") == "mastodon")
    assert per_source["PostsFetched"] == [float(len(served))]
    run_blob = next(b for b in blobs if "source" not in b)
    assert run_blob["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["stage", "service"]]


def test_a_new_complaint_is_picked_up_from_the_checkpoint(store: SQLiteStore, fake: FakeMastodon, mocked: Any) -> None:
    registry = acme_registry()
    run_poll(store, registry, {"mastodon": mastodon_source(BASE)}, now=NOW)
    before = len(fake.urls)
    thread = fake.add_thread(99, NOW + timedelta(minutes=1), followers=500_000, reply_after=timedelta(minutes=2))
    result = run_poll(store, registry, {"mastodon": mastodon_source(BASE)}, now=at(5))
    assert result.units[0].stats.posts_new == 2
    assert "lookup" not in fake.requests[before:]  # resumed from the cursor, not from scratch
    complaint = store.get_complaint("mastodon", thread.complaint_id)
    assert complaint is not None and complaint.first_reply is not None and complaint.source == "mastodon"
    assert store.get_horizons("acme") == {"mastodon": at(5)}


def test_backfill_reads_history_without_touching_the_live_checkpoint(
    store: SQLiteStore, fake: FakeMastodon, mocked: Any
) -> None:
    registry = acme_registry()
    run_poll(store, registry, {"mastodon": mastodon_source(BASE)}, now=NOW)
    live = store.get_checkpoint("acme", "mastodon")
    seen: list[int] = []
    result = backfill(store, registry, mastodon_source(BASE), "acme", now=at(1), max_requests=4, on_page=seen.append)
    assert store.get_checkpoint("acme", "mastodon") == live
    assert result.requests == 4 and result.exhausted and seen == sorted(seen) and seen[-1] == 4
    assert result.stats.posts_new == 0  # history it re-read was already stored: nothing twice


def test_build_sources_is_opt_in_and_x_needs_a_token() -> None:
    assert build_sources({}) == {}
    assert sorted(build_sources({"FAIR_REPLY_SOURCES": "all"})) == ["bluesky", "mastodon", "reddit"]
    with_x = build_sources({"FAIR_REPLY_SOURCES": "x,mastodon", "FAIR_REPLY_X_BEARER_TOKEN": "t0k3n"})
    assert sorted(with_x) == ["mastodon", "x"]
    local = build_sources({"FAIR_REPLY_SOURCES": "mastodon", "FAIR_REPLY_MASTODON_BASE_URL": "http://127.0.0.1:9"})
    assert local["mastodon"].base_url == "http://127.0.0.1:9"
    with pytest.raises(ConfigError, match="myspace"):
        build_sources({"FAIR_REPLY_SOURCES": "mastodon,myspace"})


@pytest.fixture
def acme_env(isolated_env: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    registry = isolated_env / "acme.toml"
    registry.write_text(
        f'[companies.acme]\nname = "Acme"\n[companies.acme.handles]\nmastodon = ["{COMPANY_HANDLE}"]\n'
        f'[companies.acme.search]\nmastodon = ["#{TAG}"]\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("FAIR_REPLY_COMPANIES", str(registry))
    monkeypatch.setenv("FAIR_REPLY_SOURCES", "mastodon")
    monkeypatch.setenv("FAIR_REPLY_MASTODON_BASE_URL", BASE)
    return registry


class LambdaContext:
    aws_request_id = "req-123"

    def __init__(self, remaining_ms: int) -> None:
        self.remaining_ms = remaining_ms

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


def test_the_schedule_runs_the_poll_every_five_minutes_and_honours_the_lambda_deadline(
    acme_env: Path, fake: FakeMastodon, mocked: Any
) -> None:
    from chalicelib.jobs.schedules import SCHEDULES, lambda_handler

    poll = next(s for s in SCHEDULES if s.name == "poll")
    assert poll.minutes == 5 and poll.target == "chalicelib.jobs.poll:run"
    event = type("Event", (), {"time": NOW.isoformat(), "context": LambdaContext(remaining_ms=5_000)})()
    # WHEN the Lambda has 5 s left (below the safety margin), nothing is started
    cut = lambda_handler(poll)(event)
    assert cut["stopped_early"] and fake.requests == []
    # WHEN it has minutes left, the unit completes
    event.context = LambdaContext(remaining_ms=240_000)
    event.time = at(5).isoformat()
    done = lambda_handler(poll)(event)
    assert done["outcomes"] == {DONE: 1} and done["complaints"] > 0


def test_cli_poll_then_status(acme_env: Path, fake: FakeMastodon, mocked: Any, capsys: pytest.CaptureFixture[str]) -> None:
    from chalicelib.cli import main

    assert main(["poll", "--now", NOW.isoformat()]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["sources"] == ["mastodon"] and summary["outcomes"] == {DONE: 1}
    assert main(["status", "--now", at(10).isoformat()]) == 0
    table = capsys.readouterr().out
    assert "acme" in table and "mastodon" in table and "yes" in table
    assert main(["status", "--json"]) == 0
    [row] = json.loads(capsys.readouterr().out)
    assert row["company"] == "acme" and row["last_error"] is None and row["remaining_budget"] < 250


def test_cli_backfill_rejects_an_unknown_company(acme_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from chalicelib.cli import main

    assert main(["backfill", "nope", "mastodon"]) == 2
    assert "unknown company" in capsys.readouterr().err
