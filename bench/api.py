"""API: leaderboard and company requests per second and p50/p99 latency, in-process and through the local server.

Each configuration (number of companies × number of stored complaints) is a data directory prepared once:
a generated ``companies.toml``, complaints simulated over the past two years and stored with
``put_complaints``, then one ``run_aggregate`` that writes the snapshots the routes serve. Every measurement
runs in its own interpreter: in-process through ``chalice.test.Client``, and through Chalice's local server
on 127.0.0.1 (``chalicelib.local.LocalServer``, which can be created once per process) with one keep-alive
``http.client`` connection that ACKs at once (``TCP_QUICKACK``; see ``_through_server``). Each loop is bounded (a fixed number of requests after a few warm-ups).
Target: latency independent of the number of stored complaints (p50 within 1.5× from the small to the
large store).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.common import replace_section, run_child, stamp

NOW = datetime.now(UTC).replace(microsecond=0)
CONFIGS = ((10, 10_000), (10, 1_000_000), (1_000, 10_000))
QUICK_CONFIGS = ((10, 2_000), (10, 100_000), (100, 2_000))
ROUTES = ("leaderboard", "company")
TARGET = 1.5

_CHILD = """
from bench.api import serve_and_measure
serve_and_measure({data_dir!r}, {mode!r}, {route!r}, {requests})
"""


def registry_toml(n: int) -> str:
    return "".join(
        f'[companies.api-co-{i}]\nname = "API Co {i}"\nsla_minutes = 60\n[companies.api-co-{i}.handles]\n'
        f'x = ["ApiCo{i}Help"]\n\n'
        for i in range(n)
    )


def prepare(data_dir: Path, companies: int, complaints: int) -> dict[str, float]:
    """Write the registry, store the complaints and aggregate them once; return both phases' seconds.

    Complaints are generated per company and written straight into the store, 10,000 per ``put_complaints``
    call, each company inside one ``store.batch()`` (one SQLite transaction), so a million take minutes,
    not hours. The snapshots then come from one real ``run_aggregate`` over everything stored.
    """
    from chalicelib.domain.simulation import generate_sample_complaints
    from chalicelib.jobs.aggregate import AggregateOptions, run_aggregate
    from chalicelib.registry import load_registry
    from chalicelib.store.sqlite import SQLiteStore

    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / "companies.toml").write_text(registry_toml(companies), encoding="utf-8")
    registry = load_registry(data_dir / "companies.toml")
    store = SQLiteStore(data_dir / "fair-reply.sqlite3")
    try:
        started = time.perf_counter()
        per_company = max(1, complaints // companies)
        for i, slug in enumerate(sorted(registry)):
            batch = generate_sample_complaints(slug, "x", per_company, NOW - timedelta(days=730), NOW, seed=i)
            with store.batch():
                for start in range(0, len(batch), 10_000):
                    store.put_complaints(batch[start : start + 10_000])
        stored = time.perf_counter()
        run_aggregate(store, registry, NOW, AggregateOptions())
        return {"store_s": stored - started, "aggregate_s": time.perf_counter() - stored}
    finally:
        store.close()


def _env(data_dir: Path) -> None:
    import os

    os.environ.update({
        "FAIR_REPLY_DATA_DIR": str(data_dir),
        "FAIR_REPLY_COMPANIES": str(data_dir / "companies.toml"),
        "FAIR_REPLY_STORE": "sqlite",
        "FAIR_REPLY_LOG_LEVEL": "WARNING",
    })


def _path(route: str) -> str:
    return "/v1/leaderboard" if route == "leaderboard" else "/v1/companies/api-co-0"


def _summary(latencies: list[float], total: float) -> dict[str, float]:
    ordered = sorted(latencies)
    return {
        "requests": len(ordered),
        "rps": len(ordered) / total,
        "p50_ms": ordered[len(ordered) // 2] * 1000,
        "p99_ms": ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000,
    }


def _in_process(path: str, requests: int, project: Path) -> dict[str, float]:
    from chalice.test import Client

    from app import app

    (project / ".chalice").mkdir(parents=True, exist_ok=True)
    (project / ".chalice" / "config.json").write_text(
        json.dumps({"version": "2.0", "app_name": "fair-reply", "stages": {"dev": {}}})
    )
    latencies = []
    with Client(app, project_dir=str(project)) as client:
        for _ in range(5):
            assert client.http.get(path).status_code == 200
        started = time.perf_counter()
        for _ in range(requests):
            t = time.perf_counter()
            response = client.http.get(path)
            latencies.append(time.perf_counter() - t)
            assert response.status_code == 200, response.body[:300]
        total = time.perf_counter() - started
    return _summary(latencies, total)


def _through_server(path: str, requests: int) -> dict[str, float]:
    import http.client
    import socket

    from app import app
    from chalicelib.local import LocalServer

    server = LocalServer(app, host="127.0.0.1", port=0)
    server.start()
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    quickack = getattr(socket, "TCP_QUICKACK", None)  # Linux only
    latencies = []
    try:
        def get() -> None:
            conn.request("GET", path, headers={"Connection": "keep-alive"})
            if quickack is not None and conn.sock is not None:
                # The dev server sends headers and body in two writes; without an immediate ACK of the first,
                # Nagle holds the second until the client's delayed ACK (~40 ms). The flag does not stick.
                conn.sock.setsockopt(socket.IPPROTO_TCP, quickack, 1)
            response = conn.getresponse()
            response.read()
            assert response.status == 200, response.status

        for _ in range(5):
            get()
        started = time.perf_counter()
        for _ in range(requests):
            t = time.perf_counter()
            get()
            latencies.append(time.perf_counter() - t)
        total = time.perf_counter() - started
    finally:
        conn.close()
        server.stop()
    return _summary(latencies, total)


def serve_and_measure(data_dir: str, mode: str, route: str, requests: int) -> None:
    """Child-process entry: measure one route in one mode and print the result (bench.common.emit)."""
    import logging

    from bench.common import emit

    _env(Path(data_dir))
    from chalicelib.logs import get_logger

    get_logger().setLevel(logging.WARNING)
    path = _path(route)
    if mode == NO_BODY_CACHE:
        from chalicelib.api import published

        published.BODIES.budget = 0  # every request reads and decompresses its body from the store
    if mode in ("in-process", NO_BODY_CACHE):
        result = _in_process(path, requests, Path(data_dir) / "project")
    else:
        result = _through_server(path, requests)
    emit(result)


#: For contrast, not a target: a process that keeps no published body between requests (a Lambda's first
#: request for a document, or one with the body cache turned off).
NO_BODY_CACHE = "in-process, no body cache"
MODES = ("in-process", "server", NO_BODY_CACHE)
TARGET_MODES = ("in-process", "server")


def measure(configs: tuple[tuple[int, int], ...] = CONFIGS, requests: int = 200, repeats: int = 3) -> dict[str, Any]:
    """Per config, mode and route: medians over `repeats` child runs, configs alternating."""
    rows: dict[tuple[int, int, str, str], list[dict[str, float]]] = {}
    prepared: dict[tuple[int, int], dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        dirs = {c: Path(tmp) / f"c{c[0]}-n{c[1]}" for c in configs}
        for c in configs:
            prepared[c] = prepare(dirs[c], *c)
        for _ in range(repeats):
            for mode in MODES:
                for route in ROUTES:
                    for c in configs:
                        code = _CHILD.format(data_dir=str(dirs[c]), mode=mode, route=route, requests=requests)
                        rows.setdefault((*c, mode, route), []).append(run_child(code))
    out = []
    for (companies, complaints, mode, route), runs in rows.items():
        pick = sorted(runs, key=lambda r: r["p50_ms"])[len(runs) // 2]
        out.append({"companies": companies, "complaints": complaints, "mode": mode, "route": route,
                    **prepared[(companies, complaints)], **pick})
    return {"rows": out, "ratios": _ratios(out, configs)}


def _ratios(rows: list[dict[str, Any]], configs: tuple[tuple[int, int], ...]) -> list[dict[str, Any]]:
    """p50 at the largest store over p50 at the smallest, for the smallest number of companies."""
    few = min(c[0] for c in configs)
    sizes = sorted(c[1] for c in configs if c[0] == few)
    if len(sizes) < 2:
        return []
    small, large = sizes[0], sizes[-1]
    found = {(r["companies"], r["complaints"], r["mode"], r["route"]): r for r in rows}
    return [
        {"mode": mode, "route": route, "small": small, "large": large,
         "ratio": found[(few, large, mode, route)]["p50_ms"] / found[(few, small, mode, route)]["p50_ms"]}
        for mode in MODES for route in ROUTES
    ]


def table(result: dict[str, Any]) -> str:
    lines = ["| companies | stored complaints | mode | route | requests/s | p50 | p99 |", "|---|---|---|---|---|---|---|"]
    for r in sorted(result["rows"], key=lambda r: (r["mode"], r["route"], r["companies"], r["complaints"])):
        lines.append(f"| {r['companies']:,} | {r['complaints']:,} | {r['mode']} | {_path(r['route'])} | "
                     f"{r['rps']:,.0f} | {r['p50_ms']:.2f} ms | {r['p99_ms']:.2f} ms |")
    if result["ratios"]:
        lines += ["", "| mode | route | p50 ratio, most / fewest stored complaints |", "|---|---|---|"]
        for q in result["ratios"]:
            target = f"target ≤ {TARGET}×" if q["mode"] in TARGET_MODES else "for contrast, no target"
            lines.append(f"| {q['mode']} | {_path(q['route'])} | {q['ratio']:.2f}× ({q['large']:,} / {q['small']:,}; "
                         f"{target}) |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.api", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help=f"configs {QUICK_CONFIGS} instead of {CONFIGS}")
    args = parser.parse_args(argv)
    configs = QUICK_CONFIGS if args.quick else CONFIGS
    result = measure(configs)
    ok = all(q["ratio"] <= TARGET for q in result["ratios"] if q["mode"] in TARGET_MODES)
    agg = ", ".join(f"{c[0]:,} companies × {c[1]:,} complaints: {s[0]:,.0f} s + {s[1]:,.0f} s" for c, s in
                    {(r["companies"], r["complaints"]): (r["store_s"], r["aggregate_s"])
                     for r in result["rows"]}.items())
    body = (
        stamp("make bench  (or: .venv/bin/python -m bench.api [--quick])")
        + "\n\nComplaints simulated over two years and stored with `put_complaints` (10,000 per call, one "
        "`store.batch()` per company), snapshots written by one `run_aggregate` (store + aggregate time: "
        + agg + "). Default window (30d). 200 requests per run after 5 warm-ups, fresh interpreter per run, "
        "median run of 3 (by p50). Server: chalice's local server on 127.0.0.1, one keep-alive connection; the "
        "client sets TCP_QUICKACK before each response (the server writes headers and body separately, and "
        "Nagle would otherwise hold the body for the client's ~40 ms delayed ACK). The aggregate job publishes each "
        "response ready to send (`chalicelib/api/published.py`); a process keeps recently sent bodies in memory "
        "(16 MiB, checked against the stored digest on every request), so the last mode turns that off to show what "
        "a request costs when it must read and decompress its body (the published body grows with the survival "
        "curves, up to their 120-point cap).\n\n"
        + table(result) + f"\n\nLatency independent of stored complaints: {'met' if ok else 'MISSED'}."
    )
    replace_section("api", body)
    print(table(result))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
