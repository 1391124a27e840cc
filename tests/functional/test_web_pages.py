"""The HTML pages through chalice's test Client: figures, switches, error pages, privacy and self-containment.

The site is the repository's companies.toml (FICTIONAL sample companies) with its bundled sample data, plus
two hand-made complaints with real-looking handles and URLs: an ordinary customer who must never be
identifiable and a public figure who may be named and linked.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SALT = "web-test-salt"
REPLICATES = 40
ORDINARY_URL = "https://x.com/jane_private/status/7001"
FAMOUS_URL = "https://x.com/famous_person/status/7002"
SAMPLE_SLUGS = ("parcelpigeon", "skyhop-air", "voltmobile")


def _hand_made(now: datetime) -> list:
    from chalicelib.domain.models import Complaint, Reply, ReplyKind, Tier

    made = now - timedelta(days=6, hours=12)  # early in the 7-day window, so on the evidence list's first page

    def reply(post_id: str, after: timedelta) -> Reply:
        return Reply(platform="x", post_id=f"{post_id}-r", complaint_post_id=post_id, company="skyhop-air",
                     author_handle="SkyHopHelp", created_at=made + after, kind=ReplyKind.SUBSTANTIVE,
                     url=f"https://x.com/SkyHopHelp/status/{post_id}9")

    def complaint(post_id: str, handle: str, tier: Tier, followers: int, url: str, after: timedelta) -> Complaint:
        answer = reply(post_id, after)
        return Complaint(platform="x", post_id=post_id, company="skyhop-air", author_id=f"u-{handle}",
                         author_handle=handle, created_at=made, tier=tier, followers=followers, url=url,
                         first_reply=answer, first_substantive_reply=answer, source="x")

    return [
        complaint("7001", "jane_private", Tier.ORDINARY, 12, ORDINARY_URL, timedelta(hours=5)),
        complaint("7002", "famous_person", Tier.HIGH_PROFILE, 2_000_000, FAMOUS_URL, timedelta(minutes=9)),
    ]


@pytest.fixture(scope="module")
def built_site(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, datetime]:
    """Sample data loaded and aggregated once per module; each test gets its own copy of the data dir."""
    from chalicelib import runtime
    from chalicelib.jobs.aggregate import AggregateOptions, run_aggregate
    from chalicelib.sample_data import ensure_sample_data

    data = tmp_path_factory.mktemp("web-site") / "data"
    now = datetime.now(UTC).replace(microsecond=0)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FAIR_REPLY_DATA_DIR", str(data))
        mp.setenv("FAIR_REPLY_COMPANIES", str(ROOT / "companies.toml"))
        mp.setenv("FAIR_REPLY_STORE", "sqlite")
        runtime.reset()
        store, registry = runtime.store(), runtime.registry()
        ensure_sample_data(store, registry, now)
        store.put_complaints(_hand_made(now))
        store.set_horizon("skyhop-air", "x", now)
        run_aggregate(store, registry, now, AggregateOptions(replicates=REPLICATES))
        runtime.reset()
    return data, now


@pytest.fixture
def site(built_site, isolated_env: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[datetime]:
    from chalicelib import runtime
    from chalicelib.api import queries
    from chalicelib.jobs.aggregate import AggregateOptions

    data, now = built_site
    shutil.copytree(data, isolated_env / "site-data")
    monkeypatch.setenv("FAIR_REPLY_DATA_DIR", str(isolated_env / "site-data"))
    monkeypatch.setenv("FAIR_REPLY_COMPANIES", str(ROOT / "companies.toml"))
    monkeypatch.setenv("FAIR_REPLY_PSEUDONYM_SALT", SALT)
    monkeypatch.setattr(queries, "options", lambda: AggregateOptions(replicates=REPLICATES))
    runtime.reset()
    yield now
    runtime.reset()


class _Page(HTMLParser):
    """Just enough structure to assert on: rows of the leaderboard, resource references, SVG paths."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[dict[str, object]] = []
        self.resources: list[str] = []
        self.links: list[str] = []
        self.paths: list[dict[str, str | None]] = []
        self.inline_scripts = 0
        self.style_attributes = 0
        self._in_body_row = False
        self._in_tbody = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if "style" in a:
            self.style_attributes += 1
        if tag == "script":
            if a.get("src"):
                self.resources.append(a["src"] or "")
            else:
                self.inline_scripts += 1
        if tag in ("img", "iframe", "source", "audio", "video") and a.get("src"):
            self.resources.append(a["src"] or "")
        if tag == "link" and a.get("href"):
            self.resources.append(a["href"] or "")
        if tag == "a" and a.get("href"):
            self.links.append(a["href"] or "")
        if tag == "path":
            self.paths.append(a)
        if tag == "tbody":
            self._in_tbody = True
        if tag == "tr" and self._in_tbody:
            self.rows.append({"values": [], "text": ""})
        if tag == "td" and self._in_tbody and self.rows:
            self.rows[-1]["values"].append(a.get("data-value"))  # type: ignore[union-attr]

    def handle_endtag(self, tag: str) -> None:
        if tag == "tbody":
            self._in_tbody = False

    def handle_data(self, data: str) -> None:
        if self._in_tbody and self.rows:
            self.rows[-1]["text"] += data  # type: ignore[operator]


