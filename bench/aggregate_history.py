"""A scheduled aggregate run against stored history: the same 200 new complaints with 1×, 10× and 100× behind.

Each store is filled with simulated complaints (``generate_sample_complaints``) spread over the two years
before the run, and a warm-up ``run_aggregate`` absorbs them, as the schedule would have over those two
years. Then every timed run starts from a copy of that prepared database, stores the same 200 new
complaints of the last few hours, and times one ``run_aggregate`` with the job's default options. Scales
alternate so machine noise hits them alike; the figure is each scale's median over the 1× median
(target ≤ 1.5×: flat).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.common import replace_section, stamp

NOW = datetime(2026, 8, 3, 12, 0, tzinfo=UTC)
SCALES = (1, 10, 100)
BASE = 2_000
QUICK_BASE = 200
NEW = 200
COMPANIES = 5
TARGET = 1.5


def companies(n: int = COMPANIES) -> dict[str, Any]:
    from chalicelib.domain.models import Company

    return {f"agg-co-{i}": Company(slug=f"agg-co-{i}", name=f"Agg Co {i}", handles={"x": (f"AggCo{i}",)})
            for i in range(n)}


def _complaints(registry: dict[str, Any], total: int, start: datetime, end: datetime, seed: int) -> list[Any]:
    from chalicelib.domain.simulation import generate_sample_complaints

    out = []
    for i, slug in enumerate(sorted(registry)):
        out += generate_sample_complaints(slug, "x", total // len(registry), start, end, seed=seed * 1000 + i)
    return out


def prepare(path: Path, history: int, registry: dict[str, Any]) -> float:
    """Store ``history`` complaints of the past two years and absorb them; return the warm-up's seconds."""
    from chalicelib.jobs.aggregate import AggregateOptions, run_aggregate
    from chalicelib.store.sqlite import SQLiteStore

    store = SQLiteStore(path)
    try:
        batch = _complaints(registry, history, NOW - timedelta(days=730), NOW - timedelta(hours=12), seed=1)
        for i in range(0, len(batch), 10_000):
            store.put_complaints(batch[i : i + 10_000])
        started = time.perf_counter()
        run_aggregate(store, registry, NOW, AggregateOptions())
        return time.perf_counter() - started
    finally:
        store.close()


def timed_run(prepared: Path, work: Path, registry: dict[str, Any], new: int = NEW) -> float:
    """One scheduled run over ``new`` fresh complaints, on a copy of the prepared store."""
    from chalicelib.jobs.aggregate import AggregateOptions, run_aggregate
    from chalicelib.store.sqlite import SQLiteStore

    copy = work / "run.sqlite3"
    shutil.copyfile(prepared, copy)
    store = SQLiteStore(copy)
    try:
        store.put_complaints(_complaints(registry, new, NOW - timedelta(hours=6), NOW, seed=2))
        started = time.perf_counter()
        run_aggregate(store, registry, NOW + timedelta(minutes=15), AggregateOptions())
        return time.perf_counter() - started
    finally:
        store.close()
        copy.unlink()


def measure(base: int = BASE, scales: tuple[int, ...] = SCALES, repeats: int = 3, new: int = NEW) -> dict[str, Any]:
    import logging

    from chalicelib.logs import get_logger

    get_logger().setLevel(logging.WARNING)
    registry = companies()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        dbs = {s: work / f"x{s}.sqlite3" for s in scales}
        warmups = {s: prepare(dbs[s], base * s, registry) for s in scales}
        times: dict[int, list[float]] = {s: [] for s in scales}
        for _ in range(repeats):  # alternate, so machine noise hits every scale alike
            for s in scales:
                times[s].append(timed_run(dbs[s], work, registry, new))
    first = statistics.median(times[scales[0]])
    rows = [
        {"scale": s, "history": base * s, "warmup_s": warmups[s], "run_s": statistics.median(times[s]),
         "ratio": statistics.median(times[s]) / first}
        for s in scales
    ]
    return {"rows": rows, "new": new, "worst_ratio": max(r["ratio"] for r in rows)}


def table(result: dict[str, Any]) -> str:
    lines = [
        "| stored history | warm-up run (absorbs it all, once) | median scheduled run, same new complaints | "
        "ratio to 1× |",
        "|---|---|---|---|",
    ]
    for r in result["rows"]:
        lines.append(f"| {r['scale']}× ({r['history']:,} complaints) | {r['warmup_s']:,.1f} s | "
                     f"{r['run_s'] * 1000:,.0f} ms | {r['ratio']:.2f}× |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.aggregate_history", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_BASE:,} complaints at 1× instead of {BASE:,}")
    args = parser.parse_args(argv)
    result = measure(QUICK_BASE if args.quick else BASE)
    ok = result["worst_ratio"] <= TARGET
    verdict = (f"Worst ratio {result['worst_ratio']:.2f}× (target ≤ {TARGET}×, flat: {'met' if ok else 'MISSED'}).")
    body = (
        stamp("make bench  (or: .venv/bin/python -m bench.aggregate_history [--quick])")
        + f"\n\n{COMPANIES} companies; history spread over two years; each timed run adds the same {result['new']} "
        "complaints of the last 6 hours to a copy of the prepared store and runs `run_aggregate` with default "
        "options (bootstrap included); median of 3 alternating runs.\n\n" + table(result) + "\n\n" + verdict
    )
    replace_section("aggregate-history", body)
    print(table(result) + "\n\n" + verdict)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
