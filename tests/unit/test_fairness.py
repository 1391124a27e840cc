"""Per-tier statistics, the verdict rule, the deflection comparison and incremental state."""

from __future__ import annotations

import json
import math
import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import binomtest, chi2_contingency

from chalicelib.domain.fairness import (
    FAVOURS_HIGH_PROFILE,
    FAVOURS_ORDINARY,
    INSUFFICIENT_DATA,
    NO_EVIDENCE,
    TierSample,
    TierState,
    bootstrap_ratio_ci,
    company_stats,
    compare_deflection,
    compare_tiers,
    median_ratio,
    newcombe_difference_ci,
    observations_from_complaints,
    sample_from_observations,
    samples_by_tier,
    tier_stats,
    two_proportion_z_test,
    verdict,
    wilson_interval,
)
from chalicelib.domain.models import Category, Complaint, Reply, ReplyKind, Tier
from chalicelib.domain.survival import event_table

T0 = datetime(2024, 3, 4, 9, 0, tzinfo=UTC)
HORIZON = T0 + timedelta(days=10)


def complaint(
    i: int,
    created_minutes: float,
    reply_minutes: float | None = None,
    *,
    tier: Tier = Tier.ORDINARY,
    kind: ReplyKind = ReplyKind.SUBSTANTIVE,
    substantive_minutes: float | None = None,
    category: Category = Category.COMPLAINT,
    deleted: bool = False,
) -> Complaint:
    created = T0 + timedelta(minutes=created_minutes)

    def reply(n: int, minutes: float, k: ReplyKind) -> Reply:
        return Reply("x", f"r{i}-{n}", f"c{i}", "acme", "acme_help", created + timedelta(minutes=minutes), k)

    first = None if reply_minutes is None else reply(1, reply_minutes, kind)
    substantive = first if kind == ReplyKind.SUBSTANTIVE else None
    if substantive_minutes is not None:
        substantive = reply(2, substantive_minutes, ReplyKind.SUBSTANTIVE)
    return Complaint(
        platform="x",
        post_id=f"c{i}",
        company="acme",
        author_id=f"u{i}",
        author_handle=f"user{i}",
        created_at=created,
        tier=tier,
        followers=10,
        category=category,
        first_reply=first,
        first_substantive_reply=substantive,
        deleted=deleted,
    )


# --- censoring at the horizon -------------------------------------------------------------------


def test_unanswered_complaints_are_censored_at_the_horizon_not_dropped() -> None:
    # GIVEN an answered complaint, an unanswered one, one answered after the horizon, one made after it
    complaints = [
        complaint(1, 0, 30),
        complaint(2, 60),
        complaint(3, 0, 20_000),
        complaint(4, 15_000, 5),
        complaint(5, 0, 10, category=Category.PRAISE),
    ]
    # WHEN observed at the horizon (10 days after T0)
    obs = observations_from_complaints(complaints, HORIZON)
    # THEN the late reply is "not yet seen", the future complaint and the praise are out
    assert [(o.duration_minutes, o.event_observed) for o in obs] == [(30.0, True), (14_340.0, False), (14_400.0, False)]
    assert obs[0].deflected is False and obs[1].deflected is None


def test_archive_horizon_is_what_the_caller_says_not_now() -> None:
    # GIVEN an archive that ends an hour after its only complaint
    obs = observations_from_complaints([complaint(1, 0)], T0 + timedelta(hours=1))
    # THEN the unanswered complaint waited one hour, not until today
    assert obs[0].duration_minutes == 60.0 and not obs[0].event_observed


def test_deflection_then_substantive_reply_gives_two_clocks() -> None:
    c = complaint(1, 0, 5, kind=ReplyKind.DEFLECTION, substantive_minutes=300)
    (o,) = observations_from_complaints([c], HORIZON)
    assert (o.duration_minutes, o.deflected) == (5.0, True)
    assert (o.substantive_duration_minutes, o.substantive_observed) == (300.0, True)


# --- per-tier statistics ------------------------------------------------------------------------


def test_tier_stats_shares_and_sla_count_only_decided_complaints() -> None:
    # GIVEN replies at 30 min and 2 h, one still waiting after 3 days, one made 10 min before the horizon
    complaints = [complaint(1, 0, 30), complaint(2, 0, 120), complaint(3, 10_080), complaint(4, 14_390)]
    sample = sample_from_observations(observations_from_complaints(complaints, HORIZON))
    # WHEN summarised against a 60-minute target
    stats = tier_stats(sample, "ordinary", sla_minutes=60)
    # THEN 1 of the 3 decided complaints met the target; the 10-minute-old one is pending
    assert (stats.sla_met, stats.sla_decided, stats.sla_pending) == (1, 3, 1)
    assert stats.sla_compliance == pytest.approx(1 / 3)
    assert stats.answered_share == 0.5 and stats.n == 4
    # AND "answered within 1 h" is the censoring-aware KM share: the 10-minute-old complaint leaves the
    # risk set at 10 min, so 1 of the 3 still at risk at 30 min was answered by then
    assert stats.answered_within[60] == pytest.approx(1 / 3)
    # AND the median is where S = 2/3 · 1/2 = 1/3 first drops below a half
    assert stats.median == 120.0


