"""A fake Reddit (public ``.json`` endpoints) serving recorded-shape things, for the fault-injection test.

Every thing it serves is a copy of a real recorded body from ``../shared/fixtures/reddit`` with only ids,
times, authors, text, subreddit, links and subscriber counts changed — the fields real things vary in:

* submissions copy ``submission_comments.json``'s ``t3_2gmzqe``;
* customers' comments copy its question ``t1_cklfmye``, company replies its answer ``t1_cklhv0f``
  (``replies`` emptied, as in flat listings);
* profiles copy ``user_about.json`` (audience: ``subreddit.subscribers``);
* every Listing's envelope copies ``inbox_mentions.json``'s (``after``, ``dist``, ``modhash``, ``geo_filter``,
  ``before``).

It answers exactly what :class:`~chalicelib.sources.reddit.RedditSource` reads without OAuth:
``/r/<sub>/new.json`` and ``/user/<name>/comments.json`` (newest first, ``limit``, Reddit's ``after``
paging: the things listed after the thing named by ``after``, which is the fullname of the page's last
thing while more remain; an anchor no longer in the listing gives an empty page, as Reddit does),
``/api/info.json?id=t1_…,t3_…`` and ``/user/<name>/about.json`` (404 for shadow-banned accounts). Only
things created at or before the simulated ``now`` are visible, so complaints and replies arrive while a
test polls. Every response carries Reddit's rate-limit headers (``x-ratelimit-used`` / ``-remaining`` /
``-reset``, the last in seconds to the end of a 10-minute window); past the window's limit it answers 429.
"""

from __future__ import annotations

import copy
import dataclasses
import html
import json
import random
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from tests.unit.sources.conftest import shared_fixture

WINDOW = timedelta(minutes=10)
WINDOW_LIMIT = 100  # requests per 10-minute window for logged-out clients
CREATED_OFFSET = 28_800.0  # recorded things carry ``created`` = ``created_utc`` + 8 h (Reddit's legacy field)
NOT_FOUND = b'{"message": "Not Found", "error": 404}'
TOO_MANY = b'{"message": "Too Many Requests", "error": 429}'

COMPLAINTS = (
    "my parcel never arrived and nobody answers",
    "my flight was cancelled and I still have no refund",
    "the app keeps crashing when I pay",
)
ANSWERS = ("sorry about that, we have refunded your order", "please send us a DM with your order number")


