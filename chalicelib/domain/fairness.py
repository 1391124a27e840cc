"""Per-tier reply statistics and the ordinary vs high-profile comparison.

Two ways in, one way out. From scratch: :func:`observations_from_complaints` censors unanswered
complaints at the horizon, and :func:`sample_from_observations` counts them. Incrementally: a
:class:`TierState` per company × platform × tier (× creation day, so windows are merges of days) is
updated from changed complaints only, and :meth:`TierState.sample` gives the same
:class:`TierSample` at any later horizon. Everything after that — :func:`tier_stats`,
:func:`compare_tiers`, :func:`company_stats` — reads only the compact samples, so a scheduled run
costs O(distinct reply times), not O(history). See docs/methodology.md.
"""

from __future__ import annotations

import base64
import math
import operator
import random
import sys
from array import array
from bisect import bisect_left
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import accumulate, repeat
from statistics import NormalDist
from typing import Any

from chalicelib.domain.logrank import TestResult, logrank_test
from chalicelib.domain.models import Category, Complaint, ReplyKind, Tier, utc
from chalicelib.domain.survival import EventTable, KaplanMeierResult, kaplan_meier

ANSWERED_WITHIN_MINUTES: tuple[int, ...] = (60, 1_440, 10_080)
DEFAULT_MIN_SAMPLE = 30
DEFAULT_ALPHA = 0.05
BOOTSTRAP_REPLICATES = 999
#: Fixed so that every published interval can be recomputed bit for bit from the same data.
BOOTSTRAP_SEED = 20240229
#: Above this many complaints in the two tiers together, the ratio's interval is the large-sample one.
BOOTSTRAP_MAX_N = 2_000
RATIO_CI_BOOTSTRAP = "percentile_bootstrap"
RATIO_CI_LARGE_SAMPLE = "mover_log_median"
#: −log(½ + slack): S(t) ≤ ½ (with survival's 1e-12 slack for exact halves) as a bound on −log S.
_MINUS_LOG_HALF = -math.log(0.5 + 1e-12)

FAVOURS_HIGH_PROFILE = "favours_high_profile"
NO_EVIDENCE = "no_evidence"
FAVOURS_ORDINARY = "favours_ordinary"
INSUFFICIENT_DATA = "insufficient_data"


# --- input ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Observation:
    """One complaint as the statistics see it, at one horizon: how long it waited, and whether it ended."""

    duration_minutes: float
    event_observed: bool
    tier: str
    followers: int | None
    created_at: datetime
    deflected: bool | None = None
    substantive_duration_minutes: float | None = None
    substantive_observed: bool = False


def _minutes(start: datetime, end: datetime) -> float:
    return max(0.0, (end - start).total_seconds() / 60.0)


def _counts(complaint: Complaint) -> bool:
    """Only live complaints enter the statistics; a deleted one can no longer be answered (documented)."""
    return complaint.category == Category.COMPLAINT and not complaint.deleted


def observations_from_complaints(complaints: Iterable[Complaint], horizon: datetime) -> list[Observation]:
    """Right-censor at ``horizon``: what had not happened by then is "still waiting", never "answered".

    A complaint made after the horizon is outside the observation window and left out; a reply made
    after it counts as not yet seen. ``horizon`` is now for live polling, and the archive's end for an
    import — never now for an archive, which would invent weeks of waiting.
    """
    horizon = utc(horizon)
    out: list[Observation] = []
    for c in complaints:
        if not _counts(c) or c.created_at > horizon:
            continue
        reply = c.first_reply if c.first_reply is not None and c.first_reply.created_at <= horizon else None
        substantive = c.first_substantive_reply
        if substantive is not None and substantive.created_at > horizon:
            substantive = None
        out.append(
            Observation(
                duration_minutes=_minutes(c.created_at, reply.created_at if reply else horizon),
                event_observed=reply is not None,
                tier=str(c.tier),
                followers=c.followers,
                created_at=c.created_at,
                deflected=None if reply is None else reply.kind == ReplyKind.DEFLECTION,
                substantive_duration_minutes=_minutes(c.created_at, substantive.created_at if substantive else horizon),
                substantive_observed=substantive is not None,
            )
        )
    return out


