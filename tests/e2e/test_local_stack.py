"""End to end: `python -m chalicelib run` on 127.0.0.1 polls a fake Mastodon server, aggregates, serves the numbers.

The stack runs as its own process, exactly as ``make run`` starts it; its scheduler performs the first poll
and aggregate at start-up. The fake platform is a real HTTP server on another port. The test then plays
the scheduler's next tick itself (the schedule table's job functions, on the same SQLite file) after the
platform serves a new complaint, and reads everything back over HTTP: the public API and /health.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.fake_platform import COMPANY_HANDLE, TAG, FakeMastodon, FakeServer

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime.now(UTC).replace(microsecond=0)


def get(url: str) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


def run_jobs(now: datetime, names: tuple[str, ...] = ("poll", "aggregate")) -> None:
    """What the local scheduler does at a tick: call each schedule's job with the scheduled time."""
    from chalicelib.jobs.schedules import local_jobs

    jobs = {job.name: job for job in local_jobs()}
    for name in names:
        jobs[name].run(now)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(check: Any, timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        try:
            found = check()
        except (OSError, KeyError, TypeError, ValueError):
            found = None
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError("the local stack did not get there in time")
        time.sleep(0.2)


@pytest.fixture
def platform() -> Iterator[tuple[FakeMastodon, FakeServer]]:
    fake = FakeMastodon()
    fake.populate(NOW - timedelta(hours=2))
    with fake.serve() as server:
        yield fake, server


@pytest.fixture
def stack(
    isolated_env: Path, monkeypatch: pytest.MonkeyPatch, platform: tuple[FakeMastodon, FakeServer]
) -> Iterator[str]:
    from chalicelib import runtime

    _, server = platform
    registry = isolated_env / "e2e.toml"
    registry.write_text(
        f'[companies.acme]\nname = "Acme"\n[companies.acme.handles]\nmastodon = ["{COMPANY_HANDLE}"]\n'
        f'[companies.acme.search]\nmastodon = ["#{TAG}"]\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("FAIR_REPLY_COMPANIES", str(registry))
    monkeypatch.setenv("FAIR_REPLY_SOURCES", "mastodon")
    monkeypatch.setenv("FAIR_REPLY_MASTODON_BASE_URL", server.url)
    monkeypatch.setenv("FAIR_REPLY_MIN_SAMPLE", "2")
    monkeypatch.setenv("FAIR_REPLY_LOG_FORMAT", "json")
    runtime.reset()
    port = free_port()
    log = (isolated_env / "stack.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "chalicelib", "run", "--port", str(port), "--no-sample-data"],
        cwd=ROOT, env=dict(os.environ), stdout=log, stderr=subprocess.STDOUT,
    )
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(20)
        log.close()
        if process.returncode not in (0, -15):
            print((isolated_env / "stack.log").read_text())


def complaint_count(body: dict[str, Any]) -> int:
    """Complaints behind a company's numbers: the sum of the tier sample sizes on all platforms."""
    tiers = body["stats"]["all"]["tiers"]
    return sum(t["complaints"] for t in tiers.values())


def test_a_new_complaint_reaches_the_public_numbers_after_one_poll_and_aggregate(
    stack: str, platform: tuple[FakeMastodon, FakeServer]
) -> None:
    fake, _ = platform
    # GIVEN the stack's scheduler has run its start-up poll and aggregate (the API answers while the poll is still
    # storing pages, with what is stored so far: wait for all of them)
    expected = len(fake.complaints)
    before = wait_for(lambda: complaint_count(get(f"{stack}/v1/companies/acme?window=7d")[1]) == expected and expected)
    assert before == expected
    # AND /health shows the source polled, with its lag and remaining budget
    status, health = get(f"{stack}/health")
    assert status == 200 and health["status"] == "ok"
    [row] = [r for r in health["sources"] if r["company"] == "acme" and r["source"] == "mastodon"]
    assert row["ok"] and row["last_error"] is None and row["remaining_budget"] > 0
    assert row["poll_lag_seconds"] is not None and row["poll_lag_seconds"] > 0
    # WHEN the platform serves a new complaint (and the company's answer) and one cycle runs
    fake.add_thread(500, NOW + timedelta(minutes=1), followers=250_000, reply_after=timedelta(minutes=3))
    run_jobs(datetime.now(UTC) + timedelta(minutes=5))
    # THEN the company's public numbers include it
    status, body = get(f"{stack}/v1/companies/acme?window=7d")
    assert status == 200
    assert complaint_count(body) == before + 1
