"""The one storage interface every part of Fair Reply talks to.

Public methods hold the rules both backends must share (batch de-duplication, earliest-reply-wins, UTC,
cursor validation, snapshot encoding); backends implement the small ``_`` primitives below them, each of
which states its contract. A new backend is correct when ``tests/contract`` passes against it.
"""

from __future__ import annotations

import contextlib
import json
import zlib
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from datetime import datetime
from itertools import islice
from typing import Any, NamedTuple, TypeVar

from chalicelib.domain.models import (
    Account,
    Category,
    Checkpoint,
    Complaint,
    Post,
    Reply,
    ReplyKind,
    Subscription,
    Tier,
    utc,
)
from chalicelib.domain.records import Record, record, replace, set_field
from chalicelib.store.cursor import ComplaintKey, decode_cursor, encode_cursor, filter_fingerprint
from chalicelib.store.errors import StoreError

FIRST_REPLY = "first_reply"
FIRST_SUBSTANTIVE_REPLY = "first_substantive_reply"
REPLY_SLOTS = (FIRST_REPLY, FIRST_SUBSTANTIVE_REPLY)
MAX_PAGE = 1000
POST_CHUNK = 5000

_T = TypeVar("_T")


@record
class Page(Record):
    """One page of a listing; ``next_cursor`` is None on the last page (a record: every listing builds one)."""

    items: list[Complaint]
    next_cursor: str | None

    def __init__(self, items: list[Complaint], next_cursor: str | None) -> None:
        set_field(self, "items", items)
        set_field(self, "next_cursor", next_cursor)


@record
class ComplaintFilter(Record):
    """Optional filters of ``list_complaints`` beyond company and time range; None means "any"."""

    platform: str | None = None
    tier: str | None = None
    answered: bool | None = None
    category: str | None = None

    def __init__(
        self, platform: str | None = None, tier: str | None = None, answered: bool | None = None,
        category: str | None = None,
    ) -> None:
        set_field(self, "platform", platform)
        set_field(self, "tier", tier)
        set_field(self, "answered", answered)
        set_field(self, "category", category)


def is_earlier(candidate: Reply, current: Reply | None) -> bool:
    """Earliest reply wins; equal times go to the smaller post id so concurrent writers agree on one answer."""
    return current is None or (candidate.created_at, candidate.post_id) < (current.created_at, current.post_id)


def complaint_key(c: Complaint) -> ComplaintKey:
    return (c.created_at, c.platform, c.post_id)


def _post_order(p: Post) -> tuple[datetime, str]:
    return (p.created_at, p.post_id)


def _distinct(items: Iterable[_T]) -> list[_T]:
    return list(dict.fromkeys(items))


def normalise_email(email: str) -> str:
    """Addresses are matched case-insensitively: people type them both ways and expect one subscription."""
    return email.strip().casefold()


