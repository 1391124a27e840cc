from __future__ import annotations

import shutil
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from chalicelib.domain.models import Account, Category, Complaint, Post, PostKind, Reply, ReplyKind, Tier
from chalicelib.domain.simulation import generate_sample_complaints
from chalicelib.jobs.aggregate import (
    WINDOWS,
    AggregateOptions,
    Running,
    company_key,
    day_key,
    journal_key,
    leaderboard_key,
    run_aggregate,
    running_key,
    summary_doc,
)
from chalicelib.jobs.ingest import Ingestor
from chalicelib.registry import parse_registry
from chalicelib.store.sqlite import SQLiteStore

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
REGISTRY = parse_registry(
    {
        "companies": {
            "acme-air": {"name": "Acme Air", "sla_minutes": 60, "handles": {"x": ["AcmeAirHelp"]}},
            "bolt-bank": {"name": "Bolt Bank", "handles": {"x": ["BoltBankHelp"]}},
        }
    }
)
OPTIONS = AggregateOptions(min_sample=30, replicates=200)


@pytest.fixture
def store(tmp_path: Path):
    s = SQLiteStore(tmp_path / "store.sqlite3")
    yield s
    s.close()


def account(handle: str, followers: int | None = 10) -> Account:
    return Account(platform="x", account_id=f"id-{handle}", handle=handle, followers=followers)


def thread(n: int = 0) -> list[Post]:
    """A customer complains to @AcmeAirHelp, follows up, and the company answers the follow-up."""
    customer, company = account(f"customer{n}"), account("AcmeAirHelp", 50_000)
    root = f"{n}00"
    return [
        Post("x", root, customer, T0, "@AcmeAirHelp my bag is lost", PostKind.POST, root, mentions=("AcmeAirHelp",)),
        Post("x", f"{n}01", customer, T0 + timedelta(minutes=5), "@AcmeAirHelp hello??", PostKind.REPLY, root, root,
             customer.account_id, ("AcmeAirHelp",)),
        Post("x", f"{n}02", company, T0 + timedelta(minutes=42), "@customer sorry, we found it and it is on its way",
             PostKind.REPLY, root, f"{n}01", customer.account_id, (customer.handle,)),
    ]


def test_a_reply_stored_before_its_complaint_still_pairs(store: SQLiteStore) -> None:
    # GIVEN a poll that fetched the company's reply first, and the complaint in a later run
    posts = thread()
    ingestor = Ingestor(store, REGISTRY)
    # WHEN the batches arrive out of order
    ingestor.ingest([posts[2]])
    ingestor.ingest([posts[1], posts[0]])
    # THEN the complaint is the first post, answered 42 minutes later, and the follow-up is not a complaint
    complaint = store.get_complaint("x", "000")
    assert complaint is not None and complaint.company == "acme-air" and complaint.tier == Tier.ORDINARY
    assert complaint.first_reply is not None and complaint.first_reply.post_id == "002"
    assert store.get_complaint("x", "001") is None
    assert store.list_complaints("acme-air").items == [complaint]


def test_re_ingesting_the_same_posts_changes_nothing(store: SQLiteStore) -> None:
    ingestor = Ingestor(store, REGISTRY)
    first = ingestor.ingest(thread())
    before = store.changed_complaints("acme-air")
    again = ingestor.ingest(list(reversed(thread())))
    assert first.posts_new == 3 and again.posts_new == 0
    assert store.changed_complaints("acme-air") == before


def _strip_times(body: dict) -> dict:
    return {k: v for k, v in body.items() if k not in ("generated_at",)}


