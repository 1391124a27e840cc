"""Kaplan–Meier against lifelines' KaplanMeierFitter on the same data (test-only dependency)."""

from __future__ import annotations

import math
import random
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lifelines import KaplanMeierFitter
from lifelines.utils import median_survival_times

from chalicelib.domain.errors import InvalidObservation
from chalicelib.domain.survival import EventTable, event_table, kaplan_meier, km_median

TOL = 1e-9


def _none_if_inf(x: float) -> float | None:
    return None if math.isinf(x) else float(x)


def _exact_survival(durations: list[float], observed: list[bool], t: float) -> Fraction:
    """Exact rational KM S(t), to settle ties where S is exactly 0.5 and floats disagree by one ulp."""
    s = Fraction(1)
    for u in sorted(set(durations)):
        if u > t:
            break
        n = sum(1 for d in durations if d >= u)
        d_u = sum(1 for d, e in zip(durations, observed, strict=True) if d == u and e)
        if d_u:
            s *= Fraction(n - d_u, n)
    return s


def assert_matches_lifelines(durations: list[float], observed: list[bool]) -> None:
    # GIVEN lifelines fitted on the same data
    kmf = KaplanMeierFitter().fit(durations, observed)
    # WHEN we fit ours
    km = kaplan_meier(event_table(durations, observed))
    # THEN the curve and its band agree to 1e-9 at every timeline point
    sf = kmf.survival_function_.iloc[:, 0]
    ci = kmf.confidence_interval_
    assert list(km.timeline) == [float(t) for t in sf.index]
    for ours, ref in (
        (km.survival_function, sf.values),
        (km.ci_lower, ci.iloc[:, 0].values),
        (km.ci_upper, ci.iloc[:, 1].values),
    ):
        assert max(abs(a - b) for a, b in zip(ours, ref, strict=True)) < TOL
    # AND the median and its interval are those of median_survival_times(confidence_interval_)
    ref_ci = median_survival_times(ci)
    assert km.median_ci == (_none_if_inf(ref_ci.iloc[0, 0]), _none_if_inf(ref_ci.iloc[0, 1]))
    ref_median = _none_if_inf(kmf.median_survival_time_)
    if km.median != ref_median:
        # lifelines' float S can land one ulp above an exact 0.5; the exact arithmetic decides.
        assert km.median is not None
        assert _exact_survival(durations, observed, km.median) == Fraction(1, 2)
        assert abs(sf.loc[km.median] - 0.5) < 1e-12


@pytest.mark.parametrize("seed", range(12))
def test_matches_lifelines_on_seeded_random_data(seed: int) -> None:
    rng = random.Random(seed)
    n = rng.randint(1, 400)
    durations = [rng.choice([float(rng.randint(0, 30)), rng.lognormvariate(3, 1.5)]) for _ in range(n)]
    observed = [rng.random() < 0.7 for _ in range(n)]
    assert_matches_lifelines(durations, observed)


durations_st = st.lists(
    st.tuples(st.one_of(st.integers(0, 20).map(float), st.floats(0, 1e5, allow_nan=False)), st.booleans()),
    min_size=1,
    max_size=60,
)


@settings(max_examples=150, deadline=None)
@given(durations_st)
def test_matches_lifelines_on_generated_data_with_ties(pairs: list[tuple[float, bool]]) -> None:
    assert_matches_lifelines([d for d, _ in pairs], [e for _, e in pairs])


@pytest.mark.parametrize(
    ("durations", "observed"),
    [
        ([5.0, 5.0, 5.0], [False, False, False]),  # all censored
        ([1.0, 2.0, 3.0, 4.0], [True, True, True, True]),  # all observed
        ([7.0], [True]),  # single event
        ([7.0], [False]),  # single censored
        ([0.0, 0.0, 3.0, 3.0, 3.0, 9.0], [True, False, True, True, False, True]),  # ties and zeros
    ],
)
def test_edge_cases_match_lifelines(durations: list[float], observed: list[bool]) -> None:
    assert_matches_lifelines(durations, observed)


def test_fewer_than_half_answered_means_median_not_reached() -> None:
    # GIVEN 10 complaints of which 4 were answered, 6 still waiting at the horizon
    km = kaplan_meier(event_table([10, 20, 30, 40] + [500] * 6, [True] * 4 + [False] * 6))
    # THEN the median is "not reached" rather than a number, and so is its upper bound
    assert km.median is None
    assert km.median_ci[1] is None
    assert km.share_by(1_000) == pytest.approx(0.4)


def test_empty_sample_gives_flat_curve_and_no_median() -> None:
    km = kaplan_meier(event_table([], []))
    assert km.n == 0 and km.timeline == (0.0,) and km.survival_function == (1.0,)
    assert km.median is None and km.median_ci == (None, None)


def test_invalid_durations_are_rejected() -> None:
    with pytest.raises(InvalidObservation):
        event_table([-1.0], [True])
    with pytest.raises(InvalidObservation):
        event_table([math.nan], [True])
    with pytest.raises(InvalidObservation):
        event_table([1.0, 2.0], [True])


