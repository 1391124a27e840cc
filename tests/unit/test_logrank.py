"""Log-rank test against lifelines.statistics and chi-square tails against scipy (test-only)."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lifelines.statistics import logrank_test as lifelines_logrank
from lifelines.statistics import multivariate_logrank_test as lifelines_multivariate
from scipy.stats import chi2

from chalicelib.domain.logrank import chi2_sf, logrank_test, multivariate_logrank_test
from chalicelib.domain.survival import event_table

TOL = 1e-9


@pytest.mark.parametrize("df", [1, 2, 3, 4, 5, 8])
@pytest.mark.parametrize("x", [0.0, 1e-6, 0.3, 2.0, 3.841458820694124, 12.5, 60.0, 400.0])
def test_chi2_survival_matches_scipy(x: float, df: int) -> None:
    assert chi2_sf(x, df) == pytest.approx(chi2.sf(x, df), rel=1e-10, abs=1e-15)


def _sample(rng: random.Random, n: int, rate: float) -> tuple[list[float], list[bool]]:
    durations = [rng.choice([float(rng.randint(0, 15)), rng.expovariate(rate)]) for _ in range(n)]
    return durations, [rng.random() < 0.65 for _ in range(n)]


@pytest.mark.parametrize("seed", range(15))
def test_two_groups_match_lifelines(seed: int) -> None:
    # GIVEN two groups with ties, zeros and censoring
    rng = random.Random(seed)
    da, ea = _sample(rng, rng.randint(1, 200), 0.1)
    db, eb = _sample(rng, rng.randint(1, 80), rng.choice([0.1, 0.05, 0.3]))
    # WHEN both libraries test them
    ours = logrank_test(da, db, ea, eb)
    ref = lifelines_logrank(da, db, ea, eb)
    # THEN statistic and p-value agree to 1e-9
    assert ours.test_statistic == pytest.approx(ref.test_statistic, abs=TOL)
    assert ours.p_value == pytest.approx(ref.p_value, abs=TOL)
    assert ours.degrees_of_freedom == 1


@pytest.mark.parametrize("seed", range(10))
def test_k_groups_match_lifelines(seed: int) -> None:
    rng = random.Random(100 + seed)
    groups = [_sample(rng, rng.randint(1, 60), rng.choice([0.05, 0.1, 0.2])) for _ in range(rng.randint(2, 5))]
    ours = multivariate_logrank_test([event_table(d, e) for d, e in groups])
    ref = lifelines_multivariate(
        [x for d, _ in groups for x in d],
        [j for j, (d, _) in enumerate(groups) for _ in d],
        [x for _, e in groups for x in e],
    )
    assert ours.test_statistic == pytest.approx(ref.test_statistic, abs=TOL)
    assert ours.p_value == pytest.approx(ref.p_value, abs=TOL)
    assert ours.degrees_of_freedom == len(groups) - 1


pairs = st.lists(st.tuples(st.integers(0, 12).map(float), st.booleans()), min_size=1, max_size=40)


@settings(max_examples=80, deadline=None)
@given(pairs, pairs)
def test_generated_groups_match_lifelines_and_are_symmetric(a: list, b: list) -> None:
    ta = event_table([d for d, _ in a], [e for _, e in a])
    tb = event_table([d for d, _ in b], [e for _, e in b])
    ours, swapped = logrank_test(ta, tb), logrank_test(tb, ta)
    ref = lifelines_logrank([d for d, _ in a], [d for d, _ in b], [e for _, e in a], [e for _, e in b])
    assert ours.test_statistic == pytest.approx(ref.test_statistic, abs=TOL)
    assert ours.p_value == pytest.approx(ref.p_value, abs=TOL)
    assert swapped.test_statistic == pytest.approx(ours.test_statistic, abs=1e-12)


def test_no_events_gives_no_evidence() -> None:
    # GIVEN nobody answered in either group
    result = logrank_test([5.0, 6.0], [7.0], [False, False], [False])
    # THEN there is nothing to compare
    assert result.test_statistic == 0.0 and result.p_value == 1.0


def test_clearly_different_groups_are_significant() -> None:
    fast = [float(i) for i in range(1, 41)]
    slow = [float(i * 50) for i in range(1, 41)]
    assert logrank_test(fast, slow).p_value < 1e-6
