"""The web pages in a real headless browser: Debian's chromium, driven by Playwright, against the local stack.

The stack runs as its own process (``python -m chalicelib run``, as ``make run`` starts it) on the repository's
companies.toml, whose FICTIONAL sample companies get simulated data at start-up. The browser must never reach
any host but the stack. Screenshots (desktop and a 390 px phone) go to ``test-artifacts/``.

Chromium comes from the system (``.ci/apt-packages.txt``); when it is missing the test fails and says how to
install it, rather than skipping: a skipped browser test would hide a broken page.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import tomllib
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = Path(os.environ.get("FAIR_REPLY_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]  # fmt: skip
SAMPLE = {slug: entry for slug, entry in tomllib.loads((ROOT / "companies.toml").read_text())["companies"].items()
          if entry.get("sample")}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


def _wait_until_ready(base: str, process: subprocess.Popen, log: Path, timeout: float = 90.0) -> None:
    """Up (/health) and serving the sample companies' numbers."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the local stack exited with {process.returncode}:\n{log.read_text()}")
        try:
            board = _get_json(f"{base}/v1/leaderboard")
            if _get_json(f"{base}/health")["status"] == "ok" and len(board["companies"]) == len(SAMPLE):
                return
        except (OSError, ValueError, KeyError):
            pass
        time.sleep(0.3)
    raise AssertionError(f"the local stack did not become ready in {timeout:.0f} s:\n{log.read_text()}")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    # chalice's local server can be created once per process only: the stack runs in a subprocess
    data = tmp_path_factory.mktemp("browser-stack")
    env = {k: v for k, v in os.environ.items() if not k.startswith("FAIR_REPLY_")}
    env.update({
        "FAIR_REPLY_DATA_DIR": str(data), "FAIR_REPLY_COMPANIES": str(ROOT / "companies.toml"),
        "FAIR_REPLY_STORE": "sqlite", "FAIR_REPLY_PSEUDONYM_SALT": "browser-test-salt",
    })  # no FAIR_REPLY_SOURCES: nothing is polled, nothing leaves the machine
    port = _free_port()
    log = data / "stack.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "chalicelib", "run", "--port", str(port)],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            _wait_until_ready(base, process, log)
            yield base
        finally:
            process.terminate()
            process.wait(20)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not CHROMIUM.exists():
        pytest.fail(
            f"chromium is not installed at {CHROMIUM}: install the Debian package (`apt-get install -y chromium "
            "fonts-dejavu-core`, listed in .ci/apt-packages.txt) or point FAIR_REPLY_CHROMIUM at a chromium binary",
            pytrace=False,
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser, stack: str) -> Iterator[object]:
    """A fresh page that records every request's host and every console error."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.requested_hosts = set()
    page.console_errors = []
    page.on("request", lambda request: page.requested_hosts.add(urlsplit(request.url).hostname))
    page.on("console", lambda message: message.type == "error" and page.console_errors.append(message.text))
    yield page
    context.close()


def _column(page, index: int) -> list[str]:
    return page.eval_on_selector_all(
        "table.board tbody tr", f"rows => rows.map(r => r.cells[{index}].getAttribute('data-value'))"
    )


def _slugs(page) -> list[str]:
    return page.eval_on_selector_all(
        "table.board tbody tr td.name a", "links => links.map(a => new URL(a.href).pathname.split('/').pop())"
    )


def test_leaderboard_shows_the_sample_companies_and_sorts_by_a_clicked_column(page, stack: str) -> None:
    # GIVEN the local stack serving the fictional sample companies
    ARTIFACTS.mkdir(exist_ok=True)
    # WHEN the leaderboard loads for all time
    page.goto(f"{stack}/?window=all")
    # THEN every sample company is listed with its "sample data" label, under the sample-data banner
    rows = page.locator("table.board tbody tr")
    assert rows.count() == len(SAMPLE)
    assert sorted(_slugs(page)) == sorted(SAMPLE)
    for slug, entry in SAMPLE.items():
        row = rows.filter(has=page.locator(f'a[href^="/companies/{slug}"]'))
        assert entry["name"] in row.inner_text() and "sample data" in row.locator(".sample").inner_text()
    assert page.locator(".banner").is_visible() and "Sample data" in page.locator(".banner").inner_text()
    # AND the script turned the headers into buttons; rank is the initial sort
    assert page.locator("th[data-sort] button").count() == page.locator("th[data-sort]").count()
    assert page.get_attribute('th[data-sort="rank"]', "aria-sort") == "ascending"
    page.screenshot(path=str(ARTIFACTS / "leaderboard-desktop.png"), full_page=True)

    # WHEN the "Median reply: ordinary" header is clicked, then clicked again
    header = page.locator('th[data-sort="median_ordinary"]')
    index = header.evaluate("th => th.cellIndex")
    before = _slugs(page)
    header.locator("button").click()
    # THEN the rows are in ascending order of that column and the header says so
    ascending = [float(v) for v in _column(page, index) if v]
    assert ascending == sorted(ascending) and len(ascending) == len(SAMPLE)
    assert header.get_attribute("aria-sort") == "ascending"
    assert page.get_attribute('th[data-sort="rank"]', "aria-sort") is None
    header.locator("button").click()
    descending = [float(v) for v in _column(page, index) if v]
    assert descending == sorted(descending, reverse=True) and header.get_attribute("aria-sort") == "descending"
    # AND the order really changed at least once (the sample companies differ in their medians)
    assert before != _slugs(page) or ascending != descending
    assert page.requested_hosts == {"127.0.0.1"}
    assert page.console_errors == []  # e.g. no Content-Security-Policy violation


def test_company_page_draws_one_kaplan_meier_curve_per_tier(page, stack: str) -> None:
    # GIVEN the company with the most complaints on record among the sample companies
    slug = "parcelpigeon"
    company = _get_json(f"{stack}/v1/companies/{slug}?window=all&platform=all")
    tiers = {name: t for name, t in company["stats"]["all"]["tiers"].items() if t["curve"]}
    # WHEN its page is opened from the leaderboard link
    page.goto(f"{stack}/?window=all")
    page.click(f'table.board a[href^="/companies/{slug}"]')
    page.wait_for_url(f"**/companies/{slug}?window=all")
    # THEN the chart has one path per tier with data, each a step curve of many points
    chart = page.locator("svg.km")
    assert chart.count() == 1 and chart.get_attribute("role") == "img"
    paths = chart.locator("path.curve")
    assert sorted(paths.evaluate_all("ps => ps.map(p => p.dataset.tier)")) == sorted(tiers)
    for i in range(paths.count()):
        path = paths.nth(i)
        tier = path.get_attribute("data-tier")
        assert int(path.get_attribute("data-points")) == len(tiers[tier]["curve"]) > 10
        assert path.evaluate("p => p.getTotalLength()") > 200  # drawn across the plot, not a dot
        box = path.bounding_box()
        assert box["width"] > 100 and box["height"] > 50
    # AND the chart is labelled for assistive technology
    assert "still waiting" in page.locator("svg.km title").first.text_content()
    assert page.locator("svg.km desc").text_content().strip()
    # AND the evidence list shows pseudonyms only
    evidence = page.locator("table", has=page.locator("caption", has_text="Evidence"))
    assert evidence.locator("tbody tr").count() > 0
    assert all(c.startswith("anon-") for c in evidence.locator("tbody tr td:first-child").all_inner_texts())
    page.screenshot(path=str(ARTIFACTS / "company-desktop.png"), full_page=True)
    assert page.requested_hosts == {"127.0.0.1"}
    assert page.console_errors == []


def test_pages_fit_a_phone_width(browser, stack: str) -> None:
    # GIVEN a 390 px wide phone viewport
    context = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True)
    page = context.new_page()
    hosts: set[str | None] = set()
    page.on("request", lambda request: hosts.add(urlsplit(request.url).hostname))
    try:
        for path, name in (("/?window=all", "leaderboard-phone.png"), ("/companies/skyhop-air", "company-phone.png")):
            # WHEN a page loads
            page.goto(f"{stack}{path}")
            # THEN the page itself does not scroll sideways: wide tables scroll inside their own region
            assert page.evaluate("document.documentElement.scrollWidth") <= 390
            page.screenshot(path=str(ARTIFACTS / name), full_page=True)
        assert hosts == {"127.0.0.1"}
    finally:
        context.close()
