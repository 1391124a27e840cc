"""The aggregate job: turn stored complaints into the snapshots the public API serves.

Incremental by construction (see docs/methodology.md, "Incremental computation"), so a scheduled run
costs what changed plus the 90-day window, not the stored history:

* the store numbers every complaint write (``changed_complaints``), and the job reads only the writes
  since its last run (with a small overlap);
* each changed complaint is filed into its company's *day document* (``agg:{slug}:day:{YYYY-MM-DD}``,
  keyed by the UTC day it was made), which holds a compact copy of every complaint of that day; a copy
  identical to the complaint means "already filed", so the overlap's re-reads change and write nothing;
* the company's running state holds one merged :class:`TierState` per platform × source × tier, updated
  by deltas (old copy out, new version in), from which the ``all`` window is sampled. It is kept per year
  of the complaints' creation (``agg:{slug}:all:{year}``), under a small *running head*
  (``agg:{slug}:all``: generation, change-log sequence, the days and years that have documents), so a run
  reads and writes only the years its changes touch — at a steady rate, this year's — and all of them only
  when the all-time window is recomputed; the 7/30/90-day windows are recomputed from their ≤ 91 day
  documents and carry the breakdowns (audience bands, hour of week, weekly trend).

Deltas are only safe if the day documents' copies and the running state never disagree, and documents
are written one at a time, so a run can die between any two writes. Hence a redo journal
(``agg:{slug}:journal``). A run that read anything new writes, in order: the journal (its new
``generation``, the copies it filed, per day, and the touched years' new states), the running head (that
generation, the new sequence), each touched year document and day document (stamped with that
generation), and finally the journal emptied (the journal is written even when empty, so a dead run's
journal never passes for the current one). The next run starts by settling the journal: if it holds the
running head's generation and is not empty, its year states are written over every year document stamped
older, and its copies re-filed (by assignment, so redoing is harmless) into every day document stamped
older. Dying before the running document is written loses nothing (the
change log is re-read from the old sequence); dying after it is repaired from the journal; a journal
newer than the running document is a dead run's and is ignored. ``tests/functional/
test_ingest_and_aggregate.py`` kills a run at every one of its writes and checks the next run publishes
what a run that never died would have.
"""

from __future__ import annotations

import base64
import json
import sys
from array import array
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from chalicelib.domain.breakdowns import audience_bands, hour_of_week_breakdown, tables_by, weekly_trend
from chalicelib.domain.breakdowns import hour_of_week as _how
from chalicelib.domain.fairness import (
    CompanyStats,
    Observation,
    TierSample,
    TierState,
    company_stats,
    observations_from_complaints,
    samples_by_tier,
)
from chalicelib.domain.models import PLATFORMS, Category, Company, Complaint, Reply, ReplyKind, Tier, utc
from chalicelib.jobs.snapshots import (
    ALL_PLATFORMS,
    METHODOLOGY_VERSION,
    company_info,
    company_key,
    leaderboard_key,
    leaderboard_snapshot,
    publish_window,
)
from chalicelib.store.base import Store

WINDOWS: dict[str, int | None] = {"7d": 7, "30d": 30, "90d": 90, "all": None}
CURVE_POINTS = 120
EXAMPLES = 10
_PAGE = 1000
_OVERLAP = 100


def running_key(slug: str) -> str:
    return f"agg:{slug}:all"


def journal_key(slug: str) -> str:
    return f"agg:{slug}:journal"


def day_key(slug: str, day: str) -> str:
    return f"agg:{slug}:day:{day}"


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


def _nonempty(state: TierState) -> bool:
    return bool(state.answered or state.pending)


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
    """``all_window_minutes``: recompute the all-time window at most this often (None: every run).

    The 7/30/90-day windows hold the same number of complaints whatever the stored history, but the all-time
    window's statistics (its Kaplan–Meier fits, log-rank test and curves) cost in proportion to everything
    stored. The scheduled job therefore refreshes it on its own, slower cadence (and whenever a company has no
    all-time snapshot yet); its snapshots and leaderboard say when (``generated_at``). Changes are still
    absorbed into the running state on every run, so a refresh misses nothing.
    """

    min_sample: int = 30
    replicates: int = 1000
    seed: int = 20261123
    all_window_minutes: int | None = None


def _horizon_for(source: str, horizons: Mapping[str, datetime], now: datetime) -> datetime:
    """Unanswered complaints wait until the end of what was observed: the archive's end, or the last poll."""
    horizon = horizons.get(source)
    return min(horizon, now) if horizon is not None else now


