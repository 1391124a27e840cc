"""Bluesky through a public AppView (no credentials): the company's author feed, threads, profiles, mention search.

Endpoints (base ``$FAIR_REPLY_BLUESKY_BASE_URL``, default ``https://public.api.bsky.app``):

* ``app.bsky.actor.getProfile`` / ``getProfiles`` — ``followersCount`` for the company and complainants
  (feed and thread views carry only basic profiles, without audience);
* ``app.bsky.feed.getAuthorFeed?filter=posts_with_replies`` — the company's posts and replies; each reply
  item embeds the parent (the complaint) and the root, so ``thread_id`` and ``in_reply_to_*`` are known;
* ``app.bsky.feed.searchPosts?mentions=<handle>`` — inbound mentions, including unanswered ones, where
  the AppView allows unauthenticated search (a 401/403 is logged and the stream skipped for this run);
* ``app.bsky.feed.getPostThread`` — :meth:`BlueskySource.thread`, for a thread's full reply tree.

Feeds page newest-first with an opaque ``cursor``; they are swept with :class:`~chalicelib.sources.base.Sweep`
whose marker is the newest ``createdAt`` stored.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta
from typing import Any

import requests

from chalicelib.domain.models import Account, Company, Post, PostKind
from chalicelib.sources.base import (
    Page,
    Parsed,
    RequestBudget,
    Skipped,
    Sweep,
    dedupe_accounts,
    dedupe_posts,
    dump_cursor,
    load_cursor,
    logger,
    parse_each,
    parse_time,
    require,
    sweep_to_now,
    unique_pages,
)
from chalicelib.sources.errors import AuthRejected, BudgetExhausted, UnexpectedPayload
from chalicelib.sources.http import build_session, get_json

NAME = "bluesky"
DEFAULT_BASE_URL = "https://public.api.bsky.app"
POST_VIEW = "app.bsky.feed.defs#postView"
THREAD_VIEW = "app.bsky.feed.defs#threadViewPost"
QUOTE_EMBEDS = ("app.bsky.embed.record", "app.bsky.embed.recordWithMedia")
PROFILES_PER_REQUEST = 25


def parse_profile(raw: Any) -> Account:
    """A profile view; ``followersCount`` is present only in detailed views (getProfile/getProfiles)."""
    handle = str(require(raw, "handle"))
    followers = raw.get("followersCount")
    verification = raw.get("verification")
    verified = verification.get("verifiedStatus") == "valid" if isinstance(verification, Mapping) else None
    return Account(
        platform=NAME,
        account_id=str(require(raw, "did")),
        handle=handle,
        display_name=raw.get("displayName") or None,
        followers=int(followers) if followers is not None else None,
        verified=verified,
        url=f"https://bsky.app/profile/{handle}",
    )


def did_of(uri: str) -> str:
    """The author DID of an ``at://did/collection/rkey`` URI."""
    if not uri.startswith("at://"):
        raise ValueError("not an at:// URI")
    return uri[len("at://"):].split("/", 1)[0]


def parse_post_view(raw: Any, handles: Mapping[str, str] | None = None) -> Post:
    """A ``postView``. Mention facets carry DIDs; they become handles when ``handles`` (did → handle) knows them."""
    uri = str(require(raw, "uri"))
    author = parse_profile(require(raw, "author"))
    record = require(raw, "record")
    reply = record.get("reply") or {}
    parent = reply.get("parent", {}).get("uri") if reply else None
    root = reply.get("root", {}).get("uri") if reply else None
    embed_type = (record.get("embed") or {}).get("$type")
    kind = PostKind.REPLY if parent else PostKind.QUOTE if embed_type in QUOTE_EMBEDS else PostKind.POST
    known = dict(handles or {})
    known.setdefault(author.account_id, author.handle)
    mentions = tuple(
        known.get(feature["did"], feature["did"])
        for facet in record.get("facets") or []
        for feature in facet.get("features") or []
        if feature.get("$type") == "app.bsky.richtext.facet#mention" and feature.get("did")
    )
    langs = record.get("langs") or []
    return Post(
        platform=NAME,
        post_id=uri,
        author=author,
        created_at=parse_time(require(record, "createdAt")),
        text=str(record.get("text") or ""),
        kind=kind,
        thread_id=root or uri,
        in_reply_to_post_id=parent,
        in_reply_to_account_id=did_of(parent) if parent else None,
        mentions=mentions,
        url=f"https://bsky.app/profile/{author.handle}/post/{uri.rsplit('/', 1)[-1]}",
        lang=langs[0] if langs else None,
    )


