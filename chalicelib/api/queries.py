"""Read-side service functions: (store, companies, parameters) → public dictionaries.

Named windows are served from the aggregate job's snapshots. An explicit ``since``/``until`` range (imported
archives of any period) is computed on request from the stored complaints, with the same helpers and
options as the job, so a range equal to a window gives the same figures. Its cost is capped: at most
:data:`MAX_RANGE_COMPLAINTS` complaints per company (a larger range is refused with 400 naming ``since``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from chalicelib.api import serialise
from chalicelib.api.errors import BadParameter, NotFound, Unavailable
from chalicelib.api.params import WINDOW_DAYS, Period

if TYPE_CHECKING:
    from chalicelib.domain.models import Company, Complaint
    from chalicelib.jobs.aggregate import AggregateOptions
    from chalicelib.store.base import Store

MAX_RANGE_COMPLAINTS = 20_000
_PAGE = 1000
ENV_SALT = "FAIR_REPLY_PSEUDONYM_SALT"


def options() -> AggregateOptions:
    """The aggregate job's own options, so on-request figures equal the scheduled ones."""
    from chalicelib import runtime
    from chalicelib.jobs.aggregate import AggregateOptions

    return AggregateOptions(min_sample=runtime.settings().min_sample)


def find_company(companies: Mapping[str, Company], slug: str) -> Company:
    if slug not in companies:
        raise NotFound(f"no company {slug!r}", "slug")
    return companies[slug]


# --- one company's internal body -------------------------------------------------------------------


def _read_complaints(store: Store, slug: str, since: datetime | None, until: datetime | None) -> list[Complaint]:
    out: list[Complaint] = []
    cursor = None
    while True:
        page = store.list_complaints(slug, since=since, until=until, limit=_PAGE, cursor=cursor)
        out.extend(page.items)
        if len(out) > MAX_RANGE_COMPLAINTS:
            raise BadParameter(
                f"since: the range holds more than {MAX_RANGE_COMPLAINTS} complaints of {slug!r}; narrow since/until",
                "since",
                code="range_too_large",
            )
        if page.next_cursor is None:
            return out
        cursor = page.next_cursor


def compute_body(store: Store, company: Company, period: Period, now: datetime, opts: AggregateOptions) -> dict:
    """An aggregate-shaped body for ``period``, computed from the stored complaints.

    Unanswered complaints are censored at their source's horizon, or at the range's end (or now, whichever
    is earlier) when the source has none — exactly as the aggregate job does.
    """
    from chalicelib.jobs.aggregate import (
        breakdowns_of,
        category_counts,
        company_snapshot,
        examples_of,
        samples_from_complaints,
    )

    if period.explicit:
        since, until = period.since, period.until
    else:
        days = WINDOW_DAYS[period.window]
        since, until = (now - timedelta(days=days) if days else None), None
    horizon = min(until, now) if until is not None else now
    complaints = _read_complaints(store, company.slug, since, until)
    horizons = store.get_horizons(company.slug)
    samples, observations = samples_from_complaints(complaints, horizons, horizon)
    extra = {
        "coverage": {source: h.isoformat() for source, h in sorted(horizons.items())},
        "breakdowns": breakdowns_of(observations),
        "examples": examples_of(complaints),
        "categories": category_counts(complaints),
    }
    body = company_snapshot(company, period.label, samples, now=horizon, since=since, options=opts, extra=extra)
    body["until"] = until.isoformat() if until is not None else now.isoformat()
    body["generated_at"] = now.isoformat()
    return body


def company_body(
    store: Store, company: Company, period: Period, now: datetime, opts: AggregateOptions | None = None
) -> dict:
    """The snapshot for a named window, else (a company added since the last aggregate run) computed now.

    ``opts`` defaults to :func:`options`, resolved only when computing: serving a snapshot never imports the
    aggregate job and its statistics.
    """
    from chalicelib.jobs.snapshots import company_info, company_key

    if not period.explicit:
        found = store.get_snapshot(company_key(company.slug, period.window))
        if found is not None:
            body = dict(found[0])
            body["company"] = company_info(company)  # the registry's current view (e.g. just retired)
            return body
    return compute_body(store, company, period, now, opts or options())


def _leaderboard_entries(store: Store, period: Period) -> dict[str, dict]:
    """The window's leaderboard snapshot by slug: one read serves every company (curves already stripped)."""
    from chalicelib.jobs.snapshots import leaderboard_key

    if period.explicit:
        return {}
    found = store.get_snapshot(leaderboard_key(period.window))
    return {e["company"]["slug"]: e for e in found[0].get("companies", [])} if found else {}


