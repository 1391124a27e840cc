"""Kaplan–Meier time to first reply, in lifelines' shape without numpy.

Stages, as in ``lifelines.KaplanMeierFitter._fit``: an *event table* of distinct durations
(removed, observed, at risk), the additive log estimate of S(t), Greenwood's variance, and the
exponential Greenwood ("log-log", R's ``conf.type="log-log"``) pointwise interval. The event table
is a compact, mergeable value — counts per distinct duration — so one built from a million
complaints holds only their distinct reply times, and tables for days, platforms or tiers add up.

Durations are minutes (floats); ``event_observed`` is "the company replied"; an unanswered complaint
is right-censored at the observation horizon. A median (or a confidence bound) that the curve never
reaches is ``None``: "not reached", never dropped and never replaced by a guess.
"""

from __future__ import annotations

import bisect
import math
from array import array
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from itertools import accumulate, chain, compress, count, islice, repeat
from operator import add, floordiv, le, mul, ne, neg, not_, sub, truediv
from statistics import NormalDist
from typing import Any

from chalicelib.domain.errors import InvalidObservation

#: Float slack when asking "has S(t) reached q?": S is a running sum of logs, and an exact 0.5
#: (2 of 4 answered) must count as reached whatever the last bit of rounding says.
_REACHED_SLACK = 1e-12