def test_incremental_aggregation_equals_from_scratch(tmp_path: Path) -> None:
    # GIVEN the same complaints stored in one go in one store, and in three batches in another
    now = T0 + timedelta(days=20)
    complaints = generate_sample_complaints("acme-air", "x", 240, T0, now, seed=7, profile="favours_high_profile")
    complaints += generate_sample_complaints("bolt-bank", "x", 90, T0, now, seed=8, profile="fair")
    at_once, batched = SQLiteStore(tmp_path / "a.sqlite3"), SQLiteStore(tmp_path / "b.sqlite3")
    at_once.put_complaints(complaints)
    run_aggregate(at_once, REGISTRY, now, OPTIONS)
    for part in (complaints[:100], complaints[100:200], complaints[200:]):
        batched.put_complaints(part)
        run_aggregate(batched, REGISTRY, now, OPTIONS)
    # WHEN both are aggregated at the same time
    run_aggregate(batched, REGISTRY, now, OPTIONS)
    # THEN every snapshot is identical
    for slug in REGISTRY:
        for window in ("7d", "30d", "90d", "all"):
            a = at_once.get_snapshot(company_key(slug, window))[0]
            b = batched.get_snapshot(company_key(slug, window))[0]
            assert _strip_times(a) == _strip_times(b), (slug, window)
    assert at_once.get_snapshot(leaderboard_key("all"))[0] == batched.get_snapshot(leaderboard_key("all"))[0]


def test_archive_complaints_are_censored_at_the_archive_end_not_now(store: SQLiteStore) -> None:
    # GIVEN archive complaints from 2017 whose import recorded the archive's end as the horizon
    end = datetime(2017, 11, 30, tzinfo=UTC)
    complaints = [
        c.__class__(**{**{f: getattr(c, f) for f in c.__slots__}, "source": "archive"})
        for c in generate_sample_complaints("acme-air", "x", 120, end - timedelta(days=30), end, seed=3)
    ]
    store.put_complaints(complaints)
    store.set_horizon("acme-air", "archive", end)
    # WHEN aggregated years later
    run_aggregate(store, REGISTRY, datetime(2026, 11, 23, tzinfo=UTC), OPTIONS)
    body = store.get_snapshot(company_key("acme-air", "all"))[0]
    # THEN no complaint waited longer than the archive covered
    longest = (end - min(c.created_at for c in complaints)).total_seconds() / 60
    for tier in body["platforms"]["all"]["tiers"].values():
        curve = tier["time_to_reply"]["curve"]
        assert curve and max(p["t"] for p in curve) <= longest + 1e-6
    assert body["coverage"]["archive"] == end.isoformat()


def test_leaderboard_ranks_only_companies_with_enough_data(store: SQLiteStore) -> None:
    now = T0 + timedelta(days=10)
    store.put_complaints(generate_sample_complaints("acme-air", "x", 1200, T0, now, seed=1, profile="fair"))
    store.put_complaints(generate_sample_complaints("bolt-bank", "x", 10, T0, now, seed=2, profile="fair"))
    run_aggregate(store, REGISTRY, now, OPTIONS)
    board = store.get_snapshot(leaderboard_key("30d"))[0]
    ranks = {c["company"]["slug"]: c["rank"] for c in board["companies"]}
    assert ranks == {"acme-air": 1, "bolt-bank": None}
    bolt = next(c for c in board["companies"] if c["company"]["slug"] == "bolt-bank")
    assert bolt["platforms"]["all"]["comparison"]["verdict"] == "insufficient_data"


# --- crash safety of the incremental documents ---------------------------------------------------------------

CRASH_NOW = T0 + timedelta(days=20)
CRASH_OPTIONS = AggregateOptions(min_sample=30, replicates=20)
SECOND_RUN_WRITES = 64  # documents the second run of the scenario below writes: one crash test per write


class Killed(BaseException):
    """A Lambda timeout: the run stops mid-statement and no handler runs."""