@dataclass(frozen=True, slots=True)
class TierSample:
    """Everything the statistics need about one tier: two event tables and the deflection counts."""

    table: EventTable = field(default_factory=EventTable)
    substantive: EventTable = field(default_factory=EventTable)
    replies: int = 0
    deflections: int = 0

    def merge(self, other: TierSample) -> TierSample:
        return TierSample(
            self.table.merge(other.table),
            self.substantive.merge(other.substantive),
            self.replies + other.replies,
            self.deflections + other.deflections,
        )


def sample_from_observations(observations: Iterable[Observation]) -> TierSample:
    """Count observations into a :class:`TierSample` (from scratch)."""
    first: tuple[Counter[float], Counter[float]] = (Counter(), Counter())
    subst: tuple[Counter[float], Counter[float]] = (Counter(), Counter())
    replies = deflections = 0
    for o in observations:
        first[0 if o.event_observed else 1][o.duration_minutes] += 1
        if o.substantive_duration_minutes is not None:
            subst[0 if o.substantive_observed else 1][o.substantive_duration_minutes] += 1
        if o.deflected is not None:
            replies += 1
            deflections += o.deflected
    return TierSample(EventTable.from_counters(*first), EventTable.from_counters(*subst), replies, deflections)


def samples_by_tier(observations: Iterable[Observation]) -> dict[str, TierSample]:
    grouped: dict[str, list[Observation]] = {}
    for o in observations:
        grouped.setdefault(o.tier, []).append(o)
    return {tier: sample_from_observations(obs) for tier, obs in grouped.items()}