def _chunks(items: Iterable[_T], size: int) -> Iterator[list[_T]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def _merge_posts(posts: Iterable[Post]) -> list[Post]:
    """Collapse duplicates within one batch: the first copy stands, a deletion seen in any copy sticks."""
    merged: dict[tuple[str, str], Post] = {}
    for post in posts:
        seen = merged.get(post.key)
        if seen is None:
            merged[post.key] = post
        elif post.deleted and not seen.deleted:
            merged[post.key] = replace(seen, deleted=True)
    return list(merged.values())


def _merge_complaints(complaints: Iterable[Complaint]) -> list[Complaint]:
    """Collapse duplicates within one batch with the same rules the store applies across batches."""
    merged: dict[tuple[str, str], Complaint] = {}
    for c in complaints:
        seen = merged.get(c.key)
        if seen is None:
            merged[c.key] = c
            continue
        merged[c.key] = replace(
            seen,
            category=c.category,
            deleted=seen.deleted or c.deleted,
            first_reply=c.first_reply if c.first_reply and is_earlier(c.first_reply, seen.first_reply)
            else seen.first_reply,
            first_substantive_reply=c.first_substantive_reply
            if c.first_substantive_reply and is_earlier(c.first_substantive_reply, seen.first_substantive_reply)
            else seen.first_substantive_reply,
        )
    return list(merged.values())


class ComplaintChange(NamedTuple):
    """What an upsert changes on one stored complaint: fields to set (None: keep), then earlier reply slots.

    A named tuple: every route that opens a store imports this module, and a dataclass costs a cold start more.
    """

    platform: str
    post_id: str
    category: str | None
    deleted: bool | None
    firsts: tuple[tuple[str, Reply], ...]


class Store(ABC):
    """Posts, accounts, complaints and their first replies, checkpoints, snapshots and subscriptions."""

    # -- lifecycle -------------------------------------------------------------------------------------------

    def close(self) -> None:  # noqa: B027 - backends without resources need not override
        """Release connections; the store must not be used afterwards."""

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def batch(self) -> contextlib.AbstractContextManager[Any]:
        """Group every write inside the block into one unit of work where the backend has one.

        SQLite: one transaction (nested batches join it), committed when the block ends and rolled back
        if it raises, so an ingest batch costs one commit instead of one per write. DynamoDB: no grouping;
        each write stays its own conditional request, which is what keeps concurrent writers correct.
        """
        return self._batch()

    def _batch(self) -> contextlib.AbstractContextManager[Any]:
        """Group primitive calls into one unit of work where the backend has one (SQLite: a transaction)."""
        return contextlib.nullcontext()

    # -- posts and accounts ----------------------------------------------------------------------------------

    def put_posts(self, posts: Iterable[Post]) -> int:
        """Store posts not seen before; return how many were new.

        Re-inserting a stored post changes nothing, except that a later copy marked deleted marks the stored
        one deleted: a deletion is news, but a re-fetch must never resurrect a post or rewrite its time or
        author audience (the tier was measured on the first copy).
        """
        stored = 0
        for chunk in _chunks(posts, POST_CHUNK):
            batch = _merge_posts(chunk)
            with self._batch():
                stored += self._insert_posts(batch)
                deleted = [p.key for p in batch if p.deleted]
                if deleted:
                    self._mark_posts_deleted(deleted)
        return stored

    def get_post(self, platform: str, post_id: str) -> Post | None:
        return self._get_post(platform, post_id)

    def get_posts(self, platform: str, post_ids: Iterable[str]) -> dict[str, Post]:
        """The stored posts among ``post_ids``, by post id (ids not stored are absent): ``get_post`` in bulk."""
        ids = _distinct(post_ids)
        return self._get_posts(platform, ids) if ids else {}

    def thread_posts(self, platform: str, thread_id: str) -> list[Post]:
        """All stored posts of a thread, oldest first (ties by post id)."""
        return sorted(self._thread_posts(platform, thread_id), key=_post_order)

    def thread_posts_many(self, platform: str, thread_ids: Iterable[str]) -> dict[str, list[Post]]:
        """``thread_posts`` of each thread id (every id is a key, ``[]`` when nothing is stored), in bulk."""
        ids = _distinct(thread_ids)
        found = self._thread_posts_many(platform, ids) if ids else {}
        return {t: sorted(found.get(t, ()), key=_post_order) for t in ids}

    def posts_replying_to(self, platform: str, post_id: str) -> list[Post]:
        """Stored posts whose ``in_reply_to_post_id`` is ``post_id``, oldest first; for threads without an id."""
        return sorted(self._posts_replying_to(platform, post_id), key=_post_order)

    def posts_replying_to_any(self, platform: str, post_ids: Iterable[str]) -> dict[str, list[Post]]:
        """``posts_replying_to`` of each id (every id is a key, ``[]`` when none), in bulk: one tree level at once."""
        ids = _distinct(post_ids)
        found = self._posts_replying_to_any(platform, ids) if ids else {}
        return {i: sorted(found.get(i, ()), key=_post_order) for i in ids}

    def put_accounts(self, accounts: Iterable[Account]) -> int:
        """Upsert accounts (the latest copy of an account wins); return how many were new or changed."""
        latest = {(a.platform, a.account_id): a for a in accounts}
        if not latest:
            return 0
        with self._batch():
            return self._upsert_accounts(list(latest.values()))

    def get_account(self, platform: str, account_id: str) -> Account | None:
        return self._get_account(platform, account_id)

    # -- complaints ------------------------------------------------------------------------------------------

    def put_complaints(self, complaints: Iterable[Complaint]) -> int:
        """Idempotent upsert keyed by (platform, post id); return how many complaints were new.

        A stored complaint keeps its identity fields (time, author, tier); an upsert may change its
        category, mark it deleted, or bring an *earlier* first reply — never a later one, and never clear one.
        """
        merged = _merge_complaints(complaints)
        if not merged:
            return 0
        with self._batch():
            # Read first, in bulk: a fresh import inserts almost everything, a re-run rewrites almost nothing.
            stored_before = self._get_complaints([c.key for c in merged])
            absent = [c for c in merged if c.key not in stored_before]
            inserted = self._insert_complaints(absent) if absent else set()
            raced = [c.key for c in absent if c.key not in inserted]
            if raced:  # another writer stored them between our read and our insert: update them instead
                stored_before.update(self._get_complaints(raced))
            changes: list[ComplaintChange] = []
            for c in merged:
                current = stored_before.get(c.key)
                if current is None:  # inserted above (or, never in practice, removed since)
                    continue
                category = str(c.category) if c.category != current.category else None
                deleted = True if c.deleted and not current.deleted else None
                firsts = tuple(
                    (slot, reply) for slot in REPLY_SLOTS
                    if (reply := getattr(c, slot)) is not None and is_earlier(reply, getattr(current, slot))
                )
                if category is not None or deleted is not None or firsts:
                    changes.append(ComplaintChange(c.platform, c.post_id, category, deleted, firsts))
            if changes:
                self._change_complaints(changes)
        return len(inserted)

    def record_reply(self, reply: Reply) -> bool:
        """Record ``reply`` as its complaint's first (and first substantive) reply if it is earlier.

        Atomic in both backends, so repeated or concurrent recording keeps the earliest reply. Returns
        False when nothing changed, including when the complaint is not stored yet (pairing retries then).
        """
        changed = self._record_first(reply.platform, reply.complaint_post_id, reply, FIRST_REPLY)
        if reply.kind == ReplyKind.SUBSTANTIVE:
            changed = self._record_first(reply.platform, reply.complaint_post_id, reply, FIRST_SUBSTANTIVE_REPLY) or changed
        return changed

    def get_complaint(self, platform: str, post_id: str) -> Complaint | None:
        return self._get_complaint(platform, post_id)

    def mark_deleted(self, platform: str, post_id: str) -> bool:
        """Mark a post and its complaint (whichever are stored) deleted; True if either changed."""
        with self._batch():
            post_changed = self._mark_posts_deleted([(platform, post_id)]) > 0
            complaint_changed = self._update_complaint(platform, post_id, category=None, deleted=True)
        return post_changed or complaint_changed

    def list_complaints(
        self,
        company: str,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        platform: str | None = None,
        tier: Tier | str | None = None,
        answered: bool | None = None,
        category: Category | str | None = None,
        limit: int = 100,
        cursor: str | None = None,
    ) -> Page:
        """A company's complaints ordered by (created_at, platform, post_id); ``since`` inclusive, ``until`` not.

        Raises
        ------
        InvalidCursor
            ``cursor`` is malformed or was issued for different filters.
        ValueError
            ``limit`` is outside 1..1000 or ``tier``/``category`` is not a known value.
        """
        if not 1 <= limit <= MAX_PAGE:
            raise ValueError(f"limit={limit}: must be between 1 and {MAX_PAGE}")
        since = None if since is None else utc(since)
        until = None if until is None else utc(until)
        filters = ComplaintFilter(
            platform=platform,
            tier=None if tier is None else str(Tier(tier)),
            answered=answered,
            category=None if category is None else str(Category(category)),
        )
        fingerprint = filter_fingerprint(
            company=company, since=since, until=until, platform=filters.platform, tier=filters.tier,
            answered=filters.answered, category=filters.category,
        )
        after = None if cursor is None else decode_cursor(cursor, fingerprint)
        rows = self._query_complaints(company, since=since, until=until, after=after, filters=filters, limit=limit + 1)
        items = rows[:limit]
        next_cursor = encode_cursor(complaint_key(items[-1]), fingerprint) if len(rows) > limit else None
        return Page(items=items, next_cursor=next_cursor)

    def changed_complaints(self, company: str, *, after: int = 0, limit: int = 1000) -> tuple[list[Complaint], int]:
        """Complaints of ``company`` written since change number ``after``, oldest change first.

        Every write that changes a complaint gives it a new, larger ``seq``, so a job that remembers the
        returned ``last_seq`` reads only what changed since its last run. On DynamoDB a sequence number is
        taken just before its write lands, so a reader needing every change should re-read a small overlap
        (re-reading is harmless: complaints are keyed).
        """
        if limit < 1:
            raise ValueError(f"limit={limit}: must be positive")
        rows = self._changed_complaints(company, after=after, limit=limit)
        return [c for _, c in rows], (rows[-1][0] if rows else after)

    def count_complaints(
        self, company: str, *, since: datetime, until: datetime, source: str
    ) -> tuple[int, int, int, dict[str, int]]:
        """Counts over a company's complaints from ``source`` created in [since, until): what an import reports.

        Returns ``(inbound, complaints, answered, tiers)``: every stored one; those of category complaint
        and not deleted; of those, the answered ones; and those split by tier. Backends may count in place
        (SQLite does, with one aggregate query) instead of reading every complaint.
        """
        found = self._count_complaints(company, since=utc(since), until=utc(until), source=source)
        if found is not None:
            return found
        inbound = complaints = answered = 0
        tiers: dict[str, int] = {}
        cursor: str | None = None
        while True:
            page = self.list_complaints(company, since=since, until=until, limit=MAX_PAGE, cursor=cursor)
            for c in page.items:
                if c.source != source:
                    continue
                inbound += 1
                if c.category == Category.COMPLAINT and not c.deleted:
                    complaints += 1
                    answered += c.answered
                    tiers[str(c.tier)] = tiers.get(str(c.tier), 0) + 1
            cursor = page.next_cursor
            if cursor is None:
                return inbound, complaints, answered, tiers

    def _count_complaints(
        self, company: str, *, since: datetime, until: datetime, source: str
    ) -> tuple[int, int, int, dict[str, int]] | None:
        """``count_complaints`` computed by the backend itself, or None to count by listing (the default)."""
        return None

    # -- checkpoints, horizons and snapshots -----------------------------------------------------------------

    def get_checkpoint(self, company: str, source: str) -> Checkpoint | None:
        return self._get_checkpoint(company, source)

    def put_checkpoint(self, cp: Checkpoint) -> None:
        """Save a checkpoint; callers save it only after the posts it covers are stored."""
        self._put_checkpoint(cp)

    def list_checkpoints(self) -> list[Checkpoint]:
        return sorted(self._list_checkpoints(), key=lambda cp: (cp.company, cp.source))

    def set_horizon(self, company: str, platform: str, observed_until: datetime) -> None:
        """Raise how far a company's platform has been observed; a late, older report never lowers it."""
        self._raise_horizon(company, platform, utc(observed_until))

    def get_horizons(self, company: str) -> dict[str, datetime]:
        return self._get_horizons(company)

    def put_snapshot(self, key: str, body: dict[str, Any], generated_at: datetime) -> None:
        """Store a JSON document (compressed: aggregate snapshots can be large) under ``key``, replacing it."""
        data = zlib.compress(json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode(), 6)
        self._put_snapshot(key, data, utc(generated_at))

    def get_snapshot(self, key: str) -> tuple[dict[str, Any], datetime] | None:
        found = self._get_snapshot(key)
        if found is None:
            return None
        data, generated_at = found
        try:
            return json.loads(zlib.decompress(data)), generated_at
        except (zlib.error, ValueError) as exc:
            raise StoreError(f"snapshot {key!r} is corrupt") from exc

    def put_text(self, key: str, text: str, generated_at: datetime) -> None:
        """Store a ready-made text (e.g. a response body) under ``key``, compressed, without a JSON wrapper.

        Shares the snapshot records (same keys space, same size handling): reading it back is one decompression,
        where a text inside a JSON snapshot would be unescaped character by character.
        """
        self._put_snapshot(key, zlib.compress(text.encode(), 6), utc(generated_at))

    def get_text(self, key: str) -> tuple[str, datetime] | None:
        found = self._get_snapshot(key)
        if found is None:
            return None
        data, generated_at = found
        try:
            return zlib.decompress(data).decode(), generated_at
        except (zlib.error, UnicodeDecodeError) as exc:
            raise StoreError(f"text {key!r} is corrupt") from exc

    # -- subscriptions ---------------------------------------------------------------------------------------

    def put_subscription(self, sub: Subscription) -> None:
        """Create or replace a subscription by ``sub_id``."""
        self._put_subscription(sub)

    def get_subscription(self, sub_id: str) -> Subscription | None:
        return self._get_subscription(sub_id)

    def find_subscription(self, email: str, company: str) -> Subscription | None:
        """The newest subscription of this address (case-insensitive) to this company, if any."""
        found = self._find_subscriptions(normalise_email(email), company)
        return max(found, key=lambda s: (s.created_at, s.sub_id), default=None)

    def list_subscriptions(self, *, company: str | None = None, status: str | None = None) -> list[Subscription]:
        subs = self._list_subscriptions(company=company, status=status)
        return sorted(subs, key=lambda s: (s.company, s.created_at, s.sub_id))

    def mark_alerted(self, sub_id: str, platform: str, post_id: str, at: datetime) -> bool:
        """Remember that a subscriber was alerted about a complaint; True only the first time (put-if-absent)."""
        return self._mark_alerted(sub_id, platform, post_id, utc(at))

    def was_alerted(self, sub_id: str, platform: str, post_id: str) -> bool:
        return self._was_alerted(sub_id, platform, post_id)

    def suppress_email(self, email: str, reason: str, *, at: datetime | None = None) -> None:
        """Never mail this address again (bounce, complaint, or request); idempotent."""
        self._suppress(normalise_email(email), reason, None if at is None else utc(at))

    def is_suppressed(self, email: str) -> bool:
        return self._is_suppressed(normalise_email(email))

    def record_event(self, kind: str, key: str, at: datetime) -> None:
        """Record one occurrence (e.g. a subscribe request from an IP) for rate limiting."""
        self._record_event(kind, key, utc(at))

    def count_events(self, kind: str, key: str, since: datetime) -> int:
        """Occurrences of ``kind``/``key`` at or after ``since``."""
        return self._count_events(kind, key, utc(since))

    # -- primitives ------------------------------------------------------------------------------------------

    @abstractmethod
    def _insert_posts(self, posts: list[Post]) -> int:
        """Store each post whose key is absent (distinct keys given); leave stored ones untouched; return count stored."""

    @abstractmethod
    def _mark_posts_deleted(self, keys: list[tuple[str, str]]) -> int:
        """Set ``deleted`` on stored, not yet deleted posts; return how many changed."""

    @abstractmethod
    def _get_post(self, platform: str, post_id: str) -> Post | None: ...

    @abstractmethod
    def _thread_posts(self, platform: str, thread_id: str) -> list[Post]:
        """Every stored post with this thread id, any order."""

    @abstractmethod
    def _posts_replying_to(self, platform: str, post_id: str) -> list[Post]:
        """Every stored post whose ``in_reply_to_post_id`` is ``post_id``, any order."""

    def _get_posts(self, platform: str, post_ids: list[str]) -> dict[str, Post]:
        """The stored posts among ``post_ids`` (distinct, non-empty), by id. Default: one read each."""
        found = {i: self._get_post(platform, i) for i in post_ids}
        return {i: p for i, p in found.items() if p is not None}

    def _thread_posts_many(self, platform: str, thread_ids: list[str]) -> dict[str, list[Post]]:
        """Every stored post of each thread (distinct ids, non-empty), any order. Default: one query each."""
        return {t: self._thread_posts(platform, t) for t in thread_ids}

    def _posts_replying_to_any(self, platform: str, post_ids: list[str]) -> dict[str, list[Post]]:
        """Every stored reply to each of ``post_ids`` (distinct, non-empty), any order. Default: one query each."""
        return {i: self._posts_replying_to(platform, i) for i in post_ids}

    @abstractmethod
    def _upsert_accounts(self, accounts: list[Account]) -> int:
        """Write accounts (distinct keys); return how many were absent or differed from the stored copy."""

    @abstractmethod
    def _get_account(self, platform: str, account_id: str) -> Account | None: ...

    @abstractmethod
    def _insert_complaint(self, c: Complaint) -> bool:
        """Store ``c`` with its replies and a new change number if its key is absent; False if already stored."""

    @abstractmethod
    def _get_complaint(self, platform: str, post_id: str) -> Complaint | None: ...

    def _insert_complaints(self, complaints: list[Complaint]) -> set[tuple[str, str]]:
        """``_insert_complaint`` for each (distinct keys); return the keys stored. Default: one write each."""
        return {c.key for c in complaints if self._insert_complaint(c)}

    def _get_complaints(self, keys: list[tuple[str, str]]) -> dict[tuple[str, str], Complaint]:
        """The stored complaints among ``keys`` (distinct), by key. Default: one read each."""
        found = {k: self._get_complaint(*k) for k in keys}
        return {k: c for k, c in found.items() if c is not None}

    @abstractmethod
    def _update_complaint(self, platform: str, post_id: str, *, category: str | None, deleted: bool | None) -> bool:
        """Set the given (non-None) fields on a stored complaint if they differ, with a new change number.

        Returns True if the complaint exists and changed.
        """

    @abstractmethod
    def _record_first(self, platform: str, complaint_post_id: str, reply: Reply, slot: str) -> bool:
        """Atomically set reply ``slot`` if the complaint exists and :func:`is_earlier` holds against the stored one.

        Must be a single conditional write (no read-modify-write), and give the complaint a new change
        number when it changes it. Returns True if it changed.
        """

    def _change_complaints(self, changes: list[ComplaintChange]) -> None:
        """Apply each change in order: ``_update_complaint`` when it sets a field, then ``_record_first`` per slot.

        A backend may apply them in bulk if the outcome (each write's condition, every change numbered in this
        order) is the same. Default: one write each.
        """
        for change in changes:
            if change.category is not None or change.deleted is not None:
                self._update_complaint(change.platform, change.post_id, category=change.category, deleted=change.deleted)
            for slot, reply in change.firsts:
                self._record_first(change.platform, change.post_id, reply, slot)

    @abstractmethod
    def _query_complaints(
        self,
        company: str,
        *,
        since: datetime | None,
        until: datetime | None,
        after: ComplaintKey | None,
        filters: ComplaintFilter,
        limit: int,
    ) -> list[Complaint]:
        """Up to ``limit`` matching complaints with key strictly after ``after``, in key order."""

    @abstractmethod
    def _changed_complaints(self, company: str, *, after: int, limit: int) -> list[tuple[int, Complaint]]:
        """Up to ``limit`` (seq, complaint) pairs of ``company`` with seq > ``after``, ordered by seq."""

    @abstractmethod
    def _get_checkpoint(self, company: str, source: str) -> Checkpoint | None: ...

    @abstractmethod
    def _put_checkpoint(self, cp: Checkpoint) -> None: ...

    @abstractmethod
    def _list_checkpoints(self) -> list[Checkpoint]: ...

    @abstractmethod
    def _raise_horizon(self, company: str, platform: str, observed_until: datetime) -> None:
        """Atomically store ``max(stored, observed_until)``."""

    @abstractmethod
    def _get_horizons(self, company: str) -> dict[str, datetime]: ...

    @abstractmethod
    def _put_snapshot(self, key: str, data: bytes, generated_at: datetime) -> None:
        """Replace the snapshot so that readers see the old or the new bytes, never a mix."""

    @abstractmethod
    def _get_snapshot(self, key: str) -> tuple[bytes, datetime] | None: ...

    @abstractmethod
    def _put_subscription(self, sub: Subscription) -> None: ...

    @abstractmethod
    def _get_subscription(self, sub_id: str) -> Subscription | None: ...

    @abstractmethod
    def _find_subscriptions(self, email_norm: str, company: str) -> list[Subscription]: ...

    @abstractmethod
    def _list_subscriptions(self, *, company: str | None, status: str | None) -> list[Subscription]: ...

    @abstractmethod
    def _mark_alerted(self, sub_id: str, platform: str, post_id: str, at: datetime) -> bool:
        """Put-if-absent; True if this call stored it."""

    @abstractmethod
    def _was_alerted(self, sub_id: str, platform: str, post_id: str) -> bool: ...

    @abstractmethod
    def _suppress(self, email_norm: str, reason: str, at: datetime | None) -> None: ...

    @abstractmethod
    def _is_suppressed(self, email_norm: str) -> bool: ...

    @abstractmethod
    def _record_event(self, kind: str, key: str, at: datetime) -> None: ...

    @abstractmethod
    def _count_events(self, kind: str, key: str, since: datetime) -> int: ...