def parse(body: bytes) -> _Page:
    page = _Page()
    page.feed(body.decode("utf-8"))
    return page


def get(client, path: str, headers: dict[str, str] | None = None):
    return client.http.get(path, headers=headers or {})


def _assert_html_with_csp(response, status: int = 200) -> None:
    assert response.status_code == status
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "script-src 'self'" in csp and "style-src 'self'" in csp
    assert "unsafe-inline" not in csp and "http" not in csp


# --- the leaderboard --------------------------------------------------------------------------------------


def test_leaderboard_lists_each_sample_company_labelled_with_the_apis_figures(client, site) -> None:
    # GIVEN the sample companies aggregated, and the API's own leaderboard for all time
    api = json.loads(get(client, "/v1/leaderboard?window=all&platform=all").body)
    # WHEN the page is requested for the same window
    response = get(client, "/?window=all")
    # THEN it is a self-contained HTML page with one row per company, each labelled as sample data
    _assert_html_with_csp(response)
    page = parse(response.body)
    assert len(page.rows) == len(api["companies"]) == len(SAMPLE_SLUGS)
    body = response.body.decode()
    assert "Sample data." in body and body.count('<span class="sample">sample data</span>') >= 1 + len(SAMPLE_SLUGS)
    # AND each row shows the API's rank, medians and verdict for that company, in the API's order
    for row, entry in zip(page.rows, api["companies"], strict=True):
        values, text = row["values"], row["text"]
        assert entry["company"]["name"] in text
        assert values[0] == ("" if entry["rank"] is None else str(entry["rank"]))
        tiers = entry["stats"]["all"]["tiers"]
        for offset, tier in enumerate(("ordinary", "notable", "high_profile")):
            expected = tiers[tier]["median_minutes"] if tiers[tier]["median_reached"] else None
            shown = values[4 + offset]
            assert (shown == "") if expected is None else float(shown) == pytest.approx(expected, rel=1e-5)
        comparison = entry["stats"]["all"]["comparison"]
        if comparison["verdict"] == "favours_high_profile":
            factor = re.search(r"answers high-profile customers ([0-9.]+)× faster", text)
            assert factor and float(factor.group(1)) == pytest.approx(comparison["ratio"], rel=0.05)
        elif comparison["verdict"] == "favours_ordinary":
            factor = re.search(r"answers ordinary customers ([0-9.]+)× faster", text)
            assert factor and float(factor.group(1)) == pytest.approx(1 / comparison["ratio"], rel=0.05)
        elif comparison["verdict"] == "no_evidence":
            assert "no evidence of a difference" in text
        else:
            assert "not enough data yet" in text
    # AND the sample profiles cover both directions of unfairness, so both sentences were exercised
    assert {e["verdict"] for e in api["companies"]} >= {"favours_high_profile", "favours_ordinary"}


def test_leaderboard_is_sortable_markup_and_needs_no_inline_script_or_style(client, site) -> None:
    # WHEN the leaderboard is requested
    response = get(client, "/")
    page = parse(response.body)
    body = response.body.decode()
    # THEN the table has a caption and column headers the script can sort by, in rank order
    assert "<caption" in body and body.count('<th scope="col" data-sort=') == len(page.rows[0]["values"])
    assert 'data-sort="rank" aria-sort="ascending"' in body
    # AND every resource is this site's own, and nothing inline needs a CSP exception
    assert sorted(page.resources) == ["/static/favicon.svg", "/static/site.css", "/static/sort.js"]
    assert page.inline_scripts == 0 and page.style_attributes == 0
    assert '<html lang="en">' in body and body.count("<h1") == 1
    assert all(tag in body for tag in ("<header", "<main", "<footer", '<label for="window"', '<label for="platform"'))