def _view_or_skip(raw: Any) -> tuple[Any | None, Skipped | None]:
    """Deleted or blocked posts appear as ``#notFoundPost`` / ``#blockedPost`` stubs: record them as skipped."""
    kind = raw.get("$type", POST_VIEW) if isinstance(raw, Mapping) else None
    if kind in (POST_VIEW, THREAD_VIEW):
        return raw, None
    reason = str(kind).rsplit("#", 1)[-1] if kind else "malformed"
    return None, Skipped(reason=reason, item_id=raw.get("uri") if isinstance(raw, Mapping) else None)


def parse_feed(payload: Any, handles: Mapping[str, str] | None = None) -> Parsed:
    """``getAuthorFeed``: each item's post plus the parent and root it replies to; reposts are not tracked."""
    if not isinstance(payload, Mapping) or not isinstance(payload.get("feed"), list):
        raise UnexpectedPayload(NAME, "feed response has no 'feed' list")
    views: list[Any] = []
    skipped: list[Skipped] = []
    for item in payload["feed"]:
        if not isinstance(item, Mapping):
            skipped.append(Skipped("malformed: feed item is not an object"))
            continue
        if (item.get("reason") or {}).get("$type") == "app.bsky.feed.defs#reasonRepost":
            continue
        views.append(item.get("post"))
        reply = item.get("reply") or {}
        for ref in ("parent", "root"):
            if ref not in reply:
                continue
            view, skip = _view_or_skip(reply[ref])
            if view is not None:
                views.append(view)
            elif skip is not None:
                skipped.append(skip)
    return _parse_views(views, skipped, handles)


def parse_search(payload: Any, handles: Mapping[str, str] | None = None) -> Parsed:
    """``searchPosts``: a flat list of post views."""
    if not isinstance(payload, Mapping) or not isinstance(payload.get("posts"), list):
        raise UnexpectedPayload(NAME, "search response has no 'posts' list")
    return _parse_views(payload["posts"], [], handles)


def parse_thread(payload: Any, handles: Mapping[str, str] | None = None) -> Parsed:
    """``getPostThread``: the post, its chain of parents and the whole reply tree."""
    if not isinstance(payload, Mapping) or not isinstance(payload.get("thread"), Mapping):
        raise UnexpectedPayload(NAME, "thread response has no 'thread' object")
    views: list[Any] = []
    skipped: list[Skipped] = []
    stack = [payload["thread"]]
    while stack:
        node, skip = _view_or_skip(stack.pop())
        if node is None:
            if skip is not None:
                skipped.append(skip)
            continue
        views.append(node.get("post"))
        if node.get("parent") is not None:
            stack.append(node["parent"])
        stack.extend(node.get("replies") or [])
    return _parse_views(views, skipped, handles)


def _parse_views(views: list[Any], skipped: list[Skipped], handles: Mapping[str, str] | None) -> Parsed:
    known = dict(handles or {})
    for view in views:
        author = view.get("author") if isinstance(view, Mapping) else None
        if isinstance(author, Mapping) and author.get("did") and author.get("handle"):
            known.setdefault(author["did"], author["handle"])
    posts, bad = parse_each(NAME, views, lambda raw: parse_post_view(raw, known), id_key="uri")
    unique = dedupe_posts(posts)
    return Parsed(unique, dedupe_accounts(p.author for p in unique), tuple(skipped + bad))


def _primary_uris(payload: Mapping[str, Any]) -> set[str]:
    if "posts" in payload:
        return {p.get("uri") for p in payload["posts"] if isinstance(p, Mapping)}
    return {
        item["post"].get("uri")
        for item in payload.get("feed") or []
        if isinstance(item, Mapping) and isinstance(item.get("post"), Mapping)
        and (item.get("reason") or {}).get("$type") != "app.bsky.feed.defs#reasonRepost"
    }