@dataclass(slots=True)
class TierState:
    """Compact, JSON-able running state for one company × platform × tier (× day).

    Answered complaints are kept as a Counter of reply durations, which never change once answered;
    unanswered ones as a Counter of creation times, because their censoring time moves with the
    horizon. :meth:`apply` swaps a complaint's old version for its new one, so a job feeds only the
    complaints that changed. Assumes every stored reply happened at or before the horizon it is
    evaluated at (true for live polling; for an earlier horizon use the from-scratch path).
    """

    answered: Counter[float] = field(default_factory=Counter)
    pending: Counter[int] = field(default_factory=Counter)  # creation times, in microseconds since the epoch
    substantive: Counter[float] = field(default_factory=Counter)
    substantive_pending: Counter[int] = field(default_factory=Counter)
    replies: int = 0
    deflections: int = 0

    def apply(self, old: Complaint | None, new: Complaint | None) -> TierState:
        """Replace ``old`` (None for a new complaint) by ``new`` (None to remove); returns self."""
        if old is not None and _counts(old):
            self._add(old, -1)
        if new is not None and _counts(new):
            self._add(new, +1)
        return self

    def _add(self, c: Complaint, sign: int) -> None:
        created = c.created_at
        if c.first_reply is None:
            _bump(self.pending, epoch_microseconds(created), sign)
        else:
            _bump(self.answered, _minutes(created, c.first_reply.created_at), sign)
            self.replies += sign
            self.deflections += sign * (c.first_reply.kind == ReplyKind.DEFLECTION)
        if c.first_substantive_reply is None:
            _bump(self.substantive_pending, epoch_microseconds(created), sign)
        else:
            _bump(self.substantive, _minutes(created, c.first_substantive_reply.created_at), sign)

    def add(self, other: TierState) -> TierState:
        """Add ``other``'s counts into this state (in place, in the size of ``other``); returns self.

        :meth:`merge` copies both; summing many states one by one with it costs the square of their number.
        """
        for mine, theirs in ((self.answered, other.answered), (self.pending, other.pending),
                             (self.substantive, other.substantive),
                             (self.substantive_pending, other.substantive_pending)):
            mine.update(theirs)
        self.replies += other.replies
        self.deflections += other.deflections
        return self

    def merge(self, other: TierState) -> TierState:
        return TierState(
            self.answered + other.answered,
            self.pending + other.pending,
            self.substantive + other.substantive,
            self.substantive_pending + other.substantive_pending,
            self.replies + other.replies,
            self.deflections + other.deflections,
        )

    def sample(self, horizon: datetime) -> TierSample:
        """Censor the still-unanswered at ``horizon`` (those created after it are left out)."""
        horizon = utc(horizon)
        return TierSample(
            EventTable.from_counters(self.answered, _censored(self.pending, horizon)),
            EventTable.from_counters(self.substantive, _censored(self.substantive_pending, horizon)),
            self.replies,
            self.deflections,
        )

    def to_dict(self) -> dict[str, Any]:
        """Counts as packed binary columns (base64): the running state of years of history loads in C loops."""
        return {
            "answered": _pack_counts(self.answered, "d", _floats),
            "pending": _pack_counts(self.pending, "q", _ints),
            "substantive": _pack_counts(self.substantive, "d", _floats),
            "substantive_pending": _pack_counts(self.substantive_pending, "q", _ints),
            "replies": self.replies,
            "deflections": self.deflections,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TierState:
        """Read :meth:`to_dict`'s form, or the earlier one of ``[value, count]`` pairs (ISO times for pending)."""
        return cls(
            _unpack_counts(data.get("answered"), "d", _floats),
            _unpack_counts(data.get("pending"), "q", _instant),
            _unpack_counts(data.get("substantive"), "d", _floats),
            _unpack_counts(data.get("substantive_pending"), "q", _instant),
            int(data.get("replies", 0)),
            int(data.get("deflections", 0)),
        )


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def _floats(values: Iterable[Any]) -> Iterable[float]:
    return map(float, values)


def epoch_microseconds(instant: datetime) -> int:
    """An instant as whole microseconds since the epoch: pending complaints are kept (and censored) as these."""
    return (utc(instant) - _EPOCH) // _MICROSECOND


def _ints(values: Iterable[Any]) -> Iterable[int]:
    return map(int, values)


def _instant(values: Iterable[Any]) -> Iterable[int]:
    """Microseconds since the epoch, or (the earlier form) ISO-8601 strings, as microseconds since the epoch."""
    values = list(values)
    if values and isinstance(values[0], str):
        return [epoch_microseconds(datetime.fromisoformat(v)) for v in values]
    return values


def _pack_counts(counter: Mapping[Any, int], typecode: str, encode: Any) -> dict[str, str]:
    keys = sorted(counter)
    return {"keys": _b64(array(typecode, encode(keys))), "counts": _b64(array("q", map(counter.__getitem__, keys)))}


def _unpack_counts(packed: Any, typecode: str, decode: Any) -> Counter[Any]:
    if not packed:
        return Counter()
    if isinstance(packed, Mapping):
        keys, counts = _unb64(typecode, packed["keys"]), _unb64("q", packed["counts"])
    else:  # [[value, count], ...]
        keys, counts = [k for k, _ in packed], [int(n) for _, n in packed]
    return Counter(dict(zip(decode(keys), counts, strict=True)))


def _b64(values: array) -> str:
    if sys.byteorder == "big":
        values.byteswap()
    return base64.b64encode(values.tobytes()).decode("ascii")


def _unb64(typecode: str, text: str) -> list[Any]:
    values = array(typecode, base64.b64decode(text))
    if sys.byteorder == "big":
        values.byteswap()
    return values.tolist()


def _bump(counter: Counter[Any], key: Any, sign: int) -> None:
    counter[key] += sign
    if counter[key] == 0:
        del counter[key]


def _censored(pending: Counter[int], horizon: datetime) -> Mapping[float, int]:
    """Minutes each still-unanswered complaint created by ``horizon`` has waited, as :func:`_minutes` gives them.

    ``timedelta.total_seconds()`` divides whole microseconds by 10**6, so the same integer division here gives
    the same floats, in C loops over a state of any age.
    """
    end = epoch_microseconds(horizon)
    created = [t for t in pending if t <= end]
    waits = list(map(operator.truediv, map(operator.truediv, map(operator.sub, repeat(end), created),
                                           repeat(1_000_000)), repeat(60.0)))
    counts = map(pending.__getitem__, created)
    out = dict(zip(waits, counts, strict=True))
    if len(out) < len(waits):  # distinct instants that round to the same float: add them up
        out = Counter()
        for wait, n in zip(waits, map(pending.__getitem__, created), strict=True):
            out[wait] += n
    return out


# --- per-tier statistics ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TierStats:
    """What we publish for one tier.

    ``answered_within[m]`` is the Kaplan–Meier estimate of the share answered within m minutes
    (equal to the plain share when nothing was censored before m). SLA compliance counts only
    complaints whose outcome against the target is known: answered (at any time), or still waiting
    after the target passed; those still inside their target window are ``sla_pending``.
    """

    tier: str
    n: int
    answered: int
    answered_share: float | None
    answered_within: dict[int, float]
    km: KaplanMeierResult
    substantive_km: KaplanMeierResult
    replies: int
    deflections: int
    deflection_share: float | None
    sla_minutes: int | None = None
    sla_met: int | None = None
    sla_decided: int | None = None
    sla_pending: int | None = None
    sla_compliance: float | None = None

    @property
    def median(self) -> float | None:
        return self.km.median

    @property
    def median_ci(self) -> tuple[float | None, float | None]:
        return self.km.median_ci

    def to_dict(self, curve_points: int | None = 0) -> dict[str, Any]:
        return {
            "tier": self.tier,
            "n": self.n,
            "answered": self.answered,
            "answered_share": self.answered_share,
            "answered_within": {str(m): v for m, v in self.answered_within.items()},
            "median_minutes": self.km.median,
            "median_ci": list(self.km.median_ci),
            "median_reached": self.km.median is not None,
            "time_to_reply": self.km.to_dict(curve_points),
            "time_to_substantive_reply": self.substantive_km.to_dict(curve_points),
            "replies": self.replies,
            "deflections": self.deflections,
            "deflection_share": self.deflection_share,
            "sla_minutes": self.sla_minutes,
            "sla_met": self.sla_met,
            "sla_decided": self.sla_decided,
            "sla_pending": self.sla_pending,
            "sla_compliance": self.sla_compliance,
        }


def tier_stats(
    sample: TierSample, tier: str, sla_minutes: int | None = None, alpha: float = DEFAULT_ALPHA
) -> TierStats:
    """Summarise one tier's sample: KM curve and median, shares, SLA and deflection."""
    table = sample.table
    km = kaplan_meier(table, alpha)
    n, answered = table.n, table.events
    sla: dict[str, Any] = {}
    if sla_minutes is not None:
        met = sum(o for t, o in zip(table.times, table.observed, strict=True) if t <= sla_minutes)
        late_waiting = sum(c for t, c in zip(table.times, table.censored, strict=True) if t >= sla_minutes)
        decided = answered + late_waiting
        sla = {
            "sla_minutes": sla_minutes,
            "sla_met": met,
            "sla_decided": decided,
            "sla_pending": n - decided,
            "sla_compliance": met / decided if decided else None,
        }
    return TierStats(
        tier=tier,
        n=n,
        answered=answered,
        answered_share=answered / n if n else None,
        answered_within={m: km.share_by(m) for m in ANSWERED_WITHIN_MINUTES},
        km=km,
        substantive_km=kaplan_meier(sample.substantive, alpha),
        replies=sample.replies,
        deflections=sample.deflections,
        deflection_share=sample.deflections / sample.replies if sample.replies else None,
        **sla,
    )


# --- ratio of medians -------------------------------------------------------------------------


def median_ratio(ordinary_median: float, high_profile_median: float) -> float:
    """ordinary / high-profile, with "not reached" as +inf: inf when only ordinary waits past half."""
    if math.isinf(ordinary_median) and math.isinf(high_profile_median):
        return math.nan
    if high_profile_median == 0:
        return 1.0 if ordinary_median == 0 else math.inf
    return ordinary_median / high_profile_median


class _MedianResampler:
    """Draws bootstrap resamples of one tier from its event table, returning each resample's KM median.

    Kaplan–Meier needs, at each reply time, only how many still wait and how many are answered there.
    So each complaint, in (duration, answered first) order, is labelled with its *group*: 2j + 1 if
    answered at the j-th reply time, 2j + 2 if it left the risk set after that reply time's answers and
    before the next one's, 0 if before the first. A resample is n uniform draws of labels
    (``random.choices``: the same draws, hence the same replicates, as ``random.choices`` over the
    complaints themselves in that order), counted with ``Counter``. After
    the draws everything runs inside C builtins — ``accumulate`` gives the number still waiting before
    each group, a table lookup the logs, ``accumulate`` again −log S(t), ``bisect`` the first S ≤ ½ — with
    the arithmetic and the ½ rule of :func:`~chalicelib.domain.survival.km_median`. Cost per replicate:
    n draws plus O(reply times) C-level steps, no Python loop per complaint or per time.
    """

    def __init__(self, table: EventTable) -> None:
        self.n = table.n
        self.times: list[float] = []
        self.labels: list[int] = []
        group = 0
        for t, r, d in zip(table.times, table.removed, table.observed, strict=True):
            if d:
                self.times.append(t)
                self.labels += [2 * len(self.times) - 1] * d
                group = 2 * len(self.times)
            self.labels += [group] * (r - d)
        self.groups = range(2 * len(self.times) + 1)
        self.log = [-math.inf] + [math.log(k) for k in range(1, self.n + 1)]

    def draw(self, rng: random.Random) -> float:
        counts = Counter(rng.choices(self.labels, k=self.n))
        # waiting[k] = still waiting after groups 0..k-1: at-risk at reply time j is waiting[2j + 1], and
        # those left unanswered by it waiting[2j + 2]. Always reaches 0 at the end.
        waiting = list(accumulate(map(counts.get, self.groups, repeat(0)), operator.sub, initial=self.n))
        stop = waiting.index(0)
        steps = max(0, (stop - 1) // 2)  # reply times with someone still waiting after them
        logs = list(map(self.log.__getitem__, waiting[1 : 2 * steps + 1]))
        minus_log_s = list(accumulate(map(operator.sub, logs[0::2], logs[1::2])))
        i = bisect_left(minus_log_s, _MINUS_LOG_HALF)
        if i < steps:
            return self.times[i]
        # the first 0 is "everyone still waiting answered at reply time `steps`" (S = 0) or "nobody left"
        return self.times[steps] if stop % 2 == 0 and stop > 0 else math.inf


def bootstrap_ratio_ci(
    ordinary: EventTable,
    high_profile: EventTable,
    replicates: int = BOOTSTRAP_REPLICATES,
    seed: int = BOOTSTRAP_SEED,
    alpha: float = DEFAULT_ALPHA,
) -> tuple[float, float]:
    """Percentile bootstrap interval of the median ratio, resampling each tier separately.

    Bounds are the (B+1)·α/2-th and (B+1)·(1−α/2)-th ordered replicates. A replicate whose medians are
    both "not reached" has no ratio; it is counted against us on both sides (as 0 for the lower bound,
    +inf for the upper), so the interval only widens. Returns (lower, upper), possibly 0 or +inf.
    Costs O(B · n) random numbers; :func:`compare_tiers` uses it only up to :data:`BOOTSTRAP_MAX_N` complaints.
    """
    if ordinary.n == 0 or high_profile.n == 0:
        return (0.0, math.inf)
    rng = random.Random(seed)
    a, b = _MedianResampler(ordinary), _MedianResampler(high_profile)
    ratios = [median_ratio(a.draw(rng), b.draw(rng)) for _ in range(replicates)]
    lows = sorted(0.0 if math.isnan(r) else r for r in ratios)
    highs = sorted(math.inf if math.isnan(r) else r for r in ratios)
    k_low = max(1, math.floor((replicates + 1) * alpha / 2))
    k_high = min(replicates, math.ceil((replicates + 1) * (1 - alpha / 2)))
    return lows[k_low - 1], highs[k_high - 1]


def large_sample_ratio_ci(ordinary: KaplanMeierResult, high_profile: KaplanMeierResult) -> tuple[float, float]:
    """The ratio's interval from the two medians' own intervals, at their confidence level; O(1).

    MOVER on the log scale (Zou & Donner, Stat Med 2008;27:1693–1702 — the construction behind
    Newcombe's interval used for deflection): with θ = log m_o − log m_h and each median's
    Brookmeyer–Crowley interval [L, U],

        lower = θ − √((log m_o − log L_o)² + (log U_h − log m_h)²)
        upper = θ + √((log U_o − log m_o)² + (log m_h − log L_h)²)

    For intervals symmetric in log m this is the delta-method interval log m_o − log m_h ± z·√(SE_o² +
    SE_h²) with SE = (log U − log L) / 2z; otherwise it keeps their skew. A bound "not reached" (None)
    makes the ratio bound it feeds +inf (or 0). When a median is not reached or is 0 there is no log
    scale; the interval is then [L_o / U_h, U_o / L_h], each median's interval taken at its extremes.
    """
    m_o, (lo_o, up_o) = ordinary.median, ordinary.median_ci
    m_h, (lo_h, up_h) = high_profile.median, high_profile.median_ci
    if not m_o or not m_h or not lo_o or not lo_h:
        lower = 0.0 if not lo_o or up_h is None else (math.inf if up_h == 0 else lo_o / up_h)
        upper = math.inf if up_o is None or not lo_h else up_o / lo_h
        return lower, upper
    theta = math.log(m_o) - math.log(m_h)
    below = math.hypot(math.log(m_o / lo_o), _log_ratio(up_h, m_h))
    above = math.hypot(_log_ratio(up_o, m_o), math.log(m_h / lo_h))
    return math.exp(theta - below), math.exp(theta + above)


def _log_ratio(upper: float | None, median: float) -> float:
    return math.inf if upper is None else math.log(upper / median)


def ratio_ci_method(n_ordinary: int, n_high_profile: int, max_bootstrap_n: int = BOOTSTRAP_MAX_N) -> str:
    """Bootstrap while both tiers together hold at most ``max_bootstrap_n`` complaints; MOVER above.

    Above a few thousand complaints the two intervals agree (tests and docs/simulation-coverage.md),
    and only the large-sample one keeps a scheduled run's cost flat as history grows.
    """
    return RATIO_CI_BOOTSTRAP if n_ordinary + n_high_profile <= max_bootstrap_n else RATIO_CI_LARGE_SAMPLE


# --- deflection comparison --------------------------------------------------------------------


def wilson_interval(successes: int, n: int, alpha: float = DEFAULT_ALPHA) -> tuple[float, float]:
    """Wilson score interval for a proportion (sensible at 0 and n, unlike Wald)."""
    if n == 0:
        return (0.0, 1.0)
    z = NormalDist().inv_cdf(1 - alpha / 2)
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z / denom * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return (max(0.0, centre - half), min(1.0, centre + half))


def newcombe_difference_ci(x1: int, n1: int, x2: int, n2: int, alpha: float = DEFAULT_ALPHA) -> tuple[float, float]:
    """Newcombe's hybrid score interval for p1 − p2 (method 10, Stat Med 1998;17:873–890)."""
    p1, p2 = x1 / n1, x2 / n2
    l1, u1 = wilson_interval(x1, n1, alpha)
    l2, u2 = wilson_interval(x2, n2, alpha)
    d = p1 - p2
    return (d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2), d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2))