class DyingStore(SQLiteStore):
    """A SQLite store that dies at its ``die_at``-th document write (counted over its life), as a run can."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.writes: list[str] = []
        self.die_at: int | None = None

    def _put_snapshot(self, key: str, data: bytes, generated_at: datetime) -> None:
        # every document write (snapshots, texts) goes through here
        self.writes.append(key)
        if len(self.writes) == self.die_at:
            self.die_at = None
            raise Killed(key)
        super()._put_snapshot(key, data, generated_at)

    def die_in_this_run_at(self, k: int) -> None:
        self.die_at = len(self.writes) + k


def _answered(c: Complaint, hours: float, kind: ReplyKind = ReplyKind.SUBSTANTIVE) -> Complaint:
    at = min(CRASH_NOW, c.created_at + timedelta(hours=hours))
    reply = Reply(c.platform, f"late-{c.post_id}", c.post_id, c.company, "Help", at, kind)
    return replace(c, first_reply=reply, first_substantive_reply=reply if kind == ReplyKind.SUBSTANTIVE else None)


def _batches() -> list[list[Complaint]]:
    """Three scheduled runs' worth: history; new complaints plus later versions of old ones; then more versions.

    Later versions are what the store lets change: a first reply arriving (answered or deflected), a
    deletion, a new category. Each moves a complaint between or out of the running states.
    """
    acme = generate_sample_complaints("acme-air", "x", 160, T0, CRASH_NOW - timedelta(days=2), seed=7,
                                      profile="favours_high_profile")
    bolt = generate_sample_complaints("bolt-bank", "x", 60, T0, CRASH_NOW - timedelta(days=2), seed=8)
    fresh = generate_sample_complaints("acme-air", "x", 30, CRASH_NOW - timedelta(days=2), CRASH_NOW, seed=9)
    fresh += generate_sample_complaints("bolt-bank", "x", 12, CRASH_NOW - timedelta(days=2), CRASH_NOW, seed=10)
    first = acme + bolt
    waiting = [c for c in first if c.first_reply is None and c.category == Category.COMPLAINT]
    replied = [c for c in first if c.first_reply is not None and c.category == Category.COMPLAINT]
    assert len(waiting) >= 6 and len(replied) >= 6, "the scenario needs complaints of both kinds"
    second = fresh + [_answered(c, 5 + i, ReplyKind.DEFLECTION if i % 2 else ReplyKind.SUBSTANTIVE)
                      for i, c in enumerate(waiting[:4])]
    second += [replace(replied[0], deleted=True), replace(replied[1], category=Category.PRAISE)]
    fresh_waiting = [c for c in fresh if c.first_reply is None and c.category == Category.COMPLAINT]
    third = [_answered(c, 1) for c in fresh_waiting[:3]] + [replace(waiting[0], deleted=True)]
    third += [_answered(waiting[4], 30), replace(replied[2], category=Category.SPAM)]
    return [first, second, third]


def _published(store: SQLiteStore) -> dict[str, Any]:
    """Every public snapshot, and the incremental documents' contents (not their bookkeeping numbers)."""
    out: dict[str, Any] = {}
    for slug in REGISTRY:
        for window in WINDOWS:
            out[company_key(slug, window)] = _strip_times(store.get_snapshot(company_key(slug, window))[0])
        running, _ = Running.load(store, slug)
        days = sorted(date.fromordinal(d).isoformat() for d in running.days)
        states = {key: state.to_dict() for key, state in running.states(store, slug).items()}
        out[running_key(slug)] = (states, days)
        for day in days:
            out[day_key(slug, day)] = store.get_snapshot(day_key(slug, day))[0]["complaints"]
    for window in WINDOWS:
        out[leaderboard_key(window)] = _strip_times(store.get_snapshot(leaderboard_key(window))[0])
    return out


def _run(store: SQLiteStore) -> None:
    run_aggregate(store, REGISTRY, CRASH_NOW, CRASH_OPTIONS)


