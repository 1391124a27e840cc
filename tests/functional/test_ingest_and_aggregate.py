from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from chalicelib.domain.models import Account, Post, PostKind, Tier
from chalicelib.domain.simulation import generate_sample_complaints
from chalicelib.jobs.aggregate import AggregateOptions, company_key, leaderboard_key, run_aggregate
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