class BlueskySource:
    """Reads a company's Bluesky presence through a public AppView."""

    name = NAME

    def __init__(
        self,
        *,
        session: requests.Session | None = None,
        base_url: str | None = None,
        page_size: int = 50,
        lookback: timedelta = timedelta(days=7),
        search_mentions: bool = True,
    ) -> None:
        self.session = session or build_session()
        self.base_url = (base_url or os.environ.get("FAIR_REPLY_BLUESKY_BASE_URL") or DEFAULT_BASE_URL).rstrip("/")
        self.page_size = page_size
        self.lookback = lookback
        self.search_mentions = search_mentions

    def _get(self, method: str, params: Mapping[str, Any], budget: RequestBudget, now: datetime) -> Any:
        return get_json(self.session, f"{self.base_url}/xrpc/{method}", params, source=NAME, budget=budget, now=now)

    def thread(self, uri: str, *, budget: RequestBudget, now: datetime) -> Parsed:
        return parse_thread(self._get("app.bsky.feed.getPostThread", {"uri": uri}, budget, now))

    def fetch(self, company: Company, cursor: str | None, *, budget: RequestBudget, now: datetime) -> Iterator[Page]:
        return unique_pages(self._fetch(company, cursor, budget=budget, now=now))

    def _fetch(self, company: Company, cursor: str | None, *, budget: RequestBudget, now: datetime) -> Iterator[Page]:
        state = load_cursor(NAME, cursor)
        try:
            for handle in company.handles.get(NAME, ()):
                handle = handle.lstrip("@")
                own = parse_profile(self._get("app.bsky.actor.getProfile", {"actor": handle}, budget, now))
                handles = {own.account_id: own.handle}
                yield from self._sweep(f"feed:{handle.casefold()}", state, handles, (own,), budget, now, {
                    "method": "app.bsky.feed.getAuthorFeed", "actor": handle, "filter": "posts_with_replies"})
                if self.search_mentions:
                    try:
                        yield from self._sweep(f"mentions:{handle.casefold()}", state, handles, (), budget, now, {
                            "method": "app.bsky.feed.searchPosts", "q": handle, "mentions": handle, "sort": "latest"})
                    except AuthRejected:
                        logger.warning("mention search refused by AppView; skipped", extra={"source": NAME})
        except BudgetExhausted:
            yield Page(next_cursor=dump_cursor(state), done=True, exhausted=True)
            return
        yield Page(next_cursor=dump_cursor(state), done=True)

    def _sweep(
        self, key: str, state: dict[str, Any], handles: dict[str, str], extra: tuple[Account, ...],
        budget: RequestBudget, now: datetime, request: dict[str, str],
    ) -> Iterator[Page]:
        """Sweep a feed up to ``now`` (:func:`~chalicelib.sources.base.sweep_to_now`)."""
        return sweep_to_now(state, key, lambda first: self._sweep_once(
            key, state, handles, extra if first else (), budget, now, request))

    def _sweep_once(
        self, key: str, state: dict[str, Any], handles: dict[str, str], extra: tuple[Account, ...],
        budget: RequestBudget, now: datetime, request: dict[str, str],
    ) -> Iterator[Page]:
        """Page a newest-first feed down to the stored marker; a page is yielded only once its profiles are in."""
        sweep = Sweep.load(state.get(key))
        floor = parse_time(sweep.since) if sweep.since else now - self.lookback
        params: dict[str, Any] = {k: v for k, v in request.items() if k != "method"}
        params["limit"] = self.page_size
        if request["method"].endswith("searchPosts"):
            params["since"] = floor.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        while True:
            page_params = {**params, **({"cursor": sweep.token} if sweep.token else {})}
            payload = self._get(request["method"], page_params, budget, now)
            if not isinstance(payload, Mapping):
                raise UnexpectedPayload(NAME, "response is not an object")
            parsed = parse_search(payload, handles) if "posts" in payload else parse_feed(payload, handles)
            accounts = self._with_audience(parsed, extra, budget, now)
            by_id = {a.account_id: a for a in accounts}
            posts = tuple(dataclasses.replace(p, author=by_id.get(p.author.account_id, p.author)) for p in parsed.posts)
            primary = _primary_uris(payload)
            times = [p.created_at for p in posts if p.post_id in primary]  # not the (older) parents they embed
            finished = not times or min(times) <= floor or not payload.get("cursor")
            newest = max(times).isoformat() if times else None
            sweep = sweep.advance(newest, payload.get("cursor"), finished=finished, key=parse_time)
            state[key] = sweep.dump()
            yield Page(posts, accounts, dump_cursor(state), parsed.skipped)
            extra = ()
            if finished:
                return

    def _with_audience(
        self, parsed: Parsed, extra: tuple[Account, ...], budget: RequestBudget, now: datetime
    ) -> tuple[Account, ...]:
        """Fill ``followersCount`` from getProfiles, which feed views leave out (tiers need it)."""
        accounts = {a.account_id: a for a in (*parsed.accounts, *extra)}
        missing = [did for did, a in accounts.items() if a.followers is None]
        for i in range(0, len(missing), PROFILES_PER_REQUEST):
            batch = missing[i:i + PROFILES_PER_REQUEST]
            payload = self._get("app.bsky.actor.getProfiles", {"actors": batch}, budget, now)
            profiles, _ = parse_each(NAME, (payload or {}).get("profiles") or [], parse_profile, id_key="did")
            accounts.update({p.account_id: p for p in profiles})
        return tuple(accounts.values())