@dataclass
class Running:
    """A company's running head (where the change log was read up to, its days) and its per-year states.

    The merged ``all`` states are kept per year of the complaints' creation (``agg:{slug}:all:{year}``), each
    loaded only when a change touches that year or the all-time window is recomputed: a scheduled run at a
    steady complaint rate reads and writes this year's state, not the whole history's.
    """

    generation: int = 0
    seq: int = 0
    days: set[int] = field(default_factory=set)  # the days (as ``date.toordinal()``) that have a day document
    years: set[str] = field(default_factory=set)  # the years that have a state document
    loaded: dict[str, dict[str, TierState]] = field(default_factory=dict)

    @classmethod
    def load(cls, store: Store, slug: str) -> tuple[Running, bool]:
        """The stored head (or a fresh one), and whether a document was stored.

        A running document of the earlier single-document layout (all states inline) starts over, as any other
        layout does: generation 0 makes every day document "not ours", so the whole change log is re-filed.
        """
        found = store.get_text(running_key(slug))
        doc = json.loads(found[0]) if found else {}
        if "generation" not in doc or "states" in doc:
            return cls(), bool(found)
        return cls(int(doc["generation"]), int(doc["seq"]), _days_from(doc["days"]), set(doc["years"])), True

    def save(self, store: Store, slug: str, now: datetime) -> None:
        head = {"generation": self.generation, "seq": self.seq, "days": _days_doc(self.days),
                "years": sorted(self.years)}
        store.put_text(running_key(slug), json.dumps(head, separators=(",", ":")), now)

    def year(self, store: Store, slug: str, year: str) -> dict[str, TierState]:
        """One year's states, read once per run (empty for a year without a document)."""
        if year not in self.loaded:
            found = store.get_text(year_key(slug, year)) if year in self.years else None
            doc = json.loads(found[0]) if found else {}
            self.loaded[year] = {k: TierState.from_dict(v) for k, v in doc.get("states", {}).items()}
        return self.loaded[year]

    def states(self, store: Store, slug: str) -> dict[str, TierState]:
        """The ``all`` states: every year's, merged (reads every year document)."""
        merged: dict[str, TierState] = {}
        for year in sorted(self.years):
            for key, state in self.year(store, slug, year).items():
                merged.setdefault(key, TierState()).add(state)
        return merged


def year_key(slug: str, year: str) -> str:
    return f"agg:{slug}:all:{year}"


def _year_doc(generation: int, states: Mapping[str, TierState]) -> dict[str, Any]:
    return {"generation": generation,
            "states": {k: st.to_dict() for k, st in sorted(states.items()) if _nonempty(st)}}


def _put_year(store: Store, slug: str, year: str, doc: Mapping[str, Any], now: datetime) -> None:
    store.put_text(year_key(slug, year), json.dumps(doc, separators=(",", ":")), now)


def _year_stamp(store: Store, slug: str, year: str) -> int:
    found = store.get_text(year_key(slug, year))
    return int(json.loads(found[0]).get("generation", -1)) if found else -1


def _days_doc(days: set[int]) -> dict[str, str]:
    """The set of days as packed day numbers: years of history stay a short string (one per day otherwise)."""
    ordinals = array("i", sorted(days))
    if sys.byteorder == "big":
        ordinals.byteswap()
    return {"ordinals": base64.b64encode(ordinals.tobytes()).decode("ascii")}


def _days_from(doc: Any) -> set[int]:
    """Read :func:`_days_doc`'s form, or the earlier list of ISO dates."""
    if not isinstance(doc, Mapping):
        return {date.fromisoformat(d).toordinal() for d in doc}
    ordinals = array("i", base64.b64decode(doc["ordinals"]))
    if sys.byteorder == "big":
        ordinals.byteswap()
    return set(ordinals)


class _Days:
    """The day documents' complaint copies, each document read at most once per run."""

    def __init__(self, store: Store, slug: str, generation: int) -> None:
        self.store, self.slug, self.generation = store, slug, generation
        self.copies: dict[str, dict[str, Any]] = {}
        self.stamps: dict[str, int] = {}

    def get(self, day: str) -> dict[str, Any]:
        if day not in self.copies:
            got = self.store.get_snapshot(day_key(self.slug, day))
            doc = got[0] if got else {}
            # Another layout, or newer than the running document (always written first): not ours, start over.
            ours = "generation" in doc and int(doc["generation"]) <= self.generation
            self.copies[day] = dict(doc["complaints"]) if ours else {}
            self.stamps[day] = int(doc["generation"]) if ours else -1
        return self.copies[day]

    def stamp(self, day: str) -> int:
        self.get(day)
        return self.stamps[day]

    def put(self, day: str, generation: int, now: datetime) -> None:
        self.store.put_snapshot(day_key(self.slug, day), {"generation": generation, "complaints": self.get(day)}, now)
        self.stamps[day] = generation


def _journal(
    store: Store, slug: str, generation: int, filed: Mapping[str, Any], now: datetime,
    years: Mapping[str, Any] | None = None,
) -> None:
    store.put_snapshot(journal_key(slug), {"generation": generation, "filed": filed, "years": years or {}}, now)


