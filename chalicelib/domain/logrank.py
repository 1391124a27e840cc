"""Log-rank test of equal reply-time distributions, as ``lifelines.statistics`` computes it.

The k-group test (:func:`multivariate_logrank_test`) works from one event table per group, so it
runs on the same compact, mergeable counts as Kaplan–Meier; :func:`logrank_test` is the two-group
wrapper, as in lifelines. The statistic is Z' V⁻ Z over the first k − 1 groups (observed minus
expected events and their hypergeometric covariance), chi-square with k − 1 degrees of freedom.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import accumulate, chain, compress, count, islice, repeat
from operator import add, eq, le, mul, sub, truediv
from typing import Any

from chalicelib.domain.survival import EventTable, event_table

_PIVOT_TOLERANCE = 1e-12


@dataclass(frozen=True, slots=True)
class TestResult:
    """A test's outcome (lifelines' ``StatisticalResult`` fields that we publish)."""

    test_statistic: float
    p_value: float
    degrees_of_freedom: int
    test_name: str

    __test__ = False  # not a pytest test class, despite the name

    def to_dict(self) -> dict[str, Any]:
        return {
            "test_name": self.test_name,
            "test_statistic": self.test_statistic,
            "p_value": self.p_value,
            "degrees_of_freedom": self.degrees_of_freedom,
        }


def chi2_sf(x: float, df: int) -> float:
    """P(χ²_df > x) in closed form for whole df: erfc for odd df, Poisson sums for even df."""
    if df < 1:
        raise ValueError("degrees of freedom must be >= 1")
    if x <= 0:
        return 1.0
    y = x / 2.0
    if df % 2 == 0:
        term, total = 1.0, 1.0
        for i in range(1, df // 2):
            term *= y / i
            total += term
        return min(1.0, math.exp(-y) * total)
    # Q(m + 1/2, y) = erfc(√y) + e^{-y} Σ_{i=1}^{m} y^{i-1/2} / Γ(i + 1/2)
    total = math.erfc(math.sqrt(y))
    if df > 1:
        term = math.sqrt(y) / math.gamma(1.5)
        acc = term
        for i in range(2, (df - 1) // 2 + 1):
            term *= y / (i - 0.5)
            acc += term
        total += math.exp(-y) * acc
    return min(1.0, total)


def multivariate_logrank_test(tables: Sequence[EventTable], test_name: str = "multivariate_logrank_test") -> TestResult:
    """Log-rank test across k >= 2 groups, each given as its event table.

    A group with no one in it, or no events anywhere, contributes no information: the statistic is 0
    and p = 1 (lifelines' pseudo-inverse gives the same).
    """
    k = len(tables)
    if k < 2:
        raise ValueError("the log-rank test needs at least two groups")
    if k == 2:  # the common case: only the first group's score and variance enter the statistic
        score, variance = _first_of_two(*tables)
        statistic = max(0.0, _quadratic_form([score], [[variance]]))
    else:
        observed_minus_expected, covariance = _score_and_covariance(tables)
        statistic = max(0.0, _quadratic_form(observed_minus_expected[:-1], [row[:-1] for row in covariance[:-1]]))
    return TestResult(statistic, chi2_sf(statistic, k - 1), k - 1, test_name)


def logrank_test(
    durations_a: Iterable[float] | EventTable,
    durations_b: Iterable[float] | EventTable,
    event_observed_a: Iterable[bool] | None = None,
    event_observed_b: Iterable[bool] | None = None,
) -> TestResult:
    """Two-group log-rank test: raw durations (like lifelines) or two event tables."""
    a = durations_a if isinstance(durations_a, EventTable) else event_table(durations_a, event_observed_a)
    b = durations_b if isinstance(durations_b, EventTable) else event_table(durations_b, event_observed_b)
    return multivariate_logrank_test([a, b], test_name="logrank_test")


def _score_and_covariance(tables: Sequence[EventTable]) -> tuple[list[float], list[list[float]]]:
    k = len(tables)
    rows: dict[float, list[tuple[int, int]]] = {}
    for j, table in enumerate(tables):
        for t, r, d in zip(table.times, table.removed, table.observed, strict=True):
            rows.setdefault(t, [(0, 0)] * k)[j] = (r, d)
    at_risk = [table.n for table in tables]
    score = [0.0] * k
    cov = [[0.0] * k for _ in range(k)]
    for t in sorted(rows):
        cells = rows[t]
        n = sum(at_risk)
        d = sum(c[1] for c in cells)
        if d and n:
            # Var and Cov of a hypergeometric draw of d events among n at risk (Mantel–Haenszel).
            factor = ((n - d) / (n - 1) if n > 1 else 1.0) * d / (n * n)
            for a in range(k):
                score[a] += cells[a][1] - at_risk[a] * d / n
                for b in range(k):
                    cov[a][b] += factor * at_risk[a] * ((n if a == b else 0) - at_risk[b])
        for j in range(k):
            at_risk[j] -= cells[j][0]
    return score, cov


def _first_of_two(a: EventTable, b: EventTable) -> tuple[float, float]:
    """``score[0]`` and ``cov[0][0]`` of :func:`_score_and_covariance` for two groups, in C loops.

    Only times with an event add terms, and the number at risk there is the group size less what left
    before (a binary search in each table); each term is the same float expression in the same order,
    summed in the same order, so the result is the same bits at O(event times) instead of a dict of all.
    """
    ev = sorted({*compress(a.times, a.observed), *compress(b.times, b.observed)})
    if not ev:
        return 0.0, 0.0
    na, da = _at_event_times(a, ev)
    nb, db = _at_event_times(b, ev)
    n = list(map(add, na, nb))
    d = list(map(add, da, db))
    score = map(sub, da, map(truediv, map(mul, na, d), n))
    # n only falls; where it reaches 1 the hypergeometric factor is 1.0 (n − 1 would be 0)
    k = next(compress(count(), map(le, n, repeat(1))), len(n))
    ratio = chain(map(truediv, map(sub, islice(n, k), islice(d, k)), map(sub, islice(n, k), repeat(1))),
                  repeat(1.0, len(n) - k))
    factor = map(truediv, map(mul, ratio, d), map(mul, n, n))
    variance = map(mul, map(mul, factor, na), nb)
    return _last(accumulate(score, initial=0.0)), _last(accumulate(variance, initial=0.0))


def _at_event_times(table: EventTable, ev: list[float]) -> tuple[list[int], list[int]]:
    """Numbers at risk just before, and events at, each of the (sorted) times ``ev`` in one group."""
    where = list(map(bisect_left, repeat(table.times), ev))
    left = [*accumulate(table.removed, initial=0)]
    at_risk = list(map(sub, repeat(left[-1]), map(left.__getitem__, where)))
    times, observed = (*table.times, math.inf), (*table.observed, 0)
    deaths = list(map(mul, map(observed.__getitem__, where), map(eq, map(times.__getitem__, where), ev)))
    return at_risk, deaths


def _last(values: Iterable[float]) -> float:
    return deque(values, maxlen=1)[0]


def _quadratic_form(z: list[float], v: list[list[float]]) -> float:
    """z' V⁻ z for symmetric positive semi-definite V, skipping zero pivots (a generalised inverse).

    Equals the Moore–Penrose form lifelines uses whenever z lies in V's column space, which the
    log-rank score always does (a group with no one at risk has a zero row and a zero score).
    """
    m = len(z)
    a = [row[:] for row in v]
    b = z[:]
    total = 0.0
    scale = max((abs(a[i][i]) for i in range(m)), default=0.0)
    for p in range(m):
        pivot = a[p][p]
        if pivot <= _PIVOT_TOLERANCE * max(scale, 1.0):
            continue
        total += b[p] * b[p] / pivot
        for i in range(p + 1, m):
            f = a[i][p] / pivot
            if f:
                b[i] -= f * b[p]
                for j in range(p + 1, m):
                    a[i][j] -= f * a[p][j]
    return total
