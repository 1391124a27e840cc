"""Reddit: a company's support subreddits and the threads its official accounts answer in comments.

Public JSON (``https://www.reddit.com/...json``) with a descriptive User-Agent, or OAuth
(``https://oauth.reddit.com``, app-only ``client_credentials`` grant) when ``FAIR_REPLY_REDDIT_CLIENT_ID`` and
``FAIR_REPLY_REDDIT_CLIENT_SECRET`` are configured. Base URL: ``$FAIR_REPLY_REDDIT_BASE_URL``.

Streams per company (newest-first listings swept with :class:`~chalicelib.sources.base.Sweep`, marker
``created_utc``):

* ``/user/<official>/comments`` — the company's replies; the comments/submissions they answer are fetched
  in one batch per page with ``/api/info?id=t1_…,t3_…``, so each reply arrives with its complaint;
* ``/r/<subreddit>/new`` for each ``[companies.x.search] reddit = ["r/AcmeHelp"]`` — complaints, answered or not.

Audience: Reddit has no follower count on accounts. We use the subscriber count of the author's profile
subreddit (``/user/<name>/about`` → ``subreddit.subscribers``, Reddit's "followers"), fetched once per
author per run when ``fetch_profiles`` is on; karma measures activity, not audience, so it is not used.
Without a profile the audience is None and the complaint's tier is "unknown".
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import requests

from chalicelib.domain.models import Account, Company, Post, PostKind, normalise_handle
from chalicelib.sources.base import (
    MALFORMED,
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
    require,
    skip_malformed,
    sweep_to_now,
    unique_pages,
)
from chalicelib.sources.credentials import REDDIT_CLIENT_ID, REDDIT_CLIENT_SECRET, get_secret
from chalicelib.sources.errors import AuthRejected, BudgetExhausted, SourceError, SourceUnavailable, UnexpectedPayload
from chalicelib.sources.http import build_session, get_json

NAME = "reddit"
PUBLIC_BASE_URL = "https://www.reddit.com"
OAUTH_BASE_URL = "https://oauth.reddit.com"
TOKEN_URL = "https://www.reddit.com/api/v1/access_token"
USER_MENTION = re.compile(r"(?<![\w/])/?u/([A-Za-z0-9_-]{3,20})")
GONE = ("[deleted]", "[removed]")
INFO_BATCH = 100


def parse_thing(child: Any) -> Post | None:
    """A ``t1`` comment or ``t3`` submission; other kinds (``more``, messages) are not posts here."""
    kind = require(child, "kind")
    if kind not in ("t1", "t3"):
        return None
    data = require(child, "data")
    author_name = str(require(data, "author"))
    if author_name in GONE:
        raise _Gone()
    fullname = str(data.get("name") or f"{kind}_{require(data, 'id')}")
    body = data.get("body") if kind == "t1" else "\n\n".join(x for x in (data.get("title"), data.get("selftext")) if x)
    removed = str(body or "").strip() in GONE
    text = "" if removed else str(body or "")
    permalink = data.get("permalink") or data.get("context")
    return Post(
        platform=NAME,
        post_id=fullname,
        author=Account(platform=NAME, account_id=author_name, handle=author_name,
                       url=f"https://www.reddit.com/user/{author_name}/"),
        created_at=datetime.fromtimestamp(float(require(data, "created_utc")), tz=UTC),
        text=text,
        kind=PostKind.REPLY if kind == "t1" else PostKind.POST,
        thread_id=str(data.get("link_id") or "") or (fullname if kind == "t3" else None),
        in_reply_to_post_id=str(data["parent_id"]) if kind == "t1" and data.get("parent_id") else None,
        mentions=tuple(dict.fromkeys(USER_MENTION.findall(text))),
        url=f"https://www.reddit.com{permalink}" if permalink else None,
        deleted=removed,
    )


class _Gone(ValueError):
    """The author deleted the account or the post: nothing attributable is left."""


def _children(payload: Any) -> Iterator[Any]:
    """Every thing in a Listing, a list of Listings (a comments page) or a comment's nested ``replies``."""
    if isinstance(payload, list):
        for listing in payload:
            yield from _children(listing)
        return
    if not isinstance(payload, Mapping) or not isinstance(payload.get("data"), Mapping):
        raise UnexpectedPayload(NAME, "expected a Listing")
    for child in payload["data"].get("children") or []:
        yield child
        replies = child.get("data", {}).get("replies") if isinstance(child, Mapping) else None
        if isinstance(replies, Mapping):
            yield from _children(replies)


