"""Shared helpers: machine description and rewriting one marked table in BENCHMARKS.md."""

from __future__ import annotations

import os
import platform
import re
import statistics
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

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
