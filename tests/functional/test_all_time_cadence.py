"""The scheduled aggregate refreshes the all-time window on its own cadence; the other windows every run.

The all-time window's statistics cost in proportion to the whole stored history, so the scheduled job
(``scheduled_options``) recomputes them at most every ``all_window_minutes`` — and at once when they are
missing, stale, from the future, or lack a company — while every run absorbs every change, so a refresh
publishes exactly what a run recomputing everything would.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from chalicelib.domain.models import Company
from chalicelib.domain.simulation import generate_sample_complaints
from chalicelib.jobs.aggregate import (
    AggregateOptions,
    all_time_due,
    company_key,
    leaderboard_key,
    run_aggregate,
    scheduled_options,
)
from chalicelib.store.sqlite import SQLiteStore

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
ACME = Company(slug="acme", name="Acme", handles={"x": ("AcmeHelp",)})
BOLT = Company(slug="bolt", name="Bolt", handles={"x": ("BoltHelp",)})
CADENCE = scheduled_options(min_sample=5, all_window_minutes=60)


def _complaints(slug: str, n: int, start: datetime, end: datetime, seed: int) -> list:
    return generate_sample_complaints(slug, "x", n, start, end, seed=seed)


FIRST = _complaints("acme", 120, T0 - timedelta(days=400), T0, seed=1)
SECOND = _complaints("acme", 20, T0, T0 + timedelta(minutes=10), seed=2)


@pytest.fixture
def store(tmp_path: Path):
    s = SQLiteStore(tmp_path / "store.sqlite3")
    s.put_complaints(FIRST)
    yield s
    s.close()


def _generated(store: SQLiteStore, key: str) -> datetime:
    found = store.get_snapshot(key)
    assert found is not None, key
    return found[1]


def test_every_run_refreshes_all_time_without_a_cadence(store: SQLiteStore) -> None:
    assert AggregateOptions().all_window_minutes is None
    assert all_time_due(store, {"acme": ACME}, T0, AggregateOptions())
    assert scheduled_options(30, 0).all_window_minutes is None


def test_the_all_time_window_waits_for_its_cadence_while_the_others_refresh(store: SQLiteStore, tmp_path: Path) -> None:
    # GIVEN a first scheduled run (nothing published yet: everything is computed)
    companies = {"acme": ACME}
    assert all_time_due(store, companies, T0, CADENCE)
    run_aggregate(store, companies, T0, CADENCE)
    # WHEN new complaints arrive and the next run comes 15 minutes later
    store.put_complaints(SECOND)
    later = T0 + timedelta(minutes=15)
    assert not all_time_due(store, companies, later, CADENCE)
    run_aggregate(store, companies, later, CADENCE)
    # THEN the 7-day window is new and the all-time one is the first run's
    assert _generated(store, company_key("acme", "7d")) == later
    assert _generated(store, company_key("acme", "all")) == T0
    assert _generated(store, leaderboard_key("all")) == T0
    # AND once the cadence has passed, the all-time window equals a from-scratch run over the same store
    due = T0 + timedelta(minutes=60)
    assert all_time_due(store, companies, due, CADENCE)
    run_aggregate(store, companies, due, CADENCE)
    refreshed = store.get_snapshot(company_key("acme", "all"))
    assert refreshed is not None and refreshed[1] == due
    scratch = SQLiteStore(tmp_path / "scratch.sqlite3")
    scratch.put_complaints(FIRST + SECOND)
    run_aggregate(scratch, companies, due, AggregateOptions(min_sample=5))
    assert scratch.get_snapshot(company_key("acme", "all"))[0] == refreshed[0]
    scratch.close()


def test_a_new_company_or_a_run_from_the_past_makes_it_due(store: SQLiteStore) -> None:
    run_aggregate(store, {"acme": ACME}, T0, CADENCE)
    soon = T0 + timedelta(minutes=5)
    assert not all_time_due(store, {"acme": ACME}, soon, CADENCE)
    # a company the all-time leaderboard does not list yet
    store.put_complaints(_complaints("bolt", 30, T0 - timedelta(days=3), T0, seed=3))
    assert all_time_due(store, {"acme": ACME, "bolt": BOLT}, soon, CADENCE)
    run_aggregate(store, {"acme": ACME, "bolt": BOLT}, soon, CADENCE)
    assert _generated(store, company_key("bolt", "all")) == soon
    # a run with an earlier clock than the published one recomputes rather than keep a future snapshot
    assert all_time_due(store, {"acme": ACME, "bolt": BOLT}, T0 - timedelta(minutes=1), CADENCE)
