"""One observation horizon per archive: each archive's unanswered complaints are censored at its own end.

Archives are written by ``bench.archive_gen`` (the recorded twarc2 page shape). The expected observations
come from an independent reading of the JSONL files below (a complaint is a customer's thread-opening post;
its first reply is the company's earliest post answering it; an unanswered one waits until its own file's
latest post), sharing no code with the importer, and the all-time snapshot's figures are checked against
lifelines on those durations.
"""

from __future__ import annotations

import json
import shutil
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from lifelines import KaplanMeierFitter

from bench import archive_gen
from chalicelib.domain.fairness import Observation
from chalicelib.domain.models import Company, Complaint
from chalicelib.domain.tiers import tier_for
from chalicelib.jobs import importer
from chalicelib.jobs.aggregate import AggregateOptions, company_key, run_aggregate, samples_from_complaints
from chalicelib.jobs.importer import ARCHIVE_SOURCE, archive_source, format_report, import_archive, is_archive_source
from chalicelib.registry import parse_registry
from chalicelib.store.sqlite import SQLiteStore

SLUG = "bench-co-0"
JUNE = datetime(2025, 6, 2, 8, 0, tzinfo=UTC)
NOW = datetime(2026, 11, 23, tzinfo=UTC)  # long after both archives: "now" must never be anybody's horizon
OPTIONS = AggregateOptions(min_sample=30, replicates=50)


@dataclass(frozen=True)
class Archives:
    january: Path
    june: Path
    registry: dict[str, Company]


@pytest.fixture(scope="module")
def archives(tmp_path_factory: pytest.TempPathFactory) -> Archives:
    """The same company's traffic archived twice, five months apart (two collections, two files)."""
    where = tmp_path_factory.mktemp("archives")
    january = archive_gen.write_twarc2_archive(where / "january.jsonl", 400, companies=1, seed=1)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(archive_gen, "START", JUNE)
        june = archive_gen.write_twarc2_archive(where / "june.jsonl", 400, companies=1, seed=2)
    registry = parse_registry(
        {"companies": {s: {"name": s, "handles": {"x": list(h)}} for s, h in january.companies.items()}}
    )
    return Archives(january.path, june.path, registry)


def open_store(path: Path) -> SQLiteStore:
    return SQLiteStore(path)


# --- the independent reading ---------------------------------------------------------------------------------


def _at(value: str) -> datetime:
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


@dataclass(frozen=True)
class Expected:
    created_at: datetime
    minutes: float
    answered: bool
    followers: int


def expected_observations(*paths: Path, horizon: datetime | None = None) -> list[Expected]:
    """Each file's complaints, answered by the company's earliest reply in that file or waiting until its end."""
    out: list[Expected] = []
    for path in paths:
        tweets, users = {}, {}
        with path.open(encoding="utf-8") as fp:
            for line in fp:
                page = json.loads(line)
                tweets.update((t["id"], t) for t in page["data"])
                users.update((u["id"], u) for u in page["includes"]["users"])
        end = horizon or max(_at(t["created_at"]) for t in tweets.values())
        company_ids = {uid for uid, u in users.items() if u["username"].startswith("BenchCo")}
        replies: dict[str, datetime] = {}
        for t in tweets.values():
            parent = next((r["id"] for r in t.get("referenced_tweets", ()) if r["type"] == "replied_to"), None)
            if parent is not None and t["author_id"] in company_ids:
                at = _at(t["created_at"])
                replies[parent] = min(at, replies.get(parent, at))
        for t in tweets.values():
            if "referenced_tweets" in t or t["author_id"] in company_ids:
                continue
            created = _at(t["created_at"])
            reply = replies.get(t["id"])
            answered = reply is not None and reply <= end
            until = reply if answered else end
            followers = users[t["author_id"]]["public_metrics"]["followers_count"]
            out.append(Expected(created, (until - created).total_seconds() / 60, answered, followers))
    return out


