"""The poll job: read every company × source from its checkpoint, store what it finds, then move the checkpoint.

Why a run can be killed, retried or overlapped at any point and still count everything exactly once:

* a page's posts are stored (idempotent upserts keyed by platform + post id; pairing keeps the earliest
  reply) *before* the checkpoint covering them is saved, so a crash re-reads at most one page;
* every checkpoint a run writes covers only posts that run itself stored, so whatever interleaving of
  writers the store sees, the stored checkpoint never points past unstored posts; the worst an overlap can
  do is move it back, which costs a re-read, never a loss;
* before each checkpoint write the run re-reads it and stops the unit if another run has moved it since,
  so an overlapping run yields instead of rewinding;
* each unit is claimed for its 5-minute schedule slot (``company|source|slot``, announced with
  ``record_event`` then checked with ``count_events``: the first announcer proceeds, later ones skip), so two
  invocations of the same slot do not both do the work. Claims expire with the store's event TTL.

Fairness: units are interleaved across sources, and each source remembers (``poll:rotation``) the first
company it did not finish, which goes first next time; a run that runs out of time or requests therefore
never starves the companies at the end of the list. A rate-limited source is paused alone (until the
platform's reset time, kept in ``poll:status``); other errors are recorded per unit and the run continues.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from chalicelib.domain.models import Checkpoint, Company, utc
from chalicelib.domain.tiers import DEFAULT_THRESHOLDS, TierThresholds
from chalicelib.jobs.ingest import Ingestor, IngestStats
from chalicelib.jobs.metrics import PollMetrics
from chalicelib.logs import get_logger
from chalicelib.sources.base import Page, RequestBudget, Source
from chalicelib.sources.errors import BudgetExhausted, RateLimited, SourceError
from chalicelib.store.base import Store

ROTATION_KEY = "poll:rotation"
STATUS_KEY = "poll:status"
CLAIM_KIND = "poll-claim"
SLOT = timedelta(minutes=5)
MARGIN_SECONDS = 30.0
# Requests per source per run: each platform's documented per-window limit, shared by all companies.
DEFAULT_MAX_REQUESTS: dict[str, int] = {"x": 50, "mastodon": 250, "bluesky": 250, "reddit": 90}

# Unit outcomes.
DONE = "done"  # read to the end: observed until now
PARTIAL = "partial"  # stopped by the request budget or the deadline; resumes from its checkpoint
ERROR = "error"  # a source or store error; recorded in poll:status
RATE_LIMITED = "rate_limited"  # the platform paused this source; its other units wait for the reset
SUPERSEDED = "superseded"  # another run moved the checkpoint underneath us; it carries on
CLAIMED = "claimed"  # another invocation of the same slot owns this unit
NOT_STARTED = "not_started"  # no time, budget, or the source is paused


@dataclass(frozen=True, slots=True)
class Unit:
    company: str
    source: str

    @property
    def key(self) -> str:
        return f"{self.company}|{self.source}"


@dataclass
class UnitResult:
    unit: Unit
    outcome: str = NOT_STARTED
    pages: int = 0
    stats: IngestStats = field(default_factory=IngestStats)
    error: str | None = None
    newest_post_at: datetime | None = None


@dataclass
class PollResult:
    """What a run did, unit by unit; ``stopped_early`` is True when the deadline cut it short."""

    units: list[UnitResult] = field(default_factory=list)
    stopped_early: bool = False
    paused: dict[str, str | None] = field(default_factory=dict)
    metrics: PollMetrics = field(default_factory=PollMetrics)

    def summary(self) -> dict[str, Any]:
        outcomes: dict[str, int] = {}
        for u in self.units:
            outcomes[u.outcome] = outcomes.get(u.outcome, 0) + 1
        return {
            "units": len(self.units),
            "outcomes": dict(sorted(outcomes.items())),
            "posts_fetched": sum(u.stats.posts_read for u in self.units),
            "posts_new": sum(u.stats.posts_new for u in self.units),
            "complaints": sum(u.stats.complaints for u in self.units),
            "replies": sum(u.stats.replies for u in self.units),
            "stopped_early": self.stopped_early,
            "errors": {u.unit.key: u.error for u in self.units if u.error},
        }


def slot_start(now: datetime) -> datetime:
    """The schedule slot ``now`` falls in: the idempotency window of a unit of work."""
    now = utc(now)
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    return epoch + ((now - epoch) // SLOT) * SLOT


def claim(store: Store, unit: Unit, now: datetime) -> bool:
    """Announce-then-check: True for the first run of this slot to announce the unit (at most one wins)."""
    slot = slot_start(now)
    key = f"{unit.key}|{slot.isoformat()}"
    store.record_event(CLAIM_KIND, key, slot)
    return store.count_events(CLAIM_KIND, key, slot) == 1


def units_in_order(
    companies: Mapping[str, Company], sources: Mapping[str, Source], rotation: Mapping[str, str]
) -> list[Unit]:
    """Every polled company × source, each source's list starting at its rotation mark, interleaved."""
    lanes: list[list[Unit]] = []
    for name in sorted(sources):
        slugs = sorted(
            s for s, c in companies.items() if not c.sample and not c.retired and c.handles.get(name)
        )
        start = rotation.get(name, "")
        ordered = [s for s in slugs if s >= start] + [s for s in slugs if s < start]
        lanes.append([Unit(s, name) for s in ordered])
    out: list[Unit] = []
    for i in range(max((len(lane) for lane in lanes), default=0)):
        out.extend(lane[i] for lane in lanes if i < len(lane))
    return out