def _base36(n: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        n, r = divmod(n, 36)
        out = digits[r] + out
        if n == 0:
            return out


def _md(text: str) -> str:
    return f'<div class="md"><p>{html.escape(text)}</p>\n</div>'


@dataclass(frozen=True)
class Thread:
    """One complaint as generated: to whom, where it is (a submission or a comment), its reply if any."""

    handle: str
    complaint_id: str
    created_at: datetime
    reply_id: str | None
    replied_at: datetime | None
    subscribers: int | None  # None: the author's profile 404s (shadow-banned), so the tier is unknown
    in_comment: bool = False


class FakeReddit:
    """Reddit's things plus a request router (``respond(url)``) for :class:`FaultyPlatform`."""

    def __init__(self) -> None:
        tree = shared_fixture("reddit/submission_comments.json")
        question = tree[1]["data"]["children"][0]
        self._submission = tree[0]["data"]["children"][0]
        self._question = {**question, "data": {**question["data"], "replies": ""}}
        self._answer = question["data"]["replies"]["data"]["children"][0]
        self._about = shared_fixture("reddit/user_about.json")
        envelope = shared_fixture("reddit/inbox_mentions.json")
        self._listing = {**envelope, "data": {k: v for k, v in envelope["data"].items() if k != "children"}}
        self.things: dict[str, dict[str, Any]] = {}  # fullname -> thing
        self.profiles: dict[str, int | None] = {}  # author -> subscribers (None: 404)
        self.threads: list[Thread] = []
        self.now: datetime | None = None
        self.requests: list[str] = []
        self._used: dict[int, int] = {}
        self._seq = 36**5  # six-character base-36 ids, as Reddit's
        self._lock = threading.Lock()

    # -- data --------------------------------------------------------------------------------------

    def _next_id(self) -> str:
        self._seq += 1
        return _base36(self._seq)

    def _stamp(self, data: dict[str, Any], at: datetime, subreddit: str) -> None:
        data.update(
            created_utc=float(int(at.timestamp())),
            created=float(int(at.timestamp())) + CREATED_OFFSET,
            subreddit=subreddit,
            subreddit_id=f"t5_{_base36(sum(map(ord, subreddit)))}",
        )

    def submission(self, subreddit: str, author: str, at: datetime, title: str, text: str) -> str:
        thing = copy.deepcopy(self._submission)
        data = thing["data"]
        sid = self._next_id()
        self._stamp(data, at, subreddit)
        slug = "_".join(title.lower().split()[:5]).replace("/", "")
        data.update(
            id=sid,
            name=f"t3_{sid}",
            author=author,
            title=title,
            selftext=text,
            selftext_html=f"<!-- SC_OFF -->{_md(text)}<!-- SC_ON -->",
            domain=f"self.{subreddit}",
            permalink=f"/r/{subreddit}/comments/{sid}/{slug}/",
            url=f"https://www.reddit.com/r/{subreddit}/comments/{sid}/{slug}/",
            num_comments=0,
        )
        self.things[data["name"]] = thing
        return data["name"]

    def comment(self, parent: str, author: str, at: datetime, body: str, *, official: bool = False) -> str:
        thing = copy.deepcopy(self._answer if official else self._question)
        data = thing["data"]
        parent_data = self.things[parent]["data"]
        link_id = parent if parent.startswith("t3_") else parent_data["link_id"]
        cid = self._next_id()
        self._stamp(data, at, parent_data["subreddit"])
        data.update(
            id=cid, name=f"t1_{cid}", author=author, body=body, body_html=_md(body), link_id=link_id, parent_id=parent
        )
        self.things[data["name"]] = thing
        self.things[link_id]["data"]["num_comments"] += 1
        return data["name"]

    def add_thread(
        self,
        handle: str,
        subreddit: str,
        n: int,
        at: datetime,
        *,
        subscribers: int | None,
        reply_after: timedelta | None,
        in_comment: bool,
    ) -> Thread:
        """A customer's complaint naming ``u/<handle>``: a submission, or a comment under a mods' thread."""
        customer = f"{subreddit.lower()[:8]}_user{n}"
        self.profiles[customer] = subscribers
        text = f"u/{handle} {COMPLAINTS[n % len(COMPLAINTS)]}"
        if in_comment:
            self.profiles.setdefault("AutoModerator", 12_000)
            post = self.submission(
                subreddit,
                "AutoModerator",
                at - timedelta(minutes=30),
                "Weekly questions thread",
                "Ask your questions here.",
            )
            complaint = self.comment(post, customer, at, text)
        else:
            complaint = self.submission(subreddit, customer, at, text, "order 12345, waiting for two weeks")
        reply = replied_at = None
        if reply_after is not None:
            replied_at = at + reply_after
            reply = self.comment(
                complaint, handle, replied_at, f"u/{customer} {ANSWERS[n % len(ANSWERS)]}", official=True
            )
        thread = Thread(handle, complaint, at, reply, replied_at, subscribers, in_comment)
        self.threads.append(thread)
        return thread

    def populate(self, handle: str, subreddit: str, first: datetime, threads: int) -> list[Thread]:
        """Complaints two hours apart from ``first``: every tier, one in four unanswered, one in three of the
        answered ones in a comment, one in five by a shadow-banned author; replies come 7·(n+1) minutes later."""
        return [
            self.add_thread(
                handle,
                subreddit,
                n,
                first + timedelta(hours=2 * n),
                subscribers=None if n % 5 == 2 else [5, 300, 4_000, 250_000][n % 4],
                reply_after=None if n % 4 == 3 else timedelta(minutes=7 * (n + 1)),
                in_comment=n % 3 == 1 and n % 4 != 3,
            )
            for n in range(threads)
        ]

    def visible(self, handle: str, now: datetime) -> list[Thread]:
        """The threads to ``handle`` a reader of its subreddit and its comments can know of at ``now``.

        Replies later than ``now`` are removed. A complaint made in a comment shows in neither listing
        until the company answers it (the source reads no mentions inbox), so it counts only once answered.
        """
        out = []
        for t in self.threads:
            answered = t.replied_at is not None and t.replied_at <= now
            if t.handle == handle and t.created_at <= now and (answered or not t.in_comment):
                out.append(t if answered else dataclasses.replace(t, reply_id=None, replied_at=None))
        return out

    # -- routing -----------------------------------------------------------------------------------

    def respond(self, url: str) -> tuple[int, dict[str, str], bytes]:
        parts = urlsplit(url)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        path = unquote(parts.path).removesuffix(".json").rstrip("/")
        segments = path.strip("/").split("/")
        with self._lock:
            self.requests.append(path)
            window = self._window()
            self._used[window] = used = self._used.get(window, 0) + 1
            headers = self._limit_headers(used, self._now())
        if used > WINDOW_LIMIT:
            return 429, headers, TOO_MANY
        visible = [t for t in self.things.values() if self._at(t) <= self._now()]
        if len(segments) == 3 and segments[0] == "r" and segments[2] == "new":
            sub = segments[1].casefold()
            return (
                200,
                headers,
                self._page(
                    [t for t in visible if t["kind"] == "t3" and t["data"]["subreddit"].casefold() == sub], query
                ),
            )
        if len(segments) == 3 and segments[0] == "user" and segments[2] == "comments":
            name = segments[1].casefold()
            return (
                200,
                headers,
                self._page([t for t in visible if t["kind"] == "t1" and t["data"]["author"].casefold() == name], query),
            )
        if len(segments) == 3 and segments[0] == "user" and segments[2] == "about":
            return self._profile(segments[1], headers)
        if segments == ["api", "info"]:
            shown = {t["data"]["name"]: t for t in visible}
            wanted = [shown[i] for i in query.get("id", "").split(",") if i in shown]
            return 200, headers, self._dump(wanted, after=None)
        return 404, headers, NOT_FOUND

    def _profile(self, name: str, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        subscribers = self.profiles.get(name)
        if subscribers is None:
            return 404, headers, NOT_FOUND
        about = copy.deepcopy(self._about)
        data = about["data"]
        data.update(name=name, id=_base36(sum(map(ord, name)) * 7919))
        data["subreddit"].update(
            subscribers=subscribers,
            display_name=f"u_{name}",
            url=f"/user/{name}/",
            display_name_prefixed=f"u/{name}",
            title="",
            public_description="",
        )
        return 200, headers, json.dumps(about).encode()

    def _page(self, things: list[dict[str, Any]], query: dict[str, str]) -> bytes:
        ordered = sorted(things, key=lambda t: (self._at(t), int(t["data"]["id"], 36)), reverse=True)
        limit = min(int(query.get("limit") or 25), 100)
        if anchor := query.get("after"):
            names = [t["data"]["name"] for t in ordered]
            ordered = ordered[names.index(anchor) + 1 :] if anchor in names else []
        page = ordered[:limit]
        return self._dump(page, after=page[-1]["data"]["name"] if len(ordered) > limit else None)

    def _dump(self, children: list[dict[str, Any]], *, after: str | None) -> bytes:
        listing = copy.deepcopy(self._listing)
        listing["data"].update(after=after, dist=len(children), children=children)
        return json.dumps(listing).encode()

    # -- rate limits -------------------------------------------------------------------------------

    def _now(self) -> datetime:
        return self.now or datetime.now(UTC)

    @staticmethod
    def _at(thing: dict[str, Any]) -> datetime:
        return datetime.fromtimestamp(thing["data"]["created_utc"], tz=UTC)

    def _window(self) -> int:
        return int(self._now().timestamp() // WINDOW.total_seconds())

    @staticmethod
    def _limit_headers(used: int, now: datetime) -> dict[str, str]:
        window = WINDOW.total_seconds()
        reset = (now.timestamp() // window + 1) * window - now.timestamp()
        return {
            "Content-Type": "application/json; charset=UTF-8",
            "x-ratelimit-used": str(used),
            "x-ratelimit-remaining": f"{max(0, WINDOW_LIMIT - used):.1f}",
            "x-ratelimit-reset": str(max(1, int(reset))),
        }

    def reset_headers(self, now: datetime | None, rng: random.Random) -> dict[str, str]:
        """How Reddit announces a 429: an empty window and the seconds until it ends (``rng`` unused)."""
        headers = self._limit_headers(WINDOW_LIMIT, now or self._now())
        headers.pop("Content-Type")
        return headers
