"""Cold start: `import app` against a hello-world Chalice app, measured side by side in the same run.

Both are imported in fresh interpreters, alternately, so that machine noise hits them alike; the figure
that matters is the ratio of medians (target ≤ 1.5×).
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from bench.common import ROOT, median_ms, replace_section, stamp, time_python

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


def main(argv: list[str] | None = None) -> int:
    result = measure()
    table = (
        "| what | median import time | ratio to hello-world |\n|---|---|---|\n"
        f"| hello-world Chalice `import app` (reference) | {result['hello_ms']:.1f} ms | 1.00× |\n"
        f"| Fair Reply `import app` | {result['app_ms']:.1f} ms | {result['ratio']:.2f}× (target ≤ 1.5×) |\n"
    )
    body = stamp("make bench  (or: .venv/bin/python -m bench.cold_start)") + "\n\n" + table
    replace_section("cold-start", body)
    print(table)
    return 0 if result["ratio"] <= 1.5 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