@dataclass(frozen=True, slots=True)
class EventTable:
    """Counts per distinct duration: the sufficient statistic of Kaplan–Meier and the log-rank test.

    ``times`` ascend strictly; ``removed[i]`` leave the risk set at ``times[i]`` (``observed[i]``
    of them because the event happened, the rest censored). Build with :func:`event_table` or
    :meth:`from_counters`; combine with :meth:`merge`.
    """

    times: tuple[float, ...] = ()
    removed: tuple[int, ...] = ()
    observed: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        if not len(self.times) == len(self.removed) == len(self.observed):
            raise InvalidObservation("event table columns differ in length")

    @classmethod
    def from_counters(cls, observed: Mapping[float, int], censored: Mapping[float, int]) -> EventTable:
        """Build from counts of event durations and of censoring durations (e.g. JSON-stored state)."""
        return _table_from_counts(observed, censored)

    @property
    def n(self) -> int:
        return sum(self.removed)

    @property
    def events(self) -> int:
        return sum(self.observed)

    @property
    def censored(self) -> tuple[int, ...]:
        return tuple(r - o for r, o in zip(self.removed, self.observed, strict=True))

    @property
    def at_risk(self) -> tuple[int, ...]:
        """Number still waiting just before each time (lifelines' ``at_risk`` column)."""
        out, remaining = [], self.n
        for r in self.removed:
            out.append(remaining)
            remaining -= r
        return tuple(out)

    def observed_counter(self) -> Counter[float]:
        return Counter({t: o for t, o in zip(self.times, self.observed, strict=True) if o})

    def censored_counter(self) -> Counter[float]:
        return Counter({t: c for t, c in zip(self.times, self.censored, strict=True) if c})

    def merge(self, other: EventTable) -> EventTable:
        """Pool two samples (e.g. two days, two platforms): counts at equal durations add up."""
        return EventTable.from_counters(
            self.observed_counter() + other.observed_counter(), self.censored_counter() + other.censored_counter()
        )

    def to_dict(self) -> dict[str, Any]:
        return {"times": list(self.times), "removed": list(self.removed), "observed": list(self.observed)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EventTable:
        removed, observed = data["removed"], data["observed"]
        censored = {float(t): int(r) - int(o) for t, r, o in zip(data["times"], removed, observed, strict=True)}
        return cls.from_counters({float(t): int(o) for t, o in zip(data["times"], observed, strict=True)}, censored)


def event_table(durations: Iterable[float], event_observed: Iterable[bool] | None = None) -> EventTable:
    """Count durations once, by distinct value, so later stages cost O(distinct times), not O(n).

    Parameters
    ----------
    durations: minutes from complaint to reply (or to the horizon, for censored ones); >= 0.
    event_observed: True where the reply was seen; default all True (as lifelines).

    Raises
    ------
    InvalidObservation: a negative, infinite or NaN duration, or lengths that differ.
    """
    durations = durations if isinstance(durations, list) else list(durations)
    if event_observed is None:
        flags: Sequence[Any] = b"\x01" * len(durations)
    else:
        flags = event_observed if isinstance(event_observed, list | tuple) else list(event_observed)
        if len(flags) != len(durations):
            raise InvalidObservation("durations and event_observed differ in length")
    # The million durations pass only through C loops. array("d") copies them into fresh floats (compact in
    # memory, as later passes want; ints become floats; anything else is rejected). Reply delays repeat a lot,
    # so they are counted by value; censoring times rarely repeat, so they are sorted as they come.
    try:
        observed = Counter(array("d", compress(durations, flags)))
        censored = array("d", compress(durations, _negated(flags))).tolist()
    except TypeError:
        raise InvalidObservation("durations must be finite numbers >= 0") from None
    censored.sort()
    censored = array("d", censored).tolist()  # fresh floats again, now in sorted order
    observed_times = sorted(observed)
    # Both lists ascend, so sorting their concatenation is one linear merge. Each time carries one number,
    # censored + observed * scale, so that the counts move with it through the same merge.
    scale = len(durations) + 1
    keys = observed_times + censored
    packed = [*map(mul, map(observed.__getitem__, observed_times), repeat(scale)), *repeat(1, len(censored))]
    times = sorted(keys)
    packed.sort(key=partial(next, iter(keys)))
    _check_times(times, times)
    new = list(map(ne, times, islice(times, 1, None)))  # false where a time repeats the one before
    if not all(new):
        for i in reversed(list(compress(count(), map(not_, new)))):  # runs of equal times add up into the first
            packed[i] += packed[i + 1]
        new.insert(0, True)
        times, packed = list(compress(times, new)), list(compress(packed, new))
    obs = tuple(map(floordiv, packed, repeat(scale)))
    return EventTable(tuple(times), tuple(map(sub, packed, map(mul, obs, repeat(scale - 1)))), obs)


def _negated(flags: Sequence[Any]) -> Iterable[Any]:
    """``map(not_, flags)``, but in one C pass (``bytes``) when flags are bools or small ints, as they are."""
    try:
        return bytes(flags).translate(_NOT)
    except (TypeError, ValueError):
        return map(not_, flags)


#: Byte translation table: 0 becomes 1, anything else 0.
_NOT = bytes([1]) + bytes(255)


def _check_times(times: list[Any], keys: Iterable[Any]) -> None:
    """Reject negative, infinite and NaN durations; ``times`` sorted, ``keys`` the same in any order."""
    if times and (
        not all(isinstance(t, int | float) for t in (times[0], times[-1]))
        or times[0] < 0
        or not math.isfinite(times[-1])
        # a NaN makes the sum NaN; only then (or on overflow) look for it one by one
        or (not math.isfinite(sum(keys)) and any(t != t for t in times))
    ):
        raise InvalidObservation("durations must be finite numbers >= 0")


def _table_from_counts(observed: Mapping[float, int], censored: Mapping[float, int]) -> EventTable:
    """The table of counts given per duration (zero counts ignored), for stored or merged state."""
    times = sorted({*compress(observed.keys(), observed.values()), *compress(censored.keys(), censored.values())})
    _check_times(times, times)
    obs = list(map(int, map(observed.get, times, repeat(0))))
    cen = list(map(int, map(censored.get, times, repeat(0))))
    if (obs and min(obs) < 0) or (cen and min(cen) < 0):
        raise InvalidObservation("counts must not be negative")
    return EventTable(tuple(map(float, times)), tuple(map(add, obs, cen)), tuple(obs))


@dataclass(frozen=True, slots=True)
class KaplanMeierResult:
    """A fitted Kaplan–Meier curve: step values at ``timeline`` (0 first, then each distinct duration).

    ``median`` is the first time S(t) <= 0.5, or ``None`` when fewer than half have had the event
    ("not reached"). ``median_ci`` is where the lower and upper pointwise bands cross 0.5, as
    lifelines' ``median_survival_times(kmf.confidence_interval_)``; ``None`` for a bound that is
    never reached (an upper bound of ``None`` means "unbounded").

    The curve and its band (``timeline``, ``survival_function``, ``ci_lower``, ``ci_upper``) are worked
    out from ``table`` on first use: most callers want only the median, and on a large sample the full
    curve costs more than the fit itself.
    """

    table: EventTable
    median: float | None
    median_ci: tuple[float | None, float | None]
    n: int
    events: int
    alpha: float = 0.05
    _curves: _Curves | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def timeline(self) -> tuple[float, ...]:
        return self._full().timeline

    @property
    def survival_function(self) -> tuple[float, ...]:
        return self._full().survival_function

    @property
    def ci_lower(self) -> tuple[float, ...]:
        return self._full().ci_lower

    @property
    def ci_upper(self) -> tuple[float, ...]:
        return self._full().ci_upper

    def _full(self) -> _Curves:
        if self._curves is None:
            object.__setattr__(self, "_curves", _curves(self.table, self.alpha))
        return self._curves  # type: ignore[return-value]

    def survival_at(self, t: float) -> float:
        """S(t), right-continuous: the value at the last timeline point <= t.

        Without the whole curve, S after the last event row at or before ``t``, from the rows up to it.
        """
        if self._curves is not None:
            return _step_value(self.timeline, self.survival_function, t)
        end = bisect.bisect_right(self.table.times, t)
        observed = self.table.observed[:end]
        deaths = list(compress(observed, observed))
        if not deaths:
            return 1.0
        at_risk = list(compress(accumulate(self.table.removed[:end], sub, initial=self.n), observed))
        return math.exp(_event_logs(at_risk, deaths)[0][-1])

    def share_by(self, t: float) -> float:
        """Estimated share with the event by time t, 1 − S(t): censoring-aware "answered within t"."""
        return 1.0 - self.survival_at(t)

    def quantile_time(self, q: float) -> float | None:
        """First time S(t) <= q (lifelines' ``qth_survival_time``); None if never reached."""
        return _first_reaching(self.timeline, self.survival_function, q)

    def to_points(self, max_points: int | None = None) -> list[dict[str, float]]:
        """Corner points of the step curve for charts: time 0 and every time the curve drops.

        ``max_points`` thins evenly (keeping first and last) so a huge sample still draws quickly. Worked out
        from the event rows alone (the curve moves only there), and the band only at the points kept, so a
        chart of a large sample costs a few passes over its reply times, not the whole curve.
        """
        if self._curves is not None:
            return _points_of(self._curves, max_points)
        times = self.table.times
        first = 1 if times and times[0] == 0.0 else 0
        size = len(times) + 1 - first  # of the timeline
        rows, at_risk, deaths = _event_rows_of(self.table)
        log_s, var, _ = _event_logs(at_risk, deaths)
        surv = list(map(math.exp, log_s))
        # timeline index of each event row whose value differs from the one before (1.0 before the first)
        drops = compress(map(add, rows, repeat(1 - first)), map(ne, surv, chain((1.0,), surv)))
        keep = [0, *(i for i in drops if i >= 1)]
        if keep[-1] != size - 1:
            keep.append(size - 1)
        if max_points is not None and len(keep) > max_points >= 2:
            step = (len(keep) - 1) / (max_points - 1)
            keep = [keep[round(i * step)] for i in range(max_points)]
        z = _z(self.alpha)
        out = []
        for i in keep:
            row = i - 1 + first if i else (0 if first else -1)
            j = bisect.bisect_right(rows, row) - 1 if row >= 0 else -1
            s, lo, hi = (1.0, 1.0, 1.0) if j < 0 else _point_and_band(log_s[j], var[j], z)
            out.append({"t": times[row] if i else 0.0, "s": s, "lower": lo, "upper": hi})
        return out

    def to_dict(self, curve_points: int | None = 0) -> dict[str, Any]:
        """Summary (and optionally the curve) as JSON-ready values; ``curve_points=None`` for all points."""
        out: dict[str, Any] = {
            "n": self.n,
            "events": self.events,
            "median": self.median,
            "median_ci": list(self.median_ci),
            "median_reached": self.median is not None,
            "confidence_level": 1 - self.alpha,
        }
        if curve_points != 0:
            out["curve"] = self.to_points(curve_points)
        return out


def _step_value(timeline: Sequence[float], values: Sequence[float], t: float) -> float:
    i = bisect.bisect_right(timeline, t) - 1
    return 1.0 if i < 0 else values[i]


def _first_reaching(timeline: Sequence[float], values: Sequence[float], q: float) -> float | None:
    threshold = q + _REACHED_SLACK
    for t, v in zip(timeline, values, strict=True):
        if v <= threshold:
            return t
    return None


def kaplan_meier(table: EventTable, alpha: float = 0.05) -> KaplanMeierResult:
    """Kaplan–Meier estimate with the exponential Greenwood interval, as lifelines computes it.

    log S(t) = Σ_{t_i <= t} [log(n_i − d_i) − log n_i]; Var = Σ d_i / (n_i (n_i − d_i)) (a term where
    everyone left at risk has the event contributes 0, as lifelines does); bounds
    exp(−exp(log(−log S) ∓ z·√Var / log S)) — https://www.math.wustl.edu/~sawyer/handouts/greenwood.pdf.
    Where S = 1 the band is [1, 1]. An empty table gives S = 1 at time 0 and no median.

    Only the event rows up to where S and both bounds have crossed 0.5 are computed here (a few of them, on
    a large sample); the rest of the curve waits for :class:`KaplanMeierResult`'s first use of it.
    """
    z = _z(alpha)
    events = sum(table.observed)
    size = _FIRST_ROWS
    while True:
        # Values at a prefix of the rows are the same bits as those of the whole (running sums, then
        # elementwise), so the crossings found here are the full curve's.
        rows, at_risk, deaths = _event_rows_of(table, size)
        surv, lower, upper = _event_rows(at_risk, deaths, z)
        crossings = [_first_at_or_below(v, 0.5) for v in (surv, lower, upper)]
        if len(rows) < size or None not in crossings:
            break
        size *= 2
    first = 1 if table.times and table.times[0] == 0.0 else 0
    median, lo, hi = (None if i is None else _row_time(table.times, rows[i], first) for i in crossings)
    return KaplanMeierResult(table=table, median=median, median_ci=(lo, hi), n=sum(table.removed),
                             events=events, alpha=alpha)


#: Event rows computed at first for the median and its interval; doubled until all three cross 0.5.
_FIRST_ROWS = 4096


@dataclass(frozen=True, slots=True)
class _Curves:
    timeline: tuple[float, ...]
    survival_function: tuple[float, ...]
    ci_lower: tuple[float, ...]
    ci_upper: tuple[float, ...]


def _z(alpha: float) -> float:
    if not 0 < alpha < 1:
        raise ValueError("alpha must be between 0 and 1")
    return NormalDist().inv_cdf(1 - alpha / 2)


def _event_rows_of(table: EventTable, limit: int | None = None) -> tuple[list[int], list[int], list[int]]:
    """Indexes, numbers at risk and deaths of the (first ``limit``) rows with events: S moves only there."""
    observed = table.observed
    rows = list(islice(compress(count(), observed), limit))
    end = rows[-1] + 1 if rows else 0
    at_risk = islice(accumulate(table.removed, sub, initial=sum(table.removed)), end)
    return rows, list(compress(at_risk, observed)), list(map(observed.__getitem__, rows))


def _row_time(times: tuple[float, ...], row: int, first: int) -> float:
    return 0.0 if row == 0 and first else times[row]  # the timeline's 0.0 for a row at time 0


def _curves(table: EventTable, alpha: float) -> _Curves:
    """The whole step curve and band, laid out on the timeline as lifelines does."""
    times = table.times
    rows, at_risk, deaths = _event_rows_of(table)
    surv, lower, upper = _event_rows(at_risk, deaths, _z(alpha))
    # A row at t = 0 takes the place of the initial point (as in lifelines' timeline).
    first = 1 if times and times[0] == 0.0 else 0
    timeline = (0.0,) + tuple(times)[first:]  # concatenation copies in C; * would build a list first
    # How many timeline points each value covers: 1.0 up to the first event row, then each event row's value.
    ends = [*islice(rows, 1, None), len(times)]
    lengths = [(rows[0] if rows else len(times)) + 1 - first, *map(sub, ends, rows)]

    def runs(values: list[float]) -> tuple[float, ...]:
        return tuple(chain.from_iterable(map(repeat, chain((1.0,), values), lengths)))

    return _Curves(timeline, runs(surv), runs(lower), runs(upper))


def _first_at_or_below(values: list[float], q: float) -> int | None:
    return next(compress(count(), map(le, values, repeat(q + _REACHED_SLACK))), None)


def _event_rows(at_risk: list[int], deaths: list[int], z: float) -> tuple[list[float], list[float], list[float]]:
    """S, lower and upper bound just after each event row.

    Rows before anyone's risk set empties (all, or all but the last, in practice) run as chains of ``map``
    over :func:`_event_logs`' sums; the rest (S = 0), and the odd table where S rounds to 1 after an event, go
    through :func:`_point_and_band` one by one. Both do the same operations in the same order, so the same bits.
    """
    log_s, var, k = _event_logs(at_risk, deaths)
    head_s, head_var = log_s[:k], var[:k]
    spread = list(map(truediv, map(mul, repeat(z), map(math.sqrt, head_var)), head_s))
    log_minus_log = list(map(math.log, map(neg, head_s)))
    surv = list(map(math.exp, head_s))
    lower = list(map(math.exp, map(neg, map(math.exp, map(sub, log_minus_log, spread)))))
    upper = list(map(math.exp, map(neg, map(math.exp, map(add, log_minus_log, spread)))))
    for s, lo, hi in map(_point_and_band, islice(log_s, k, None), islice(var, k, None), repeat(z)):
        surv.append(s)
        lower.append(lo)
        upper.append(hi)
    return surv, lower, upper


def _point_and_band(log_s: float, var: float, z: float) -> tuple[float, float, float]:
    if log_s == -math.inf:
        return 0.0, 0.0, 0.0
    if log_s == 0.0:
        return 1.0, 1.0, 1.0
    s = math.exp(log_s)
    log_minus_log = math.log(-log_s)
    spread = z * math.sqrt(var) / log_s
    return s, math.exp(-math.exp(log_minus_log - spread)), math.exp(-math.exp(log_minus_log + spread))


def _event_logs(at_risk: list[int], deaths: list[int]) -> tuple[list[float], list[float], int]:
    """log S and Greenwood's variance sum just after each event row, and how many leading rows are "plain".

    The first ``k`` rows (before anyone's risk set empties, and when S has moved below 1) are summed as chains
    of ``accumulate``; the rest one by one, continuing the same sums.
    """
    survivors = list(map(sub, at_risk, deaths))
    k = next(compress(count(), map(le, survivors, repeat(0))), len(survivors))
    log_s = list(accumulate(map(sub, map(math.log, islice(survivors, k)), map(math.log, islice(at_risk, k)))))
    if log_s and max(log_s) >= 0.0:
        k, log_s = 0, []
    var = list(accumulate(map(truediv, islice(deaths, k), map(mul, islice(at_risk, k), islice(survivors, k)))))
    log_s_k, var_k = (log_s[-1], var[-1]) if k else (0.0, 0.0)
    for n, d in zip(islice(at_risk, k, None), islice(deaths, k, None), strict=True):
        if d >= n:
            log_s_k = -math.inf
        else:
            log_s_k += math.log(n - d) - math.log(n)
            var_k += d / (n * (n - d))
        log_s.append(log_s_k)
        var.append(var_k)
    return log_s, var, k


def _points_of(curves: _Curves, max_points: int | None) -> list[dict[str, float]]:
    """:meth:`KaplanMeierResult.to_points` from the whole curve, once it has been worked out anyway."""
    timeline, surv = curves.timeline, curves.survival_function
    keep = [0, *compress(count(1), map(ne, islice(surv, 1, None), surv))]
    if timeline and keep[-1] != len(timeline) - 1:
        keep.append(len(timeline) - 1)
    if max_points is not None and len(keep) > max_points >= 2:
        step = (len(keep) - 1) / (max_points - 1)
        keep = [keep[round(i * step)] for i in range(max_points)]
    return [{"t": timeline[i], "s": surv[i], "lower": curves.ci_lower[i], "upper": curves.ci_upper[i]} for i in keep]


def km_median(times: Sequence[float], removed: Sequence[int], observed: Sequence[int]) -> float:
    """Just the KM median (``math.inf`` when not reached), for resampling loops that need nothing else.

    Same arithmetic and the same 0.5 rule as :func:`kaplan_meier`, stopping at the crossing.
    """
    at_risk = sum(removed)
    log_s = 0.0
    threshold = 0.5 + _REACHED_SLACK
    for t, r, d in zip(times, removed, observed, strict=True):
        if d:
            if d >= at_risk:
                return t
            log_s += math.log(at_risk - d) - math.log(at_risk)
            if math.exp(log_s) <= threshold:
                return t
        at_risk -= r
    return math.inf