def parse_listing(payload: Any) -> Parsed:
    """A Listing or comment tree; deleted authors are skipped (``deleted``), malformed things skipped and logged."""
    posts: list[Post] = []
    skipped: list[Skipped] = []
    for child in _children(payload):
        item_id = child.get("data", {}).get("name") if isinstance(child, Mapping) else None
        try:
            post = parse_thing(child)
        except _Gone:
            skipped.append(Skipped("deleted", item_id))
            continue
        except MALFORMED as exc:
            skipped.append(skip_malformed(NAME, item_id, exc))
            continue
        if post is not None:
            posts.append(post)
    unique = dedupe_posts(posts)
    return Parsed(unique, dedupe_accounts(p.author for p in unique), tuple(skipped))


def parse_about(payload: Any) -> Account:
    """``/user/<name>/about``: audience = the profile subreddit's subscribers (see module docstring)."""
    data = require(payload, "data")
    name = str(require(data, "name"))
    profile = data.get("subreddit") or {}
    subscribers = profile.get("subscribers") if isinstance(profile, Mapping) else None
    return Account(
        platform=NAME,
        account_id=name,
        handle=name,
        followers=int(subscribers) if subscribers is not None else None,
        verified=bool(data.get("verified")) if "verified" in data else None,
        url=f"https://www.reddit.com/user/{name}/",
    )