def test_median_is_not_reached_below_half_answered_and_json_says_so() -> None:
    sample = sample_from_observations(observations_from_complaints([complaint(1, 0, 5), complaint(2, 0)], HORIZON))
    stats = tier_stats(sample, "ordinary")
    d = json.loads(json.dumps(stats.to_dict()))
    assert d["answered_share"] == 0.5
    assert d["median_reached"] is True and d["median_minutes"] == 5.0  # S(5) = 0.5 exactly: reached
    few = sample_from_observations(observations_from_complaints([complaint(1, 0, 5)] + [complaint(2, 0)] * 2, HORIZON))
    assert tier_stats(few, "ordinary").to_dict()["median_minutes"] is None


# --- ratio, bootstrap and verdict ---------------------------------------------------------------


def _table(rng: random.Random, n: int, median: float, never: float = 0.1):
    durations, observed = [], []
    for _ in range(n):
        d = rng.lognormvariate(math.log(median), 1.0)
        cut = rng.uniform(0, 20_000)
        answered = rng.random() > never and d <= cut
        durations.append(d if answered else cut)
        observed.append(answered)
    return event_table(durations, observed)


def test_median_ratio_handles_not_reached() -> None:
    assert median_ratio(120, 30) == 4
    assert median_ratio(math.inf, 30) == math.inf
    assert median_ratio(30, math.inf) == 0
    assert math.isnan(median_ratio(math.inf, math.inf))
    assert median_ratio(0, 0) == 1


def test_bootstrap_is_reproducible_and_brackets_the_estimate() -> None:
    rng = random.Random(7)
    a, b = _table(rng, 300, 240), _table(rng, 60, 60)
    ci = bootstrap_ratio_ci(a, b, replicates=199, seed=11)
    assert ci == bootstrap_ratio_ci(a, b, replicates=199, seed=11)
    assert ci != bootstrap_ratio_ci(a, b, replicates=199, seed=12)
    cmp = compare_tiers(TierSample(a), TierSample(b), replicates=199, seed=11)
    assert ci[0] < cmp.ratio < ci[1]


@pytest.mark.parametrize(
    ("p", "ci", "expected"),
    [
        (0.001, (1.5, 3.0), FAVOURS_HIGH_PROFILE),
        (0.001, (0.2, 0.8), FAVOURS_ORDINARY),
        (0.001, (0.8, 3.0), NO_EVIDENCE),  # test significant, ratio interval includes 1
        (0.2, (1.5, 3.0), NO_EVIDENCE),  # ratio interval excludes 1, test not significant
        (0.001, (1.5, math.inf), FAVOURS_HIGH_PROFILE),
    ],
)
def test_verdict_needs_both_test_and_interval(p: float, ci: tuple[float, float], expected: str) -> None:
    assert verdict(100, 100, p, ci, 30) == expected


def test_verdict_insufficient_below_min_sample() -> None:
    rng = random.Random(3)
    cmp = compare_tiers(TierSample(_table(rng, 300, 500)), TierSample(_table(rng, 29, 10)), replicates=99)
    assert cmp.verdict == INSUFFICIENT_DATA and cmp.ratio_ci is None and cmp.ratio is not None
    assert (
        compare_tiers(
            TierSample(_table(rng, 40, 500)), TierSample(_table(rng, 20, 10)), min_sample=20, replicates=99
        ).verdict
        == FAVOURS_HIGH_PROFILE
    )


def test_clear_difference_gives_favour_and_equal_gives_no_evidence() -> None:
    rng = random.Random(5)
    unfair = compare_tiers(TierSample(_table(rng, 300, 600)), TierSample(_table(rng, 60, 30)), replicates=199)
    assert unfair.verdict == FAVOURS_HIGH_PROFILE and unfair.logrank.p_value < 0.05
    same = compare_tiers(TierSample(_table(rng, 300, 100)), TierSample(_table(rng, 300, 100)), replicates=199)
    assert same.verdict == NO_EVIDENCE


# --- deflection comparison ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("x1", "n1", "x2", "n2", "lower", "upper"),
    [  # Newcombe (1998), Stat Med 17:873, Table II, method 10
        (56, 70, 48, 80, 0.0524, 0.3339),
        (9, 10, 3, 10, 0.1705, 0.8090),
        (6, 7, 2, 7, 0.0582, 0.8062),
        (5, 56, 0, 29, -0.0381, 0.1926),
    ],
)
def test_newcombe_interval_matches_published_examples(x1, n1, x2, n2, lower, upper) -> None:
    lo, hi = newcombe_difference_ci(x1, n1, x2, n2)
    assert lo == pytest.approx(lower, abs=5e-5) and hi == pytest.approx(upper, abs=5e-5)


