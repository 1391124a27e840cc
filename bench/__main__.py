"""`make bench`: rerun every benchmark and rewrite its table in BENCHMARKS.md."""

from __future__ import annotations

import importlib
import sys

BENCHES = (
    "bench.cold_start",
    "bench.poll_history",
    "bench.ingest",
    "bench.write_units",
    "bench.survival_km",
    "bench.aggregate_history",
    "bench.api",
)


def main(argv: list[str] | None = None) -> int:
    """``--quick`` is passed on to every benchmark that takes it (smaller sizes); names select benchmarks."""
    args = sys.argv[1:] if argv is None else argv
    quick = ["--quick"] if "--quick" in args else []
    chosen = [n for n in args if n != "--quick"] or list(BENCHES)
    failed = []
    for name in chosen:
        name = name if name.startswith("bench.") else f"bench.{name}"
        print(f"== {name}", flush=True)
        takes_quick = name not in ("bench.poll_history",)
        if importlib.import_module(name).main(quick if takes_quick else []) != 0:
            failed.append(name)
    if failed:
        print("missed target: " + ", ".join(failed), file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