def two_proportion_z_test(x1: int, n1: int, x2: int, n2: int) -> TestResult:
    """Pooled two-proportion z-test (= Pearson χ² without continuity correction on the 2×2 table)."""
    pooled = (x1 + x2) / (n1 + n2)
    var = pooled * (1 - pooled) * (1 / n1 + 1 / n2)
    z = 0.0 if var == 0 else (x1 / n1 - x2 / n2) / math.sqrt(var)
    return TestResult(z, math.erfc(abs(z) / math.sqrt(2)), 1, "two_proportion_z_test")


@dataclass(frozen=True, slots=True)
class DeflectionComparison:
    """Share of first replies that only redirect ("DM us"), ordinary minus high-profile."""

    ordinary_share: float | None
    high_profile_share: float | None
    difference: float | None
    difference_ci: tuple[float, float] | None
    test: TestResult | None
    verdict: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "ordinary_share": self.ordinary_share,
            "high_profile_share": self.high_profile_share,
            "difference": self.difference,
            "difference_ci": None if self.difference_ci is None else list(self.difference_ci),
            "test": None if self.test is None else self.test.to_dict(),
            "verdict": self.verdict,
        }


def compare_deflection(
    ordinary: TierSample, high_profile: TierSample, min_sample: int = DEFAULT_MIN_SAMPLE, alpha: float = DEFAULT_ALPHA
) -> DeflectionComparison:
    """Favour needs both the z-test (p < α) and a Newcombe interval that excludes 0."""
    x1, n1, x2, n2 = ordinary.deflections, ordinary.replies, high_profile.deflections, high_profile.replies
    p1 = x1 / n1 if n1 else None
    p2 = x2 / n2 if n2 else None
    if n1 < min_sample or n2 < min_sample or p1 is None or p2 is None:
        return DeflectionComparison(
            p1, p2, None if p1 is None or p2 is None else p1 - p2, None, None, INSUFFICIENT_DATA
        )
    ci = newcombe_difference_ci(x1, n1, x2, n2, alpha)
    test = two_proportion_z_test(x1, n1, x2, n2)
    verdict = NO_EVIDENCE
    if test.p_value < alpha and ci[0] > 0:
        verdict = FAVOURS_HIGH_PROFILE
    elif test.p_value < alpha and ci[1] < 0:
        verdict = FAVOURS_ORDINARY
    return DeflectionComparison(p1, p2, p1 - p2, ci, test, verdict)