@pytest.fixture(scope="module")
def crash_setup(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A store after the first run (copied by each test), and what runs that never die publish in the end."""
    tmp = tmp_path_factory.mktemp("crash")
    batches = _batches()
    after_first = DyingStore(tmp / "first.sqlite3")
    after_first.put_complaints(batches[0])
    _run(after_first)
    after_first.close()
    shutil.copyfile(tmp / "first.sqlite3", tmp / "clean.sqlite3")
    clean = DyingStore(tmp / "clean.sqlite3")
    clean.put_complaints(batches[1])
    writes_before = len(clean.writes)
    _run(clean)
    second_run_writes = clean.writes[writes_before:]
    clean.put_complaints(batches[2])
    _run(clean)
    published = _published(clean)
    clean.close()
    # Runs that never die agree with one run over everything (the same check as the batched test above).
    at_once = SQLiteStore(tmp / "at_once.sqlite3")
    at_once.put_complaints([c for batch in batches for c in batch])
    _run(at_once)
    scratch = _published(at_once)
    at_once.close()
    for key, value in scratch.items():
        if key.startswith(("company:", "leaderboard:")):
            assert value == published[key], key
    return {"tmp": tmp, "batches": batches, "published": published, "second_run_writes": second_run_writes}


def _from_first_run(crash_setup: dict[str, Any], name: str) -> DyingStore:
    path = crash_setup["tmp"] / f"{name}.sqlite3"
    shutil.copyfile(crash_setup["tmp"] / "first.sqlite3", path)
    return DyingStore(path)


def test_the_crash_scenario_writes_every_kind_of_document(crash_setup: dict[str, Any]) -> None:
    # The parametrisation below kills the second run at each of these writes: make sure they are all there.
    writes = crash_setup["second_run_writes"]
    for slug in REGISTRY:
        own = [w for w in writes if w.startswith(f"agg:{slug}:")]
        assert own[0] == journal_key(slug) and own[1] == running_key(slug) and own[-1] == journal_key(slug)
        years = [w for w in own[2:-1] if w.startswith(f"{running_key(slug)}:")]
        assert years and own[2:2 + len(years)] == years, "the year states come right after the running head"
        assert len(own) >= 5 and all(w.startswith(f"agg:{slug}:day:") for w in own[2 + len(years):-1])
    assert sum(w.startswith("company:") for w in writes) == len(REGISTRY) * len(WINDOWS)
    assert len(writes) == SECOND_RUN_WRITES, "keep the parametrised crash test below in step with the scenario"


@pytest.mark.parametrize("k", range(1, SECOND_RUN_WRITES + 1))
def test_a_run_killed_at_any_write_is_repaired_by_the_next(crash_setup: dict[str, Any], tmp_path: Path, k: int) -> None:
    writes = crash_setup["second_run_writes"]
    # GIVEN a store after its first run, and a second batch of new and changed complaints
    first, second, third = crash_setup["batches"]
    store = _from_first_run(crash_setup, f"k{k}")
    store.put_complaints(second)
    # WHEN the second run is killed at its k-th document write
    store.die_in_this_run_at(k)
    with pytest.raises(Killed):
        _run(store)
    assert store.writes[-1] == writes[k - 1]
    # AND more changes arrive (some to complaints that run had filed) before the next run, which completes
    store.put_complaints(third)
    _run(store)
    # THEN every snapshot and every incremental document equals those of runs that never died
    got = _published(store)
    store.close()
    assert got.keys() == crash_setup["published"].keys()
    for key, value in crash_setup["published"].items():
        assert got[key] == value, (writes[k - 1], key)


@pytest.mark.parametrize("j", range(1, 9))
def test_a_run_killed_while_repairing_is_repaired_by_the_next(crash_setup: dict[str, Any], j: int) -> None:
    # GIVEN a second run killed after its running document but before its day documents
    first, second, third = crash_setup["batches"]
    store = _from_first_run(crash_setup, f"j{j}")
    store.put_complaints(second)
    lost_day = crash_setup["second_run_writes"].index(running_key("acme-air")) + 2
    store.die_in_this_run_at(lost_day)
    with pytest.raises(Killed):
        _run(store)
    store.put_complaints(third)
    # WHEN the next run is killed too, at its j-th write (while re-filing the journal, or just after)
    store.die_in_this_run_at(j)
    with pytest.raises(Killed):
        _run(store)
    _run(store)
    # THEN the run after that publishes what runs that never died publish
    got = _published(store)
    store.close()
    for key, value in crash_setup["published"].items():
        assert got[key] == value, key


def test_a_run_with_nothing_new_writes_no_incremental_document(crash_setup: dict[str, Any]) -> None:
    # GIVEN a store whose last run absorbed everything
    store = _from_first_run(crash_setup, "idle")
    before = len(store.writes)
    # WHEN a run re-reads the overlap of already filed changes and finds nothing new
    _run(store)
    # THEN it rewrites only the public snapshots, and they are unchanged
    assert not [w for w in store.writes[before:] if w.startswith("agg:")]
    store.close()


def test_a_run_rewrites_only_the_days_it_changed(crash_setup: dict[str, Any]) -> None:
    # GIVEN a store after its first run, and one new complaint of today
    first, second, _ = crash_setup["batches"]
    store = _from_first_run(crash_setup, "one")
    new = next(c for c in second if c.company == "acme-air" and c.post_id not in {f.post_id for f in first})
    store.put_complaints([new])
    before = len(store.writes)
    # WHEN the next run re-reads the overlap (a hundred earlier changes, over many days) and the new complaint
    _run(store)
    # THEN the only day document written is the new complaint's
    days = [w for w in store.writes[before:] if ":day:" in w]
    assert days == [day_key("acme-air", new.created_at.date().isoformat())]
    store.close()


def test_day_documents_of_the_former_layout_are_rebuilt_not_trusted(crash_setup: dict[str, Any], tmp_path: Path) -> None:
    # GIVEN complaints, and a day document of the former layout (no generation) that already holds their copies
    first = crash_setup["batches"][0]
    store = SQLiteStore(tmp_path / "former.sqlite3")
    store.put_complaints(first)
    day = first[0].created_at.date().isoformat()
    copies = {f"{c.platform}:{c.post_id}": summary_doc(c) for c in first
              if c.company == first[0].company and c.created_at.date().isoformat() == day}
    store.put_snapshot(day_key(first[0].company, day), {"complaints": copies, "states": {}}, CRASH_NOW)
    # WHEN the job first runs with the present layout
    _run(store)
    # THEN those complaints still count: the `all` window equals a store that never had the old document
    fresh = SQLiteStore(tmp_path / "fresh.sqlite3")
    fresh.put_complaints(first)
    _run(fresh)
    key = company_key(first[0].company, "all")
    assert _strip_times(store.get_snapshot(key)[0]) == _strip_times(fresh.get_snapshot(key)[0])
    store.close()
    fresh.close()


def test_a_running_document_of_the_single_document_layout_is_rebuilt_from_the_change_log(store: SQLiteStore) -> None:
    # GIVEN a store aggregated once, whose running document is then replaced by the earlier layout (every state
    # inline, days as ISO dates), as written before the per-year states
    store.put_complaints(generate_sample_complaints("acme-air", "x", 150, T0 - timedelta(days=700), T0, seed=5))
    run_aggregate(store, REGISTRY, T0, OPTIONS)
    before = {w: _strip_times(store.get_snapshot(company_key("acme-air", w))[0]) for w in WINDOWS}
    running, _ = Running.load(store, "acme-air")
    legacy = {"generation": running.generation, "seq": running.seq,
              "days": sorted(date.fromordinal(d).isoformat() for d in running.days),
              "states": {k: s.to_dict() for k, s in running.states(store, "acme-air").items()}}
    store.put_snapshot(running_key("acme-air"), legacy, T0)
    # WHEN the next run reads it
    run_aggregate(store, REGISTRY, T0, OPTIONS)
    # THEN it starts over from the change log and publishes exactly what it published before
    assert {w: _strip_times(store.get_snapshot(company_key("acme-air", w))[0]) for w in WINDOWS} == before
    rebuilt, _ = Running.load(store, "acme-air")
    assert rebuilt.days == running.days and rebuilt.years == running.years
    assert {k: s.to_dict() for k, s in rebuilt.states(store, "acme-air").items()} == legacy["states"]
