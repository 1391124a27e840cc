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

import math
import random
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
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
    pending: Counter[datetime] = field(default_factory=Counter)
    substantive: Counter[float] = field(default_factory=Counter)
    substantive_pending: Counter[datetime] = field(default_factory=Counter)
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
            _bump(self.pending, created, sign)
        else:
            _bump(self.answered, _minutes(created, c.first_reply.created_at), sign)
            self.replies += sign
            self.deflections += sign * (c.first_reply.kind == ReplyKind.DEFLECTION)
        if c.first_substantive_reply is None:
            _bump(self.substantive_pending, created, sign)
        else:
            _bump(self.substantive, _minutes(created, c.first_substantive_reply.created_at), sign)

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
        return {
            "answered": sorted([t, n] for t, n in self.answered.items()),
            "pending": sorted([t.isoformat(), n] for t, n in self.pending.items()),
            "substantive": sorted([t, n] for t, n in self.substantive.items()),
            "substantive_pending": sorted([t.isoformat(), n] for t, n in self.substantive_pending.items()),
            "replies": self.replies,
            "deflections": self.deflections,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TierState:
        return cls(
            Counter({float(t): int(n) for t, n in data.get("answered", [])}),
            Counter({utc(datetime.fromisoformat(t)): int(n) for t, n in data.get("pending", [])}),
            Counter({float(t): int(n) for t, n in data.get("substantive", [])}),
            Counter({utc(datetime.fromisoformat(t)): int(n) for t, n in data.get("substantive_pending", [])}),
            int(data.get("replies", 0)),
            int(data.get("deflections", 0)),
        )


def _bump(counter: Counter[Any], key: Any, sign: int) -> None:
    counter[key] += sign
    if counter[key] == 0:
        del counter[key]


def _censored(pending: Counter[datetime], horizon: datetime) -> Counter[float]:
    out: Counter[float] = Counter()
    for created, n in pending.items():
        if created <= horizon:
            out[_minutes(created, horizon)] += n
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

    Resampling complaints with replacement is the same as a multinomial draw over the distinct
    (duration, answered?) cells weighted by their counts, so each draw touches the compact table
    only: O(n) random draws into O(distinct) cells.
    """

    def __init__(self, table: EventTable) -> None:
        self.cell_time: list[float] = []
        self.cell_event: list[bool] = []
        cum: list[int] = []
        total = 0
        for t, r, d in zip(table.times, table.removed, table.observed, strict=True):
            for count, is_event in ((d, True), (r - d, False)):
                if count:
                    total += count
                    self.cell_time.append(t)
                    self.cell_event.append(is_event)
                    cum.append(total)
        self.cum = cum
        self.n = total
        self.cells = range(len(cum))

    def draw(self, rng: random.Random) -> float:
        counts = Counter(rng.choices(self.cells, cum_weights=self.cum, k=self.n))
        at_risk, log_s, threshold = self.n, 0.0, 0.5 + 1e-12
        keys = sorted(counts)
        i = 0
        while i < len(keys):
            t = self.cell_time[keys[i]]
            removed = deaths = 0
            while i < len(keys) and self.cell_time[keys[i]] == t:
                removed += counts[keys[i]]
                deaths += counts[keys[i]] if self.cell_event[keys[i]] else 0
                i += 1
            if deaths:
                if deaths >= at_risk:
                    return t
                log_s += math.log(at_risk - deaths) - math.log(at_risk)
                if math.exp(log_s) <= threshold:
                    return t
            at_risk -= removed
        return math.inf


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
) -> FairnessComparison:
    """Compare reply times of the two tiers; below ``min_sample`` no interval is spent and no verdict given."""
    deflection = compare_deflection(ordinary, high_profile, min_sample, alpha)
    a, b = ordinary.table, high_profile.table
    if a.n < min_sample or b.n < min_sample:
        ratio = None
        if a.n and b.n:
            ratio = median_ratio(_inf(kaplan_meier(a).median), _inf(kaplan_meier(b).median))
        return FairnessComparison(ratio, None, None, INSUFFICIENT_DATA, deflection, min_sample, replicates, seed)
    ratio = median_ratio(_inf(kaplan_meier(a).median), _inf(kaplan_meier(b).median))
    ci = bootstrap_ratio_ci(a, b, replicates, seed, alpha)
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
) -> CompanyStats:
    """Assemble the per-tier statistics (every tier present, in the public tier order) and the comparison."""
    order = [t for t in (tier.value for tier in Tier) if t in samples] + sorted(set(samples) - {t.value for t in Tier})
    tiers = {t: tier_stats(samples[t], t, sla_minutes, alpha) for t in order}
    empty = TierSample()
    comparison = compare_tiers(
        samples.get(Tier.ORDINARY.value, empty),
        samples.get(Tier.HIGH_PROFILE.value, empty),
        min_sample=min_sample,
        alpha=alpha,
        replicates=replicates,
        seed=seed,
    )
    return CompanyStats(company, platform, window, utc(horizon), tiers, comparison, sla_minutes)


__all__ = [
    "ANSWERED_WITHIN_MINUTES",
    "BOOTSTRAP_REPLICATES",
    "BOOTSTRAP_SEED",
    "CompanyStats",
    "DeflectionComparison",
    "FairnessComparison",
    "Observation",
    "TierSample",
    "TierState",
    "TierStats",
    "bootstrap_ratio_ci",
    "company_stats",
    "compare_deflection",
    "compare_tiers",
    "median_ratio",
    "newcombe_difference_ci",
    "observations_from_complaints",
    "sample_from_observations",
    "samples_by_tier",
    "tier_stats",
    "two_proportion_z_test",
    "verdict",
    "wilson_interval",
]
