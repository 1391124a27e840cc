"""The aggregate job: turn stored complaints into the snapshots the public API serves.

Incremental by construction (see docs/methodology.md, "Incremental aggregation"):

* the store numbers every complaint write (``changed_complaints``), and the job reads only the writes
  since its last run;
* each changed complaint is filed into its company's *day document* (``agg:{slug}:day:{YYYY-MM-DD}``,
  keyed by the UTC day it was made), which holds a compact copy of every complaint of that day and the
  day's per-tier :class:`TierState`;
* the company's *meta document* (``agg:{slug}:meta``) keeps the last sequence read, the list of days, and a
  copy of each day's TierState, from which the ``all`` window is merged without reading the day documents.

Both documents are written by assignment, never by delta, so a run that dies between writes is repaired
by the next one. The 7/30/90-day windows are recomputed from the window's day documents (their cost is
bounded by the window, not by history) and carry the breakdowns (audience bands, hour of week, weekly
trend); ``all`` is merged from the day states.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from chalicelib import __version__
from chalicelib.domain.breakdowns import audience_bands, hour_of_week_breakdown, tables_by, weekly_trend
from chalicelib.domain.breakdowns import hour_of_week as _how
from chalicelib.domain.fairness import (
    INSUFFICIENT_DATA,
    Observation,
    TierSample,
    TierState,
    company_stats,
    observations_from_complaints,
    samples_by_tier,
)
from chalicelib.domain.models import PLATFORMS, Category, Company, Complaint, Reply, ReplyKind, Tier, utc
from chalicelib.store.base import Store

WINDOWS: dict[str, int | None] = {"7d": 7, "30d": 30, "90d": 90, "all": None}
ALL_PLATFORMS = "all"
METHODOLOGY_VERSION = "1.0"
CURVE_POINTS = 120
EXAMPLES = 10
_PAGE = 1000
_OVERLAP = 100


def meta_key(slug: str) -> str:
    return f"agg:{slug}:meta"


def day_key(slug: str, day: str) -> str:
    return f"agg:{slug}:day:{day}"


def company_key(slug: str, window: str) -> str:
    return f"company:{slug}:{window}"


def leaderboard_key(window: str) -> str:
    return f"leaderboard:{window}"


# --- compact complaint copies -------------------------------------------------------------------


def _reply_doc(r: Reply | None) -> dict[str, Any] | None:
    if r is None:
        return None
    return {"id": r.post_id, "at": r.created_at.isoformat(), "kind": str(r.kind), "url": r.url, "by": r.author_handle}


def _reply_from(d: Mapping[str, Any] | None, c: Mapping[str, Any]) -> Reply | None:
    if not d:
        return None
    return Reply(
        platform=c["p"], post_id=d["id"], complaint_post_id=c["id"], company=c["co"], author_handle=d.get("by", ""),
        created_at=datetime.fromisoformat(d["at"]), kind=ReplyKind(d["kind"]), url=d.get("url"),
    )


def summary_doc(c: Complaint) -> dict[str, Any]:
    """What the statistics and the evidence need; a high-profile author's handle is kept for examples only."""
    public = c.tier == Tier.HIGH_PROFILE
    return {
        "p": c.platform, "id": c.post_id, "co": c.company, "at": c.created_at.isoformat(), "tier": str(c.tier),
        "f": c.followers, "cat": str(c.category), "del": c.deleted, "src": c.source or c.platform,
        "url": c.url if public else None, "who": c.author_handle if public else None,
        "r": _reply_doc(c.first_reply), "s": _reply_doc(c.first_substantive_reply),
    }


def summary_from(d: Mapping[str, Any]) -> Complaint:
    return Complaint(
        platform=d["p"], post_id=d["id"], company=d["co"], author_id="", author_handle=d.get("who") or "",
        created_at=datetime.fromisoformat(d["at"]), tier=Tier(d["tier"]), followers=d.get("f"),
        category=Category(d["cat"]), url=d.get("url"), deleted=bool(d.get("del")), source=d.get("src", ""),
        first_reply=_reply_from(d.get("r"), d), first_substantive_reply=_reply_from(d.get("s"), d),
    )


def _state_key(c: Complaint) -> str:
    return f"{c.platform}|{c.source or c.platform}|{c.tier}"


