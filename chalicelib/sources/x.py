"""X API v2: mentions of each company handle and the company's replies, via recent search.

Needs a bearer token (``FAIR_REPLY_X_BEARER_TOKEN``, or the SSM parameter named by
``FAIR_REPLY_X_BEARER_TOKEN_SSM_PARAMETER``) of an access level that includes
``GET /2/tweets/search/recent`` (Basic or higher, or pay-per-use credits; the Free tier cannot read).

Per handle two newest-first streams are swept, each with its own :class:`~chalicelib.sources.base.Sweep`:

* ``mentions:<handle>`` — ``@handle -from:handle -is:retweet`` (inbound posts, the company's own excluded)
* ``replies:<handle>``  — ``from:handle is:reply`` (the company's answers; the complaints they answer come
  back in ``includes.tweets`` through the ``referenced_tweets.id`` expansion and are emitted too)

``since`` is a ``since_id``; pages within one query carry the old ``since_id`` plus ``next_token`` and only
the query's last page moves ``since_id`` to the newest id seen, so a crash never skips the older pages.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import requests

from chalicelib.domain.models import Account, Company, Post, PostKind
from chalicelib.sources.base import (
    Page,
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
from chalicelib.sources.credentials import X_BEARER_TOKEN, get_secret
from chalicelib.sources.errors import AuthRejected, BudgetExhausted, SourceUnavailable, UnexpectedPayload
from chalicelib.sources.http import build_session, get_json

NAME = "x"
DEFAULT_BASE_URL = "https://api.x.com"
SEARCH_PATH = "/2/tweets/search/recent"
TWEET_FIELDS = "author_id,conversation_id,created_at,entities,in_reply_to_user_id,lang,referenced_tweets,withheld"
USER_FIELDS = "name,public_metrics,username,verified,verified_type,withheld"
EXPANSIONS = "author_id,in_reply_to_user_id,referenced_tweets.id,referenced_tweets.id.author_id"
_KINDS = {"retweeted": PostKind.REPOST, "quoted": PostKind.QUOTE}


@dataclass(frozen=True, slots=True)
class XPageResult:
    """One X v2 response page, normalised (also used by the twarc2 archive importer)."""

    posts: tuple[Post, ...]
    accounts: tuple[Account, ...]
    skipped: tuple[Skipped, ...]


def parse_x_page(page: Mapping[str, Any], *, include_referenced: bool = True) -> XPageResult:
    """Normalise an X v2 tweets response (search, timeline, lookup or a twarc2 JSONL line).

    Authors come from ``includes.users`` (``public_metrics.followers_count``, ``verified_type``); a tweet
    whose author was not expanded is skipped, since without a handle it cannot be told apart from the
    company's own posts. ``errors[]`` entries (deleted, protected, withheld items) become ``Skipped``.
    """
    if not isinstance(page, Mapping):
        raise UnexpectedPayload(NAME, "page is not a JSON object")
    includes = page.get("includes") if isinstance(page.get("includes"), Mapping) else {}
    accounts, skipped = parse_each(NAME, _as_list(includes.get("users")), _parse_user)
    by_id = {a.account_id: a for a in accounts}

    def parse_tweet(raw: Any) -> Post:
        return _parse_tweet(raw, by_id)

    posts, bad = parse_each(NAME, _as_list(page.get("data")), parse_tweet)
    skipped += bad
    if include_referenced:
        referenced, bad = parse_each(NAME, _as_list(includes.get("tweets")), parse_tweet)
        posts += referenced
        skipped += bad
    skipped += [_skipped_from_error(e) for e in _as_list(page.get("errors")) if isinstance(e, Mapping)]
    return XPageResult(dedupe_posts(posts), dedupe_accounts(accounts), tuple(skipped))


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, Mapping):  # single-object lookups (GET /2/tweets/:id) return "data": {...}
        return [value]
    if isinstance(value, list):
        return value
    raise UnexpectedPayload(NAME, "expected a list")


def _parse_user(raw: Any) -> Account:
    username = require(raw, "username")
    metrics = raw.get("public_metrics") or {}
    followers = metrics.get("followers_count")
    verified_type = raw.get("verified_type")
    verified = raw.get("verified")
    if verified_type is not None:
        verified = bool(verified) or verified_type not in ("none", "")
    return Account(
        platform=NAME,
        account_id=str(require(raw, "id")),
        handle=str(username),
        display_name=raw.get("name"),
        followers=int(followers) if followers is not None else None,
        verified=verified if isinstance(verified, bool) else None,
        url=f"https://x.com/{username}",
        verified_type=verified_type,
    )


def _parse_tweet(raw: Any, users: Mapping[str, Account]) -> Post:
    if type(raw) is dict:  # what json.loads gives: plain lookups, same checks and errors as require()
        post_id = raw.get("id")
        if post_id is None:
            raise KeyError("id")
        author_id = raw.get("author_id")
        if author_id is None:
            raise KeyError("author_id")
        created = raw.get("created_at")
        if created is None:
            raise KeyError("created_at")
        post_id, author_id = str(post_id), str(author_id)
    else:
        post_id = str(require(raw, "id"))
        author_id = str(require(raw, "author_id"))
        created = require(raw, "created_at")
    created_at = _parse_created_at(created)
    author = users.get(author_id)
    if author is None:
        raise KeyError("author not in includes.users")
    referenced = raw.get("referenced_tweets")
    if referenced:
        refs = {r.get("type"): str(r.get("id")) for r in referenced if type(r) is dict or isinstance(r, Mapping)}
        replied_to = refs.get("replied_to")
        kind = (
            PostKind.REPLY if "replied_to" in refs else PostKind.REPOST if "retweeted" in refs
            else PostKind.QUOTE if "quoted" in refs else PostKind.POST
        )
    else:
        replied_to, kind = None, PostKind.POST
    entities = raw.get("entities") or {}
    found = entities.get("mentions")
    mentions = tuple([str(m["username"]) for m in found if m.get("username")]) if found else ()
    in_reply_to_user = raw.get("in_reply_to_user_id")
    conversation = raw.get("conversation_id")
    text = raw.get("text")
    return Post(
        NAME,
        post_id,
        author,
        created_at,
        text if type(text) is str and text else str(text or ""),
        kind,
        str(conversation) if conversation else None,
        replied_to,
        str(in_reply_to_user) if in_reply_to_user else None,
        mentions,
        f"https://x.com/{author.handle}/status/{post_id}",
        raw.get("lang"),
    )


def _parse_created_at(value: Any) -> datetime:
    """X writes every ``created_at`` as ``YYYY-MM-DDTHH:MM:SS.mmmZ``: parse that form directly (``fromisoformat``
    reads the ``Z`` as UTC since Python 3.11, the result :func:`parse_time` gives); anything else goes the long way.
    """
    if type(value) is str and len(value) == 24 and value[23] == "Z" and value[10] == "T" and value[0].isdigit():
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            pass
    return parse_time(value)


def _skipped_from_error(error: Mapping[str, Any]) -> Skipped:
    title = str(error.get("title") or "error")
    resource = str(error.get("resource_type") or "item")
    reason = "deleted" if "Not Found" in title else "not_authorized" if "Authorization" in title else title
    return Skipped(reason=f"{resource} {reason}", item_id=str(error.get("resource_id") or error.get("value") or ""))


class XSource:
    """Reads X API v2 recent search for every X handle of a company.

    Parameters
    ----------
    token        bearer token, or a callable returning it (default: :func:`get_secret` on first use)
    session      the shared session from :func:`build_session`
    base_url     default ``$FAIR_REPLY_X_BASE_URL`` or ``https://api.x.com``
    lookback     how far back a first run (no cursor) reads; recent search itself stops at 7 days
    """

    name = NAME

    def __init__(
        self,
        token: str | Callable[[], str | None] | None = None,
        *,
        session: requests.Session | None = None,
        base_url: str | None = None,
        max_results: int = 100,
        lookback: timedelta = timedelta(days=7),
    ) -> None:
        self._token = token
        self.session = session or build_session()
        self.base_url = (base_url or os.environ.get("FAIR_REPLY_X_BASE_URL") or DEFAULT_BASE_URL).rstrip("/")
        self.max_results = max_results
        self.lookback = lookback

    def _bearer(self) -> str:
        token = self._token() if callable(self._token) else self._token
        token = token or get_secret(X_BEARER_TOKEN)
        if not token:
            raise AuthRejected(NAME, f"no bearer token configured ({X_BEARER_TOKEN})")
        return token

    def fetch(self, company: Company, cursor: str | None, *, budget: RequestBudget, now: datetime) -> Iterator[Page]:
        """Yield one page per API response; the last page is ``done`` (``exhausted`` if the budget ran out)."""
        return unique_pages(self._fetch(company, cursor, budget=budget, now=now))

    def _fetch(self, company: Company, cursor: str | None, *, budget: RequestBudget, now: datetime) -> Iterator[Page]:
        state = load_cursor(NAME, cursor)
        headers = {"Authorization": f"Bearer {self._bearer()}"}
        for handle in company.handles.get(NAME, ()):
            bare = handle.lstrip("@")
            queries = (
                (f"mentions:{bare.casefold()}", f"@{bare} -from:{bare} -is:retweet"),
                (f"replies:{bare.casefold()}", f"from:{bare} is:reply"),
            )
            for key, query in queries:
                try:
                    yield from self._sweep(key, query, state, headers=headers, budget=budget, now=now)
                except BudgetExhausted:
                    yield Page(next_cursor=dump_cursor(state), done=True, exhausted=True)
                    return
        yield Page(next_cursor=dump_cursor(state), done=True)

    def _sweep(
        self, key: str, query: str, state: dict[str, Any], *, headers: Mapping[str, str], budget: RequestBudget,
        now: datetime,
    ) -> Iterator[Page]:
        """One search stream up to ``now`` (:func:`~chalicelib.sources.base.sweep_to_now`)."""
        return sweep_to_now(state, key, lambda _first: self._sweep_once(
            key, query, state, headers=headers, budget=budget, now=now))

    def _sweep_once(
        self, key: str, query: str, state: dict[str, Any], *, headers: Mapping[str, str], budget: RequestBudget,
        now: datetime,
    ) -> Iterator[Page]:
        sweep = Sweep.load(state.get(key))
        while True:
            params: dict[str, Any] = {
                "query": query,
                "max_results": self.max_results,
                "tweet.fields": TWEET_FIELDS,
                "user.fields": USER_FIELDS,
                "expansions": EXPANSIONS,
            }
            if sweep.since:
                params["since_id"] = sweep.since
            else:
                params["start_time"] = (now - self.lookback).strftime("%Y-%m-%dT%H:%M:%SZ")
            if sweep.token:
                params["next_token"] = sweep.token
            try:
                payload = get_json(
                    self.session, self.base_url + SEARCH_PATH, params, source=NAME, budget=budget, now=now,
                    headers=headers,
                )
            except SourceUnavailable:
                if not sweep.token:
                    raise
                # A pagination token can expire between runs; restart the sweep from since_id (upserts absorb repeats).
                logger.warning("pagination token rejected; restarting sweep", extra={"source": NAME, "stream": key})
                sweep = Sweep(since=sweep.since)
                continue
            result = parse_x_page(payload)
            meta = payload.get("meta") if isinstance(payload.get("meta"), Mapping) else {}
            newest = meta.get("newest_id")
            sweep = sweep.advance(
                str(newest) if newest else None, meta.get("next_token"), finished=False, key=int
            )
            state[key] = sweep.dump()
            yield Page(result.posts, result.accounts, dump_cursor(state), result.skipped)
            if sweep.token is None:
                return