def _key(created_at: datetime, minutes: float, answered: bool) -> tuple[datetime, float, bool]:
    return created_at, round(minutes, 6), answered


def expected_keys(expected: list[Expected]) -> Counter:
    return Counter(_key(e.created_at, e.minutes, e.answered) for e in expected)


def observed_keys(observations: list[Observation]) -> Counter:
    return Counter(_key(o.created_at, o.duration_minutes, o.event_observed) for o in observations)


# --- what the statistics see ---------------------------------------------------------------------------------


def complaints_of(store: SQLiteStore, slug: str = SLUG) -> list[Complaint]:
    found, cursor = [], None
    while True:
        page = store.list_complaints(slug, limit=1000, cursor=cursor)
        found += page.items
        if (cursor := page.next_cursor) is None:
            return found


def observations(store: SQLiteStore, complaints: list[Complaint] | None = None) -> list[Observation]:
    """What Kaplan–Meier is fed: the aggregate's own censoring of the stored complaints at their sources' horizons."""
    chosen = complaints_of(store) if complaints is None else complaints
    return samples_from_complaints(chosen, store.get_horizons(SLUG), NOW)[1]


def _km(expected: list[Expected]) -> KaplanMeierFitter:
    return KaplanMeierFitter().fit([e.minutes for e in expected], [e.answered for e in expected])


def _by_tier(expected: list[Expected]) -> dict[str, list[Expected]]:
    tiers: dict[str, list[Expected]] = {}
    for e in expected:
        tiers.setdefault(str(tier_for(e.followers)), []).append(e)
    return tiers


def assert_tiers_match_lifelines(body: dict, expected: list[Expected]) -> None:
    """The snapshot's n, answered and answered-within shares per tier are lifelines' on ``expected``."""
    tiers = body["platforms"]["x"]["tiers"]
    for tier, mine in _by_tier(expected).items():
        got = tiers[tier]
        assert (got["n"], got["answered"]) == (len(mine), sum(e.answered for e in mine)), tier
        km = _km(mine)
        for minutes, share in got["answered_within"].items():
            want = 1 - float(km.survival_function_at_times(float(minutes)).iloc[0])
            assert share == pytest.approx(want, abs=1e-9), (tier, minutes)


# --- tests ---------------------------------------------------------------------------------------------------


def test_two_archives_of_one_company_are_each_censored_at_their_own_end(archives: Archives, tmp_path: Path) -> None:
    # GIVEN a January archive and a June archive of the same company, imported one after the other
    store = open_store(tmp_path / "both.sqlite3")
    jan = import_archive(archives.january, fmt="twarc2", store=store, companies=archives.registry)
    jun = import_archive(archives.june, fmt="twarc2", store=store, companies=archives.registry)
    # THEN each archive has its own source key and horizon, its own file's latest post
    expect_jan, expect_jun = expected_observations(archives.january), expected_observations(archives.june)
    assert jan.source != jun.source and is_archive_source(jan.source) and is_archive_source(jun.source)
    assert store.get_horizons(SLUG) == {jan.source: jan.latest_post_at, jun.source: jun.latest_post_at}
    assert {c.source for c in complaints_of(store)} == {jan.source, jun.source}
    # WHEN the aggregate censors the stored complaints
    seen = observations(store)
    # THEN every January complaint waits at most until January's end, as in the file, not until June's
    assert observed_keys(seen) == expected_keys(expect_jan) + expected_keys(expect_jun)
    january_open = [o for o in seen if o.created_at <= jan.latest_post_at and not o.event_observed]
    assert january_open and max(o.duration_minutes for o in january_open) < 24 * 60
    # THEN it is what importing January alone gives
    alone = open_store(tmp_path / "january.sqlite3")
    import_archive(archives.january, fmt="twarc2", store=alone, companies=archives.registry)
    jan_part = [o for o in seen if o.created_at <= jan.latest_post_at]
    assert observed_keys(jan_part) == observed_keys(observations(alone))
    # THEN the order of the imports does not matter
    reverse = open_store(tmp_path / "reverse.sqlite3")
    import_archive(archives.june, fmt="twarc2", store=reverse, companies=archives.registry)
    import_archive(archives.january, fmt="twarc2", store=reverse, companies=archives.registry)
    assert observed_keys(observations(reverse)) == observed_keys(seen)


