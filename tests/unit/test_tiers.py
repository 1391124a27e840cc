"""Audience tiers: thresholds are inclusive lower bounds, unknown audiences stay unknown."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.domain.models import TIERS, Tier
from chalicelib.domain.tiers import DEFAULT_THRESHOLDS, InvalidAudience, InvalidThresholds, TierThresholds, tier_for

ORDER = [Tier.ORDINARY, Tier.NOTABLE, Tier.HIGH_PROFILE]


@pytest.mark.parametrize(
    ("followers", "expected"),
    [
        (0, Tier.ORDINARY),
        (999, Tier.ORDINARY),
        (1_000, Tier.NOTABLE),
        (99_999, Tier.NOTABLE),
        (100_000, Tier.HIGH_PROFILE),
        (61_000_000, Tier.HIGH_PROFILE),
        (None, Tier.UNKNOWN),
    ],
)
def test_default_thresholds_match_the_published_methodology(followers, expected):
    # GIVEN the default thresholds (ordinary < 1,000 <= notable < 100,000 <= high_profile)
    # WHEN a follower count is tiered
    # THEN the bounds are inclusive for the higher tier, and a missing count is unknown
    assert tier_for(followers) is expected


def test_tier_names_are_the_public_four():
    assert set(TIERS) == {"ordinary", "notable", "high_profile", "unknown"}


def test_custom_thresholds_move_the_boundaries():
    thresholds = TierThresholds(notable=50, high_profile=5_000)
    assert tier_for(49, thresholds) is Tier.ORDINARY
    assert tier_for(50, thresholds) is Tier.NOTABLE
    assert tier_for(5_000, thresholds) is Tier.HIGH_PROFILE


@pytest.mark.parametrize(
    ("notable", "high_profile"),
    [(0, 10), (1_000, 1_000), (5_000, 1_000), (-1, 100), (1.5, 100), (True, 100)],
)
def test_thresholds_must_be_positive_whole_numbers_in_increasing_order(notable, high_profile):
    with pytest.raises(InvalidThresholds):
        TierThresholds(notable=notable, high_profile=high_profile)


@pytest.mark.parametrize("followers", [-1, 2.5, True, "1000"])
def test_impossible_audiences_are_rejected_not_tiered(followers):
    with pytest.raises(InvalidAudience):
        tier_for(followers)


def test_thresholds_are_immutable():
    with pytest.raises(AttributeError):
        DEFAULT_THRESHOLDS.notable = 5  # type: ignore[misc]


@given(
    a=st.integers(min_value=0, max_value=10**9),
    b=st.integers(min_value=0, max_value=10**9),
    notable=st.integers(min_value=1, max_value=10**6),
    gap=st.integers(min_value=1, max_value=10**6),
)
def test_more_followers_never_means_a_lower_tier(a, b, notable, gap):
    thresholds = TierThresholds(notable=notable, high_profile=notable + gap)
    low, high = sorted((a, b))
    assert ORDER.index(tier_for(low, thresholds)) <= ORDER.index(tier_for(high, thresholds))
