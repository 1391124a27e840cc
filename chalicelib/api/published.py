"""Documents published ready to send: the aggregate run shapes each window's public JSON once, not each request.

A company page with its survival curves is about 200 KB of JSON; mapping it onto the public names and
encoding it (twice, once for the ETag) on every request made the company route cost what the document
weighs, and finding the company's rank meant reading the whole leaderboard. So when a window's snapshots are
written (:func:`chalicelib.jobs.snapshots.publish_window`), each company's page, the leaderboard and the
company list are also stored as the exact response body, in two records: a small *head* (ETag, digest of the
body, the company header it was made from, and for a page its rank and CSV) and the *body*, a text record
(:meth:`Store.put_text <chalicelib.store.base.Store.put_text>`) holding the digest, a newline and the body, so
that reading it is one decompression and a prefix check (a JSON wrapper made it a ``json.loads`` of the whole
body as one escaped string, which cost what the document weighs).

A request reads the head (one keyed read whose size does not depend on the document's), answers 304 from it,
and otherwise sends the body: from this process's memory when it already holds the body with that digest
(a warm Lambda serves the same documents again and again; the digest makes a stale copy impossible), else
read from the store. A head is used only while it still describes what the request would compute: the same
API version and record format, and the same company header (the registry or the admin API may have renamed
or retired a company since the run). Otherwise, and for windows published by an older version, the caller
shapes the response from the snapshots as before, with the same bytes; the next aggregate run publishes again.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple

from chalicelib import __version__
from chalicelib.api import caching, serialise
from chalicelib.api.params import Period

if TYPE_CHECKING:
    from chalicelib.domain.models import Company
    from chalicelib.store.base import Store

#: Bump when a record's shape changes; with the API version it decides whether a stored head is servable.
FORMAT = 2
STAMP = f"{__version__}/{FORMAT}"
LISTS: dict[str, tuple[bool, str]] = {"leaderboard": (False, "rank"), "companies": (True, "slug")}
#: Bodies kept in memory, in characters (most recently sent kept); the API function has 512 MB.
MEMORY_BUDGET = 16 * 1024 * 1024


class Published(NamedTuple):
    """A head read from the store, with its key (the body lives under ``body_key(key)``).

    A named tuple, not a dataclass: building a dataclass at import costs a cold start about a millisecond.
    """

    key: str
    head: Mapping[str, Any]

    @property
    def etag(self) -> str:
        return self.head["etag"]


def body_key(key: str) -> str:
    return f"{key}:body"


def _records(key: str, document: Mapping[str, Any], **fields: Any) -> dict[str, dict[str, Any] | str]:
    """The body (a text: digest, newline, body) first: a writer stores it before the head that names it."""
    import hashlib

    text = caching.json_text(document)
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]
    head = {"stamp": STAMP, **fields, "etag": caching.json_etag(document), "digest": digest}
    return {body_key(key): f"{digest}\n{text}", key: head}


def _body_of(stored: str, digest: str) -> str | None:
    """The body of a stored body record if it is the one with ``digest``.

    Records written before bodies were texts are JSON snapshots (``{"digest": …, "body": …}``); they are
    still read, the slow way, until the next run rewrites them.
    """
    if stored.startswith("{"):
        old = json.loads(stored)
        return old.get("body") if old.get("digest") == digest else None
    n = len(digest)
    return stored[n + 1 :] if stored[n : n + 1] == "\n" and stored.startswith(digest) else None


def company_records(key: str, body: Mapping[str, Any], window: str, rank: int | None, now: datetime) -> dict:
    """One company × window: its page as sent, its ETag and rank, and its (small) CSV, from a snapshot body."""
    from chalicelib.api.queries import company_document

    page = company_document(body, Period(window=window), platform=None, rank=rank, now=now)
    rows = serialise.stats_rows([page], page["meta"]["window"])
    return _records(key, page, company=body["company"], csv=serialise.to_csv(serialise.STATS_CSV_COLUMNS, rows))


def list_records(key: str, bodies: list[dict[str, Any]], window: str, name: str, now: datetime) -> dict:
    """The leaderboard or the company list (default sort, every platform) of leaderboard entries in slug order.

    Nothing for an empty list: its ``generated_at`` would be the request's clock, not a stored one.
    """
    from chalicelib.api.queries import summaries_document

    include_retired, sort = LISTS[name]
    chosen = [b for b in bodies if include_retired or not b["company"]["retired"]]
    if not chosen:
        return {}
    document = summaries_document(chosen, Period(window=window), platform=None, sort=sort, now=now)
    return _records(key, document, companies=[b["company"] for b in chosen])


def records(window: str, entries: Iterable[Mapping[str, Any]], now: datetime) -> dict[str, dict[str, Any] | str]:
    """Every record of one window by store key (each body, a text, before its head), from the run's bodies.

    The bodies are first taken through JSON, as the store does, so that a record holds exactly the bytes a
    request would compute from the stored snapshot (integer keys become strings, tuples lists).
    """
    from chalicelib.jobs.snapshots import leaderboard_snapshot, public_company_key, public_list_key

    bodies = json.loads(json.dumps(list(entries), separators=(",", ":"), ensure_ascii=False))
    if not bodies or any(not b.get("generated_at") for b in bodies):
        return {}  # a page or list without a stamp takes the request's clock: nothing to publish
    board = json.loads(json.dumps(leaderboard_snapshot(window, bodies, now), ensure_ascii=False))
    listed = sorted(board["companies"], key=lambda e: e["company"]["slug"])
    rank_of = {e["company"]["slug"]: e["rank"] for e in listed}
    out: dict[str, dict[str, Any] | str] = {}
    for b in bodies:
        slug = b["company"]["slug"]
        rank = None if b["company"]["retired"] else rank_of.get(slug)
        out.update(company_records(public_company_key(slug, window), b, window, rank, now))
    for name in LISTS:
        out.update(list_records(public_list_key(name, window), listed, window, name, now))
    return out


# --- reading ---------------------------------------------------------------------------------------------


class _Bodies:
    """Bodies by head key and digest, least recently sent dropped first once over the budget."""

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self._held: OrderedDict[str, tuple[str, str]] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def get(self, key: str, digest: str) -> str | None:
        with self._lock:
            held = self._held.get(key)
            if held is None or held[0] != digest:
                return None
            self._held.move_to_end(key)
            return held[1]

    def put(self, key: str, digest: str, text: str) -> None:
        with self._lock:
            if (old := self._held.pop(key, None)) is not None:
                self._size -= len(old[1])
            if len(text) > self.budget:
                return
            self._held[key] = (digest, text)
            self._size += len(text)
            while self._size > self.budget:
                self._size -= len(self._held.popitem(last=False)[1][1])

    def clear(self) -> None:
        with self._lock:
            self._held.clear()
            self._size = 0


BODIES = _Bodies(MEMORY_BUDGET)


def _head(store: Store, key: str) -> Published | None:
    found = store.get_snapshot(key)
    if found is None or found[0].get("stamp") != STAMP:
        return None
    return Published(key, found[0])


def read_company(store: Store, company: Company, window: str) -> Published | None:
    """The company's published head for a named window, if it still describes the company as it is now."""
    from chalicelib.jobs.snapshots import company_info, public_company_key

    found = _head(store, public_company_key(company.slug, window))
    return found if found is not None and found.head.get("company") == company_info(company) else None