def _listed_body(entry: dict | None, company: Company) -> dict | None:
    if entry is None:
        return None
    from chalicelib.jobs.snapshots import company_info

    return {**entry, "company": company_info(company)}


# --- ranking and sorting ---------------------------------------------------------------------------------


def ranks(bodies: list[dict], platform: str, now: datetime) -> dict[str, int | None]:
    """Rank by the aggregate job's own rule, on the chosen platform's figures (all platforms by default)."""
    from chalicelib.jobs.snapshots import leaderboard_snapshot

    empty = {"tiers": {}, "comparison": {}}
    entries = [{"company": b["company"], "platforms": {"all": b["platforms"].get(platform) or empty}} for b in bodies]
    ranked = leaderboard_snapshot("rank", entries, now)["companies"]
    return {e["company"]["slug"]: e["rank"] for e in ranked}


def _metric(entry: Mapping[str, Any], key: str, platform: str) -> float | str | None:
    stats = entry["stats"].get(platform)
    if key == "name":
        return entry["company"]["name"].casefold()
    if key == "slug":
        return entry["company"]["slug"]
    if key == "rank":
        return entry["rank"]
    if stats is None:
        return None
    if key == "ratio":
        return stats["comparison"]["ratio"]
    if key == "complaints":
        return sum(t["complaints"] for t in stats["tiers"].values())
    tier = "ordinary" if key == "median_ordinary" else "high_profile"
    return (stats["tiers"].get(tier) or {}).get("median_minutes")


def sort_entries(entries: list[dict], sort: str, platform: str) -> list[dict]:
    """Sort by ``sort`` (``-`` prefix for descending); missing values always last, ties by slug."""
    key, descending = sort.lstrip("-"), sort.startswith("-")
    present = [e for e in entries if _metric(e, key, platform) is not None]
    missing = [e for e in entries if _metric(e, key, platform) is None]
    present.sort(key=lambda e: e["company"]["slug"])
    present.sort(key=lambda e: _metric(e, key, platform), reverse=descending)  # type: ignore[arg-type,return-value]
    missing.sort(key=lambda e: e["company"]["slug"])
    return present + missing


# --- public documents ------------------------------------------------------------------------------------


def _meta(bodies: list[dict], period: Period, generated_at: str) -> dict[str, Any]:
    first = bodies[0] if bodies else {}
    return serialise.meta(
        generated_at=generated_at,
        window=period.label,
        since=period.since.isoformat() if period.since else first.get("since"),
        until=period.until.isoformat() if period.until else first.get("until"),
        methodology_version=first.get("methodology_version") or _methodology_version(),
        coverage_rows=serialise.coverage({b["company"]["slug"]: b.get("coverage") or {} for b in bodies}),
    )


def _methodology_version() -> str:
    from chalicelib.jobs.snapshots import METHODOLOGY_VERSION

    return METHODOLOGY_VERSION


def _generated_at(bodies: list[dict], now: datetime) -> str:
    stamps = [b["generated_at"] for b in bodies if b.get("generated_at")]
    return min(stamps) if stamps else now.isoformat()


def summaries(
    store: Store,
    companies: Mapping[str, Company],
    period: Period,
    *,
    platform: str | None,
    sort: str,
    now: datetime,
    include_retired: bool,
    opts: AggregateOptions | None = None,
) -> dict[str, Any]:
    """The leaderboard (live companies) or the company list (retired too): one summary per company."""
    chosen = [c for _, c in sorted(companies.items()) if include_retired or not c.retired]
    listed = _leaderboard_entries(store, period)
    bodies = [_listed_body(listed.get(c.slug), c) or company_body(store, c, period, now, opts) for c in chosen]
    return summaries_document(bodies, period, platform=platform, sort=sort, now=now)


def summaries_document(
    bodies: list[dict], period: Period, *, platform: str | None, sort: str, now: datetime
) -> dict[str, Any]:
    """The public list of ``bodies`` (one per company, in slug order); also how the aggregate run publishes it."""
    rank_of = ranks(bodies, platform or "all", now)
    entries = [serialise.company_summary(b, rank=rank_of.get(b["company"]["slug"]), platform=platform) for b in bodies]
    return {
        "meta": _meta(bodies, period, _generated_at(bodies, now)),
        "companies": sort_entries(entries, sort, platform or "all"),
    }