class RedditSource:
    """Reads Reddit support subreddits and the official accounts' comment replies."""

    name = NAME

    def __init__(
        self,
        *,
        session: requests.Session | None = None,
        base_url: str | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
        token_url: str = TOKEN_URL,
        page_size: int = 100,
        lookback: timedelta = timedelta(days=7),
        fetch_profiles: bool = True,
    ) -> None:
        self.session = session or build_session()
        self.client_id = client_id or get_secret(REDDIT_CLIENT_ID)
        self.client_secret = client_secret or get_secret(REDDIT_CLIENT_SECRET)
        self.oauth = bool(self.client_id and self.client_secret)
        default = OAUTH_BASE_URL if self.oauth else PUBLIC_BASE_URL
        self.base_url = (base_url or os.environ.get("FAIR_REPLY_REDDIT_BASE_URL") or default).rstrip("/")
        self.token_url = token_url
        self.page_size = page_size
        self.lookback = lookback
        self.fetch_profiles = fetch_profiles
        self._token: str | None = None

    def _headers(self, budget: RequestBudget) -> dict[str, str]:
        if not self.oauth:
            return {}
        if self._token is None:
            budget.spend(NAME)
            try:
                response = self.session.post(
                    self.token_url, auth=(self.client_id or "", self.client_secret or ""),
                    data={"grant_type": "client_credentials"},
                )
            except requests.RequestException as exc:
                raise AuthRejected(NAME, f"token request failed: {type(exc).__name__}") from exc
            if response.status_code != 200:
                raise AuthRejected(NAME, f"token request refused: HTTP {response.status_code}")
            self._token = str(response.json().get("access_token") or "") or None
            if self._token is None:
                raise AuthRejected(NAME, "token response had no access_token")
        return {"Authorization": f"Bearer {self._token}"}

    def _get(self, path: str, params: Mapping[str, Any], budget: RequestBudget, now: datetime) -> Any:
        suffix = "" if self.oauth else ".json"
        return get_json(
            self.session, f"{self.base_url}{path}{suffix}", {**params, "raw_json": 1}, source=NAME, budget=budget,
            now=now, headers=self._headers(budget),
        )

    def fetch(self, company: Company, cursor: str | None, *, budget: RequestBudget, now: datetime) -> Iterator[Page]:
        return unique_pages(self._fetch(company, cursor, budget=budget, now=now))

    def _fetch(self, company: Company, cursor: str | None, *, budget: RequestBudget, now: datetime) -> Iterator[Page]:
        state = load_cursor(NAME, cursor)
        profiles: dict[str, Account] = {}
        official = company.handles_on(NAME)
        streams = [(f"user:{normalise_handle(h)}", f"/user/{quote(h.lstrip('@'))}/comments")
                   for h in company.handles.get(NAME, ())]
        streams += [(f"sub:{s.casefold()}", f"/r/{quote(s.split('/')[-1])}/new") for s in company.search.get(NAME, ())]
        try:
            for key, path in streams:
                yield from self._sweep(key, path, state, official, profiles, budget, now)
        except BudgetExhausted:
            yield Page(next_cursor=dump_cursor(state), done=True, exhausted=True)
            return
        yield Page(next_cursor=dump_cursor(state), done=True)

    def _sweep(
        self, key: str, path: str, state: dict[str, Any], official: frozenset[str], profiles: dict[str, Account],
        budget: RequestBudget, now: datetime,
    ) -> Iterator[Page]:
        """One listing up to ``now`` (:func:`~chalicelib.sources.base.sweep_to_now`)."""
        return sweep_to_now(state, key, lambda _first: self._sweep_once(
            key, path, state, official, profiles, budget, now))

    def _sweep_once(
        self, key: str, path: str, state: dict[str, Any], official: frozenset[str], profiles: dict[str, Account],
        budget: RequestBudget, now: datetime,
    ) -> Iterator[Page]:
        sweep = Sweep.load(state.get(key))
        floor = float(sweep.since) if sweep.since else (now - self.lookback).timestamp()
        while True:
            params: dict[str, Any] = {"limit": self.page_size, **({"after": sweep.token} if sweep.token else {})}
            payload = self._get(path, params, budget, now)
            parsed = parse_listing(payload)
            primary = list(parsed.posts)
            posts = list(primary) + self._parents(primary, budget, now)
            posts = _link_reply_accounts(posts)
            accounts = self._audience(posts, official, profiles, budget, now)
            posts = [dataclasses.replace(p, author=accounts.get(p.author.account_id, p.author)) for p in posts]
            times = [p.created_at.timestamp() for p in primary]
            after = payload.get("data", {}).get("after") if isinstance(payload, Mapping) else None
            # a page whose authors all left (no times) says nothing about age: only `after` ends the sweep then
            finished = (bool(times) and min(times) <= floor) or not after
            sweep = sweep.advance(repr(max(times)) if times else None, after, finished=finished, key=float)
            state[key] = sweep.dump()
            yield Page(dedupe_posts(posts), tuple(accounts.values()), dump_cursor(state), parsed.skipped)
            if finished:
                return

    def _parents(self, posts: list[Post], budget: RequestBudget, now: datetime) -> list[Post]:
        """The comments and submissions that ``posts`` reply to, in batches of 100 fullnames."""
        have = {p.post_id for p in posts}
        wanted = sorted({ref for p in posts for ref in (p.in_reply_to_post_id, p.thread_id) if ref} - have)
        found: list[Post] = []
        for i in range(0, len(wanted), INFO_BATCH):
            payload = self._get("/api/info", {"id": ",".join(wanted[i:i + INFO_BATCH])}, budget, now)
            found += parse_listing(payload).posts
        return found

    def _audience(
        self, posts: list[Post], official: frozenset[str], profiles: dict[str, Account], budget: RequestBudget,
        now: datetime,
    ) -> dict[str, Account]:
        accounts = {p.author.account_id: p.author for p in posts}
        if self.fetch_profiles:
            for name in accounts:
                if name in profiles or normalise_handle(name) in official or name.startswith("<"):
                    continue
                try:
                    profiles[name] = parse_about(self._get(f"/user/{quote(name)}/about", {}, budget, now))
                except (SourceError, KeyError, TypeError, ValueError) as exc:
                    if isinstance(exc, SourceError) and not _profile_gone(exc):
                        # 429, 5xx, timeouts, cut bodies, our own 401 or budget: not this user's fault. Fail
                        # the page (its cursor is not saved) so it is re-read, rather than store a lost tier.
                        raise
                    # Suspended or shadow-banned users 404/403; their tier stays unknown, the page goes on.
                    logger.warning("profile unavailable", extra={"source": NAME, "error": type(exc).__name__})
                    profiles[name] = accounts[name]
        accounts.update({k: v for k, v in profiles.items() if k in accounts})
        return accounts


def _profile_gone(exc: SourceError) -> bool:
    """A profile answered 403/404: the account is suspended, shadow-banned or deleted, for good."""
    return isinstance(exc, AuthRejected | SourceUnavailable) and exc.status in (403, 404)


def _link_reply_accounts(posts: list[Post]) -> list[Post]:
    """Reddit comments name only the parent's id; fill ``in_reply_to_account_id`` from parents we hold."""
    authors = {p.post_id: p.author.account_id for p in posts}
    return [
        dataclasses.replace(p, in_reply_to_account_id=authors.get(p.in_reply_to_post_id))
        if p.in_reply_to_post_id and not p.in_reply_to_account_id else p
        for p in posts
    ]
