"""Synthetic complaints from known distributions: the coverage study, and the demo's sample data.

Reply delays per tier are lognormal with a known median among the answered; a share of complaints is
never answered; complaints arrive uniformly over a window and are censored at its end (the horizon),
so late complaints are cut short exactly as in a live run. Because the truth is known, the study can
check that the 95% intervals cover it about 95% of the time and that verdicts are right where the
truth is clear. Run it with ``python -m chalicelib.domain.simulation`` (results in
docs/simulation-coverage.md). Seeded ``random.Random`` only: the same seed gives the same data.
"""

from __future__ import annotations

import argparse
import math
import random
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from statistics import NormalDist

from chalicelib.domain.fairness import (
    BOOTSTRAP_MAX_N,
    BOOTSTRAP_SEED,
    FAVOURS_HIGH_PROFILE,
    FAVOURS_ORDINARY,
    NO_EVIDENCE,
    TierSample,
    compare_tiers,
)
from chalicelib.domain.models import Complaint, Reply, ReplyKind, Tier, utc
from chalicelib.domain.survival import event_table, kaplan_meier

MINUTES_PER_DAY = 1_440


@dataclass(frozen=True, slots=True)
class TierProfile:
    """How one tier is treated: lognormal delays of the answered, and a never-answered share."""

    answered_median_minutes: float
    sigma: float = 1.0
    never_answered: float = 0.1
    deflection_share: float = 0.2
    #: Among deflected complaints, the share that never gets a substantive answer afterwards.
    deflection_dead_end: float = 0.5

    @property
    def true_median(self) -> float | None:
        """The median of time to first reply, counting the never-answered: None if it is infinite."""
        if self.never_answered >= 0.5:
            return None
        q = 0.5 / (1.0 - self.never_answered)
        return self.answered_median_minutes * math.exp(self.sigma * NormalDist().inv_cdf(q))

    def draw_delay(self, rng: random.Random) -> float:
        """Minutes until the first reply, or +inf for never."""
        if rng.random() < self.never_answered:
            return math.inf
        return rng.lognormvariate(math.log(self.answered_median_minutes), self.sigma)


@dataclass(frozen=True, slots=True)
class Profile:
    """A company's behaviour: per-tier treatment, tier mix, and an off-hours slowdown for the demo."""

    tiers: Mapping[str, TierProfile]
    tier_mix: Mapping[str, float] = field(
        default_factory=lambda: {Tier.ORDINARY.value: 0.7, Tier.NOTABLE.value: 0.2, Tier.HIGH_PROFILE.value: 0.1}
    )
    #: Multiplies delays of complaints made outside Monday–Friday 09:00–17:00 UTC.
    off_hours_slowdown: float = 1.0


PROFILES: dict[str, Profile] = {
    "fair": Profile(
        {
            "ordinary": TierProfile(90, 1.1, 0.15),
            "notable": TierProfile(90, 1.1, 0.15),
            "high_profile": TierProfile(90, 1.1, 0.15),
        },
        off_hours_slowdown=3.0,
    ),
    "favours_high_profile": Profile(
        {
            "ordinary": TierProfile(300, 1.2, 0.3, deflection_share=0.45),
            "notable": TierProfile(120, 1.1, 0.2, deflection_share=0.3),
            "high_profile": TierProfile(25, 1.0, 0.05, deflection_share=0.1),
        },
        off_hours_slowdown=4.0,
    ),
    "favours_ordinary": Profile(
        {
            "ordinary": TierProfile(40, 1.0, 0.1),
            "notable": TierProfile(60, 1.0, 0.1),
            "high_profile": TierProfile(180, 1.1, 0.2),
        }
    ),
}


def _followers(rng: random.Random, tier: str) -> int | None:
    low, high = {"ordinary": (0, 3), "notable": (3, 5), "high_profile": (5, 7)}.get(tier, (None, None))
    if low is None:
        return None
    return min(int(10 ** rng.uniform(low, high)), 10**high - 1)