@pytest.mark.parametrize(("x", "n"), [(0, 10), (3, 10), (10, 10), (57, 340), (1, 2)])
def test_wilson_matches_scipy(x: int, n: int) -> None:
    ref = binomtest(x, n).proportion_ci(confidence_level=0.95, method="wilson")
    assert wilson_interval(x, n) == pytest.approx((ref.low, ref.high), abs=1e-9)


@pytest.mark.parametrize(("x1", "n1", "x2", "n2"), [(56, 70, 48, 80), (12, 100, 30, 90), (3, 40, 4, 41)])
def test_z_test_matches_scipy_chi_square(x1: int, n1: int, x2: int, n2: int) -> None:
    ref = chi2_contingency([[x1, n1 - x1], [x2, n2 - x2]], correction=False)
    result = two_proportion_z_test(x1, n1, x2, n2)
    assert result.p_value == pytest.approx(ref.pvalue, abs=1e-9)
    assert result.test_statistic**2 == pytest.approx(ref.statistic, abs=1e-9)


def test_deflection_verdict() -> None:
    ordinary = TierSample(replies=200, deflections=120)
    high = TierSample(replies=50, deflections=5)
    assert compare_deflection(ordinary, high).verdict == FAVOURS_HIGH_PROFILE
    assert compare_deflection(high, ordinary).verdict == FAVOURS_ORDINARY
    assert compare_deflection(ordinary, TierSample(replies=50, deflections=30)).verdict == NO_EVIDENCE
    assert compare_deflection(ordinary, TierSample(replies=29, deflections=0)).verdict == INSUFFICIENT_DATA


# --- incremental state ------------------------------------------------------------------------


def test_company_stats_is_json_serialisable_with_every_tier() -> None:
    rng = random.Random(1)
    complaints = [
        complaint(
            i,
            rng.uniform(0, 13_000),
            rng.choice([None, rng.uniform(1, 600)]),
            tier=rng.choice(list(Tier)),
            kind=rng.choice(list(ReplyKind)),
        )
        for i in range(200)
    ]
    stats = company_stats(
        samples_by_tier(observations_from_complaints(complaints, HORIZON)),
        company="acme",
        platform="x",
        window="30d",
        horizon=HORIZON,
        sla_minutes=60,
        replicates=99,
    )
    d = json.loads(json.dumps(stats.to_dict(curve_points=50), allow_nan=False))
    assert list(d["tiers"]) == [t.value for t in Tier if t.value in d["tiers"]]
    assert d["comparison"]["verdict"] in {FAVOURS_HIGH_PROFILE, FAVOURS_ORDINARY, NO_EVIDENCE, INSUFFICIENT_DATA}


versions = st.lists(
    st.tuples(
        st.integers(0, 14_000),  # created, minutes after T0
        st.one_of(st.none(), st.integers(0, 3_000)),  # first reply
        st.sampled_from(list(ReplyKind)),
        st.one_of(st.none(), st.integers(0, 3_000)),  # later substantive reply
        st.booleans(),  # deleted
    ),
    min_size=1,
    max_size=40,
)


@settings(max_examples=100, deadline=None)
@given(versions, st.lists(st.integers(0, 39), max_size=30), st.randoms(use_true_random=False))
def test_incremental_state_equals_from_scratch(initial, changes, rnd) -> None:
    # GIVEN complaints stored first unanswered, then updated (answered, deflected, deleted) in random order
    def build(i: int, spec, answered: bool) -> Complaint:
        created, reply, kind, later, deleted = spec
        if not answered or reply is None:
            return complaint(i, created)
        later_at = None if later is None or kind == ReplyKind.SUBSTANTIVE else reply + later
        return complaint(i, created, reply, kind=kind, substantive_minutes=later_at, deleted=deleted)

    current = {i: build(i, spec, answered=False) for i, spec in enumerate(initial)}
    state = TierState()
    for c in current.values():
        state.apply(None, c)
    for j in changes:
        i = j % len(initial)
        new = build(i, initial[i], answered=True)
        state.apply(current[i], new)
        current[i] = new
    state = TierState.from_dict(json.loads(json.dumps(state.to_dict())))
    # WHEN evaluated at a horizon after every reply
    horizon = T0 + timedelta(days=20)
    scratch = sample_from_observations(observations_from_complaints(current.values(), horizon))
    # THEN the incremental sample and statistics equal the from-scratch ones exactly
    assert state.sample(horizon) == scratch
    assert tier_stats(state.sample(horizon), "ordinary", 60).to_dict() == tier_stats(scratch, "ordinary", 60).to_dict()


def test_states_for_days_merge_into_a_window() -> None:
    a, b = TierState(), TierState()
    a.apply(None, complaint(1, 0, 30))
    b.apply(None, complaint(2, 1_440))
    merged = a.merge(b).sample(HORIZON)
    both = sample_from_observations(observations_from_complaints([complaint(1, 0, 30), complaint(2, 1_440)], HORIZON))
    assert merged == both