# --- the time comparison and the company summary ----------------------------------------------


def _json_number(x: float | None) -> float | None:
    return None if x is None or math.isnan(x) or math.isinf(x) else x


@dataclass(frozen=True, slots=True)
class FairnessComparison:
    """Ordinary vs high-profile: median ratio with its interval, log-rank test, and the verdicts."""

    ratio: float | None
    ratio_ci: tuple[float, float] | None
    logrank: TestResult | None
    verdict: str
    deflection: DeflectionComparison
    min_sample: int
    bootstrap_replicates: int
    bootstrap_seed: int
    #: Which interval ``ratio_ci`` is (``RATIO_CI_BOOTSTRAP`` or ``RATIO_CI_LARGE_SAMPLE``); None without one.
    ratio_ci_method: str | None = None

    def to_dict(self) -> dict[str, Any]:
        note = None
        if self.ratio is not None and math.isinf(self.ratio):
            note = "ordinary median not reached: ratio unbounded above"
        elif self.ratio is not None and math.isnan(self.ratio):
            note = "neither median reached: ratio undefined"
        return {
            "ratio": _json_number(self.ratio),
            "ratio_note": note,
            "ratio_ci": None if self.ratio_ci is None else [_json_number(v) for v in self.ratio_ci],
            "ratio_ci_method": self.ratio_ci_method,
            "logrank": None if self.logrank is None else self.logrank.to_dict(),
            "verdict": self.verdict,
            "deflection": self.deflection.to_dict(),
            "min_sample": self.min_sample,
            "bootstrap_replicates": self.bootstrap_replicates,
            "bootstrap_seed": self.bootstrap_seed,
        }


