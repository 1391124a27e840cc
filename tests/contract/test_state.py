"""Checkpoints, horizons and snapshots: the state jobs resume from and the documents the API serves."""

from __future__ import annotations

import random
from datetime import timedelta, timezone

from chalicelib.domain.models import Checkpoint
from chalicelib.store.base import Store
from contract.builders import T0


def test_checkpoints_per_company_and_source(store: Store) -> None:
    # GIVEN checkpoints for two sources of one company and one of another
    x = Checkpoint("acme", "x", cursor="tok-1", updated_at=T0, newest_post_at=T0 - timedelta(minutes=1))
    masto = Checkpoint("acme", "mastodon", cursor=None, updated_at=T0)
    other = Checkpoint("beta", "x", cursor="tok-9", updated_at=T0)
    for cp in (x, masto, other):
        store.put_checkpoint(cp)

    # WHEN one advances
    advanced = Checkpoint("acme", "x", cursor="tok-2", updated_at=T0 + timedelta(minutes=5), newest_post_at=T0)
    store.put_checkpoint(advanced)

    # THEN each reads back on its own key, and the listing holds one per company × source
    assert store.get_checkpoint("acme", "x") == advanced
    assert store.get_checkpoint("acme", "mastodon") == masto
    assert store.get_checkpoint("acme", "reddit") is None
    assert store.list_checkpoints() == [masto, advanced, other]


def test_horizon_keeps_the_latest_observation(store: Store) -> None:
    store.set_horizon("acme", "x", T0 + timedelta(hours=2))
    store.set_horizon("acme", "x", T0)  # a late, older report
    store.set_horizon("acme", "mastodon", (T0 + timedelta(hours=1)).astimezone(timezone(timedelta(hours=2))))
    store.set_horizon("beta", "x", T0 + timedelta(days=1))
    horizons = store.get_horizons("acme")
    assert horizons == {"x": T0 + timedelta(hours=2), "mastodon": T0 + timedelta(hours=1)}
    assert all(h.utcoffset() == timedelta(0) for h in horizons.values())
    assert store.get_horizons("nobody") == {}


def test_snapshots_round_trip_and_replace(store: Store) -> None:
    assert store.get_snapshot("leaderboard") is None
    body = {"companies": [{"slug": "acme", "median_minutes": 12.5, "ratio": None, "name": "Åcme ✈"}]}
    store.put_snapshot("leaderboard", body, T0)
    assert store.get_snapshot("leaderboard") == (body, T0)

    replacement = {"companies": []}
    store.put_snapshot("leaderboard", replacement, T0 + timedelta(hours=1))
    assert store.get_snapshot("leaderboard") == (replacement, T0 + timedelta(hours=1))


def test_large_incompressible_snapshots_survive_and_shrink_back(store: Store) -> None:
    # GIVEN a body that compresses badly, so it spans several stored parts on DynamoDB
    rng = random.Random(7)
    big = {"curve": [rng.random() for _ in range(3000)]}
    store.put_snapshot("company/acme", big, T0)
    assert store.get_snapshot("company/acme") == (big, T0)

    # WHEN it is replaced by a small one THEN only the small one is read back
    store.put_snapshot("company/acme", {"curve": []}, T0 + timedelta(minutes=1))
    assert store.get_snapshot("company/acme") == ({"curve": []}, T0 + timedelta(minutes=1))


def test_texts_round_trip_large_and_unicode_and_replace(store: Store) -> None:
    # GIVEN a ready-made body larger than one DynamoDB item, with text outside ASCII
    rng = random.Random(11)
    text = '{"name":"Åcme ✈","curve":[' + ",".join(f"{rng.random():.17f}" for _ in range(30_000)) + "]}"
    assert store.get_text("public:acme:body") is None
    # WHEN it is stored and replaced by a small one
    store.put_text("public:acme:body", text, T0)
    assert store.get_text("public:acme:body") == (text, T0)
    store.put_text("public:acme:body", "{}", T0 + timedelta(hours=1))
    # THEN each read returns exactly the latest text and its time
    assert store.get_text("public:acme:body") == ("{}", T0 + timedelta(hours=1))
