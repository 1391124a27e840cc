"""A fake Bluesky AppView serving recorded-shape payloads, for the fault-injection test.

Every post and profile it serves is a copy of a real recorded body from ``../shared/fixtures/bluesky`` with
only the fields real posts vary in changed (uri, cid, author, times, text, mention facet, reply refs, follower
counts): ``get_author_feed.json``'s ``feed[2].post`` is the template of company replies, the customer's
question it answers in ``feed[20].reply.parent`` (a ``#postView`` with one mention facet) the template of
complaints, ``feed[23].post`` the template of the company's own posts, and ``get_profile.json`` the template
of every detailed profile. Embeds, link/tag facets and viewer state are dropped: they vary per post, and the
public AppView sends no viewer state without authentication.

It answers what :class:`~chalicelib.sources.bluesky.BlueskySource` reads, the way the AppView does:

* ``app.bsky.actor.getProfile`` / ``getProfiles`` (by handle or DID; unknown actors left out of the list);
* ``app.bsky.feed.getAuthorFeed?filter=posts_with_replies`` — newest first, each reply item embedding its
  ``reply.{root,parent}`` post views; the ``cursor`` is the last item's timestamp (as in the recording) and
  the next page holds the items strictly older than it;
* ``app.bsky.feed.searchPosts?mentions=…&sort=latest&since=…`` — newest first, ``since`` inclusive, the
  ``cursor`` an offset (as in the recording: ``"25"``).

Only posts created at or before the simulated ``now`` are visible, so complaints and replies can arrive while
a test polls. Every response carries the atproto rate-limit headers (``RateLimit-Limit`` / ``-Remaining`` /
``-Reset`` in epoch seconds / ``-Policy``) for a fixed 5-minute window; :meth:`FakeBluesky.reset_headers` is
how a 429 announces its reset.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import random
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.unit.sources.conftest import shared_fixture

WINDOW = timedelta(minutes=5)
WINDOW_LIMIT = 3000  # the AppView's per-IP budget for this window (RateLimit-Policy "3000;w=300")
POST_VIEW = "app.bsky.feed.defs#postView"
TID_ALPHABET = "234567abcdefghijklmnopqrstuvwxyz"

COMPLAINTS = (
    "my parcel never arrived and nobody answers",
    "I was charged twice for my order and support ignores me",
    "still waiting for a refund, this is unacceptable",
)
ANSWERS = ("sorry about that, we have refunded your order", "Please DM us your order number so we can look into it")
ANNOUNCEMENT = "Our new app is out today, update from your store"


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def _instant(raw: str) -> datetime:
    return datetime.fromisoformat(raw.replace("Z", "+00:00"))


def _tid(when: datetime, clock: int) -> str:
    """An atproto record key: microseconds since the epoch and a clock id, base32-sortable, 13 characters."""
    value = (int(when.timestamp() * 1_000_000) << 10) | (clock & 0x3FF)
    return "".join(TID_ALPHABET[(value >> (5 * i)) & 31] for i in reversed(range(13)))


def _b32(seed: str, length: int) -> str:
    return base64.b32encode(hashlib.sha256(seed.encode()).digest()).decode().lower()[:length]


def _did(name: str) -> str:
    return f"did:plc:{_b32(name, 24)}"


@dataclass(frozen=True)
class Thread:
    """One generated complaint: to whom, by whom, and the company's reply (uri, time, deflection?) if any."""

    company: str
    complaint_uri: str
    complaint_at: datetime
    customer_did: str
    followers: int
    reply_uri: str | None
    reply_at: datetime | None
    deflection: bool = False


