"""Kaplan–Meier + median CI on a million complaints: Fair Reply's pure-Python estimator against lifelines.

Both get the same Python lists of durations (minutes, second resolution, as replies are timestamped) and
reply flags (a quarter unanswered, censored at the horizon), and both produce the curve, its exponential
Greenwood band and the median with its interval (lifelines: ``KaplanMeierFitter.fit`` then
``median_survival_times(kmf.confidence_interval_)``). Runs alternate in one process for time; peak memory is
``tracemalloc`` (which sees numpy's buffers too) in separate passes, and ru_maxrss from fresh interpreters.
Targets: no slower than lifelines, a lower peak, and no numpy imported by our path.
"""

from __future__ import annotations

import argparse
import gc
import random
import statistics
import sys
import time
import tracemalloc
from typing import Any

from bench.common import replace_section, run_child, stamp

N = 1_000_000
QUICK_N = 100_000

_CHILD = """
import sys
from bench.common import emit, maxrss_mib
from bench.survival_km import durations, fit_ours, fit_lifelines
d, e = durations({n})
before = maxrss_mib()
median = fit_{which}(d, e)[0]
emit({{"before_mib": before, "median": median, "numpy_loaded": "numpy" in sys.modules}})
"""


def durations(n: int, seed: int = 7) -> tuple[list[float], list[bool]]:
    """``n`` reply delays in minutes (lognormal, median ~1 h) with 25% censored at the observation horizon."""
    rng = random.Random(seed)
    out, flags = [], []
    for _ in range(n):
        if rng.random() < 0.25:
            out.append(round(rng.uniform(0, 30 * 24 * 3600)) / 60)
            flags.append(False)
        else:
            out.append(round(rng.lognormvariate(8.2, 1.3)) / 60)
            flags.append(True)
    return out, flags


def fit_ours(d: list[float], e: list[bool]) -> tuple[float | None, tuple[float | None, float | None]]:
    from chalicelib.domain.survival import event_table, kaplan_meier

    km = kaplan_meier(event_table(d, e))
    return km.median, km.median_ci


def fit_lifelines(d: list[float], e: list[bool]) -> tuple[float | None, tuple[float | None, float | None]]:
    from lifelines import KaplanMeierFitter
    from lifelines.utils import median_survival_times

    kmf = KaplanMeierFitter().fit(d, e)
    ci = median_survival_times(kmf.confidence_interval_)
    return float(kmf.median_survival_time_), (float(ci.iloc[0, 0]), float(ci.iloc[0, 1]))


def _timed(fit: Any, d: list[float], e: list[bool]) -> tuple[float, Any]:
    gc.collect()
    started = time.perf_counter()
    out = fit(d, e)
    return time.perf_counter() - started, out


def _traced_peak(fit: Any, d: list[float], e: list[bool]) -> float:
    gc.collect()
    tracemalloc.start()
    try:
        fit(d, e)
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def measure(n: int = N, repeats: int = 5, rss: bool = True) -> dict[str, Any]:
    d, e = durations(n)
    fit_lifelines(d[:100], e[:100])  # pay the imports (pandas, scipy) before timing
    fit_ours(d[:100], e[:100])
    ours_t, ref_t = [], []
    ours = ref = None
    for _ in range(repeats):  # alternate, so machine noise hits both alike
        t, ref = _timed(fit_lifelines, d, e)
        ref_t.append(t)
        t, ours = _timed(fit_ours, d, e)
        ours_t.append(t)
    result: dict[str, Any] = {
        "n": n,
        "distinct_times": len(set(d)),
        "ours_s": statistics.median(ours_t),
        "lifelines_s": statistics.median(ref_t),
        "ours_median": ours[0], "ours_median_ci": ours[1],
        "lifelines_median": ref[0], "lifelines_median_ci": ref[1],
        "ours_traced_mib": _traced_peak(fit_ours, d, e),
        "lifelines_traced_mib": _traced_peak(fit_lifelines, d, e),
    }
    result["time_ratio"] = result["ours_s"] / result["lifelines_s"]
    result["memory_ratio"] = result["ours_traced_mib"] / result["lifelines_traced_mib"]
    if rss:
        for which in ("lifelines", "ours"):
            child = run_child(_CHILD.format(n=n, which=which))
            result[f"{which}_rss_mib"] = child["maxrss_mib"]
            result[f"{which}_rss_growth_mib"] = child["maxrss_mib"] - child["before_mib"]
            result[f"{which}_numpy_loaded"] = child["numpy_loaded"]
    return result


def _fmt(x: float | None) -> str:
    return "not reached" if x is None else f"{x:,.2f}"


def table(r: dict[str, Any]) -> str:
    rows = [
        "| estimator | median time | ratio to lifelines | tracemalloc peak | child peak RSS (growth during fit) | "
        "numpy loaded | median [95% CI], minutes |",
        "|---|---|---|---|---|---|---|",
    ]
    for who, label in (("lifelines", "lifelines KaplanMeierFitter (reference)"), ("ours", "Fair Reply event_table "
                                                                                      "+ kaplan_meier")):
        ratio = 1.0 if who == "lifelines" else r["time_ratio"]
        rss = (f"{r[who + '_rss_mib']:,.0f} MiB ({r[who + '_rss_growth_mib']:+,.0f} MiB)"
               if who + "_rss_mib" in r else "-")
        numpy = ("yes" if r[who + "_numpy_loaded"] else "no") if who + "_numpy_loaded" in r else "-"
        lo, hi = r[who + "_median_ci"]
        rows.append(
            f"| {label} | {r[who + '_s'] * 1000:,.0f} ms | {ratio:.2f}× | {r[who + '_traced_mib']:,.1f} MiB | "
            f"{rss} | {numpy} | {_fmt(r[who + '_median'])} [{_fmt(lo)}, {_fmt(hi)}] |"
        )
    return "\n".join(rows)


def targets_met(r: dict[str, Any]) -> dict[str, bool]:
    return {
        "no slower than lifelines": r["time_ratio"] <= 1.0,
        "lower peak memory": r["memory_ratio"] < 1.0,
        "no numpy at runtime": not r.get("ours_numpy_loaded", False),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.survival_km", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_N:,} durations instead of {N:,}")
    args = parser.parse_args(argv)
    r = measure(QUICK_N if args.quick else N)
    met = targets_met(r)
    verdict = "Targets: " + "; ".join(f"{k}: {'met' if ok else 'MISSED'}" for k, ok in met.items()) + "."
    body = (
        stamp("make bench  (or: .venv/bin/python -m bench.survival_km [--quick])")
        + f"\n\n{r['n']:,} durations ({r['distinct_times']:,} distinct), 25% censored; median of 5 alternating runs."
        "\n\n" + table(r) + "\n\n" + verdict
    )
    replace_section("survival-km", body)
    print(table(r) + "\n\n" + verdict)
    return 0 if all(met.values()) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