def _pick(rng: random.Random, mix: Mapping[str, float]) -> str:
    tiers = list(mix)
    return rng.choices(tiers, weights=[mix[t] for t in tiers], k=1)[0]


def _off_hours(t: datetime) -> bool:
    return t.weekday() >= 5 or not 9 <= t.hour < 17


def generate_sample_complaints(
    company_slug: str,
    platform: str,
    n: int,
    start: datetime,
    horizon: datetime,
    seed: int,
    profile: str | Profile = "fair",
) -> list[Complaint]:
    """Fictional complaints with first replies, made between ``start`` and ``horizon``.

    Replies that would come after the horizon have not happened yet and are left off, so the data
    look exactly like a live run stopped at ``horizon``. Handles and ids are made up and marked
    ``source="simulation"``.
    """
    prof = PROFILES[profile] if isinstance(profile, str) else profile
    rng = random.Random(seed)
    start, horizon = utc(start), utc(horizon)
    span = (horizon - start).total_seconds()
    out: list[Complaint] = []
    for i in range(n):
        tier = _pick(rng, prof.tier_mix)
        tp = prof.tiers[tier]
        created = start + timedelta(seconds=round(rng.uniform(0, span)))
        delay = tp.draw_delay(rng) * (prof.off_hours_slowdown if _off_hours(created) else 1.0)
        deflected = rng.random() < tp.deflection_share
        later = math.inf if rng.random() < tp.deflection_dead_end else rng.lognormvariate(math.log(240), 1.0)
        post_id = f"sim-{company_slug}-{seed}-{i}"
        first = _reply(platform, post_id, company_slug, created, delay, horizon, deflected, 1)
        substantive = first
        if first is not None and deflected:
            substantive = _reply(platform, post_id, company_slug, created, delay + later, horizon, False, 2)
        out.append(
            Complaint(
                platform=platform,
                post_id=post_id,
                company=company_slug,
                author_id=f"sim-user-{seed}-{i}",
                author_handle=f"sim_user_{i}",
                created_at=created,
                tier=Tier(tier),
                followers=_followers(rng, tier),
                text="(simulated complaint)",
                first_reply=first,
                first_substantive_reply=substantive,
                source="simulation",
            )
        )
    return out


def _reply(
    platform: str,
    post_id: str,
    company: str,
    created: datetime,
    delay: float,
    horizon: datetime,
    deflected: bool,
    number: int,
) -> Reply | None:
    if math.isinf(delay):
        return None
    at = created + timedelta(seconds=round(delay * 60))
    if at > horizon:
        return None
    return Reply(
        platform=platform,
        post_id=f"{post_id}-r{number}",
        complaint_post_id=post_id,
        company=company,
        author_handle=f"{company}_support",
        created_at=at,
        kind=ReplyKind.DEFLECTION if deflected else ReplyKind.SUBSTANTIVE,
    )


# --- the coverage study -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Scenario:
    """Two tiers with known treatment; ``expected`` is the verdict the truth calls for, if it is clear."""

    name: str
    ordinary: TierProfile
    high_profile: TierProfile
    n_ordinary: int
    n_high_profile: int
    window_days: float = 30.0
    expected: str | None = None

    @property
    def true_ratio(self) -> float | None:
        a, b = self.ordinary.true_median, self.high_profile.true_median
        return None if a is None or b is None else a / b


SCENARIOS: tuple[Scenario, ...] = (
    Scenario("equal", TierProfile(120, 1.2, 0.1), TierProfile(120, 1.2, 0.1), 400, 60, expected=NO_EVIDENCE),
    Scenario("moderate_gap", TierProfile(180, 1.2, 0.15), TierProfile(120, 1.0, 0.1), 400, 60),
    Scenario(
        "favours_high_profile",
        TierProfile(400, 1.2, 0.2),
        TierProfile(40, 1.0, 0.05),
        400,
        60,
        expected=FAVOURS_HIGH_PROFILE,
    ),
    Scenario(
        "favours_ordinary", TierProfile(40, 1.0, 0.1), TierProfile(300, 1.2, 0.2), 300, 60, expected=FAVOURS_ORDINARY
    ),
    Scenario(
        "short_window_heavy_censoring",
        TierProfile(600, 1.3, 0.25),
        TierProfile(600, 1.3, 0.25),
        300,
        80,
        window_days=3.0,
        expected=NO_EVIDENCE,
    ),
)


