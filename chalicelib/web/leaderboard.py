"""The leaderboard page body: one sortable table row per company, read from ``queries.summaries``.

Each cell carries a ``data-value`` (a number, or empty when the figure is missing) that the
progressive-enhancement script sorts by; without the script the table stays in rank order.
"""

from __future__ import annotations

from collections.abc import Mapping
from html import escape
from typing import Any

from chalicelib.web import format as fmt
from chalicelib.web.layout import sample_banner, switches, url
from chalicelib.web.svg import bar

_COLUMNS: tuple[tuple[str, str], ...] = (
    ("rank", "Rank"),
    ("company", "Company"),
    ("verdict", "Verdict"),
    ("ratio", "Ratio"),
    ("median_ordinary", "Median reply: ordinary"),
    ("median_notable", "notable"),
    ("median_high_profile", "high-profile"),
    ("complaints", "Complaints"),
    ("answered", "Answered"),
    ("deflection", "“DM us” replies"),
    ("sla", "Within SLA"),
)

#: Verdicts sort by how strong a finding they are; "not enough data" has no value and sorts last.
_VERDICT_ORDER: dict[str, int] = {"favours_high_profile": 0, "favours_ordinary": 1, "no_evidence": 2}


def _value(value: float | int | str | None) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    return escape(str(value))


def _cell(text: str, value: float | int | str | None, css: str = "") -> str:
    cls = f' class="{css}"' if css else ""
    return f'<td data-value="{_value(value)}"{cls}>{text}</td>'


def _median_cell(tier: Mapping[str, Any] | None, name: str, scale: float) -> str:
    reached = bool(tier and tier.get("median_reached"))
    value = tier.get("median_minutes") if tier and reached else None
    text = escape(fmt.median_text(tier))
    if tier and tier.get("complaints"):
        text += f' <span class="n">n={int(tier["complaints"])}</span>'
    return _cell(f'{bar(value, scale, name)}<span class="figure">{text}</span>', value, "median")


def _company_cell(company: Mapping[str, Any], window: str, platform: str) -> str:
    link = url(f"/companies/{company['slug']}", window=window, platform=None if platform == "all" else platform)
    badge = ' <span class="sample">sample data</span>' if company.get("sample") else ""
    return _cell(f'<a href="{escape(link)}">{escape(company["name"])}</a>{badge}', company["name"].casefold(), "name")


def _row(entry: Mapping[str, Any], platform: str, window: str, scale: float) -> str:
    stats = entry["stats"].get(platform)
    company = entry["company"]
    rank = entry.get("rank")
    rank_text = f"{rank}" if rank is not None else '<span class="muted">unranked – insufficient data</span>'
    cells = [_cell(rank_text, rank, "num"), _company_cell(company, window, platform)]
    if stats is None:
        cells.append(f'<td colspan="{len(_COLUMNS) - 2}" class="muted">not tracked on this platform</td>')
        return f"<tr>{''.join(cells)}</tr>"
    tiers, comparison = stats["tiers"], stats["comparison"]
    complaints = sum(int(t.get("complaints") or 0) for t in tiers.values())
    answered = fmt.pooled_share(tiers, "answered", "complaints")
    deflection = fmt.pooled_share(tiers, "deflections", "replies")
    sla = fmt.pooled_share(tiers, "sla_met", "sla_decided")
    verdict = comparison.get("verdict") or "insufficient_data"
    sla_target = f'<br><span class="n">target {escape(fmt.duration(company["sla_minutes"]))}</span>' \
        if company.get("sla_minutes") else ""
    cells += [
        _cell(f'<span class="verdict verdict-{verdict}">{escape(fmt.verdict_words(verdict, comparison.get("ratio")))}'
              "</span>", _VERDICT_ORDER.get(verdict), "verdict"),
        _cell(_ratio(comparison), comparison.get("ratio"), "num"),
        *(_median_cell(tiers.get(name), name, scale) for name in fmt.TIERS),
        _cell(str(complaints), complaints, "num"),
        _cell(fmt.percent(answered), answered, "num"),
        _cell(fmt.percent(deflection), deflection, "num"),
        _cell(fmt.percent(sla) + sla_target, sla, "num"),
    ]
    return f"<tr>{''.join(cells)}</tr>"