def test_window_and_platform_switches_select_the_figures_and_the_csv(client, site) -> None:
    # WHEN the leaderboard is asked for the last 7 days on X only
    response = get(client, "/?window=7d&platform=x")
    body = response.body.decode()
    # THEN the form shows that choice and the CSV link asks the API for the same table
    _assert_html_with_csp(response)
    assert '<option value="7d" selected>' in body and '<option value="x" selected>' in body
    assert 'href="/v1/leaderboard?format=csv&amp;window=7d&amp;platform=x"' in body
    assert 'href="/v1/methodology"' in body
    # AND the complaint counts are the API's X-only counts for that window
    api = json.loads(get(client, "/v1/leaderboard?window=7d&platform=x").body)
    counts = [sum(t["complaints"] for t in e["stats"]["x"]["tiers"].values()) for e in api["companies"]]
    assert [int(r["values"][7]) for r in parse(response.body).rows] == counts


def test_unranked_companies_say_so_instead_of_showing_a_rank(client) -> None:
    # GIVEN the default test registry, whose companies have no complaints at all
    # WHEN the leaderboard is requested
    response = get(client, "/")
    body = response.body.decode()
    # THEN every company is listed as unranked, with no verdict yet
    _assert_html_with_csp(response)
    assert body.count("unranked – insufficient data") == 2 and body.count("not enough data yet") == 2
    assert "Acme Air" in body and "Bolt Bank" in body and "Sample data." not in body


@pytest.mark.parametrize(("path", "parameter"), [
    ("/?window=1y", "window"), ("/?platform=myspace", "platform"),
    ("/companies/skyhop-air?window=yesterday", "window"), ("/companies/skyhop-air?platform=fax", "platform"),
])  # fmt: skip
def test_an_invalid_switch_is_a_400_page_naming_the_parameter(client, site, path: str, parameter: str) -> None:
    response = get(client, path)
    _assert_html_with_csp(response, 400)
    assert f"<h1>Invalid parameter: {parameter}</h1>" in response.body.decode()
    assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("slug", ["no-such-company", "Not_A_Slug", "x" * 200])
def test_an_unknown_company_is_a_404_page(client, site, slug: str) -> None:
    response = get(client, f"/companies/{slug}")
    _assert_html_with_csp(response, 404)
    assert "<h1>Not found</h1>" in response.body.decode()


def test_pages_carry_the_apis_cache_headers_and_answer_304(client, site) -> None:
    # GIVEN a first response with its ETag
    first = get(client, "/companies/voltmobile?window=90d")
    assert first.headers["Cache-Control"].startswith("public, max-age=")
    # WHEN the same page is asked for again with If-None-Match
    again = get(client, "/companies/voltmobile?window=90d", {"If-None-Match": first.headers["ETag"]})
    # THEN it is not sent again
    assert again.status_code == 304 and again.body == b""


# --- company pages ----------------------------------------------------------------------------------------


def test_company_page_draws_the_apis_curves_one_path_per_tier(client, site) -> None:
    # GIVEN the API's curve points for a company
    api = json.loads(get(client, "/v1/companies/parcelpigeon?window=30d&platform=all").body)
    tiers = {name: t for name, t in api["stats"]["all"]["tiers"].items() if t["curve"]}
    # WHEN its page is requested
    response = get(client, "/companies/parcelpigeon?window=30d")
    _assert_html_with_csp(response)
    body = response.body.decode()
    # THEN the chart is labelled and has one step path per tier, with as many points as the API gives
    curves = [p for p in parse(response.body).paths if p.get("data-tier")]
    assert sorted(p["data-tier"] for p in curves) == sorted(tiers)
    for path in curves:
        assert int(path["data-points"]) == len(tiers[path["data-tier"]]["curve"])
        assert path["d"].count("V") >= 10  # a step drops at many event times
    assert 'role="img"' in body and "<title id=" in body and "<desc id=" in body
    # AND the verdict, the SLA and the links to its data are there
    assert "Within SLA" in body and "verdict-" in body
    assert 'href="/v1/companies/parcelpigeon?format=csv&amp;window=30d"' in body
    assert 'href="/v1/companies/parcelpigeon/complaints?format=csv&amp;limit=1000&amp;since=' in body


def test_company_page_never_identifies_ordinary_or_notable_customers(client, site) -> None:
    from chalicelib import runtime
    from chalicelib.domain.models import Tier

    # GIVEN every handle in the store, split into public figures and everyone else
    complaints, cursor = [], None
    while True:
        found = runtime.store().list_complaints("skyhop-air", limit=1000, cursor=cursor)
        complaints += found.items
        if (cursor := found.next_cursor) is None:
            break
    public = {c.author_handle for c in complaints if c.tier == Tier.HIGH_PROFILE}
    private = {c.author_handle for c in complaints if c.tier != Tier.HIGH_PROFILE} - public
    assert "jane_private" in private and "famous_person" in public
    for window in ("7d", "30d", "all"):
        # WHEN the company page is requested
        body = get(client, f"/companies/skyhop-air?window={window}").body.decode()
        # THEN no handle of an ordinary or notable complainant appears, nor a link to their post
        shown = set(re.findall(r"[A-Za-z0-9_]+", body))
        assert not shown & private, window
        assert ORDINARY_URL not in body and 'status/7001"' not in body
        # AND evidence rows name complainants by pseudonym only
        assert re.search(r"<td>anon-[0-9a-f]+</td>", body)
    # AND the public figure's complaint is linked in the 7-day evidence (so the list really held both)
    body = get(client, "/companies/skyhop-air?window=7d").body.decode()
    assert f'href="{FAMOUS_URL}"' in body


