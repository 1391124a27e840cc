"""The running state's packed encoding: a round trip keeps every count, and the earlier pair form still loads."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta

from chalicelib.domain.fairness import TierState, epoch_microseconds


def _state() -> TierState:
    start = datetime(2024, 2, 29, 23, 59, 59, 123456, tzinfo=UTC)
    return TierState(
        answered=Counter({0.0: 2, 1 / 60: 1, 61.016666666666666: 3, 1e-06: 1}),
        pending=Counter({epoch_microseconds(start): 1, epoch_microseconds(start + timedelta(days=400, microseconds=1)): 2}),
        substantive=Counter({2.5: 4}),
        substantive_pending=Counter({epoch_microseconds(datetime(1826, 8, 3, tzinfo=UTC)): 5}),
        replies=6,
        deflections=2,
    )


def test_packed_round_trip_keeps_every_count_and_instant() -> None:
    # GIVEN a state with awkward floats and microsecond instants (one before 1970)
    state = _state()
    # WHEN it goes through JSON in the packed form
    again = TierState.from_dict(json.loads(json.dumps(state.to_dict())))
    # THEN it is the same state, and its samples are the same at any horizon
    assert again == state
    horizon = datetime(2026, 1, 1, tzinfo=UTC)
    assert again.sample(horizon) == state.sample(horizon)


def _iso(microseconds: int) -> str:
    return (datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=microseconds)).isoformat()


def test_the_earlier_pair_form_still_loads() -> None:
    # GIVEN a running document written before the packed form ([value, count] pairs, ISO instants)
    state = _state()
    legacy = {
        "answered": sorted([t, n] for t, n in state.answered.items()),
        "pending": sorted([_iso(t), n] for t, n in state.pending.items()),
        "substantive": sorted([t, n] for t, n in state.substantive.items()),
        "substantive_pending": sorted([_iso(t), n] for t, n in state.substantive_pending.items()),
        "replies": 6,
        "deflections": 2,
    }
    # WHEN it is read
    # THEN it is the same state
    assert TierState.from_dict(json.loads(json.dumps(legacy))) == state


def test_adding_states_in_place_equals_merging_them_and_leaves_the_added_alone() -> None:
    # GIVEN two states with overlapping keys
    a, b = _state(), _state()
    b.answered[99.5] += 1
    b.replies += 1
    expected = a.merge(b)
    untouched = TierState.from_dict(b.to_dict())
    # WHEN b is added into an empty state, then a
    total = TierState().add(b).add(a)
    # THEN the sum is merge's, and b is unchanged
    assert total == expected
    assert b == untouched