def _states_doc(states: Mapping[str, TierState]) -> dict[str, Any]:
    return {k: s.to_dict() for k, s in sorted(states.items())}


def _states_from(doc: Mapping[str, Any]) -> dict[str, TierState]:
    return {k: TierState.from_dict(v) for k, v in doc.items()}


# --- the job ------------------------------------------------------------------------------------


@dataclass
class AggregateResult:
    companies: int = 0
    complaints_read: int = 0
    days_written: int = 0
    snapshots_written: int = 0
    by_company: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class AggregateOptions:
    min_sample: int = 30
    replicates: int = 1000
    seed: int = 20261123


def _horizon_for(source: str, horizons: Mapping[str, datetime], now: datetime) -> datetime:
    """Unanswered complaints wait until the end of what was observed: the archive's end, or the last poll."""
    horizon = horizons.get(source)
    return min(horizon, now) if horizon is not None else now


def absorb_changes(store: Store, company: Company, now: datetime) -> tuple[dict[str, Any], int]:
    """Read the company's changed complaints into its day and meta documents; return (meta, complaints read)."""
    stored = store.get_snapshot(meta_key(company.slug))
    meta: dict[str, Any] = stored[0] if stored else {"seq": 0, "days": {}}
    seq = int(meta.get("seq", 0))
    days: dict[str, dict[str, Any]] = {}
    read = 0
    # DynamoDB change numbers can land slightly out of order: re-read a small overlap. Re-applying a change
    # already filed is a no-op, because the day document's copy is then identical to the complaint.
    after = max(0, seq - _OVERLAP)
    while True:
        changed, last = store.changed_complaints(company.slug, after=after, limit=_PAGE)
        if not changed:
            break
        for c in changed:
            day = c.created_at.date().isoformat()
            doc = days.get(day)
            if doc is None:
                got = store.get_snapshot(day_key(company.slug, day))
                doc = got[0] if got else {"complaints": {}, "states": {}}
                days[day] = doc
            key = f"{c.platform}:{c.post_id}"
            old = summary_from(doc["complaints"][key]) if key in doc["complaints"] else None
            states = _states_from(doc["states"])
            if old is not None:
                states.setdefault(_state_key(old), TierState()).apply(old, None)
            states.setdefault(_state_key(c), TierState()).apply(None, c)
            doc["states"] = _states_doc({k: s for k, s in states.items() if _nonempty(s)})
            doc["complaints"][key] = summary_doc(c)
        read += len(changed)
        after = last
        seq = max(seq, last)
    if not days and stored:
        return meta, 0
    return _write_days(store, company.slug, meta, days, seq, now), read


def _nonempty(state: TierState) -> bool:
    return bool(state.answered or state.pending)


def _write_days(
    store: Store, slug: str, meta: dict[str, Any], days: Mapping[str, dict[str, Any]], seq: int, now: datetime
) -> dict[str, Any]:
    for day, doc in sorted(days.items()):
        store.put_snapshot(day_key(slug, day), doc, now)
        meta["days"][day] = doc["states"]
    meta["seq"] = seq
    store.put_snapshot(meta_key(slug), meta, now)
    return meta


def _window_complaints(store: Store, slug: str, meta: Mapping[str, Any], since: datetime) -> list[Complaint]:
    out: list[Complaint] = []
    first_day = since.date().isoformat()
    for day in sorted(d for d in meta["days"] if d >= first_day):
        got = store.get_snapshot(day_key(slug, day))
        if got:
            out.extend(summary_from(d) for d in got[0]["complaints"].values())
    return [c for c in out if c.created_at >= since]


def samples_from_complaints(
    complaints: Iterable[Complaint], horizons: Mapping[str, datetime], now: datetime
) -> tuple[dict[str, dict[str, TierSample]], list[Observation]]:
    """Per platform (and ``all``): tier → sample, each source censored at its own horizon."""
    groups: dict[tuple[str, str], list[Complaint]] = {}
    for c in complaints:
        groups.setdefault((c.platform, c.source or c.platform), []).append(c)
    by_platform: dict[str, list[Observation]] = {}
    for (platform, source), group in sorted(groups.items()):
        by_platform.setdefault(platform, []).extend(
            observations_from_complaints(group, _horizon_for(source, horizons, now))
        )
    every = [o for obs in by_platform.values() for o in obs]
    samples = {p: samples_by_tier(o) for p, o in by_platform.items()}
    samples[ALL_PLATFORMS] = samples_by_tier(every)
    return samples, every