def company_page(
    store: Store,
    companies: Mapping[str, Company],
    slug: str,
    period: Period,
    *,
    platform: str | None,
    now: datetime,
    opts: AggregateOptions | None = None,
) -> dict[str, Any]:
    """One company's figures per platform with curves, breakdowns, weekly trend and high-profile examples.

    A named window is read ready-made when the aggregate run published it (:mod:`chalicelib.api.published`)
    and the company is still as it was then; otherwise it is shaped here from the snapshot.
    """
    company = find_company(companies, slug)
    if not period.explicit:
        from chalicelib.api import published

        ready = published.read_company(store, company, period.window)
        body = None if ready is None else published.text(store, ready)
        if body is not None:
            return published.company_page(body, platform)
    return shaped_company_page(store, company, period, platform=platform, now=now, opts=opts)


def shaped_company_page(
    store: Store,
    company: Company,
    period: Period,
    *,
    platform: str | None,
    now: datetime,
    opts: AggregateOptions | None = None,
) -> dict[str, Any]:
    """:func:`company_page` shaped from the company's snapshot (or computed), its rank from the leaderboard's."""
    from chalicelib.jobs.snapshots import leaderboard_key

    body = company_body(store, company, period, now, opts)
    rank = None
    if not company.retired and not period.explicit:
        found = store.get_snapshot(leaderboard_key(period.window))
        listed = {e["company"]["slug"]: e.get("rank") for e in (found[0].get("companies", []) if found else [])}
        rank = listed.get(company.slug)
    return company_document(body, period, platform=platform, rank=rank, now=now)


def company_document(
    body: Mapping[str, Any], period: Period, *, platform: str | None, rank: int | None, now: datetime
) -> dict[str, Any]:
    """The public page of one company's body; also how the aggregate run publishes it."""
    return {"meta": _meta([dict(body)], period, body.get("generated_at") or now.isoformat()),
            **serialise.company_detail(body, platform=platform, rank=rank)}


def badge_figures(page: Mapping[str, Any], platform: str | None) -> dict[str, Any]:
    stats = page["stats"].get(platform or "all") or {"tiers": {}, "comparison": {"verdict": "insufficient_data"}}
    tiers = stats["tiers"]
    return {
        "name": page["company"]["name"],
        "ordinary": tiers.get("ordinary"),
        "high_profile": tiers.get("high_profile"),
        "verdict": stats["comparison"]["verdict"],
    }


# --- complaint evidence ----------------------------------------------------------------------------------


def pseudonym_salt(env: Mapping[str, str] | None = None) -> bytes:
    """``FAIR_REPLY_PSEUDONYM_SALT``, else derived from the link-signing key (env, SSM, or the local key file)."""
    env = os.environ if env is None else env
    configured = env.get(ENV_SALT)
    if configured:
        return configured.encode("utf-8")
    from chalicelib import runtime
    from chalicelib.notify.keys import pseudonym_salt as derive
    from chalicelib.notify.keys import signing_key

    try:
        return derive(signing_key(runtime.settings(), env=env))
    except Exception as exc:  # SSM unreachable or misconfigured: withhold the evidence rather than expose it
        raise Unavailable("the pseudonym salt is not available; complaints cannot be listed now") from exc


def complaints_page(
    store: Store,
    companies: Mapping[str, Company],
    slug: str,
    *,
    since: datetime | None,
    until: datetime | None,
    platform: str | None,
    tier: str | None,
    answered: bool | None,
    limit: int,
    cursor: str | None,
    now: datetime,
    salt: Callable[[], bytes] = pseudonym_salt,
) -> dict[str, Any]:
    """A page of a company's complaints (oldest first), deleted ones withheld; ``next_cursor`` resumes."""
    from chalicelib.domain.privacy import is_public_tier, pseudonym
    from chalicelib.store.errors import InvalidCursor

    company = find_company(companies, slug)
    if since is not None and until is not None and since >= until:
        raise BadParameter("since: must be earlier than until", "since")
    try:
        page = store.list_complaints(
            company.slug, since=since, until=until, platform=None if platform in (None, "all") else platform,
            tier=tier, answered=answered, category="complaint", limit=limit, cursor=cursor,
        )
    except InvalidCursor as exc:
        raise BadParameter(f"cursor: {exc.reason}", "cursor") from exc
    key = salt()
    rows = [
        serialise.complaint(c, pseudonym(key, c.platform, c.author_id or c.author_handle), public=is_public_tier(c.tier))
        for c in page.items
        if not c.deleted
    ]
    horizons = store.get_horizons(company.slug)
    period = Period(window="all", since=since, until=until)
    meta = serialise.meta(
        generated_at=now.isoformat(), window=period.label if period.explicit else "all",
        since=since.isoformat() if since else None, until=until.isoformat() if until else None,
        methodology_version=_methodology_version(),
        coverage_rows=serialise.coverage({company.slug: {s: h.isoformat() for s, h in horizons.items()}}),
    )
    return {"meta": meta, "company": company.slug, "complaints": rows, "next_cursor": page.next_cursor}