def _redo(store: Store, running: Running, days: _Days, now: datetime) -> None:
    """Finish the last writing run: write the year states and re-file the copies it died before writing.

    Only a journal of the running document's own generation counts: one newer is from a run that died
    before writing the running document, and every run settles the journal before writing its own.
    """
    got = store.get_snapshot(journal_key(days.slug))
    if not got or got[0]["generation"] != running.generation or not (got[0]["filed"] or got[0].get("years")):
        return
    for year, doc in sorted(got[0].get("years", {}).items()):
        if _year_stamp(store, days.slug, year) < running.generation:
            _put_year(store, days.slug, year, doc, now)
    for day, filed in sorted(got[0]["filed"].items()):
        if days.stamp(day) < running.generation:
            days.get(day).update(filed)
            days.put(day, running.generation, now)
    _journal(store, days.slug, running.generation, {}, now)


def absorb_changes(store: Store, company: Company, now: datetime) -> tuple[Running, _Days, int]:
    """File the company's changed complaints into its running and day documents; returns them and how many read.

    Writes, in this order: the journal (the copies about to be filed, per day, and the touched years' new
    states), the running head, the touched year documents, the touched day documents, the journal emptied.
    See the module docstring for why.
    """
    running, stored = Running.load(store, company.slug)
    days = _Days(store, company.slug, running.generation)
    _redo(store, running, days, now)
    seq, read = running.seq, 0
    filed: dict[str, dict[str, Any]] = {}
    touched: set[str] = set()
    # DynamoDB change numbers can land slightly out of order: re-read a small overlap. A change already
    # filed finds its identical copy in its day document (written, or redone above) and is skipped.
    after = max(0, seq - _OVERLAP)
    while True:
        changed, last = store.changed_complaints(company.slug, after=after, limit=_PAGE)
        if not changed:
            break
        for c in changed:
            day = c.created_at.date().isoformat()
            copies = days.get(day)
            key, new = f"{c.platform}:{c.post_id}", summary_doc(c)
            old = copies.get(key)
            if old == new:
                continue
            if old is not None:
                was = summary_from(old)
                _state(store, running, company.slug, was, touched).apply(was, None)
            _state(store, running, company.slug, c, touched).apply(None, c)
            copies[key] = new
            filed.setdefault(day, {})[key] = new
        read += len(changed)
        after = last
        seq = max(seq, last)
    if stored and not filed and seq == running.seq:
        return running, days, read
    running.generation += 1
    running.seq = seq
    running.days.update(date.fromisoformat(d).toordinal() for d in filed)
    running.years |= touched
    years = {y: _year_doc(running.generation, running.loaded[y]) for y in sorted(touched)}
    _journal(store, company.slug, running.generation, filed, now, years)
    running.save(store, company.slug, now)
    for year, doc in years.items():
        _put_year(store, company.slug, year, doc, now)
    days.generation = running.generation
    for day in sorted(filed):
        days.put(day, running.generation, now)
    if filed:
        _journal(store, company.slug, running.generation, {}, now)
    return running, days, read


def _state(store: Store, running: Running, slug: str, c: Complaint, touched: set[str]) -> TierState:
    year = str(c.created_at.year)
    touched.add(year)
    return running.year(store, slug, year).setdefault(_state_key(c), TierState())


def _window_complaints(days: _Days, running: Running, since: datetime) -> list[Complaint]:
    first = since.date().toordinal()
    window_days = sorted(date.fromordinal(d).isoformat() for d in running.days if d >= first)
    out = [summary_from(d) for day in window_days for d in days.get(day).values()]
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