class _Run:
    """One poll run's state: shared budgets, paused sources, status entries, metrics."""

    def __init__(
        self,
        store: Store,
        companies: Mapping[str, Company],
        sources: Mapping[str, Source],
        *,
        now: datetime,
        deadline: Callable[[], float] | None,
        budgets: Mapping[str, RequestBudget],
        margin: float,
        thresholds: TierThresholds,
        use_claims: bool,
    ) -> None:
        self.store = store
        self.companies = companies
        self.sources = sources
        self.now = now
        self.deadline = deadline
        self.budgets = budgets
        self.margin = margin
        self.use_claims = use_claims
        self.logger = get_logger()
        polled = {s: c for s, c in companies.items() if not c.sample}
        self.ingestors = {name: Ingestor(store, polled, thresholds=thresholds, source=name) for name in sources}
        self.result = PollResult()
        status = _load(store, STATUS_KEY)
        self.status_sources: dict[str, dict[str, Any]] = status.get("sources", {})
        self.status_units: dict[str, dict[str, Any]] = {}
        self.previous_units: dict[str, dict[str, Any]] = status.get("units", {})
        self.paused: dict[str, datetime | None] = {}
        for name in sources:
            until = _parse(self.status_sources.get(name, {}).get("paused_until"))
            if until is not None and until > now:
                self.paused[name] = until
        self.exhausted: set[str] = set()

    def out_of_time(self) -> bool:
        return self.deadline is not None and self.deadline() < self.margin

    def poll(self, unit: Unit) -> UnitResult:
        result = UnitResult(unit)
        if unit.source in self.paused or unit.source in self.exhausted:
            return result
        if self.use_claims and not claim(self.store, unit, self.now):
            result.outcome = CLAIMED
            return result
        counts = self.result.metrics.source(unit.source)
        try:
            self._read(unit, result)
        except RateLimited as exc:
            result.outcome, result.error = RATE_LIMITED, str(exc)
            self.paused[unit.source] = exc.reset_at
            counts.rate_limit_waits += 1
            self.logger.warning("source rate limited; paused", extra=self._keys(unit, reset_at=str(exc.reset_at)))
        except BudgetExhausted:
            result.outcome = PARTIAL
            self.exhausted.add(unit.source)
        except SourceError as exc:
            result.outcome, result.error = ERROR, str(exc)[:300]
            counts.source_errors += 1
            self.logger.warning("source failed", extra=self._keys(unit, error=type(exc).__name__))
        except Exception as exc:  # a store or parser failure: record it, keep polling the others
            result.outcome, result.error = ERROR, f"{type(exc).__name__}: {str(exc)[:280]}"
            counts.source_errors += 1
            self.logger.exception("poll unit failed", extra=self._keys(unit, error=type(exc).__name__))
        self._record(result)
        return result

    def _read(self, unit: Unit, result: UnitResult) -> None:
        company = self.companies[unit.company]
        budget = self.budgets[unit.source]
        stored = self.store.get_checkpoint(unit.company, unit.source)
        cursor = stored.cursor if stored else None
        result.newest_post_at = stored.newest_post_at if stored else None
        ingestor = self.ingestors[unit.source]
        pages = self.sources[unit.source].fetch(company, cursor, budget=budget, now=self.now)
        with _closing(pages):
            while True:
                if self.out_of_time():
                    result.outcome = PARTIAL
                    self.result.stopped_early = True
                    return
                page = next(pages, None)
                if page is None:
                    break
                stats = ingestor.ingest(page.posts, page.accounts)
                result.stats.add(stats)
                result.pages += 1
                self._count(unit.source, page, stats)
                result.newest_post_at = _newest(result.newest_post_at, page)
                if page.next_cursor is not None and page.next_cursor != cursor:
                    if not self._still_ours(unit, cursor):
                        result.outcome = SUPERSEDED
                        return
                    cp = Checkpoint(unit.company, unit.source, page.next_cursor, self.now, result.newest_post_at)
                    self.store.put_checkpoint(cp)
                    cursor = page.next_cursor
                if page.exhausted:
                    result.outcome = PARTIAL
                    self.exhausted.add(unit.source)
                    return
                if page.done:
                    break
        result.outcome = DONE
        # Observed until now: unanswered complaints from this source are censored here, not earlier.
        self.store.set_horizon(unit.company, unit.source, self.now)

    def _still_ours(self, unit: Unit, expected: str | None) -> bool:
        current = self.store.get_checkpoint(unit.company, unit.source)
        return (current.cursor if current else None) == expected

    def _count(self, source: str, page: Page, stats: IngestStats) -> None:
        counts = self.result.metrics.source(source)
        counts.pages += 1
        counts.posts_fetched += stats.posts_read
        counts.posts_new += stats.posts_new
        counts.complaints_stored += stats.complaints
        counts.replies_paired += stats.replies

    def _record(self, result: UnitResult) -> None:
        at = self.now.isoformat()
        entry = dict(self.previous_units.get(result.unit.key, {}))
        entry.update(
            company=result.unit.company, source=result.unit.source, last_attempt_at=at, outcome=result.outcome,
            pages=result.pages, posts=result.stats.posts_read,
        )
        if result.newest_post_at is not None:
            entry["newest_post_at"] = result.newest_post_at.isoformat()
        if result.outcome in (DONE, PARTIAL):
            entry["last_success_at"] = at
        if result.error:
            entry["last_error"], entry["last_error_at"] = result.error, at
        self.status_units[result.unit.key] = entry
        self.logger.info(
            "poll unit finished",
            extra=self._keys(result.unit, outcome=result.outcome, pages=result.pages,
                             posts=result.stats.posts_read, complaints=result.stats.complaints),
        )

    @staticmethod
    def _keys(unit: Unit, **extra: Any) -> dict[str, Any]:
        return {"company": unit.company, "source": unit.source, **extra}