def test_the_all_time_snapshot_agrees_with_lifelines_on_per_archive_censoring(
    archives: Archives, tmp_path: Path
) -> None:
    # GIVEN both archives imported, and the aggregate run long after (the running state's path)
    store = open_store(tmp_path / "both.sqlite3")
    for path in (archives.january, archives.june):
        import_archive(path, fmt="twarc2", store=store, companies=archives.registry)
    run_aggregate(store, archives.registry, NOW, OPTIONS)
    body = store.get_snapshot(company_key(SLUG, "all"))[0]
    # THEN per tier, n, answered and the answered-within shares are lifelines' on per-archive censoring
    expected = expected_observations(archives.january) + expected_observations(archives.june)
    assert_tiers_match_lifelines(body, expected)
    # THEN they are not what one horizon for both archives (the June end) would give: the check can fail
    june_end = max(e.created_at + timedelta(minutes=e.minutes) for e in expected)
    one_horizon = expected_observations(archives.january, horizon=june_end) + expected_observations(archives.june)
    with pytest.raises(AssertionError):
        assert_tiers_match_lifelines(body, one_horizon)
    assert body["coverage"] == {k: h.isoformat() for k, h in sorted(store.get_horizons(SLUG).items())}
    assert sorted(body["coverage"]) == sorted([archive_source(archives.january), archive_source(archives.june)])


def test_re_running_an_archive_or_a_renamed_copy_lands_on_the_same_key(archives: Archives, tmp_path: Path) -> None:
    # GIVEN the January archive imported once
    store = open_store(tmp_path / "store.sqlite3")
    first = import_archive(archives.january, fmt="twarc2", store=store, companies=archives.registry)
    before = store.changed_complaints(SLUG)
    seen = observed_keys(observations(store))
    # WHEN it is imported again, and then a copy of it under another name
    again = import_archive(archives.january, fmt="twarc2", store=store, companies=archives.registry)
    copy = tmp_path / "renamed-copy.jsonl"
    shutil.copyfile(archives.january, copy)
    renamed = import_archive(copy, fmt="twarc2", store=store, companies=archives.registry)
    # THEN all three land on one key, nothing is new or changed, and the counts are the same
    assert first.source == again.source == renamed.source == archive_source(copy)
    assert again.new_posts == renamed.new_posts == 0 and first.new_posts == first.imported
    assert again.companies == renamed.companies == first.companies
    assert store.changed_complaints(SLUG) == before
    assert store.get_horizons(SLUG) == {first.source: first.latest_post_at}
    assert observed_keys(observations(store)) == seen
    assert again.warnings == renamed.warnings == ()
    assert first.source in format_report(renamed)
    # WHEN a file with other content (the archive without its last page) is imported
    shorter = tmp_path / "january.jsonl"
    shorter.write_text("".join(archives.january.read_text(encoding="utf-8").splitlines(keepends=True)[:-1]))
    # THEN it is another archive, with another key, although its name is the original's
    assert archive_source(shorter) != first.source


