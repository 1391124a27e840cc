"""`make run`'s promises: serves / and /health within 60 s, stops cleanly on Ctrl-C, keeps data across a restart."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tests.e2e.test_local_stack import ROOT, free_port, get, wait_for


def start(data_dir: Path, port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "FAIR_REPLY_DATA_DIR": str(data_dir), "FAIR_REPLY_COMPANIES": str(ROOT / "companies.toml")}
    env.pop("FAIR_REPLY_SOURCES", None)
    return subprocess.Popen(
        [sys.executable, "-m", "chalicelib", "run", "--port", str(port)],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )


def stop(process: subprocess.Popen[bytes]) -> tuple[int, str]:
    process.send_signal(signal.SIGINT)
    out, _ = process.communicate(timeout=30)
    return process.returncode, out.decode(errors="replace")


def complaints_of(base: str, slug: str) -> int:
    status, body = get(f"{base}/v1/companies/{slug}?window=all")
    assert status == 200
    return sum(t["complaints"] for t in body["stats"]["all"]["tiers"].values())


def test_run_serves_stops_on_ctrl_c_and_keeps_data(tmp_path: Path) -> None:
    # GIVEN a fresh data directory
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    began = time.monotonic()
    process = start(tmp_path, port)
    try:
        # WHEN it starts, THEN the page and /health answer within 60 seconds
        wait_for(lambda: get(f"{base}/health")[0] == 200, timeout=60)
        with urllib.request.urlopen(f"{base}/", timeout=10) as page:
            html = page.read().decode()
        assert time.monotonic() - began < 60
        assert "SkyHop Air" in html and "sample" in html.lower()
        # AND the bundled sample data reaches the public numbers once the scheduler has aggregated
        before = wait_for(lambda: complaints_of(base, "skyhop-air"), timeout=120)
    finally:
        code, output = stop(process)
    # THEN Ctrl-C stops it cleanly and says where it ran
    assert code == 0, output
    assert f"http://127.0.0.1:{port}" in output
    # AND after a restart the same data is served, and sample data is not loaded twice
    process = start(tmp_path, port)
    try:
        wait_for(lambda: get(f"{base}/health")[0] == 200, timeout=60)
        assert complaints_of(base, "skyhop-air") == before
    finally:
        code, output = stop(process)
    assert code == 0, output
