"""`make bench`: rerun every benchmark and rewrite its table in BENCHMARKS.md."""

from __future__ import annotations

import importlib
import sys

BENCHES = ("bench.cold_start", "bench.poll_history")


def main() -> int:
    failed = []
    for name in BENCHES:
        print(f"== {name}", flush=True)
        if importlib.import_module(name).main([]) != 0:
            failed.append(name)
    if failed:
        print("missed target: " + ", ".join(failed), file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