@settings(max_examples=100, deadline=None)
@given(durations_st, durations_st)
def test_merged_tables_equal_table_of_pooled_data(a: list[tuple[float, bool]], b: list[tuple[float, bool]]) -> None:
    # GIVEN two samples counted separately (two days, say)
    ta = event_table([d for d, _ in a], [e for _, e in a])
    tb = event_table([d for d, _ in b], [e for _, e in b])
    # WHEN merged, THEN it is the table of the pooled sample, and survives a JSON round trip
    pooled = event_table([d for d, _ in a + b], [e for _, e in a + b])
    assert ta.merge(tb) == pooled == tb.merge(ta)
    assert EventTable.from_dict(pooled.to_dict()) == pooled


@settings(max_examples=100, deadline=None)
@given(durations_st, st.randoms(use_true_random=False))
def test_curve_is_monotone_bounded_and_order_independent(pairs: list[tuple[float, bool]], rnd: random.Random) -> None:
    km = kaplan_meier(event_table([d for d, _ in pairs], [e for _, e in pairs]))
    s = km.survival_function
    assert all(0.0 <= x <= 1.0 for x in s)
    assert all(later <= earlier for earlier, later in zip(s, s[1:], strict=False))
    assert all(lo - 1e-12 <= x <= hi + 1e-12 for lo, x, hi in zip(km.ci_lower, s, km.ci_upper, strict=True))
    shuffled = pairs[:]
    rnd.shuffle(shuffled)
    assert kaplan_meier(event_table([d for d, _ in shuffled], [e for _, e in shuffled])) == km
    # the resampling shortcut agrees with the full fit
    t = event_table([d for d, _ in pairs], [e for _, e in pairs])
    fast = km_median(t.times, t.removed, t.observed)
    assert (None if math.isinf(fast) else fast) == km.median


def test_to_points_keeps_the_drops_for_charts() -> None:
    km = kaplan_meier(event_table([1, 2, 2, 3, 10], [True, True, False, True, False]))
    points = km.to_points()
    assert [p["t"] for p in points] == [0.0, 1.0, 2.0, 3.0, 10.0]
    assert points[0]["s"] == 1.0 and points[-1]["s"] == points[-2]["s"]
    assert len(km.to_points(max_points=2)) == 2
    assert km.to_dict(curve_points=None)["curve"] == points


def test_matches_lifelines_on_a_large_sample_at_second_resolution() -> None:
    # GIVEN 20,000 complaints shaped like the benchmark's: replies timed to the second (many ties, most
    # distinct times censoring-only) and a quarter unanswered, censored anywhere in a 30-day horizon
    rng = random.Random(2024)
    durations, observed = [], []
    for _ in range(20_000):
        answered = rng.random() >= 0.25
        seconds = rng.lognormvariate(8.2, 1.3) if answered else rng.uniform(0, 30 * 24 * 3600)
        durations.append(round(seconds) / 60)
        observed.append(answered)
    # THEN curve, band, median and its interval agree with lifelines
    assert_matches_lifelines(durations, observed)


@settings(max_examples=100, deadline=None)
@given(durations_st)
def test_event_table_counts_each_distinct_duration(pairs: list[tuple[float, bool]]) -> None:
    # GIVEN complaints, some at equal durations, some of those answered and some not
    durations, flags = [d for d, _ in pairs], [e for _, e in pairs]
    # WHEN counted (from a generator, as callers may pass one)
    table = event_table(iter(durations), (f for f in flags))
    # THEN each distinct duration appears once, ascending, as a float, with its counts
    assert list(table.times) == sorted(set(map(float, durations)))
    assert all(type(t) is float for t in table.times)
    for t, removed, obs in zip(table.times, table.removed, table.observed, strict=True):
        assert removed == sum(1 for d in durations if d == t)
        assert obs == sum(1 for d, e in pairs if d == t and e)


def test_huge_risk_set_where_survival_rounds_to_one_after_an_event() -> None:
    # GIVEN two replies among 10**17 complaints: in floats S stays 1 after the first
    table = EventTable.from_counters({1.0: 1, 2.0: 1}, {3.0: 10**17})
    n = 10**17 + 2
    # WHEN fitted, THEN no error, S matches the exact product, and the band holds S within [0, 1]
    km = kaplan_meier(table)
    exact = [Fraction(1), Fraction(n - 1, n), Fraction(n - 2, n), Fraction(n - 2, n)]
    assert km.timeline == (0.0, 1.0, 2.0, 3.0)
    assert all(abs(s - float(x)) < 1e-15 for s, x in zip(km.survival_function, exact, strict=True))
    assert all(
        0.0 <= lo <= s <= hi <= 1.0 for lo, s, hi in zip(km.ci_lower, km.survival_function, km.ci_upper, strict=True)
    )
    assert km.median is None and km.median_ci[1] is None
