"""Cold start: `import app`, and the first request of each GET route, against a hello-world Chalice app.

Both are imported in fresh interpreters, alternately, so that machine noise hits them alike; the figure
that matters is the ratio of medians (target ≤ 1.5× for the import). The first request of a route is what
a cold Lambda pays after the import: in a fresh interpreter, import the app, build ``chalice.test.Client``,
then time one request (in-process), against the hello-world's first ``GET /`` timed the same way (target
≤ 2× for every route). The data directory holds a few companies with aggregated snapshots.

Two more columns put that figure in context: the cold start as a whole (``import app``, chalice included,
plus the first request — what a cold invocation waits for, against the hello-world's same sum) and the same
request once warm (the third in the process). A route whose warm request already costs more than twice the
hello-world's first request cannot meet the first-request target by any cold-start work; the table shows
which routes those are.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench.common import ROOT, median_ms, replace_section, run_child, stamp, time_python

HELLO = '''from chalice import Chalice
app = Chalice(app_name="hello")


@app.route("/")
def index():
    return {"hello": "world"}
'''


def _bytecode_env() -> dict[str, str]:
    """The environment for timed children, with every module already compiled.

    A deployed Lambda imports .pyc shipped by `make package`; a child that compiles sources instead (stale
    caches, or PYTHONDONTWRITEBYTECODE set in the caller's shell — any non-empty value, even "0", disables
    writing) would time the compiler, not the cold start.
    """
    import compileall

    compileall.compile_dir(ROOT / "chalicelib", quiet=1)
    compileall.compile_file(ROOT / "app.py", quiet=1)
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


IMPORT_REPEATS = 41


def measure(repeats: int = IMPORT_REPEATS) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        hello_dir = Path(tmp)
        (hello_dir / "app.py").write_text(HELLO)
        env = _bytecode_env()
        # warm the OS page cache and bytecode caches for both before timing
        time_python("import app", 2, cwd=hello_dir, env=env)
        time_python("import app", 2, cwd=ROOT, env=env)
        hello, ours = [], []
        for _ in range(repeats):
            hello += time_python("import app", 1, cwd=hello_dir, env=env)
            ours += time_python("import app", 1, cwd=ROOT, env=env)
    return {"hello_ms": median_ms(hello), "app_ms": median_ms(ours), "ratio": median_ms(ours) / median_ms(hello)}


FIRST_REQUEST_TARGET = 2.0
SLUG = "api-co-0"
ROUTES = (
    "/",
    "/health",
    "/v1/leaderboard",
    "/v1/companies",
    f"/v1/companies/{SLUG}",
    f"/v1/companies/{SLUG}/badge.svg",
    f"/v1/companies/{SLUG}/complaints",
    "/v1/methodology",
    "/v1/openapi.json",
    "/v1/subscriptions/confirm?token=bench",
    "/v1/subscriptions/unsubscribe?token=bench",
)

_FIRST_REQUEST = """
import json, os, time
os.environ.update({env})
_cold = time.perf_counter()
from app import app  # chalice included, as in a cold Lambda
imported = time.perf_counter() - _cold
from chalice.test import Client  # the test harness itself (chalice.cli, botocore) is not what is measured
from bench.common import emit
with Client(app, project_dir={project!r}) as client:
    started = time.perf_counter()
    response = client.http.get({path!r})
    done = time.perf_counter()
    client.http.get({path!r})
    warm_started = time.perf_counter()
    client.http.get({path!r})
    warm = time.perf_counter() - warm_started
