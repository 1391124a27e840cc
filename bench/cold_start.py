"""Cold start: `import app`, and the first request of each GET route, against a hello-world Chalice app.

Both are imported in fresh interpreters, alternately, so that machine noise hits them alike; the figure
that matters is the ratio of medians (target ≤ 1.5× for the import). The first request of a route is what
a cold Lambda pays after the import: in a fresh interpreter, import the app, build ``chalice.test.Client``,
then time one request (in-process), against the hello-world's first ``GET /`` timed the same way (target
≤ 2× for every route). The data directory holds a few companies with aggregated snapshots.
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


def measure(repeats: int = 15) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        hello_dir = Path(tmp)
        (hello_dir / "app.py").write_text(HELLO)
        env = dict(os.environ, PYTHONDONTWRITEBYTECODE="0")
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
from chalice.test import Client  # the test harness itself (chalice.cli, botocore) is not what is measured
_cold = time.perf_counter()
from app import app
from bench.common import emit
with Client(app, project_dir={project!r}) as client:
    started = time.perf_counter()
    response = client.http.get({path!r})
    done = time.perf_counter()
emit({{"seconds": done - started, "total": done - _cold, "status": response.status_code}})
"""


def _project(directory: Path) -> Path:
    (directory / ".chalice").mkdir(parents=True, exist_ok=True)
    (directory / ".chalice" / "config.json").write_text(
        json.dumps({"version": "2.0", "app_name": "bench", "stages": {"dev": {}}})
    )
    return directory


def _first_request(cwd: Path, path: str, env: dict[str, str], project: Path) -> dict[str, Any]:
    code = _FIRST_REQUEST.format(env=repr(env), project=str(project), path=path)
    return run_child(code, cwd=cwd, env=dict(os.environ, PYTHONPATH=str(cwd)))


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
        ours: dict[str, list[float]] = {r: [] for r in routes}
        totals: dict[str, list[float]] = {r: [] for r in routes}
        status: dict[str, int] = {}
        for _ in range(repeats):
            for route in routes:
                ref = _first_request(hello_dir, "/", {}, project)
                hello.append(ref["seconds"])
                hello_total.append(ref["total"])
                got = _first_request(ROOT, route, env, project)
                ours[route].append(got["seconds"])
                totals[route].append(got["total"])
                status[route] = got["status"]
    hello_ms = statistics.median(hello) * 1000
    hello_total_ms = statistics.median(hello_total) * 1000
    rows = [{"route": r, "status": status[r], "ms": statistics.median(ours[r]) * 1000,
             "ratio": statistics.median(ours[r]) * 1000 / hello_ms,
             "total_ms": statistics.median(totals[r]) * 1000,
             "total_ratio": statistics.median(totals[r]) * 1000 / hello_total_ms} for r in routes]
    return {"hello_ms": hello_ms, "hello_total_ms": hello_total_ms, "rows": rows,
            "worst_ratio": max(r["ratio"] for r in rows)}


def first_request_table(result: dict[str, Any]) -> str:
    lines = ["| first request (in-process, fresh interpreter) | status | first request alone | ratio to hello-world "
             "| import + client + first request | ratio to hello-world |",
             "|---|---|---|---|---|---|",
             f"| hello-world `GET /` (reference) | 200 | {result['hello_ms']:.1f} ms | 1.00× | "
             f"{result['hello_total_ms']:.1f} ms | 1.00× |"]
    for r in result["rows"]:
        lines.append(f"| Fair Reply `GET {r['route']}` | {r['status']} | {r['ms']:.1f} ms | {r['ratio']:.2f}× | "
                     f"{r['total_ms']:.1f} ms | {r['total_ratio']:.2f}× |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.cold_start", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    args = parser.parse_args(argv or [])
    result = measure(repeats=5 if args.quick else 15)
    first = measure_first_requests(repeats=2 if args.quick else 5)
    table = (
        "| what | median import time | ratio to hello-world |\n|---|---|---|\n"
        f"| hello-world Chalice `import app` (reference) | {result['hello_ms']:.1f} ms | 1.00× |\n"
        f"| Fair Reply `import app` | {result['app_ms']:.1f} ms | {result['ratio']:.2f}× (target ≤ 1.5×) |\n"
    )
    first_ok = first["worst_ratio"] <= FIRST_REQUEST_TARGET
    verdict = (f"Slowest first request: {first['worst_ratio']:.2f}× the hello-world's (target ≤ "
               f"{FIRST_REQUEST_TARGET}×: {'met' if first_ok else 'MISSED'}).")
    body = (stamp("make bench  (or: .venv/bin/python -m bench.cold_start [--quick])") + "\n\n" + table + "\n"
            + first_request_table(first) + "\n\n" + verdict)
    replace_section("cold-start", body)
    print(table + "\n" + first_request_table(first) + "\n\n" + verdict)
    return 0 if result["ratio"] <= 1.5 and first_ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