#: Above the bootstrap threshold, where the ratio's interval is the large-sample (MOVER) one: big tiers,
#: and a big ordinary tier beside a small high-profile one (the interval then rests on the small one).
LARGE_SCENARIOS: tuple[Scenario, ...] = (
    Scenario("large_equal", TierProfile(120, 1.2, 0.1), TierProfile(120, 1.2, 0.1), 2_000, 500, expected=NO_EVIDENCE),
    Scenario("large_moderate_gap", TierProfile(180, 1.2, 0.15), TierProfile(120, 1.0, 0.1), 20_000, 2_000),
    Scenario(
        "large_favours_high_profile",
        TierProfile(400, 1.2, 0.2),
        TierProfile(40, 1.0, 0.05),
        10_000,
        1_000,
        expected=FAVOURS_HIGH_PROFILE,
    ),
    Scenario(
        "large_ordinary_small_high_profile",
        TierProfile(150, 1.2, 0.1),
        TierProfile(150, 1.2, 0.1),
        5_000,
        60,
        expected=NO_EVIDENCE,
    ),
    Scenario(
        "large_short_window_heavy_censoring",
        TierProfile(600, 1.3, 0.25),
        TierProfile(600, 1.3, 0.25),
        3_000,
        800,
        window_days=3.0,
        expected=NO_EVIDENCE,
    ),
)


def draw_tier(rng: random.Random, profile: TierProfile, n: int, window_days: float) -> tuple[list[float], list[bool]]:
    """n (duration, answered?) pairs: uniform arrivals over the window, censored at its end."""
    window = window_days * MINUTES_PER_DAY
    durations, observed = [], []
    for _ in range(n):
        remaining = window - rng.uniform(0, window)
        delay = profile.draw_delay(rng)
        durations.append(min(delay, remaining))
        observed.append(delay <= remaining)
    return durations, observed


@dataclass(frozen=True, slots=True)
class CoverageRow:
    scenario: str
    replicates: int
    true_ordinary_median: float | None
    true_high_profile_median: float | None
    true_ratio: float | None
    ordinary_median_coverage: float
    high_profile_median_coverage: float
    ratio_coverage: float | None
    verdicts: dict[str, int]
    expected: str | None
    #: How many of the ratio intervals each method gave (see fairness.ratio_ci_method).
    ratio_methods: dict[str, int] = field(default_factory=dict)

    @property
    def verdict_accuracy(self) -> float | None:
        return None if self.expected is None else self.verdicts.get(self.expected, 0) / self.replicates


def _covers(ci: tuple[float | None, float | None] | tuple[float, float], truth: float) -> bool:
    lower = 0.0 if ci[0] is None else ci[0]
    upper = math.inf if ci[1] is None else ci[1]
    return lower <= truth <= upper