def _samples_from_states(meta: Mapping[str, Any], horizons: Mapping[str, datetime], now: datetime) -> dict:
    merged: dict[str, TierState] = {}
    for states in meta["days"].values():
        for key, doc in states.items():
            state = TierState.from_dict(doc)
            merged[key] = merged[key].merge(state) if key in merged else state
    samples: dict[str, dict[str, TierSample]] = {ALL_PLATFORMS: {}}
    for key, state in merged.items():
        platform, source, tier = key.split("|")
        sample = state.sample(_horizon_for(source, horizons, now))
        for p in (platform, ALL_PLATFORMS):
            bucket = samples.setdefault(p, {})
            bucket[tier] = bucket[tier].merge(sample) if tier in bucket else sample
    return samples


def company_info(company: Company) -> dict[str, Any]:
    return {
        "slug": company.slug, "name": company.name, "sector": company.sector, "sla_minutes": company.sla_minutes,
        "sample": company.sample, "retired": company.retired, "platforms": sorted(company.handles),
    }


def examples_of(complaints: Iterable[Complaint]) -> list[dict[str, Any]]:
    """High-profile complaints (public figures) with links to their public posts and the company's reply."""
    chosen = sorted(
        (c for c in complaints if c.tier == Tier.HIGH_PROFILE and c.category == Category.COMPLAINT and not c.deleted),
        key=lambda c: c.created_at,
        reverse=True,
    )[:EXAMPLES]
    return [
        {
            "platform": c.platform, "post_id": c.post_id, "author_handle": c.author_handle, "url": c.url,
            "created_at": c.created_at.isoformat(), "followers": c.followers,
            "reply_url": c.first_reply.url if c.first_reply else None,
            "reply_minutes": round((c.first_reply.created_at - c.created_at).total_seconds() / 60, 2)
            if c.first_reply else None,
            "reply_kind": str(c.first_reply.kind) if c.first_reply else None,
        }
        for c in chosen
    ]


def breakdowns_of(observations: list[Observation]) -> dict[str, Any]:
    return {
        "audience_bands": {b: s.to_dict() for b, s in audience_bands(observations).items()},
        "hour_of_week": hour_of_week_breakdown(tables_by(observations, lambda o: _how(o.created_at))).to_dict(),
        "weekly_trend": {t: {w: s.to_dict() for w, s in weeks.items()} for t, weeks in weekly_trend(observations).items()},
    }


