"""Shared helpers: machine description and rewriting one marked table in BENCHMARKS.md."""

from __future__ import annotations

import json
import os
import platform
import re
import statistics
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCHMARKS_MD = ROOT / "BENCHMARKS.md"


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores, {cpu}, Python {platform.python_version()}, {platform.system()}"


def stamp(command: str) -> str:
    today = datetime.now(UTC).strftime("%Y-%m-%d")
    return f"Machine: {machine()}. Date: {today}. Command: `{command}`."


def replace_section(name: str, body: str, path: Path = BENCHMARKS_MD) -> None:
    """Replace the text between `<!-- bench:NAME -->` and `<!-- /bench:NAME -->` markers."""
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    start, end = f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"
    block = f"{start}\n{body.strip()}\n{end}"
    if start in text:
        text = re.sub(re.escape(start) + r".*?" + re.escape(end), lambda _: block, text, flags=re.S)
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    path.write_text(text, encoding="utf-8")


def time_python(code: str, repeats: int, cwd: Path = ROOT, env: dict[str, str] | None = None) -> list[float]:
    """Wall time in seconds of `code` in fresh interpreters, measured inside the child (excludes startup)."""
    probe = (
        "import time as _t; _s=_t.perf_counter()\n" + code + "\nprint(_t.perf_counter()-_s)"
    )
    times = []
    for _ in range(repeats):
        out = subprocess.run(
            [sys.executable, "-c", probe], cwd=cwd, env=env, check=True, capture_output=True, text=True
        ).stdout
        times.append(float(out.strip().splitlines()[-1]))
    return times


def median_ms(values: list[float]) -> float:
    return statistics.median(values) * 1000


def run_child(code: str, cwd: Path = ROOT, env: dict[str, str] | None = None, timeout: float = 3600) -> dict[str, Any]:
    """Run `code` in a fresh interpreter and return the JSON object it prints last (see `emit`).

    A fresh process per sample gives each its own peak RSS (ru_maxrss never goes down within a process)
    and keeps one sample's caches and garbage out of the next.
    """
    child_env = dict(os.environ if env is None else env)
    child_env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), child_env.get("PYTHONPATH", "")]))
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, env=child_env, capture_output=True, text=True, timeout=timeout
    )
    if done.returncode != 0:
        raise RuntimeError(f"benchmark child failed ({done.returncode}):\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def emit(result: dict[str, Any]) -> None:
    """Print a child's result as the last line of its output, with its peak RSS."""
    print(json.dumps({**result, "maxrss_mib": maxrss_mib()}), flush=True)


def maxrss_mib() -> float:
    """Peak resident set size of this process so far, in MiB.

    Linux's VmHWM first: ru_maxrss survives exec, so a child started by a large parent would report the
    parent's peak.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def median(values: list[float]) -> float:
    return statistics.median(values)


def ratio_cell(value: float, target: str = "") -> str:
    return f"{value:.2f}×" + (f" ({target})" if target else "")