def _samples_from_states(states: Mapping[str, TierState], horizons: Mapping[str, datetime], now: datetime) -> dict:
    samples: dict[str, dict[str, TierSample]] = {ALL_PLATFORMS: {}}
    for key, state in sorted(states.items()):
        if not _nonempty(state):
            continue
        platform, source, tier = key.split("|")
        sample = state.sample(_horizon_for(source, horizons, now))
        for p in (platform, ALL_PLATFORMS):
            bucket = samples.setdefault(p, {})
            bucket[tier] = bucket[tier].merge(sample) if tier in bucket else sample
    return samples


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
    memo: dict[Any, tuple[CompanyStats, dict[str, Any]]] | None = None,
) -> dict[str, Any]:
    """One company × window snapshot; ``memo`` (for calls sharing ``now`` and ``options``) computes equal samples once.

    A company on one platform has the same samples under that platform and ``all``, and a young one the
    same in several windows: the statistics (bootstrap included, seeded) are then equal but for the labels.
    """
    memo = {} if memo is None else memo
    platforms = {}
    for platform, tiers in sorted(samples.items()):
        seen = memo.get(key := tuple(sorted(tiers.items())))
        if seen is None:
            stats = company_stats(
                tiers, company=company.slug, platform=platform, window=window, horizon=now,
                sla_minutes=company.sla_minutes, min_sample=options.min_sample,
                replicates=options.replicates, seed=options.seed,
            )
            seen = memo[key] = (stats, stats.to_dict(curve_points=CURVE_POINTS))
        platforms[platform] = {**seen[1], "platform": platform, "window": window}
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
    store: Store, company: Company, now: datetime, options: AggregateOptions, *, all_time: bool = True
) -> tuple[dict[str, dict[str, Any]], int]:
    """Absorb the company's changes and rebuild its snapshot for every window (the all-time one if ``all_time``)."""
    running, days, read = absorb_changes(store, company, now)
    horizons = store.get_horizons(company.slug)
    coverage = {source: h.isoformat() for source, h in sorted(horizons.items())}
    widest = max(span for span in WINDOWS.values() if span is not None)
    recent = _window_complaints(days, running, now - timedelta(days=widest))
    memo: dict[Any, tuple[CompanyStats, dict[str, Any]]] = {}
    snapshots: dict[str, dict[str, Any]] = {}
    for window, span in WINDOWS.items():
        if span is None and not all_time:
            continue
        if span is None:
            samples = _samples_from_states(running.states(store, company.slug), horizons, now)
            extra = {"coverage": coverage, "breakdowns": None, "examples": []}
            since = None
        else:
            since = now - timedelta(days=span)
            complaints = [c for c in recent if c.created_at >= since]
            samples, observations = samples_from_complaints(complaints, horizons, now)
            extra = {
                "coverage": coverage,
                "breakdowns": breakdowns_of(observations),
                "examples": examples_of(complaints),
                "categories": category_counts(complaints),
            }
        snapshots[window] = company_snapshot(
            company, window, samples, now=now, since=since, options=options, extra=extra, memo=memo
        )
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


def run_aggregate(
    store: Store, companies: Mapping[str, Company], now: datetime, options: AggregateOptions | None = None
) -> AggregateResult:
    """Update every company's snapshots, then the leaderboards (retired companies stay queryable)."""
    options = options or AggregateOptions()
    now = utc(now)
    result = AggregateResult()
    all_time = all_time_due(store, companies, now, options)
    per_window: dict[str, list[dict[str, Any]]] = {w: [] for w, span in WINDOWS.items() if span or all_time}
    for slug in sorted(companies):
        company = companies[slug]
        snapshots, read = aggregate_company(store, company, now, options, all_time=all_time)
        result.companies += 1
        result.complaints_read += read
        result.by_company[slug] = read
        for window, body in snapshots.items():
            store.put_snapshot(company_key(slug, window), body, now)
            result.snapshots_written += 1
            per_window[window].append(body)
    for window, entries in per_window.items():
        store.put_snapshot(leaderboard_key(window), leaderboard_snapshot(window, entries, now), now)
        publish_window(store, window, entries, now)
        result.snapshots_written += 1
    return result


def all_time_due(store: Store, companies: Mapping[str, Company], now: datetime, options: AggregateOptions) -> bool:
    """Whether this run recomputes the all-time window: per ``options.all_window_minutes``, from the time of the
    all-time leaderboard, and always when it is missing, from the future, or lacks one of ``companies``."""
    if options.all_window_minutes is None:
        return True
    found = store.get_snapshot(leaderboard_key("all"))
    if found is None:
        return True
    board, generated_at = found
    age = utc(now) - generated_at
    listed = {entry.get("company", {}).get("slug") for entry in board.get("companies", [])}
    return not (timedelta(0) <= age < timedelta(minutes=options.all_window_minutes)) or not set(companies) <= listed


def scheduled_options(min_sample: int, all_window_minutes: int) -> AggregateOptions:
    """The options of the scheduled job (also what ``bench.aggregate_history`` times)."""
    return AggregateOptions(min_sample=min_sample, all_window_minutes=all_window_minutes or None)


def run(now: datetime | None = None) -> dict[str, Any]:
    """Schedule / CLI entry point: wires settings, registry and store, then aggregates everything."""
    from chalicelib import runtime
    from chalicelib.api.admin import tracked_companies

    settings = runtime.settings()
    options = scheduled_options(settings.min_sample, settings.all_window_minutes)
    store = runtime.store()
    companies = tracked_companies(store, runtime.registry())
    result = run_aggregate(store, companies, now or datetime.now(UTC), options)
    return {"companies": result.companies, "complaints_read": result.complaints_read,
            "snapshots_written": result.snapshots_written}


__all__ = ["PLATFORMS", "WINDOWS", "AggregateOptions", "AggregateResult", "run", "run_aggregate"]
