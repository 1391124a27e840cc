"""The simulation study, smaller: intervals cover the known truth near their nominal 95%."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.domain.fairness import RATIO_CI_LARGE_SAMPLE, observations_from_complaints, samples_by_tier, tier_stats
from chalicelib.domain.models import Tier
from chalicelib.domain.simulation import (
    LARGE_SCENARIOS,
    SCENARIOS,
    TierProfile,
    generate_sample_complaints,
    main,
    run_scenario,
)
from chalicelib.domain.survival import event_table, kaplan_meier

START = datetime(2024, 1, 1, tzinfo=UTC)
HORIZON = START + timedelta(days=30)


def test_true_median_formula_matches_a_large_uncensored_sample() -> None:
    # GIVEN a tier where 30% are never answered and the answered have a lognormal delay
    profile = TierProfile(100, 1.2, 0.3)
    rng = random.Random(1)
    delays = [profile.draw_delay(rng) for _ in range(100_000)]
    # THEN the analytic median of time to first reply (never-answered included) is the sample's
    empirical = sorted(delays)[len(delays) // 2]
    assert empirical == pytest.approx(profile.true_median, rel=0.03)
    assert TierProfile(100, 1.0, 0.5).true_median is None


def test_sample_complaints_look_like_a_live_run_stopped_at_the_horizon() -> None:
    complaints = generate_sample_complaints(
        "acme", "mastodon", 2_000, START, HORIZON, seed=3, profile="favours_high_profile"
    )
    assert complaints == generate_sample_complaints(
        "acme", "mastodon", 2_000, START, HORIZON, seed=3, profile="favours_high_profile"
    )
    assert all(START <= c.created_at <= HORIZON for c in complaints)
    assert all(c.first_reply is None or c.created_at <= c.first_reply.created_at <= HORIZON for c in complaints)
    thresholds = {Tier.ORDINARY: (0, 999), Tier.NOTABLE: (1_000, 99_999), Tier.HIGH_PROFILE: (100_000, 10**7)}
    assert all(thresholds[c.tier][0] <= c.followers <= thresholds[c.tier][1] for c in complaints)
    # AND the profile's unfairness shows through the statistics
    samples = samples_by_tier(observations_from_complaints(complaints, HORIZON))
    ordinary = tier_stats(samples["ordinary"], "ordinary")
    high = tier_stats(samples["high_profile"], "high_profile")
    assert ordinary.median > 3 * high.median
    assert ordinary.deflection_share > high.deflection_share


def test_median_intervals_cover_the_truth_near_nominal_rate() -> None:
    # GIVEN 300 simulated data sets of the heavily censored scenario and the unequal one
    for scenario in (SCENARIOS[4], SCENARIOS[2]):
        row = run_scenario(scenario, replicates=300, seed=7, ratio=False)
        # THEN the 95% median intervals cover the true medians at close to 95%
        assert 0.88 <= row.ordinary_median_coverage <= 0.995, row
        assert 0.88 <= row.high_profile_median_coverage <= 0.995, row


@pytest.mark.slow
def test_ratio_interval_coverage_and_verdicts() -> None:
    # GIVEN 150 data sets where the truth is a fair company, and 60 where it clearly favours high profiles
    equal = run_scenario(SCENARIOS[0], replicates=150, seed=11, bootstrap_replicates=199)
    unfair = run_scenario(SCENARIOS[2], replicates=60, seed=12, bootstrap_replicates=199)
    # THEN the ratio interval covers the true ratio near 95% and verdicts are right where the truth is clear
    assert equal.ratio_coverage >= 0.88, equal
    assert equal.verdict_accuracy >= 0.9, equal
    assert unfair.ratio_coverage >= 0.85, unfair
    assert unfair.verdict_accuracy >= 0.95, unfair


@pytest.mark.slow
def test_large_sample_ratio_interval_coverage() -> None:
    # GIVEN data sets above the bootstrap threshold: 2,000 / 500 complaints, and 5,000 / only 60
    for scenario, replicates in ((LARGE_SCENARIOS[0], 100), (LARGE_SCENARIOS[3], 80)):
        row = run_scenario(scenario, replicates=replicates, seed=13)
        # THEN every interval is the large-sample one, it covers the true ratio near 95%,
        # and the fair company is rarely called unfair
        assert row.ratio_methods == {RATIO_CI_LARGE_SAMPLE: replicates}, row
        assert row.ratio_coverage >= 0.88, row
        assert row.verdict_accuracy >= 0.9, row


def test_command_prints_the_coverage_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--replicates", "3", "--bootstrap", "19", "--scenario", "equal"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("| scenario |") and "| equal | 3 |" in out
    assert main(["--replicates", "2", "--large", "--scenario", "large_equal"]) == 0
    assert "| large_equal | 2 |" in capsys.readouterr().out


def test_generated_tables_feed_kaplan_meier() -> None:
    from chalicelib.domain.simulation import draw_tier

    durations, observed = draw_tier(random.Random(2), TierProfile(60, 1.0, 0.1), 500, 30.0)
    km = kaplan_meier(event_table(durations, observed))
    assert km.n == 500 and 0 < km.events < 500
