"""The interface every live source implements, and the small shared rules they all follow.

Sources *yield pages* and never decide how many to read: the poll job stores each page, then saves
``page.next_cursor``, and stops when its time budget or the source's request budget runs out. Because a
cursor is only saved after the posts it covers are stored, a crash between pages loses nothing, and
because the store upserts by (platform, post id), re-reading a page after a crash counts nothing twice.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, TypeVar

from aws_lambda_powertools import Logger

from chalicelib.domain.models import Account, Company, Post, parse_instant
from chalicelib.sources.errors import BudgetExhausted, RateLimited

logger = Logger(service="fair-reply")

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Skipped:
    """An item left out of a page, with a machine-readable reason (never the item's text)."""

    reason: str
    item_id: str | None = None


@dataclass(frozen=True, slots=True)
class Page:
    """One unit of work: store ``posts`` and ``accounts``, *then* save ``next_cursor``.

    ``done`` marks the last page of this fetch. ``exhausted`` says the fetch ended because the request
    budget ran out (more remains for the next run); ``next_cursor`` of such a page is the cursor to resume from.
    """

    posts: tuple[Post, ...] = ()
    accounts: tuple[Account, ...] = ()
    next_cursor: str | None = None
    skipped: tuple[Skipped, ...] = ()
    done: bool = False
    exhausted: bool = False


@dataclass(slots=True)
class RequestBudget:
    """Requests one source may still make in this run, and when it may resume if the platform paused it.

    Mutable on purpose: it is the run's meter, shared by every request a source makes.
    """

    max_requests: int
    used: int = 0
    paused_until: datetime | None = None

    @property
    def remaining(self) -> int:
        return max(0, self.max_requests - self.used)

    def spend(self, source: str, now: datetime | None = None) -> None:
        """Count one request, or raise BudgetExhausted / RateLimited (a known-empty rate window)."""
        if self.paused_until is not None and (now is None or now < self.paused_until):
            raise RateLimited(source, self.paused_until, "rate-limit window exhausted")
        if self.used >= self.max_requests:
            raise BudgetExhausted(source, f"request budget of {self.max_requests} spent")
        self.used += 1


class Source(Protocol):
    """A platform reader. ``cursor`` is this source's opaque checkpoint for ``company`` (None: first run)."""

    name: str

    def fetch(
        self, company: Company, cursor: str | None, *, budget: RequestBudget, now: datetime
    ) -> Iterator[Page]: ...


def parse_each(
    source: str, items: Iterable[Any], parse: Callable[[Any], T], *, id_key: str = "id"
) -> tuple[list[T], list[Skipped]]:
    """Parse items one by one, so one malformed item is skipped and logged while the rest survive.

    ``parse`` may return None to drop an item silently (e.g. a repost we do not track).
    """
    parsed: list[T] = []
    skipped: list[Skipped] = []
    for item in items:
        try:
            result = parse(item)
        except MALFORMED as exc:
            skipped.append(skip_malformed(source, _item_id(item, id_key), exc))
            continue
        if result is not None:
            parsed.append(result)
    return parsed, skipped


MALFORMED = (KeyError, TypeError, ValueError, AttributeError, IndexError)


def skip_malformed(source: str, item_id: str | None, exc: Exception) -> Skipped:
    """Record and log (source, item id, error type; never the item's text) one item we could not parse."""
    logger.warning(
        "skipped malformed item",
        extra={"source": source, "item_id": item_id, "error": type(exc).__name__, "detail": _safe(exc)},
    )
    return Skipped(reason=f"malformed: {type(exc).__name__}: {_safe(exc)}", item_id=item_id)


def _item_id(item: Any, key: str) -> str | None:
    if isinstance(item, Mapping):
        value = item.get(key)
        if isinstance(value, str | int):
            return str(value)
    return None


def _safe(exc: Exception) -> str:
    # Exception text from our parsers names fields, never values, but cap it anyway: post text must not leak.
    return str(exc)[:80]


def require(mapping: Any, key: str) -> Any:
    """``mapping[key]``, raising KeyError when absent *or* None: a null id is as unusable as a missing one."""
    if not isinstance(mapping, Mapping):
        raise TypeError(f"expected an object holding {key!r}")
    value = mapping.get(key)
    if value is None:
        raise KeyError(key)
    return value


def dedupe_posts(posts: Iterable[Post]) -> tuple[Post, ...]:
    """Keep the first copy of each post: pages overlap (cursor resumes, thread expansions, re-reads)."""
    seen: dict[tuple[str, str], Post] = {}
    for post in posts:
        seen.setdefault(post.key, post)
    return tuple(seen.values())


def dedupe_accounts(accounts: Iterable[Account]) -> tuple[Account, ...]:
    """Keep one account per id, preferring the copy that knows the audience size."""
    seen: dict[str, Account] = {}
    for account in accounts:
        current = seen.get(account.account_id)
        if current is None or (current.followers is None and account.followers is not None):
            seen[account.account_id] = account
    return tuple(seen.values())


def load_cursor(source: str, cursor: str | None) -> dict[str, Any]:
    """Decode a stored cursor; an unreadable one restarts from scratch (safe: upserts are idempotent)."""
    if not cursor:
        return {}
    try:
        value = json.loads(cursor)
    except ValueError:
        logger.warning("unreadable cursor ignored", extra={"source": source})
        return {}
    return value if isinstance(value, dict) else {}


def dump_cursor(state: Mapping[str, Any]) -> str:
    return json.dumps(state, sort_keys=True, separators=(",", ":"))


@dataclass(slots=True)
class Sweep:
    """Checkpoint of one newest-first stream (X search, Bluesky feeds, Reddit listings).

    Such APIs page from the newest item backwards, so the first page's newest marker cannot be saved
    as the checkpoint until every older page down to ``since`` is stored: a crash in between would
    skip them. Intermediate pages therefore keep ``since`` unchanged, record the newest marker seen
    so far in ``pending`` and the resume ``token``; only the sweep's last page moves ``since``.
    A stale token is harmless to drop: the sweep restarts from ``since`` and upserts absorb repeats.
    """

    since: str | None = None
    pending: str | None = None
    token: str | None = None

    @classmethod
    def load(cls, raw: Any) -> Sweep:
        if not isinstance(raw, Mapping):
            return cls()
        return cls(**{k: (str(raw[k]) if raw.get(k) is not None else None) for k in ("since", "pending", "token")})

    def dump(self) -> dict[str, str | None]:
        return {"since": self.since, "pending": self.pending, "token": self.token}

    def advance(self, newest: str | None, next_token: str | None, *, finished: bool, key: Callable[[str], Any]) -> Sweep:
        """The state to save after storing one page whose newest marker is ``newest``."""
        candidates = [m for m in (self.pending, newest) if m is not None]
        pending = max(candidates, key=key) if candidates else None
        if finished or not next_token:
            since_candidates = [m for m in (self.since, pending) if m is not None]
            return Sweep(since=max(since_candidates, key=key) if since_candidates else None)
        return Sweep(since=self.since, pending=pending, token=next_token)


def sweep_to_now(state: Mapping[str, Any], key: str, sweep: Callable[[bool], Iterator[Page]]) -> Iterator[Page]:
    """Run ``sweep(True)``; when it resumed an earlier run's token, then ``sweep(False)`` from the top.

    A newest-first sweep resumed in a later run starts *below* whatever was posted since the run that began
    it, so finishing it alone does not observe the stream up to ``now``, which a completed fetch claims (the
    poll job sets the horizon from it). The second sweep reads down to the marker the first one saved.
    """
    resumed = Sweep.load(state.get(key)).token is not None
    yield from sweep(True)
    if resumed:
        yield from sweep(False)


@dataclass(frozen=True, slots=True)
class Parsed:
    """What a platform page parser returns: normalised items plus what it had to leave out."""

    posts: tuple[Post, ...] = ()
    accounts: tuple[Account, ...] = ()
    skipped: tuple[Skipped, ...] = field(default_factory=tuple)


def parse_time(value: Any) -> datetime:
    """An ISO 8601 timestamp (``Z`` or offset) as aware UTC; raise ValueError/TypeError otherwise."""
    if not isinstance(value, str):
        raise TypeError("timestamp is not a string")
    return parse_instant(value)


def unique_pages(pages: Iterable[Page]) -> Iterator[Page]:
    """Drop posts an earlier page of the same fetch already carried (pages overlap when feeds shift under us).

    Safe because the earlier page is stored before this one is even requested.
    """
    seen: set[tuple[str, str]] = set()
    for page in pages:
        fresh = tuple(p for p in page.posts if p.key not in seen)
        seen.update(p.key for p in fresh)
        yield page if len(fresh) == len(page.posts) else dataclasses.replace(page, posts=fresh)