def verdict(
    n_ordinary: int,
    n_high: int,
    p_value: float,
    ratio_ci: tuple[float, float],
    min_sample: int,
    alpha: float = DEFAULT_ALPHA,
) -> str:
    """A favour verdict needs enough data, a log-rank p < α and a ratio interval that excludes 1."""
    if n_ordinary < min_sample or n_high < min_sample:
        return INSUFFICIENT_DATA
    if p_value < alpha and ratio_ci[0] > 1:
        return FAVOURS_HIGH_PROFILE
    if p_value < alpha and ratio_ci[1] < 1:
        return FAVOURS_ORDINARY
    return NO_EVIDENCE


def compare_tiers(
    ordinary: TierSample,
    high_profile: TierSample,
    *,
    min_sample: int = DEFAULT_MIN_SAMPLE,
    alpha: float = DEFAULT_ALPHA,
    replicates: int = BOOTSTRAP_REPLICATES,
    seed: int = BOOTSTRAP_SEED,
    max_bootstrap_n: int = BOOTSTRAP_MAX_N,
) -> FairnessComparison:
    """Compare reply times of the two tiers; below ``min_sample`` no interval is spent and no verdict given.

    The ratio's interval is the seeded bootstrap up to ``max_bootstrap_n`` complaints in the two tiers
    together and the large-sample MOVER interval above (:func:`ratio_ci_method`), so the cost stays
    O(distinct reply times) however much history there is.
    """
    return _compare(
        ordinary,
        high_profile,
        kaplan_meier(ordinary.table, alpha),
        kaplan_meier(high_profile.table, alpha),
        min_sample=min_sample,
        alpha=alpha,
        replicates=replicates,
        seed=seed,
        max_bootstrap_n=max_bootstrap_n,
    )


