"""Per-tier statistics, the verdict rule, the deflection comparison and incremental state."""

from __future__ import annotations

import json
import math
import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import binomtest, chi2_contingency, norm

from chalicelib.domain import fairness
from chalicelib.domain.fairness import (
    BOOTSTRAP_MAX_N,
    FAVOURS_HIGH_PROFILE,
    FAVOURS_ORDINARY,
    INSUFFICIENT_DATA,
    NO_EVIDENCE,
    RATIO_CI_BOOTSTRAP,
    RATIO_CI_LARGE_SAMPLE,
    TierSample,
    TierState,
    bootstrap_ratio_ci,
    company_stats,
    compare_deflection,
    compare_tiers,
    large_sample_ratio_ci,
    median_ratio,
    newcombe_difference_ci,
    observations_from_complaints,
    ratio_ci_method,
    sample_from_observations,
    samples_by_tier,
    tier_stats,
    two_proportion_z_test,
    verdict,
    wilson_interval,
)
from chalicelib.domain.models import Category, Complaint, Reply, ReplyKind, Tier
from chalicelib.domain.survival import EventTable, event_table, kaplan_meier

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


def _complaints(table: EventTable) -> list[tuple[float, bool]]:
    """The table's complaints one by one, in (duration, answered first) order."""
    out: list[tuple[float, bool]] = []
    for t, r, d in zip(table.times, table.removed, table.observed, strict=True):
        out += [(t, True)] * d + [(t, False)] * (r - d)
    return out


def _naive_bootstrap(a: EventTable, b: EventTable, replicates: int, seed: int) -> tuple[float, float]:
    """Textbook percentile bootstrap: resample complaint lists, refit Kaplan–Meier, take order statistics."""
    rng = random.Random(seed)
    pools = _complaints(a), _complaints(b)
    ratios = []
    for _ in range(replicates):
        medians = []
        for pool in pools:
            drawn = rng.choices(pool, k=len(pool))
            m = kaplan_meier(event_table([t for t, _ in drawn], [e for _, e in drawn])).median
            medians.append(math.inf if m is None else m)
        ratios.append(median_ratio(*medians))
    lows = sorted(0.0 if math.isnan(r) else r for r in ratios)
    highs = sorted(math.inf if math.isnan(r) else r for r in ratios)
    return lows[math.floor((replicates + 1) * 0.025) - 1], highs[math.ceil((replicates + 1) * 0.975) - 1]


@pytest.mark.parametrize("ties", [False, True])
def test_bootstrap_equals_the_textbook_resampling_of_complaints(ties: bool) -> None:
    # GIVEN tiers with censoring, and (second case) durations in whole hours: many ties, exact halves
    rng = random.Random(21)
    a, b = _table(rng, 150, 240, never=0.3), _table(rng, 40, 60, never=0.4)
    if ties:
        a, b = (
            event_table([float(round(t / 60)) for t, _ in c], [e for _, e in c])
            for c in (_complaints(a), _complaints(b))
        )
    # WHEN the fast bootstrap and a naive one (same seed, same draws) compute the interval
    # THEN they agree exactly: the compact resampler changes the cost, not the replicates
    assert bootstrap_ratio_ci(a, b, replicates=199, seed=5) == _naive_bootstrap(a, b, 199, 5)


class _CountingRandom(random.Random):
    draws = 0

    def random(self) -> float:
        _CountingRandom.draws += 1
        return super().random()


def test_bootstrap_work_is_n_times_b_and_large_samples_draw_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fairness.random, "Random", _CountingRandom)
    rng = random.Random(8)
    # GIVEN tiers that together hold just BOOTSTRAP_MAX_N complaints
    small_a, small_b = _table(rng, BOOTSTRAP_MAX_N - 100, 240), _table(rng, 100, 60)
    _CountingRandom.draws = 0
    cmp = compare_tiers(TierSample(small_a), TierSample(small_b), replicates=50)
    # THEN the bootstrap draws every complaint once per replicate (O(n·B) random numbers)
    assert cmp.ratio_ci_method == RATIO_CI_BOOTSTRAP
    assert _CountingRandom.draws == 50 * BOOTSTRAP_MAX_N
    # GIVEN 100,000 complaints: WHEN the company summary is built THEN not one random number is drawn
    big = {
        Tier.ORDINARY.value: TierSample(_table(rng, 90_000, 240)),
        Tier.HIGH_PROFILE.value: TierSample(_table(rng, 10_000, 60)),
    }
    _CountingRandom.draws = 0
    stats = company_stats(big, company="acme", platform="x", window="all", horizon=HORIZON, replicates=1000)
    assert _CountingRandom.draws == 0
    assert stats.comparison.ratio_ci_method == RATIO_CI_LARGE_SAMPLE
    assert stats.comparison.ratio_ci[0] < stats.comparison.ratio < stats.comparison.ratio_ci[1]