def run_poll(
    store: Store,
    companies: Mapping[str, Company],
    sources: Mapping[str, Source],
    *,
    now: datetime,
    deadline: Callable[[], float] | None = None,
    budgets: Mapping[str, RequestBudget] | None = None,
    margin_seconds: float = MARGIN_SECONDS,
    thresholds: TierThresholds = DEFAULT_THRESHOLDS,
    use_claims: bool = True,
) -> PollResult:
    """Poll every company × source once, within budgets and before the deadline.

    Parameters
    ----------
    sources
        Platform name → Source; a company is polled on the platforms where it has handles.
    now
        The scheduled time: the horizon a completed unit observed up to, and the claim slot.
    deadline
        Seconds left in this invocation (Lambda's remaining time); no new page starts below ``margin_seconds``.
    budgets
        Request budget per source for this run (default :data:`DEFAULT_MAX_REQUESTS`).
    use_claims
        Claim each unit for its schedule slot; the CLI's ``--force`` turns this off.
    """
    now = utc(now)
    budgets = dict(budgets or {})
    for name in sources:
        budgets.setdefault(name, RequestBudget(DEFAULT_MAX_REQUESTS.get(name, 100)))
    rotation = {k: str(v) for k, v in _load(store, ROTATION_KEY).items()}
    run = _Run(
        store, companies, sources, now=now, deadline=deadline, budgets=budgets, margin=margin_seconds,
        thresholds=thresholds, use_claims=use_claims,
    )
    for unit in units_in_order(companies, sources, rotation):
        if run.result.stopped_early or run.out_of_time():
            run.result.stopped_early = True
            run.result.units.append(UnitResult(unit))
            continue
        run.result.units.append(run.poll(unit))
    _finish(run, rotation)
    return run.result