def _compare(
    ordinary: TierSample,
    high_profile: TierSample,
    km_a: KaplanMeierResult,
    km_b: KaplanMeierResult,
    *,
    min_sample: int,
    alpha: float,
    replicates: int,
    seed: int,
    max_bootstrap_n: int,
) -> FairnessComparison:
    deflection = compare_deflection(ordinary, high_profile, min_sample, alpha)
    a, b = ordinary.table, high_profile.table
    ratio = median_ratio(_inf(km_a.median), _inf(km_b.median))
    if a.n < min_sample or b.n < min_sample:
        shown = ratio if a.n and b.n else None
        return FairnessComparison(shown, None, None, INSUFFICIENT_DATA, deflection, min_sample, replicates, seed)
    method = ratio_ci_method(a.n, b.n, max_bootstrap_n)
    if method == RATIO_CI_BOOTSTRAP:
        ci = bootstrap_ratio_ci(a, b, replicates, seed, alpha)
    else:
        ci = large_sample_ratio_ci(km_a, km_b)
    test = logrank_test(a, b)
    return FairnessComparison(
        ratio,
        ci,
        test,
        verdict(a.n, b.n, test.p_value, ci, min_sample, alpha),
        deflection,
        min_sample,
        replicates,
        seed,
        method,
    )