def test_a_complaint_in_two_archives_keeps_the_archive_it_was_first_stored_from(tmp_path: Path) -> None:
    # GIVEN two overlapping collections cut from one archive: pages 1-3 and pages 2-5
    full = archive_gen.write_twarc2_archive(tmp_path / "full.jsonl", 500, companies=1, seed=3)
    registry = parse_registry({"companies": {s: {"name": s, "handles": {"x": list(h)}} for s, h in full.companies.items()}})
    pages = full.path.read_text(encoding="utf-8").splitlines(keepends=True)
    early, late = tmp_path / "early.jsonl", tmp_path / "late.jsonl"
    early.write_text("".join(pages[:3]))
    late.write_text("".join(pages[1:]))
    store = open_store(tmp_path / "store.sqlite3")
    # WHEN the early one is imported first, then the late one
    first = import_archive(early, fmt="twarc2", store=store, companies=registry)
    second = import_archive(late, fmt="twarc2", store=store, companies=registry)
    # THEN the complaints both hold keep the early key, and are censored as the early archive alone censors them
    complaints = complaints_of(store)
    in_both = [c for c in complaints if second.earliest_post_at <= c.created_at <= first.latest_post_at]
    assert in_both and {c.source for c in in_both} == {first.source}
    alone = open_store(tmp_path / "alone.sqlite3")
    import_archive(early, fmt="twarc2", store=alone, companies=registry)
    early_owned = [c for c in complaints if c.source == first.source]
    assert observed_keys(observations(store, early_owned)) == observed_keys(observations(alone))
    # THEN the late archive's own complaints wait until the late archive's end
    late_owned = [c for c in complaints if c.source == second.source]
    want = [e for e in expected_observations(late) if e.created_at > first.latest_post_at]
    assert observed_keys(observations(store, late_owned)) == expected_keys(want)
    # THEN the late archive's summary says its span also holds complaints kept under the early key
    assert any(first.source in w for w in second.warnings)


def test_a_legacy_single_archive_horizon_still_aggregates_as_before(
    archives: Archives, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a store written by the earlier importer: January under the one key "archive", one horizon
    store = open_store(tmp_path / "legacy.sqlite3")
    with monkeypatch.context() as mp:
        mp.setattr(importer, "archive_source", lambda path, progress=None: ARCHIVE_SOURCE)
        legacy = import_archive(archives.january, fmt="twarc2", store=store, companies=archives.registry)
    assert {c.source for c in complaints_of(store)} == {ARCHIVE_SOURCE}
    assert store.get_horizons(SLUG) == {ARCHIVE_SOURCE: legacy.latest_post_at}
    # THEN its complaints are censored at that horizon, as the file says, by the from-scratch and running paths
    expect_jan = expected_observations(archives.january)
    assert observed_keys(observations(store)) == expected_keys(expect_jan)
    run_aggregate(store, archives.registry, NOW, OPTIONS)
    before = store.get_snapshot(company_key(SLUG, "all"))[0]
    assert_tiers_match_lifelines(before, expect_jan)
    # WHEN the new importer re-imports January (a new key) and adds June
    again = import_archive(archives.january, fmt="twarc2", store=store, companies=archives.registry)
    june = import_archive(archives.june, fmt="twarc2", store=store, companies=archives.registry)
    # THEN January's complaints keep the legacy key and horizon, June's wait until June's end
    assert again.new_posts == 0 and again.companies[SLUG].inbound == 0
    assert any(f"{len(expect_jan):,} under {ARCHIVE_SOURCE} (legacy key)" in w for w in again.warnings)
    assert store.get_horizons(SLUG)[ARCHIVE_SOURCE] == legacy.latest_post_at
    assert {c.source for c in complaints_of(store)} == {ARCHIVE_SOURCE, june.source}
    assert observed_keys(observations(store)) == expected_keys(expect_jan + expected_observations(archives.june))
    # THEN the running state (the all-time snapshot) agrees, and coverage lists the legacy key beside the new ones
    run_aggregate(store, archives.registry, NOW + timedelta(hours=1), OPTIONS)
    after = store.get_snapshot(company_key(SLUG, "all"))[0]
    assert_tiers_match_lifelines(after, expect_jan + expected_observations(archives.june))
    assert set(after["coverage"]) == {ARCHIVE_SOURCE, again.source, june.source}
    assert after["coverage"][ARCHIVE_SOURCE] == before["coverage"][ARCHIVE_SOURCE]
