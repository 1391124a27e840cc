"""A fake X API v2 recent search serving recorded-shape tweets, for the fault-injection test.

Every tweet and user it serves is a copy of a real recorded body from ``../shared/fixtures/x``
(``tweet_lookup_reply_with_expansions.json``: its ``data[0]`` reply is the template of company replies,
its ``includes.tweets[0]`` @-mention the template of customers' complaints, its users the templates of
customers and company accounts) with only ids, times, text, mentions, reply links, names and follower
counts changed — the fields real tweets vary in. Responses are shaped like real search pages: ``data``
newest first, ``includes.users`` / ``includes.tweets`` for the requested expansions, and ``meta`` with
``newest_id``, ``oldest_id``, ``result_count`` and, while older results remain, ``next_token``
(``users_mentions_default_fields.json``'s ``meta``); only the requested ``tweet.fields`` /
``user.fields`` (plus the defaults ``id``, ``text``, ``edit_history_tweet_ids``; ``id``, ``name``,
``username``) are returned, as the API does.

:class:`~chalicelib.sources.x.XSource` runs two query forms per handle, and the fake answers exactly those:
``@h -from:h -is:retweet`` (posts mentioning ``h`` by anyone else, retweets excluded) and
``from:h is:reply``. ``since_id`` and ``start_time`` bound a sweep from below; ``next_token`` is opaque,
bound to its query, and continues just below the previous page's oldest id (an unknown or foreign token is
a 400, as X answers). Only tweets created at or before the simulated ``now`` are visible, so complaints
and replies can arrive while a test polls. Every response carries X's rate-limit headers
(``x-rate-limit-limit`` / ``-remaining`` / ``-reset`` in epoch seconds) for a fixed 15-minute window.
"""

from __future__ import annotations

import copy
import hashlib
import json
import random
import re
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

from chalicelib.sources.x import SEARCH_PATH
from tests.unit.sources.conftest import shared_fixture

TWITTER_EPOCH_MS = 1288834974657
WINDOW = timedelta(minutes=15)
WINDOW_LIMIT = 450  # recent search requests per 15-minute window per app
DEFAULT_TWEET_FIELDS = ("id", "text", "edit_history_tweet_ids")
DEFAULT_USER_FIELDS = ("id", "name", "username")
MENTIONS = re.compile(r"@(\w+) -from:(\w+) -is:retweet")
REPLIES = re.compile(r"from:(\w+) is:reply")

COMPLAINTS = (
    "my parcel never arrived and nobody answers",
    "my flight was cancelled and I still have no refund",
    "the app keeps crashing when I pay",
)
ANSWERS = ("sorry about that, we have refunded your order", "please send us a DM with your order number")
FOLLOW_UP = "still waiting for the refund"


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def _snowflake(when: datetime, seq: int) -> str:
    """An X id: milliseconds since the Twitter epoch above 22 bits of worker and sequence (time-ordered)."""
    return str(((int(when.timestamp() * 1000) - TWITTER_EPOCH_MS) << 22) | (seq & 0x3FFFFF))