def _inf(median: float | None) -> float:
    return math.inf if median is None else median


@dataclass(frozen=True, slots=True)
class CompanyStats:
    """One company × platform × window: every tier's statistics and the fairness comparison."""

    company: str
    platform: str
    window: str
    horizon: datetime
    tiers: dict[str, TierStats]
    comparison: FairnessComparison
    sla_minutes: int | None = None

    def to_dict(self, curve_points: int | None = 0) -> dict[str, Any]:
        return {
            "company": self.company,
            "platform": self.platform,
            "window": self.window,
            "horizon": self.horizon.isoformat(),
            "sla_minutes": self.sla_minutes,
            "tiers": {t: s.to_dict(curve_points) for t, s in self.tiers.items()},
            "comparison": self.comparison.to_dict(),
        }


def company_stats(
    samples: Mapping[str, TierSample],
    *,
    company: str,
    platform: str,
    window: str,
    horizon: datetime,
    sla_minutes: int | None = None,
    min_sample: int = DEFAULT_MIN_SAMPLE,
    alpha: float = DEFAULT_ALPHA,
    replicates: int = BOOTSTRAP_REPLICATES,
    seed: int = BOOTSTRAP_SEED,
    max_bootstrap_n: int = BOOTSTRAP_MAX_N,
) -> CompanyStats:
    """Assemble the per-tier statistics (every tier present, in the public tier order) and the comparison.

    The comparison reuses the tiers' Kaplan–Meier fits, so nothing here is O(n) per bootstrap replicate
    beyond ``max_bootstrap_n`` complaints (see :func:`compare_tiers`).
    """
    order = [t for t in (tier.value for tier in Tier) if t in samples] + sorted(set(samples) - {t.value for t in Tier})
    tiers = {t: tier_stats(samples[t], t, sla_minutes, alpha) for t in order}
    empty = TierSample()
    ordinary, high = Tier.ORDINARY.value, Tier.HIGH_PROFILE.value
    comparison = _compare(
        samples.get(ordinary, empty),
        samples.get(high, empty),
        tiers[ordinary].km if ordinary in tiers else kaplan_meier(empty.table, alpha),
        tiers[high].km if high in tiers else kaplan_meier(empty.table, alpha),
        min_sample=min_sample,
        alpha=alpha,
        replicates=replicates,
        seed=seed,
        max_bootstrap_n=max_bootstrap_n,
    )
    return CompanyStats(company, platform, window, utc(horizon), tiers, comparison, sla_minutes)


__all__ = [
    "ANSWERED_WITHIN_MINUTES",
    "BOOTSTRAP_MAX_N",
    "BOOTSTRAP_REPLICATES",
    "BOOTSTRAP_SEED",
    "CompanyStats",
    "DeflectionComparison",
    "FairnessComparison",
    "RATIO_CI_BOOTSTRAP",
    "RATIO_CI_LARGE_SAMPLE",
    "Observation",
    "TierSample",
    "TierState",
    "TierStats",
    "bootstrap_ratio_ci",
    "company_stats",
    "compare_deflection",
    "compare_tiers",
    "large_sample_ratio_ci",
    "median_ratio",
    "newcombe_difference_ci",
    "observations_from_complaints",
    "ratio_ci_method",
    "sample_from_observations",
    "samples_by_tier",
    "tier_stats",
    "two_proportion_z_test",
    "verdict",
    "wilson_interval",
]