emit({{"seconds": done - started, "total": imported + done - started, "status": response.status_code, "warm": warm}})
"""


def _project(directory: Path) -> Path:
    (directory / ".chalice").mkdir(parents=True, exist_ok=True)
    (directory / ".chalice" / "config.json").write_text(
        json.dumps({"version": "2.0", "app_name": "bench", "stages": {"dev": {}}})
    )
    return directory


def _first_request(cwd: Path, path: str, env: dict[str, str], project: Path) -> dict[str, Any]:
    code = _FIRST_REQUEST.format(env=repr(env), project=str(project), path=path)
    return run_child(code, cwd=cwd, env=dict(_bytecode_env(), PYTHONPATH=str(cwd)))


def measure_first_requests(repeats: int = 5, routes: tuple[str, ...] = ROUTES, complaints: int = 300) -> dict[str, Any]:
    """Median first-request time per route (fresh interpreter each) and the hello-world's, alternating."""
    from bench.api import prepare

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        hello_dir = work / "hello"
        hello_dir.mkdir()
        (hello_dir / "app.py").write_text(HELLO)
        data = work / "data"
        prepare(data, 3, complaints)
        env = {"FAIR_REPLY_DATA_DIR": str(data), "FAIR_REPLY_COMPANIES": str(data / "companies.toml"),
               "FAIR_REPLY_STORE": "sqlite", "FAIR_REPLY_LOG_LEVEL": "WARNING"}
        project = _project(work / "project")
        _first_request(hello_dir, "/", {}, project)  # warm page cache and bytecode
        _first_request(ROOT, "/health", env, project)
        hello: list[float] = []
        hello_total: list[float] = []
        hello_warm: list[float] = []
        warm: dict[str, list[float]] = {r: [] for r in routes}
        ours: dict[str, list[float]] = {r: [] for r in routes}
        totals: dict[str, list[float]] = {r: [] for r in routes}
        status: dict[str, int] = {}
        for _ in range(repeats):
            for route in routes:
                ref = _first_request(hello_dir, "/", {}, project)
                hello.append(ref["seconds"])
                hello_total.append(ref["total"])
                hello_warm.append(ref["warm"])
                got = _first_request(ROOT, route, env, project)
                ours[route].append(got["seconds"])
                warm[route].append(got["warm"])
                totals[route].append(got["total"])
                status[route] = got["status"]
    hello_ms = statistics.median(hello) * 1000
    hello_total_ms = statistics.median(hello_total) * 1000
    rows = [{"route": r, "status": status[r], "ms": statistics.median(ours[r]) * 1000,
             "ratio": statistics.median(ours[r]) * 1000 / hello_ms,
             "total_ms": statistics.median(totals[r]) * 1000,
             "total_ratio": statistics.median(totals[r]) * 1000 / hello_total_ms,
             "warm_ms": statistics.median(warm[r]) * 1000} for r in routes]
    return {"hello_ms": hello_ms, "hello_total_ms": hello_total_ms, "rows": rows,
            "hello_warm_ms": statistics.median(hello_warm) * 1000,
            "worst_ratio": max(r["ratio"] for r in rows),
            "worst_total_ratio": max(r["total_ratio"] for r in rows)}


def first_request_table(result: dict[str, Any]) -> str:
    lines = ["| first request (in-process, fresh interpreter) | status | first request alone | ratio to hello-world "
             "| import app + first request (cold start) | ratio to hello-world | the same request warm (3rd) |",
             "|---|---|---|---|---|---|---|",
             f"| hello-world `GET /` (reference) | 200 | {result['hello_ms']:.2f} ms | 1.00× | "
             f"{result['hello_total_ms']:.1f} ms | 1.00× | {result['hello_warm_ms']:.2f} ms |"]
    for r in result["rows"]:
        lines.append(f"| Fair Reply `GET {r['route']}` | {r['status']} | {r['ms']:.1f} ms | {r['ratio']:.2f}× | "
                     f"{r['total_ms']:.1f} ms | {r['total_ratio']:.2f}× | {r['warm_ms']:.2f} ms |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.cold_start", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    args = parser.parse_args(argv or [])
    repeats = 5 if args.quick else IMPORT_REPEATS
    result = measure(repeats=repeats)
    first = measure_first_requests(repeats=2 if args.quick else 5)
    table = (
        f"`import app` in {repeats} fresh interpreters each, ours and the hello-world's alternating (the machine's"
        " noise moves single imports by ±30%).\n\n"
        "| what | median import time | ratio to hello-world |\n|---|---|---|\n"
        f"| hello-world Chalice `import app` (reference) | {result['hello_ms']:.1f} ms | 1.00× |\n"
        f"| Fair Reply `import app` | {result['app_ms']:.1f} ms | {result['ratio']:.2f}× (target ≤ 1.5×) |\n"
    )
    first_ok = first["worst_ratio"] <= FIRST_REQUEST_TARGET
    floor = 2 * first["hello_ms"]
    over = [r["route"] for r in first["rows"] if r["warm_ms"] > floor]
    verdict = (f"Slowest first request: {first['worst_ratio']:.2f}× the hello-world's (target ≤ "
               f"{FIRST_REQUEST_TARGET}×: {'met' if first_ok else 'MISSED'}). "
               f"Routes whose warm request alone exceeds 2× the hello-world's first request ({floor:.2f} ms): "
               f"{len(over)} of {len(first['rows'])}. "
               f"Slowest cold start (import app + first request): {first['worst_total_ratio']:.2f}× the "
               f"hello-world's.")
    body = (stamp("make bench  (or: .venv/bin/python -m bench.cold_start [--quick])") + "\n\n" + table + "\n"
            + first_request_table(first) + "\n\n" + verdict)
    replace_section("cold-start", body)
    print(table + "\n" + first_request_table(first) + "\n\n" + verdict)
    return 0 if result["ratio"] <= 1.5 and first_ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
