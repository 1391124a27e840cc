"""DynamoDB write units per complaint: the cost driver on AWS, from ``bench.cost_model``'s metered moto run.

The measurement itself lives in :func:`bench.cost_model.measure` (the real ingest and aggregate pipeline
under moto, every store call metered by DynamoDB's published rules); this entry only writes its per-complaint
figures into BENCHMARKS.md, so ``make bench`` runs it once. There is no target: the figure is what the
monthly bill in docs/cost.md multiplies.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from bench.common import replace_section, stamp


def per_complaint(m: Any) -> dict[str, float]:
    absorbed_wru = (m.aggregate_first_wru - m.aggregate_refresh_wru) / m.complaints
    absorbed_rru = (m.aggregate_first_rru - m.aggregate_refresh_rru) / m.complaints
    return {
        "complaints": m.complaints,
        "posts": m.posts,
        "ingest_wru": m.ingest_wru / m.complaints,
        "aggregate_wru": absorbed_wru,
        "total_wru": m.ingest_wru / m.complaints + absorbed_wru,
        "ingest_rru": m.ingest_rru / m.complaints,
        "aggregate_rru": absorbed_rru,
    }


def table(r: dict[str, float]) -> str:
    return (
        "| per complaint | WRU | RRU |\n|---|---|---|\n"
        f"| ingest (posts, accounts, complaint, replies, pairing) | {r['ingest_wru']:.2f} | {r['ingest_rru']:.2f} |\n"
        f"| aggregate (absorbing it into its day, year and journal documents) | {r['aggregate_wru']:.2f} | "
        f"{r['aggregate_rru']:.2f} |\n"
        f"| **total write units per complaint** | **{r['total_wru']:.2f}** | |"
    )


def main(argv: list[str] | None = None) -> int:
    from bench.cost_model import measure

    parser = argparse.ArgumentParser(prog="python -m bench.write_units", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="first 300 posts of the archive only")
    args = parser.parse_args(argv)
    r = per_complaint(measure(rows=300 if args.quick else None))
    body = (
        stamp("make bench  (or: .venv/bin/python -m bench.write_units [--quick])")
        + f"\n\nMetered under moto on {r['posts']:,} real TWCS posts ({r['complaints']:,} complaints), "
        "see `bench/cost_model.py`.\n\n" + table(r)
    )
    replace_section("write-units", body)
    print(table(r))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