class FakeBluesky:
    """The AppView's data for several company accounts, and a router for :class:`FaultyPlatform`."""

    def __init__(self) -> None:
        feed = shared_fixture("bluesky/get_author_feed.json")["feed"]
        self._reply_template = feed[2]["post"]
        self._complaint_template = feed[20]["reply"]["parent"]
        self._own_template = feed[23]["post"]
        self._profile_template = shared_fixture("bluesky/get_profile.json")
        self.now: datetime | None = None  # the simulated time: posts after it are not visible yet
        self.profiles: dict[str, dict[str, Any]] = {}  # did -> profileViewDetailed
        self.handles: dict[str, str] = {}  # handle -> did
        self.items: dict[str, list[tuple[datetime, dict[str, Any]]]] = {}  # company did -> (time, feed item)
        self.mentions: dict[str, list[tuple[datetime, dict[str, Any]]]] = {}  # company did -> (time, post view)
        self.threads: list[Thread] = []
        self.requests: list[str] = []
        self._clock = 0
        self._served: dict[datetime | None, int] = {}
        self._lock = threading.Lock()

    # -- data --------------------------------------------------------------------------------------

    def add_account(self, handle: str, followers: int) -> str:
        did = _did(handle)
        profile = copy.deepcopy(self._profile_template)
        for key in ("viewer", "pinnedPost"):
            profile.pop(key, None)
        name = handle.split(".", 1)[0]
        profile.update(
            did=did, handle=handle, displayName=name.title(), followersCount=followers,
            avatar=f"https://cdn.bsky.app/img/avatar/plain/{did}/{_b32(did, 59)}@jpeg",
        )
        self.profiles[did], self.handles[handle] = profile, did
        if followers >= 10_000:  # company accounts: they have feeds and get mentioned
            self.items.setdefault(did, [])
            self.mentions.setdefault(did, [])
        return did

    def _basic(self, did: str) -> dict[str, Any]:
        """A feed view's profileViewBasic: no follower count, which is why the source calls getProfiles."""
        full = self.profiles[did]
        return {k: full[k] for k in ("did", "handle", "displayName", "avatar", "labels", "createdAt") if k in full}

    def _view(self, template: dict[str, Any], did: str, at: datetime, text: str) -> dict[str, Any]:
        self._clock += 1
        view = copy.deepcopy(template)
        for key in ("embed", "viewer", "$type"):
            view.pop(key, None)
        uri = f"at://{did}/app.bsky.feed.post/{_tid(at, self._clock)}"
        record = view["record"]
        for key in ("embed", "facets", "reply"):
            record.pop(key, None)
        record.update(createdAt=_iso(at), text=text, langs=["en"])
        view.update(uri=uri, cid=f"bafyrei{_b32(uri, 52)}", author=self._basic(did), indexedAt=_iso(at),
                    replyCount=0, repostCount=0, likeCount=0, quoteCount=0)
        return view

    def add_thread(
        self, company: str, customer: str, at: datetime, *, followers: int, text: str,
        reply_after: timedelta | None, deflect: bool = False,
    ) -> Thread:
        """A customer's post mentioning ``company`` (a handle), and the company's reply to it if any."""
        company_did = self.handles[company]
        customer_did = self.add_account(customer, followers)
        mention = f"@{company}"
        complaint = self._view(self._complaint_template, customer_did, at, f"{mention} {text}")
        facet = copy.deepcopy(self._complaint_template["record"]["facets"][0])
        facet["features"][0]["did"] = company_did
        facet["index"] = {"byteStart": 0, "byteEnd": len(mention.encode())}
        complaint["record"]["facets"] = [facet]
        self.mentions[company_did].append((at, complaint))
        if reply_after is None:
            thread = Thread(company, complaint["uri"], at, customer_did, followers, None, None)
            self.threads.append(thread)
            return thread
        when = at + reply_after
        reply = self._view(self._reply_template, company_did, when, ANSWERS[1 if deflect else 0])
        ref = {"cid": complaint["cid"], "uri": complaint["uri"]}
        reply["record"]["reply"] = {"parent": dict(ref), "root": dict(ref)}
        complaint["replyCount"] = 1
        embedded = {**complaint, "$type": POST_VIEW}
        self.items[company_did].append((when, {"post": reply, "reply": {"root": embedded, "parent": embedded}}))
        thread = Thread(company, complaint["uri"], at, customer_did, followers, reply["uri"], when, deflect)
        self.threads.append(thread)
        return thread

    def add_post(self, company: str, at: datetime, text: str = ANNOUNCEMENT) -> None:
        """The company's own top-level post: in its feed, never a complaint."""
        did = self.handles[company]
        self.items[did].append((at, {"post": self._view(self._own_template, did, at, text)}))

    def populate(
        self, company: str, start: datetime, threads: int, *, seed: int, spacing: timedelta, first: int = 0
    ) -> None:
        """``threads`` complaints from ``start`` on: all tiers, some unanswered, some deflected, a few own posts.

        ``first`` numbers the customers, so a company can be populated in several bursts.
        """
        rng = random.Random(seed)
        for n in range(first, first + threads):
            at = start + (n - first) * spacing + timedelta(seconds=rng.randint(0, 59), milliseconds=rng.randint(0, 999))
            if n % 4 == 1:
                self.add_post(company, at - timedelta(minutes=3))
            self.add_thread(
                company, f"{company.split('.', 1)[0]}-customer{n}.bsky.social", at,
                followers=(5, 300, 4_000, 250_000)[n % 4], text=COMPLAINTS[n % len(COMPLAINTS)],
                reply_after=None if n % 5 == 2 else timedelta(minutes=rng.randint(3, 90)), deflect=n % 3 == 1,
            )

    def visible(self, at: datetime) -> list[Thread]:
        """The threads whose complaint exists at ``at`` (their replies may not yet)."""
        return [t for t in self.threads if t.complaint_at <= at]

    # -- routing -----------------------------------------------------------------------------------

    def respond(self, url: str) -> tuple[int, dict[str, str], bytes]:
        parts = urlsplit(url)
        query = parse_qs(parts.query)
        method = parts.path.rsplit("/", 1)[-1]
        with self._lock:
            self.requests.append(method)
            handler = {
                "app.bsky.actor.getProfile": self._get_profile,
                "app.bsky.actor.getProfiles": self._get_profiles,
                "app.bsky.feed.getAuthorFeed": self._author_feed,
                "app.bsky.feed.searchPosts": self._search,
            }.get(method)
            if handler is None:
                status, body = 501, {"error": "MethodNotImplemented", "message": "Method Not Implemented"}
            else:
                status, body = handler(query)
            headers = self._rate_headers()
        return status, headers, json.dumps(body).encode()

    def _rate_headers(self) -> dict[str, str]:
        window = None if self.now is None else datetime.fromtimestamp(
            self.now.timestamp() // WINDOW.total_seconds() * WINDOW.total_seconds(), UTC)
        self._served[window] = used = self._served.get(window, 0) + 1
        headers = {"RateLimit-Limit": str(WINDOW_LIMIT), "RateLimit-Remaining": str(WINDOW_LIMIT - used),
                   "RateLimit-Policy": f"{WINDOW_LIMIT};w={int(WINDOW.total_seconds())}"}
        if window is not None:
            headers["RateLimit-Reset"] = str(int((window + WINDOW).timestamp()))
        return headers

    def reset_headers(self, now: datetime | None, rng: random.Random) -> dict[str, str]:
        """A 429 as the AppView sends it: the window is empty until ``RateLimit-Reset`` (epoch seconds)."""
        headers = {"RateLimit-Limit": str(WINDOW_LIMIT), "RateLimit-Remaining": "0",
                   "RateLimit-Policy": f"{WINDOW_LIMIT};w={int(WINDOW.total_seconds())}"}
        if now is not None:
            headers["RateLimit-Reset"] = str(int(now.timestamp()) + rng.randint(30, 240))
        return headers

    def _actor(self, actor: str) -> dict[str, Any] | None:
        return self.profiles.get(self.handles.get(actor, actor))

    def _get_profile(self, query: dict[str, list[str]]) -> tuple[int, Any]:
        profile = self._actor(query.get("actor", [""])[0])
        if profile is None:
            return 400, {"error": "InvalidRequest", "message": "Profile not found"}
        return 200, profile

    def _get_profiles(self, query: dict[str, list[str]]) -> tuple[int, Any]:
        actors = query.get("actors", [])
        if len(actors) > 25:
            return 400, {"error": "InvalidRequest", "message": "Input/actors must not have more than 25 elements"}
        return 200, {"profiles": [p for a in actors if (p := self._actor(a)) is not None]}

    def _visible(self, entries: list[tuple[datetime, dict[str, Any]]]) -> list[tuple[datetime, dict[str, Any]]]:
        shown = [(t, v) for t, v in entries if self.now is None or t <= self.now]
        return sorted(shown, key=lambda e: e[0], reverse=True)

    def _author_feed(self, query: dict[str, list[str]]) -> tuple[int, Any]:
        did = self.handles.get(query.get("actor", [""])[0])
        if did not in self.items:
            return 400, {"error": "InvalidRequest", "message": "Profile not found"}
        limit = int(query.get("limit", ["50"])[0])
        entries = self._visible(self.items[did])
        if "cursor" in query:
            before = _instant(query["cursor"][0])
            entries = [(t, i) for t, i in entries if t < before]
        page = entries[:limit]
        body: dict[str, Any] = {"feed": [copy.deepcopy(i) for _, i in page]}
        if len(entries) > limit:
            body["cursor"] = _iso(page[-1][0])
        return 200, body

    def _search(self, query: dict[str, list[str]]) -> tuple[int, Any]:
        did = self.handles.get(query.get("mentions", [""])[0])
        entries = self._visible(self.mentions.get(did, []))
        if "since" in query:
            since = _instant(query["since"][0])
            entries = [(t, v) for t, v in entries if t >= since]
        limit = int(query.get("limit", ["25"])[0])
        offset = int(query.get("cursor", ["0"])[0])
        page = entries[offset:offset + limit]
        body: dict[str, Any] = {"posts": [copy.deepcopy(v) for _, v in page]}
        if offset + limit < len(entries):
            body["cursor"] = str(offset + limit)
        return 200, body