def test_interval_method_switches_just_above_the_threshold() -> None:
    # GIVEN the same two tiers, once exactly at the threshold and once one complaint above it
    rng = random.Random(4)
    a, b = _table(rng, BOOTSTRAP_MAX_N - 60, 300), _table(rng, 60, 60)
    extra = a.merge(event_table([10.0]))
    assert ratio_ci_method(a.n, b.n) == RATIO_CI_BOOTSTRAP
    assert ratio_ci_method(extra.n, b.n) == RATIO_CI_LARGE_SAMPLE
    at = compare_tiers(TierSample(a), TierSample(b), replicates=99)
    above = compare_tiers(TierSample(extra), TierSample(b), replicates=99)
    # THEN the method is published with the interval, and both intervals bracket the estimate
    assert (at.ratio_ci_method, above.ratio_ci_method) == (RATIO_CI_BOOTSTRAP, RATIO_CI_LARGE_SAMPLE)
    assert at.to_dict()["ratio_ci_method"] == RATIO_CI_BOOTSTRAP
    assert above.ratio_ci[0] < above.ratio < above.ratio_ci[1]
    # AND the threshold is configurable per call
    assert compare_tiers(TierSample(a), TierSample(b), max_bootstrap_n=0).ratio_ci_method == RATIO_CI_LARGE_SAMPLE


@pytest.mark.parametrize(("median_o", "median_h"), [(600, 40), (150, 120)])
def test_large_sample_interval_agrees_with_the_bootstrap(median_o: float, median_h: float) -> None:
    # GIVEN 2,600 complaints, above the threshold (fixed seed)
    rng = random.Random(int(median_o))
    a, b = TierSample(_table(rng, 2_000, median_o, never=0.2)), TierSample(_table(rng, 600, median_h))
    # WHEN the interval is computed both ways on the same data
    boot = compare_tiers(a, b, replicates=399, max_bootstrap_n=10**9)
    mover = compare_tiers(a, b)
    # THEN the bounds agree to within 8% (log scale 0.08; bootstrap Monte Carlo error alone is ~0.02)
    assert (boot.ratio_ci_method, mover.ratio_ci_method) == (RATIO_CI_BOOTSTRAP, RATIO_CI_LARGE_SAMPLE)
    for x, y in zip(boot.ratio_ci, mover.ratio_ci, strict=True):
        assert math.log(y) == pytest.approx(math.log(x), abs=0.08)
    assert mover.verdict == boot.verdict


def _km_with(median: float | None, ci: tuple[float | None, float | None]):
    import dataclasses

    return dataclasses.replace(kaplan_meier(event_table([1.0])), median=median, median_ci=ci)


def test_large_sample_interval_is_the_delta_method_for_log_symmetric_median_intervals() -> None:
    # GIVEN median intervals symmetric on the log scale: 100 in [50, 200], 20 in [16, 25]
    o, h = _km_with(100.0, (50.0, 200.0)), _km_with(20.0, (16.0, 25.0))
    # THEN the interval is exp(θ ± z·√(SE_o² + SE_h²)) with SE = (log U − log L) / 2z
    z = norm.ppf(0.975)
    se = math.hypot(math.log(200 / 50) / (2 * z), math.log(25 / 16) / (2 * z))
    expected = (5 * math.exp(-z * se), 5 * math.exp(z * se))
    assert large_sample_ratio_ci(o, h) == pytest.approx(expected, rel=1e-12)


def test_large_sample_interval_with_bounds_or_medians_not_reached() -> None:
    # An ordinary upper bound never reached leaves the ratio unbounded above; a high-profile one, below
    assert large_sample_ratio_ci(_km_with(100.0, (80.0, None)), _km_with(20.0, (16.0, 25.0)))[1] == math.inf
    low, high = large_sample_ratio_ci(_km_with(100.0, (80.0, 120.0)), _km_with(20.0, (16.0, None)))
    assert low == 0.0 and 100 / 20 < high < math.inf
    # A median not reached: the medians' intervals at their extremes
    assert large_sample_ratio_ci(_km_with(None, (900.0, None)), _km_with(20.0, (16.0, 25.0))) == (36.0, math.inf)
    assert large_sample_ratio_ci(_km_with(None, (None, None)), _km_with(None, (None, None))) == (0.0, math.inf)


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