def _ratio(comparison: Mapping[str, Any]) -> str:
    """The ratio on one line and its interval (or why there is none) in small type below."""
    ratio, low, high = comparison.get("ratio"), comparison.get("ratio_ci_low"), comparison.get("ratio_ci_high")
    if ratio is None:
        return f'{fmt.MISSING}<br><span class="n">{escape(comparison.get("ratio_note") or "not defined")}</span>'
    if low is None and high is None:
        return f'{fmt.number(ratio)}<br><span class="n">no interval: too few</span>'
    upper = fmt.number(high) if high is not None else "∞"
    return f'{fmt.number(ratio)}<br><span class="n">95% CI {fmt.number(low)}–{upper}</span>'


def _scale(entries: list[Mapping[str, Any]], platform: str) -> float:
    """One scale for every bar on the page, so bars compare across companies and tiers."""
    medians = [
        t["median_minutes"]
        for e in entries
        for t in ((e["stats"].get(platform) or {}).get("tiers") or {}).values()
        if t.get("median_reached") and t.get("median_minutes") is not None
    ]
    return max(medians, default=0.0)


def _header() -> str:
    cells = []
    for key, label in _COLUMNS:
        sort = ' aria-sort="ascending"' if key == "rank" else ""
        cells.append(f'<th scope="col" data-sort="{key}"{sort}>{label}</th>')
    return f"<thead><tr>{''.join(cells)}</tr></thead>"


def render(doc: Mapping[str, Any], *, window: str, platform: str, thresholds: tuple[int, int] = (1_000, 100_000)) -> str:
    """The leaderboard's ``<main>`` content for a ``queries.summaries`` document.

    ``thresholds`` are the configured follower counts at which the notable and high-profile tiers begin.
    """
    notable, high = (f"{n:,}" for n in thresholds)
    entries = list(doc["companies"])
    scale = _scale(entries, platform)
    rows = "\n".join(_row(e, platform, window, scale) for e in entries)
    csv = url("/v1/leaderboard", format="csv", window=window, platform=None if platform == "all" else platform)
    json_link = url("/v1/leaderboard", window=window, platform=None if platform == "all" else platform)
    banner = sample_banner() if any(e["company"].get("sample") for e in entries) else ""
    caption = (f"Companies by how fairly and how fast they answer complaints — "
               f"{escape(fmt.WINDOW_LABELS[window].lower())}, {escape(fmt.PLATFORM_LABELS[platform].lower())}")
    table = (
        '<p class="scroll-hint">The table scrolls sideways for more columns.</p>'
        '<div class="table-scroll" role="region" aria-labelledby="board-caption" tabindex="0">'
        f'<table class="board" data-sortable><caption id="board-caption">{caption}</caption>'
        f"{_header()}<tbody>\n{rows}\n</tbody></table></div>"
    ) if entries else '<p class="empty">No companies are tracked yet.</p>'
    return f"""<h1>Who gets a faster answer?</h1>
<p class="lede">How long companies take to answer complaints on social media — and whether customers with a
large audience (“high-profile”, {high}+ followers) are answered faster than ordinary ones (under {notable}).
Medians are Kaplan–Meier estimates: complaints still unanswered count as waiting, never as answered.</p>
{banner}
{switches("/", window, platform)}
{table}
<p class="sort-status" aria-live="polite"></p>
<p class="downloads">Download: <a href="{escape(csv)}">this table as CSV</a> ·
<a href="{escape(json_link)}">JSON</a> · <a href="/v1/methodology">how the figures are computed</a></p>
<p class="note">Medians are shown per audience tier: ordinary (under {notable} followers), notable and high-profile
({high} or more). Ratio = ordinary median ÷ high-profile median, with a 95% bootstrap interval. A company is ranked
and given a verdict only with at least {_min_sample(entries, platform)} complaints in each of the two tiers;
“no evidence of a difference” means the log-rank test and the interval do not show one.</p>
"""


def _min_sample(entries: list[Mapping[str, Any]], platform: str) -> str:
    for e in entries:
        found = ((e["stats"].get(platform) or {}).get("comparison") or {}).get("min_sample")
        if found:
            return str(found)
    return "the minimum number of"
