"""A company page body from ``queries.company_page`` and the first page of ``queries.complaints_page``.

Privacy: complainants appear as the API shows them. Evidence rows carry only the pseudonym of an
ordinary or notable complainant; a handle or post link is printed only where the API provides one, which
it does for high-profile complainants (public figures) and the company's own replies.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from html import escape
from typing import Any

from chalicelib.web import format as fmt
from chalicelib.web.layout import sample_banner, switches, url
from chalicelib.web.svg import survival_chart

_SAFE_SCHEMES = ("https://", "http://")


def _link(href: str | None, text: str) -> str:
    """A link to a public post, only for web URLs (never ``javascript:`` or other schemes)."""
    if not href or not href.startswith(_SAFE_SCHEMES):
        return escape(text)
    return f'<a href="{escape(href)}" rel="noopener noreferrer nofollow">{escape(text)}</a>'


def _table(caption: str, headers: Sequence[str], rows: Iterable[Sequence[str]], css: str = "") -> str:
    """A simple data table in a scrolling region; cells are trusted markup."""
    body = "\n".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    if not body:
        return f'<p class="empty">{escape(caption)}: none in this period.</p>'
    head = "".join(f'<th scope="col">{escape(h)}</th>' for h in headers)
    cls = f' class="{css}"' if css else ""
    return (
        f'<div class="table-scroll" role="region" aria-label="{escape(caption)}" tabindex="0">'
        f"<table{cls}><caption>{escape(caption)}</caption><thead><tr>{head}</tr></thead>"
        f"<tbody>\n{body}\n</tbody></table></div>"
    )


def _cell_figures(cell: Mapping[str, Any]) -> list[str]:
    return [str(cell.get("complaints", 0)), escape(fmt.percent(cell.get("answered_share"))),
            escape(fmt.median_text(cell)), escape(fmt.median_ci_text(cell))]


_CELL_HEADERS = ("Complaints", "Answered", "Median reply", "95% CI of median")


def _sla(tier: Mapping[str, Any]) -> str:
    if tier.get("sla_minutes") is None:
        return fmt.MISSING
    text = f"{fmt.percent(tier.get('sla_compliance'))} ({tier.get('sla_met') or 0} of {tier.get('sla_decided') or 0}"
    pending = tier.get("sla_pending") or 0
    return escape(text + (f"; {pending} still open)" if pending else ")"))


def _tier_table(tiers: Mapping[str, Mapping[str, Any]]) -> str:
    rows = []
    for name in fmt.TIERS:
        t = tiers.get(name)
        if t is None:
            continue
        rows.append([
            f'<span class="key key-{name}" aria-hidden="true"></span>{fmt.TIER_LABELS[name]}',
            str(t.get("complaints", 0)), f"{t.get('answered', 0)} ({escape(fmt.percent(t.get('answered_share')))})",
            escape(fmt.median_text(t)), escape(fmt.median_ci_text(t)),
            escape(fmt.percent(t.get("answered_within_1h"))), escape(fmt.percent(t.get("answered_within_24h"))),
            escape(fmt.percent(t.get("answered_within_7d"))),
            escape(fmt.percent(t.get("deflection_share"))), _sla(t),
        ])
    headers = ("Tier", "Complaints", "Answered", "Median reply", "95% CI of median", "Within 1 h", "Within 24 h",
               "Within 7 days", "“DM us” share of replies", "Within SLA")
    return _table("Reply times per audience tier (Kaplan–Meier estimates)", headers, rows, "tiers")


def _chart(tiers: Mapping[str, Mapping[str, Any]], slug: str) -> str:
    curves = {name: t.get("curve") or [] for name, t in tiers.items()}
    words = "; ".join(
        f"{fmt.TIER_LABELS[n]}: {tiers[n].get('complaints', 0)} complaints, median reply {fmt.median_text(tiers[n])}"
        for n in fmt.TIERS if n in tiers
    )
    description = (f"Step curves of the share of complaints still without a first reply, against hours since the "
                   f"complaint. {words}.")
    return survival_chart(curves, chart_id=f"km-{slug}", description=description)


def _comparison(name: str, comparison: Mapping[str, Any]) -> str:
    verdict = comparison.get("verdict") or "insufficient_data"
    p_value = comparison.get("logrank_p_value")
    test = f"log-rank p = {p_value:.2g}" if p_value is not None else "no test run (too few complaints)"
    return (
        f'<p class="verdict-lede"><strong>{escape(name)}</strong>: '
        f'<span class="verdict verdict-{verdict}">{escape(fmt.verdict_words(verdict, comparison.get("ratio")))}'
        "</span>.</p>"
        f"<ul><li>Ratio of medians, ordinary ÷ high-profile: {escape(fmt.ratio_text(comparison))}; "
        f"{escape(test)}.</li><li>Deflection: {escape(fmt.deflection_words(comparison))}.</li></ul>"
    )


def _breakdowns(breakdowns: Mapping[str, Any] | None) -> str:
    if not breakdowns:
        return '<p class="empty">Audience bands and time-of-week figures are computed for the 7, 30 and 90-day ' \
               "periods only.</p>"
    bands = _table("By audience (followers when first seen)", ("Followers", *_CELL_HEADERS),
                   ([escape(str(b["band"])), *_cell_figures(b)] for b in breakdowns.get("audience_bands") or []))
    days = _table("By weekday of the complaint (UTC)", ("Weekday", *_CELL_HEADERS),
                  ([escape(str(d["weekday"])), *_cell_figures(d)] for d in breakdowns.get("by_weekday") or []))
    hours = _table("By hour of the complaint (UTC)", ("Hour", *_CELL_HEADERS),
                   ([f"{int(h['hour']):02d}:00", *_cell_figures(h)] for h in breakdowns.get("by_hour") or []))
    return (f'<div class="grid">{bands}{days}</div>'
            f"<details><summary>By hour of the day (24 rows)</summary>{hours}</details>")


def _trend(trend: Mapping[str, Sequence[Mapping[str, Any]]] | None) -> str:
    if not trend:
        return '<p class="empty">No weekly trend for this period.</p>'
    weeks = sorted({w["week"] for cells in trend.values() for w in cells})
    by = {(t, c["week"]): c for t, cells in trend.items() for c in cells}
    tiers = [t for t in fmt.TIERS if t in trend]
    rows = [[escape(week), *(escape(_trend_cell(by.get((t, week)))) for t in tiers)] for week in weeks]
    return _table("Median reply per ISO week", ("Week", *(fmt.TIER_LABELS[t] for t in tiers)), rows)


def _trend_cell(cell: Mapping[str, Any] | None) -> str:
    if not cell or not cell.get("complaints"):
        return fmt.MISSING
    return f"{fmt.median_text(cell)} (n={cell['complaints']})"


def _examples(examples: Sequence[Mapping[str, Any]]) -> str:
    rows = [
        [escape(fmt.PLATFORM_LABELS.get(e.get("platform") or "", e.get("platform") or "")),
         _link(e.get("complaint_url"), f"@{e['complainant_handle']}" if e.get("complainant_handle") else "post"),
         f"{int(e['followers']):,}" if e.get("followers") is not None else fmt.MISSING,
         escape((e.get("created_at") or "")[:16].replace("T", " ")),
         escape(fmt.duration(e.get("reply_minutes")) if e.get("reply_minutes") is not None else "no reply yet"),
         escape(e.get("reply_kind") or fmt.MISSING), _link(e.get("reply_url"), "reply") if e.get("reply_url") else
         fmt.MISSING]
        for e in examples
    ]
    return _table("Recent complaints from high-profile customers (public figures)",
                  ("Platform", "Complainant", "Followers", "Posted (UTC)", "First reply after", "Reply", "Reply post"),
                  rows)


def _evidence(evidence: Mapping[str, Any] | None, csv_link: str, since: str | None) -> str:
    if evidence is None:
        return '<p class="empty">The complaint list is unavailable right now; the figures above are unaffected.</p>'
    rows = [
        [escape(c.get("complainant") or ""),
         escape(fmt.TIER_LABELS.get(c.get("tier") or "", c.get("tier") or "")),
         escape(fmt.PLATFORM_LABELS.get(c.get("platform") or "", c.get("platform") or "")),
         _link(c.get("complaint_url"), (c.get("created_at") or "")[:16].replace("T", " ")),
         escape(fmt.duration(c.get("reply_minutes")) if c.get("answered") else "not answered"),
         escape(c.get("reply_kind") or fmt.MISSING),
         _link(c.get("reply_url"), "reply") if c.get("reply_url") else fmt.MISSING]
        for c in evidence.get("complaints") or []
    ]
    more = " More are in the CSV." if evidence.get("next_cursor") else ""
    start = f" since {escape(since)}" if since else ""
    return (
        f"<p>The first {len(rows)} complaints on record{start}, oldest first. Ordinary and notable customers appear "
        f'only under a pseudonym (anon-…).{more} <a href="{escape(csv_link)}">Download every complaint as CSV</a>.</p>'
        + _table("Evidence: complaints and first replies", ("Complainant", "Tier", "Platform", "Posted (UTC)",
                                                             "First reply after", "Reply", "Reply post"), rows)
    )


def _coverage(meta: Mapping[str, Any]) -> str:
    rows = [f"{escape(r['source'])}: {escape(r['observed_until'][:16].replace('T', ' '))} UTC"
            for r in meta.get("coverage") or []]
    return f'<p class="note">Observed until — {"; ".join(rows)}.</p>' if rows else ""


def render(page: Mapping[str, Any], evidence: Mapping[str, Any] | None, *, window: str, platform: str,
           evidence_since: str | None) -> str:
    """The company page's ``<main>`` content; ``evidence`` is None when the complaint list is unavailable."""
    company = page["company"]
    slug, name = company["slug"], company["name"]
    stats = page["stats"].get(platform)
    badge = ' <span class="sample">sample data</span>' if company.get("sample") else ""
    rank = page.get("rank")
    facts = [f"Rank {rank}" if rank is not None else "Unranked – insufficient data"]
    if company.get("sector"):
        facts.append(f"sector: {company['sector']}")
    if company.get("sla_minutes"):
        facts.append(f"reply target (SLA): {fmt.duration(company['sla_minutes'])}")
    if company.get("retired"):
        facts.append("no longer tracked")
    platform_q = None if platform == "all" else platform
    csv = url(f"/v1/companies/{slug}", format="csv", window=window, platform=platform_q)
    complaints_csv = url(f"/v1/companies/{slug}/complaints", format="csv", limit="1000", since=evidence_since,
                         platform=platform_q)
    head = (f"<h1>{escape(name)}{badge}</h1>\n<p class=\"facts\">{escape(' · '.join(facts))}</p>\n"
            f"{sample_banner() if company.get('sample') else ''}\n{switches(f'/companies/{slug}', window, platform)}")
    if stats is None:
        return head + f'<p class="empty">{escape(name)} is not tracked on {escape(fmt.PLATFORM_LABELS[platform])}.</p>'
    tiers = stats["tiers"]
    every = "" if platform == "all" else ' <span class="n">(all platforms)</span>'
    return f"""{head}
<section aria-labelledby="verdict-h"><h2 id="verdict-h">Verdict</h2>
{_comparison(name, stats["comparison"])}</section>
<section aria-labelledby="curves-h"><h2 id="curves-h">Time to first reply</h2>
<figure class="chart">{_chart(tiers, slug)}
<figcaption>The share of complaints still waiting for a first reply, hour by hour. A lower curve means faster
answers; a curve that stays above zero means some complaints were never answered (they count as waiting,
never as answered).</figcaption></figure>
{_tier_table(tiers)}
<p class="downloads"><a href="{escape(csv)}">These figures as CSV</a> ·
<a href="{escape(url(f"/v1/companies/{slug}", window=window, platform=platform_q))}">JSON with the curve points</a> ·
<a href="/v1/methodology">methodology</a></p></section>
<section aria-labelledby="examples-h"><h2 id="examples-h">High-profile examples</h2>
{_examples(page.get("examples") or [])}</section>
<section aria-labelledby="breakdowns-h"><h2 id="breakdowns-h">Who and when{every}</h2>
{_breakdowns(page.get("breakdowns"))}</section>
<section aria-labelledby="trend-h"><h2 id="trend-h">Weekly trend{every}</h2>
{_trend(page.get("weekly_trend"))}</section>
<section aria-labelledby="evidence-h"><h2 id="evidence-h">Evidence</h2>
{_evidence(evidence, complaints_csv, evidence_since)}</section>
{_coverage(page.get("meta") or {})}
"""