def read_list(store: Store, companies: Mapping[str, Company], window: str, name: str) -> Published | None:
    """The published leaderboard or company list head, if it was made from exactly the companies tracked now."""
    from chalicelib.jobs.snapshots import company_info, public_list_key

    include_retired, _ = LISTS[name]
    found = _head(store, public_list_key(name, window))
    if found is None:
        return None
    chosen = [company_info(c) for _, c in sorted(companies.items()) if include_retired or not c.retired]
    return found if found.head.get("companies") == chosen else None


def text(store: Store, published: Published) -> str | None:
    """The body the head names; None if it is gone or was replaced since the head was read (then shape it)."""
    digest = published.head["digest"]
    held = BODIES.get(published.key, digest)
    if held is not None:
        return held
    found = store.get_text(body_key(published.key))
    body = None if found is None else _body_of(found[0], digest)
    if body is not None:
        BODIES.put(published.key, digest, body)
    return body


def company_page(body: str, platform: str | None) -> dict[str, Any]:
    """The page as a dictionary, narrowed to one platform as :func:`serialise.company_detail` would."""
    page = json.loads(body)
    if platform is None:
        return page
    stats = {p: s for p, s in page["stats"].items() if p == platform}
    examples = [e for e in page["examples"] if platform in ("all", e.get("platform"))]
    return {**page, "verdict": serialise.overall_verdict(stats, platform), "stats": stats, "examples": examples}