def _finish(run: _Run, rotation: dict[str, str]) -> None:
    """Save where each source should start next time, the status report, and the poll lag per source."""
    for name in run.sources:
        lane = [u for u in run.result.units if u.unit.source == name]
        unfinished = next((u.unit.company for u in lane if u.outcome in (PARTIAL, NOT_STARTED, RATE_LIMITED)), None)
        if unfinished is not None:
            rotation[name] = unfinished
    run.result.paused = {k: (v.isoformat() if v else None) for k, v in run.paused.items()}
    for name, budget in run.budgets.items():
        if name not in run.sources:
            continue
        paused = run.paused.get(name) or budget.paused_until
        if paused is not None and paused <= run.now:
            paused = None
        run.status_sources[name] = {
            "last_run_at": run.now.isoformat(), "remaining_budget": budget.remaining,
            "max_requests": budget.max_requests, "paused_until": paused.isoformat() if paused else None,
        }
    with _logged(run, "poll state not saved"):
        run.store.put_snapshot(ROTATION_KEY, rotation, run.now)
        _save_status(run)
    for name in run.sources:
        newest = [_parse(u.get("newest_post_at")) for u in _merged_units(run).values() if u.get("source") == name]
        seen = [n for n in newest if n is not None]
        if seen:
            run.result.metrics.source(name).poll_lag_seconds = (run.now - max(seen)).total_seconds()


def _merged_units(run: _Run) -> dict[str, dict[str, Any]]:
    return {**run.previous_units, **run.status_units}


def _save_status(run: _Run) -> None:
    """Merge into the stored status (another run may have written since we read): newer attempts win."""
    stored = _load(run.store, STATUS_KEY)
    units = dict(stored.get("units", {}))
    for key, entry in run.status_units.items():
        if units.get(key, {}).get("last_attempt_at", "") <= entry["last_attempt_at"]:
            units[key] = entry
    sources = dict(stored.get("sources", {}))
    for name, entry in run.status_sources.items():
        if sources.get(name, {}).get("last_run_at", "") <= entry.get("last_run_at", ""):
            sources[name] = entry
    run.store.put_snapshot(STATUS_KEY, {"units": units, "sources": sources}, run.now)


@contextlib.contextmanager
def _logged(run: _Run, message: str) -> Iterator[None]:
    try:
        yield
    except Exception as exc:  # status is advisory; checkpoints (already saved) are what matter
        run.logger.exception(message, extra={"error": type(exc).__name__})


@contextlib.contextmanager
def _closing(pages: Any) -> Iterator[None]:
    """Close the source's generator even when we stop early, so it releases its HTTP response."""
    try:
        yield
    finally:
        close = getattr(pages, "close", None)
        if close is not None:
            close()


def _newest(current: datetime | None, page: Page) -> datetime | None:
    times = [p.created_at for p in page.posts]
    if current is not None:
        times.append(current)
    return max(times) if times else None


def _load(store: Store, key: str) -> dict[str, Any]:
    found = store.get_snapshot(key)
    return dict(found[0]) if found else {}