def company_snapshot(
    company: Company,
    window: str,
    samples: Mapping[str, Mapping[str, TierSample]],
    *,
    now: datetime,
    since: datetime | None,
    options: AggregateOptions,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    platforms = {}
    for platform, tiers in sorted(samples.items()):
        stats = company_stats(
            tiers, company=company.slug, platform=platform, window=window, horizon=now,
            sla_minutes=company.sla_minutes, min_sample=options.min_sample,
            replicates=options.replicates, seed=options.seed,
        )
        platforms[platform] = stats.to_dict(curve_points=CURVE_POINTS)
    body = {
        "company": company_info(company),
        "window": window,
        "since": since.isoformat() if since else None,
        "until": now.isoformat(),
        "generated_at": now.isoformat(),
        "methodology_version": METHODOLOGY_VERSION,
        "platforms": platforms,
    }
    body.update(extra or {})
    return body


def aggregate_company(
    store: Store, company: Company, now: datetime, options: AggregateOptions
) -> tuple[dict[str, dict[str, Any]], int]:
    """Absorb the company's changes and rebuild its snapshot for every window."""
    meta, read = absorb_changes(store, company, now)
    horizons = store.get_horizons(company.slug)
    coverage = {source: h.isoformat() for source, h in sorted(horizons.items())}
    snapshots: dict[str, dict[str, Any]] = {}
    for window, days in WINDOWS.items():
        if days is None:
            samples = _samples_from_states(meta, horizons, now)
            extra = {"coverage": coverage, "breakdowns": None, "examples": []}
            since = None
        else:
            since = now - timedelta(days=days)
            complaints = _window_complaints(store, company.slug, meta, since)
            samples, observations = samples_from_complaints(complaints, horizons, now)
            extra = {
                "coverage": coverage,
                "breakdowns": breakdowns_of(observations),
                "examples": examples_of(complaints),
                "categories": category_counts(complaints),
            }
        snapshots[window] = company_snapshot(company, window, samples, now=now, since=since, options=options, extra=extra)
    return snapshots, read


def category_counts(complaints: Iterable[Complaint]) -> dict[str, int]:
    counts = {str(c): 0 for c in Category}
    counts["deleted"] = 0
    for c in complaints:
        if c.deleted:
            counts["deleted"] += 1
        else:
            counts[str(c.category)] += 1
    return counts


def _rank_key(entry: Mapping[str, Any]) -> tuple[float, float]:
    comparison = entry["platforms"].get(ALL_PLATFORMS, {}).get("comparison", {})
    ratio = comparison.get("ratio")
    distance = abs(math.log(ratio)) if ratio and ratio > 0 and math.isfinite(ratio) else math.inf
    tiers = entry["platforms"].get(ALL_PLATFORMS, {}).get("tiers", {})
    ordinary = tiers.get("ordinary", {}).get("median_minutes")
    return (distance, ordinary if ordinary is not None else math.inf)


def _without_curves(value: Any) -> Any:
    """The leaderboard needs no survival curves (the company pages carry them)."""
    if isinstance(value, dict):
        return {k: _without_curves(v) for k, v in value.items() if k not in ("curve", "substantive_curve")}
    return value


def leaderboard_snapshot(window: str, entries: list[dict[str, Any]], now: datetime) -> dict[str, Any]:
    """Every company, ranked by how equally it treats ordinary and high-profile customers (see methodology)."""
    ranked = sorted(
        (e for e in entries if e["platforms"].get(ALL_PLATFORMS, {}).get("comparison", {}).get("verdict")
         not in (None, INSUFFICIENT_DATA) and not e["company"]["retired"]),
        key=_rank_key,
    )
    ranks = {e["company"]["slug"]: i + 1 for i, e in enumerate(ranked)}
    companies = []
    for e in sorted(entries, key=lambda e: (ranks.get(e["company"]["slug"], 10**9), e["company"]["slug"])):
        slim = {k: v for k, v in e.items() if k not in ("breakdowns", "examples")}
        slim["platforms"] = {
            p: {**body, "tiers": {t: _without_curves(s) for t, s in body["tiers"].items()}}
            for p, body in e["platforms"].items()
        }
        slim["rank"] = ranks.get(e["company"]["slug"])
        companies.append(slim)
    return {
        "window": window, "generated_at": now.isoformat(), "methodology_version": METHODOLOGY_VERSION,
        "version": __version__, "companies": companies,
    }


def run_aggregate(
    store: Store, companies: Mapping[str, Company], now: datetime, options: AggregateOptions | None = None
) -> AggregateResult:
    """Update every company's snapshots, then the leaderboards (retired companies stay queryable)."""
    options = options or AggregateOptions()
    now = utc(now)
    result = AggregateResult()
    per_window: dict[str, list[dict[str, Any]]] = {w: [] for w in WINDOWS}
    for slug in sorted(companies):
        company = companies[slug]
        snapshots, read = aggregate_company(store, company, now, options)
        result.companies += 1
        result.complaints_read += read
        result.by_company[slug] = read
        for window, body in snapshots.items():
            store.put_snapshot(company_key(slug, window), body, now)
            result.snapshots_written += 1
            per_window[window].append(body)
    for window, entries in per_window.items():
        store.put_snapshot(leaderboard_key(window), leaderboard_snapshot(window, entries, now), now)
        result.snapshots_written += 1
    return result


def run(now: datetime | None = None) -> dict[str, Any]:
    """Schedule / CLI entry point: wires settings, registry and store, then aggregates everything."""
    from chalicelib import runtime
    from chalicelib.api.admin import tracked_companies

    settings = runtime.settings()
    options = AggregateOptions(min_sample=settings.min_sample)
    store = runtime.store()
    companies = tracked_companies(store, runtime.registry())
    result = run_aggregate(store, companies, now or datetime.now(UTC), options)
    return {"companies": result.companies, "complaints_read": result.complaints_read,
            "snapshots_written": result.snapshots_written}


__all__ = ["PLATFORMS", "WINDOWS", "AggregateOptions", "AggregateResult", "run", "run_aggregate"]