def _window_end(now: datetime) -> datetime:
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    return epoch + ((now - epoch) // WINDOW + 1) * WINDOW


@dataclass(frozen=True)
class Thread:
    """One complaint as generated: who it is addressed to, when it and its reply (if any) appear."""

    handle: str
    complaint_id: str
    created_at: datetime
    reply_id: str | None
    replied_at: datetime | None


class FakeX:
    """The platform's tweets and users plus a router for ``GET /2/tweets/search/recent``."""

    def __init__(self) -> None:
        recorded = shared_fixture("x/tweet_lookup_reply_with_expansions.json")
        users = {u["username"]: u for u in recorded["includes"]["users"]}
        self._reply_template = recorded["data"][0]
        self._complaint_template = recorded["includes"]["tweets"][0]
        self._customer_templates = (users["IgorBrigadir"], users["j2bryson"])
        self._company_template = users["Twitter"]
        self.tweets: dict[str, dict[str, Any]] = {}
        self.users: dict[str, dict[str, Any]] = {}
        self.threads: list[Thread] = []
        self.now: datetime | None = None  # the simulated time: what is visible, and the rate-limit window
        self.requests: list[str] = []  # every URL served
        self._tokens: dict[str, tuple[str, int]] = {}
        self._window_used: dict[datetime, int] = {}
        self._seq = 0
        self._lock = threading.Lock()

    # -- data --------------------------------------------------------------------------------------

    def add_company(self, handle: str, user_id: int) -> dict[str, Any]:
        user = copy.deepcopy(self._company_template)
        user.update(id=str(user_id), username=handle, name=handle)
        self.users[user["id"]] = user
        return user

    def _user(self, handle: str) -> dict[str, Any]:
        return next(u for u in self.users.values() if u["username"].casefold() == handle.casefold())

    def _customer(self, n: int, followers: int) -> dict[str, Any]:
        user = copy.deepcopy(self._customer_templates[n % 2])
        user.update(id=str(5_000_000 + n), username=f"customer{n}", name=f"Customer {n}")
        user["public_metrics"] = {**user["public_metrics"], "followers_count": followers}
        self.users[user["id"]] = user
        return user

    def _tweet(
        self,
        template: dict[str, Any],
        author: dict[str, Any],
        at: datetime,
        text: str,
        mentioned: list[dict[str, Any]],
        replied_to: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        self._seq += 1
        tweet = copy.deepcopy(template)
        tweet_id = _snowflake(at, self._seq)
        prefix = " ".join(f"@{u['username']}" for u in mentioned)
        mentions, start = [], 0
        for u in mentioned:
            end = start + 1 + len(u["username"])
            mentions.append({"start": start, "end": end, "username": u["username"], "id": u["id"]})
            start = end + 1
        tweet.update(
            id=tweet_id,
            created_at=_iso(at),
            author_id=author["id"],
            text=f"{prefix} {text}",
            entities={"mentions": mentions},
            edit_history_tweet_ids=[tweet_id],
            conversation_id=replied_to["conversation_id"] if replied_to else tweet_id,
        )
        tweet.pop("geo", None)  # no place expansion is requested, so no place is served
        if replied_to is not None:
            tweet.update(
                referenced_tweets=[{"type": "replied_to", "id": replied_to["id"]}],
                in_reply_to_user_id=replied_to["author_id"],
            )
        self.tweets[tweet_id] = tweet
        return tweet

    def add_thread(
        self,
        handle: str,
        n: int,
        at: datetime,
        *,
        followers: int,
        reply_after: timedelta | None,
        follow_up: bool = False,
    ) -> Thread:
        """A customer's complaint to ``handle``, the company's reply if any, and maybe the customer's follow-up."""
        company, customer = self._user(handle), self._customer(n, followers)
        complaint = self._tweet(self._complaint_template, customer, at, COMPLAINTS[n % len(COMPLAINTS)], [company])
        if reply_after is None:
            self.threads.append(Thread(handle, complaint["id"], at, None, None))
            return self.threads[-1]
        when = at + reply_after
        reply = self._tweet(self._reply_template, company, when, ANSWERS[n % len(ANSWERS)], [customer], complaint)
        if follow_up:
            self._tweet(self._reply_template, customer, when + timedelta(minutes=3), FOLLOW_UP, [company], reply)
        self.threads.append(Thread(handle, complaint["id"], at, reply["id"], when))
        return self.threads[-1]

    def populate(
        self, handles: list[str], start: datetime, *, threads: int, spacing: timedelta, first: int = 0
    ) -> list[Thread]:
        """``threads`` complaints from ``start`` on, rotating handles and tiers (cycle of 3); one in four unanswered."""
        return [
            self.add_thread(
                handles[i % len(handles)],
                first + i,
                start + i * spacing,
                followers=[12, 2_500, 180_000][i % 3],
                reply_after=None if i % 4 == 3 else timedelta(minutes=11 * (i % 7 + 1)),
            )
            for i in range(threads)
        ]

    @property
    def last_posted_at(self) -> datetime:
        """When the last generated tweet appears: after it, the platform no longer changes."""
        return max(datetime.fromisoformat(t["created_at"]) for t in self.tweets.values())

    def visible_threads(self, handles: set[str], at: datetime) -> list[Thread]:
        """The complaints to ``handles`` a complete read at ``at`` finds."""
        folded = {h.casefold() for h in handles}
        return [t for t in self.threads if t.handle.casefold() in folded and t.created_at <= at]

    # -- routing -----------------------------------------------------------------------------------

    def respond(self, url: str) -> tuple[int, dict[str, str], bytes]:
        parts = urlsplit(url)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        with self._lock:
            self.requests.append(url)
            headers = self._rate_headers()
            status, body = self._search(query) if parts.path == SEARCH_PATH else (404, _problem("Not Found Error"))
        return status, {"Content-Type": "application/json; charset=utf-8", **headers}, json.dumps(body).encode()

    def _rate_headers(self) -> dict[str, str]:
        now = self._now()
        end = _window_end(now)
        used = self._window_used[end] = self._window_used.get(end, 0) + 1
        return {
            "x-rate-limit-limit": str(WINDOW_LIMIT),
            "x-rate-limit-remaining": str(max(0, WINDOW_LIMIT - used)),
            "x-rate-limit-reset": str(int(end.timestamp())),
        }

    def reset_headers(self, now: datetime | None, rng: random.Random) -> dict[str, str]:
        """How X announces a 429: the fixed window's limit, nothing remaining, its end in epoch seconds."""
        end = _window_end(now or self._now())
        return {
            "x-rate-limit-limit": str(WINDOW_LIMIT),
            "x-rate-limit-remaining": "0",
            "x-rate-limit-reset": str(int(end.timestamp())),
        }

    def _now(self) -> datetime:
        if self.now is None:
            raise RuntimeError("set FakeX.now to the simulated time before serving")
        return self.now

    def _search(self, query: dict[str, str]) -> tuple[int, dict[str, Any]]:
        q = query.get("query", "")
        size = int(query.get("max_results") or 10)
        if not 10 <= size <= 100:
            return 400, _problem("Invalid Request", "max_results must be between 10 and 100")
        if m := MENTIONS.fullmatch(q):
            target, author = m.group(1).casefold(), m.group(2).casefold()
            wanted = [
                t
                for t in self._visible()
                if self._author(t) != author
                and not _is_retweet(t)
                and target in {x["username"].casefold() for x in t.get("entities", {}).get("mentions", [])}
            ]
        elif m := REPLIES.fullmatch(q):
            author = m.group(1).casefold()
            wanted = [t for t in self._visible() if self._author(t) == author and _replied_to(t)]
        else:
            return 400, _problem("Invalid Request", "unsupported query")
        since = int(query.get("since_id") or 0)
        start = query.get("start_time")
        until = None
        if token := query.get("next_token"):
            bound = self._tokens.get(token)
            if bound is None or bound[0] != q:
                return 400, _problem("Invalid Request", "The `next_token` query parameter value is not valid")
            until = bound[1]
        newest_first = sorted(
            (
                t
                for t in wanted
                if int(t["id"]) > since
                and (until is None or int(t["id"]) < until)
                and (start is None or t["created_at"][:19] >= start[:19])
            ),
            key=lambda t: int(t["id"]),
            reverse=True,
        )
        page, more = newest_first[:size], len(newest_first) > size
        if not page:
            return 200, {"meta": {"result_count": 0}}
        meta: dict[str, Any] = {}
        if more:
            meta["next_token"] = self._token(q, int(page[-1]["id"]))
        meta.update(result_count=len(page), newest_id=page[0]["id"], oldest_id=page[-1]["id"])
        return 200, self._expand(page, query, meta)

    def _visible(self) -> list[dict[str, Any]]:
        now = _iso(self._now())
        return [t for t in self.tweets.values() if t["created_at"] <= now]

    def _author(self, tweet: dict[str, Any]) -> str:
        return self.users[tweet["author_id"]]["username"].casefold()

    def _token(self, q: str, until: int) -> str:
        token = "b26v89c19zqg8o3f" + hashlib.sha1(f"{q}|{until}".encode()).hexdigest()[:28]
        self._tokens[token] = (q, until)
        return token

    def _expand(self, page: list[dict[str, Any]], query: dict[str, str], meta: dict[str, Any]) -> dict[str, Any]:
        """``data`` plus ``includes`` for the requested expansions, each object cut to the requested fields."""
        expansions = set(filter(None, query.get("expansions", "").split(",")))
        tweet_fields = {*DEFAULT_TWEET_FIELDS, *filter(None, query.get("tweet.fields", "").split(","))}
        user_fields = {*DEFAULT_USER_FIELDS, *filter(None, query.get("user.fields", "").split(","))}
        referenced: dict[str, dict[str, Any]] = {}
        if "referenced_tweets.id" in expansions:
            for tweet in page:
                for ref in tweet.get("referenced_tweets", ()):
                    if ref["id"] in self.tweets:
                        referenced.setdefault(ref["id"], self.tweets[ref["id"]])
        user_ids: list[str] = []
        for tweet in page:
            if "author_id" in expansions:
                user_ids.append(tweet["author_id"])
            if "in_reply_to_user_id" in expansions and tweet.get("in_reply_to_user_id"):
                user_ids.append(tweet["in_reply_to_user_id"])
        if "referenced_tweets.id.author_id" in expansions:
            user_ids.extend(t["author_id"] for t in referenced.values())
        includes: dict[str, Any] = {}
        if user_ids:
            includes["users"] = [_only(self.users[i], user_fields) for i in dict.fromkeys(user_ids)]
        if referenced:
            includes["tweets"] = [_only(t, tweet_fields) for t in referenced.values()]
        body: dict[str, Any] = {"data": [_only(t, tweet_fields) for t in page]}
        if includes:
            body["includes"] = includes
        body["meta"] = meta
        return body


def _only(obj: dict[str, Any], fields: set[str]) -> dict[str, Any]:
    return {k: v for k, v in obj.items() if k in fields}


def _replied_to(tweet: dict[str, Any]) -> bool:
    return any(r.get("type") == "replied_to" for r in tweet.get("referenced_tweets", ()))


def _is_retweet(tweet: dict[str, Any]) -> bool:
    return any(r.get("type") == "retweeted" for r in tweet.get("referenced_tweets", ()))


def _problem(title: str, detail: str = "") -> dict[str, Any]:
    """X's problem-details error body (``title`` / ``detail`` / ``type``, as in the fixtures' ``errors[]``)."""
    return {"title": title, "detail": detail, "type": "https://api.twitter.com/2/problems/invalid-request"}