def test_sample_pages_make_no_reference_to_another_host(client, site) -> None:
    for path in ("/", "/?window=all", *(f"/companies/{slug}" for slug in ("parcelpigeon", "voltmobile"))):
        # WHEN a page of sample data is rendered
        response = get(client, path)
        page = parse(response.body)
        # THEN it refers to no other host at all, and its resources are relative to this site
        external = [u for u in re.findall(r"https?://[^\s\"'<>]+", response.body.decode())
                    if not u.startswith(("http://127.0.0.1", "https://127.0.0.1"))]
        assert external == [], path
        assert all(r.startswith("/static/") for r in page.resources)
        assert all(link.startswith(("/", "#")) for link in page.links)


def test_a_company_not_on_the_chosen_platform_says_so(client, site) -> None:
    response = get(client, "/companies/skyhop-air?platform=reddit")
    _assert_html_with_csp(response)
    assert "not tracked on Reddit" in response.body.decode()


# --- static assets and wording ----------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "content_type"), [
    ("sort.js", "text/javascript; charset=utf-8"), ("site.css", "text/css; charset=utf-8"),
    ("favicon.svg", "image/svg+xml"),
])  # fmt: skip
def test_static_assets_are_served_with_long_caching(client, name: str, content_type: str) -> None:
    response = get(client, f"/static/{name}")
    assert response.status_code == 200 and response.headers["Content-Type"] == content_type
    assert response.headers["Cache-Control"] == "public, max-age=3600" and response.headers["ETag"]
    assert b"http://" not in response.body.replace(b"http://www.w3.org/2000/svg", b"") and b"https://" not in response.body


def test_an_unknown_static_file_is_404(client) -> None:
    assert get(client, "/static/app.py").status_code == 404


@pytest.mark.parametrize(("verdict", "ratio", "expected"), [
    ("favours_high_profile", 14.2, "answers high-profile customers 14× faster"),
    ("favours_high_profile", 1.74, "answers high-profile customers 1.7× faster"),
    ("favours_ordinary", 0.25, "answers ordinary customers 4.0× faster"),
    ("no_evidence", 1.1, "no evidence of a difference"),
    ("insufficient_data", 53.0, "not enough data yet"),
])  # fmt: skip
def test_verdicts_read_as_words(verdict: str, ratio: float, expected: str) -> None:
    from chalicelib.web.format import verdict_words

    assert verdict_words(verdict, ratio) == expected


@pytest.mark.parametrize(("minutes", "expected"), [
    (0.4, "< 1 min"), (45.2, "45 min"), (60, "1 h"), (290.2, "4 h 50 min"), (1532.7, "25 h 33 min"),
    (4000, "2 d 19 h"), (None, "—"),
])  # fmt: skip
def test_durations_use_readable_units(minutes: float | None, expected: str) -> None:
    from chalicelib.web.format import duration

    assert duration(minutes) == expected


def test_a_median_not_reached_is_shown_with_the_answered_share() -> None:
    from chalicelib.web.format import median_text

    tier = {"complaints": 40, "median_reached": False, "median_minutes": None, "answered_share": 0.425}
    assert median_text(tier) == "not reached (42% answered)"


def _luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def _contrast(a: str, b: str) -> float:
    """WCAG 2.x contrast ratio (https://www.w3.org/TR/WCAG21/#dfn-contrast-ratio)."""
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_text_colours_meet_wcag_aa_contrast() -> None:
    # GIVEN the stylesheet's colour variables and the colour pairs it draws text with
    css = (ROOT / "chalicelib/web/static/site.css").read_text()
    colours = dict(re.findall(r"--([a-z_]+):\s*(#[0-9a-fA-F]{6})", css))
    pairs = [(colours[name], colours["bg"]) for name in ("text", "muted", "link", "ordinary", "notable", "high_profile")]
    pairs += [("#4a3700", "#fff3cd"), ("#ffffff", colours["link"]), ("#8b0000", colours["bg"])]  # badge, button, error
    # THEN every pair reaches 4.5:1
    assert all(hex_colour in css for pair in pairs[-3:] for hex_colour in pair)
    assert min(_contrast(fg, bg) for fg, bg in pairs) >= 4.5