def run_scenario(
    scenario: Scenario,
    replicates: int,
    seed: int,
    bootstrap_replicates: int = 999,
    ratio: bool = True,
    max_bootstrap_n: int = BOOTSTRAP_MAX_N,
) -> CoverageRow:
    """Repeat one scenario; each replicate's data come from ``Random(seed + i)`` so rows are reproducible."""
    hits_a = hits_b = hits_r = 0
    verdicts: dict[str, int] = {}
    methods: dict[str, int] = {}
    ta, tb, tr = scenario.ordinary.true_median, scenario.high_profile.true_median, scenario.true_ratio
    for i in range(replicates):
        rng = random.Random(seed * 1_000_003 + i)
        ta_table = event_table(*draw_tier(rng, scenario.ordinary, scenario.n_ordinary, scenario.window_days))
        tb_table = event_table(*draw_tier(rng, scenario.high_profile, scenario.n_high_profile, scenario.window_days))
        if ta is not None:
            hits_a += _covers(kaplan_meier(ta_table).median_ci, ta)
        if tb is not None:
            hits_b += _covers(kaplan_meier(tb_table).median_ci, tb)
        if ratio:
            cmp = compare_tiers(
                TierSample(ta_table),
                TierSample(tb_table),
                replicates=bootstrap_replicates,
                seed=BOOTSTRAP_SEED + i,
                max_bootstrap_n=max_bootstrap_n,
            )
            verdicts[cmp.verdict] = verdicts.get(cmp.verdict, 0) + 1
            if cmp.ratio_ci_method is not None:
                methods[cmp.ratio_ci_method] = methods.get(cmp.ratio_ci_method, 0) + 1
            if tr is not None and cmp.ratio_ci is not None:
                hits_r += _covers(cmp.ratio_ci, tr)
    return CoverageRow(
        scenario=scenario.name,
        replicates=replicates,
        true_ordinary_median=ta,
        true_high_profile_median=tb,
        true_ratio=tr,
        ordinary_median_coverage=hits_a / replicates,
        high_profile_median_coverage=hits_b / replicates,
        ratio_coverage=hits_r / replicates if ratio and tr is not None else None,
        verdicts=verdicts,
        expected=scenario.expected,
        ratio_methods=methods,
    )


def format_table(rows: Sequence[CoverageRow]) -> str:
    def pct(x: float | None) -> str:
        return "—" if x is None else f"{x:.3f}"

    def mins(x: float | None) -> str:
        return "not reached" if x is None else f"{x:.1f}"

    lines = [
        "| scenario | reps | true median ord / hp (min) | true ratio | median CI coverage ord | hp "
        "| ratio CI coverage | expected verdict | accuracy | verdicts | ratio CI method |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        verdicts = ", ".join(f"{k}: {v}" for k, v in sorted(r.verdicts.items()))
        methods = ", ".join(f"{k}: {v}" for k, v in sorted(r.ratio_methods.items())) or "—"
        lines.append(
            f"| {r.scenario} | {r.replicates} | {mins(r.true_ordinary_median)} / {mins(r.true_high_profile_median)} "
            f"| {pct(r.true_ratio)} | {pct(r.ordinary_median_coverage)} | {pct(r.high_profile_median_coverage)} "
            f"| {pct(r.ratio_coverage)} | {r.expected or '—'} | {pct(r.verdict_accuracy)} | {verdicts} | {methods} |"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m chalicelib.domain.simulation", description=__doc__.split("\n")[0])
    parser.add_argument("--replicates", type=int, default=400, help="simulated data sets per scenario")
    parser.add_argument("--bootstrap", type=int, default=999, help="bootstrap replicates per ratio interval")
    parser.add_argument("--seed", type=int, default=1, help="base seed of the study")
    parser.add_argument("--scenario", action="append", help="run only these scenarios (repeatable)")
    parser.add_argument("--large", action="store_true", help="the large-sample scenarios (thousands per tier)")
    parser.add_argument(
        "--max-bootstrap-n",
        type=int,
        default=BOOTSTRAP_MAX_N,
        help="bootstrap the ratio up to this many complaints in both tiers, large-sample interval above",
    )
    args = parser.parse_args(argv)
    pool = LARGE_SCENARIOS if args.large else SCENARIOS
    chosen = [s for s in pool if not args.scenario or s.name in args.scenario]
    started = time.perf_counter()
    rows = [
        run_scenario(s, args.replicates, args.seed, args.bootstrap, max_bootstrap_n=args.max_bootstrap_n)
        for s in chosen
    ]
    print(format_table(rows))
    print(
        f"\n{len(rows)} scenarios × {args.replicates} replicates, bootstrap B={args.bootstrap} up to "
        f"n={args.max_bootstrap_n}, seed={args.seed}, {time.perf_counter() - started:.0f} s",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