def _parse(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        return utc(datetime.fromisoformat(str(value)))
    except ValueError:
        return None


# --- backfill -----------------------------------------------------------------------------------


@dataclass
class BackfillResult:
    pages: int = 0
    requests: int = 0
    stats: IngestStats = field(default_factory=IngestStats)
    exhausted: bool = False


def backfill(
    store: Store,
    companies: Mapping[str, Company],
    source: Source,
    company: str,
    *,
    now: datetime,
    max_requests: int,
    on_page: Callable[[int], None] | None = None,
    thresholds: TierThresholds = DEFAULT_THRESHOLDS,
) -> BackfillResult:
    """Read one company × source from the oldest the API serves, ignoring (and never writing) its checkpoint.

    The live checkpoint is left alone on purpose: a backfill re-reads history, and saving its cursor could
    move the live one backwards (a re-read) or, worse, forwards past what the live poll has not stored.
    ``on_page`` receives the requests spent so far (for a progress bar).
    """
    if company not in companies:
        raise ValueError(f"unknown company {company!r}")
    budget = RequestBudget(max_requests)
    polled = {s: c for s, c in companies.items() if not c.sample}
    ingestor = Ingestor(store, polled, thresholds=thresholds, source=source.name)
    result = BackfillResult()
    pages = source.fetch(companies[company], None, budget=budget, now=utc(now))
    with _closing(pages):
        for page in pages:
            result.stats.add(ingestor.ingest(page.posts, page.accounts))
            result.pages += 1
            result.exhausted = result.exhausted or page.exhausted
            if on_page is not None:
                on_page(budget.used)
    result.requests = budget.used
    return result


# --- schedule / CLI entry -----------------------------------------------------------------------


def run(
    now: datetime | None = None,
    context: Any = None,
    *,
    force: bool = False,
    only_companies: tuple[str, ...] = (),
    only_sources: tuple[str, ...] = (),
) -> dict[str, Any]:
    """Schedule / CLI entry point: wires settings, registry, store and the configured sources, then polls.

    ``context`` is the Lambda context when there is one: its remaining time is the run's deadline and its
    request id the logs' correlation id.
    """
    from chalicelib import runtime
    from chalicelib.sources.registry import build_sources

    now = utc(now or datetime.now(UTC))
    logger = get_logger()
    run_id = getattr(context, "aws_request_id", None) or uuid.uuid4().hex
    logger.append_keys(job="poll", run_id=run_id)
    logger.set_correlation_id(run_id)
    settings = runtime.settings()
    companies = runtime.registry()
    sources = build_sources()
    if only_sources:
        sources = {k: v for k, v in sources.items() if k in only_sources}
    selected = {k: v for k, v in companies.items() if not only_companies or k in only_companies}
    deadline = None
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    if callable(remaining):
        deadline = lambda: remaining() / 1000.0  # noqa: E731 - a one-line adapter
    thresholds = TierThresholds(settings.notable_followers, settings.high_profile_followers)
    with _traced("poll"):
        result = run_poll(
            runtime.store(), selected, sources, now=now, deadline=deadline, thresholds=thresholds,
            use_claims=not force,
        )
    result.metrics.publish()
    summary = {"sources": sorted(sources), **result.summary()}
    logger.info("poll run finished", extra={k: v for k, v in summary.items() if k != "errors"})
    return summary


@contextlib.contextmanager
def _traced(name: str) -> Iterator[None]:
    """An X-Ray subsegment on Lambda when the X-Ray SDK is deployed; nothing locally (tracing is off there)."""
    import os

    if not os.environ.get("AWS_LAMBDA_FUNCTION_NAME") or os.environ.get("POWERTOOLS_TRACE_DISABLED") == "true":
        yield
        return
    try:
        from aws_lambda_powertools import Tracer

        tracer = Tracer(service="fair-reply")
        segment = tracer.provider.in_subsegment(f"## {name}")
    except Exception:  # the X-Ray SDK is an optional extra; without it the run is simply untraced
        yield
        return
    with segment:
        yield


__all__ = ["BackfillResult", "PollResult", "Unit", "UnitResult", "backfill", "claim", "run", "run_poll", "slot_start"]
