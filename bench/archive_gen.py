"""A synthetic twarc2 JSONL archive of customer-support threads, in the shape of the recorded X v2 pages.

Each line is one X API v2 search page as twarc2 writes it (``data``, ``includes.users``, ``meta``,
``__twarc``), with the fields the recorded pages in ``tests/fixtures/archives/twarc2_shared_x_pages.jsonl``
carry (ids as strings, ``conversation_id``, ``referenced_tweets``, ``entities.mentions``,
``public_metrics``). Threads look like support traffic: a customer complains to a company handle, the
company replies (sometimes only "DM us"), the customer sometimes follows up, and some complaints are never
answered. Everything is fictional (``*.example`` handles) and seeded, so every run writes the same file.
"""

from __future__ import annotations

import heapq
import json
import random
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

START = datetime(2025, 1, 6, 8, 0, tzinfo=UTC)
PAGE_SIZE = 100
_EPOCH_MS = 1288834974657  # X's snowflake epoch: ids grow with time, as real ones do

_COMPLAINTS = (
    "my parcel never arrived and nobody answers the phone, order {n} is still missing",
    "I have been waiting three weeks for a refund on booking {n}, this is ridiculous",
    "your app keeps crashing when I try to pay, lost my basket twice today (ref {n})",
    "flight {n} delayed again and no information at the gate, what is going on?",
    "charged twice for the same order {n}, please fix this, I want my money back",
    "internet down since yesterday evening in my area, ticket {n} still open",
)
_REPLIES = (
    "Hi {h}, sorry to hear that. We have refunded order {n}; it should show within 3 days.",
    "Hi {h}, we are sorry about this. Your replacement for {n} ships today with tracking.",
    "Sorry {h}, please send us a DM with your order number and we will look into it.",
    "Hi {h}, thanks for your patience. The outage in your area is fixed, please restart your router.",
)
_FOLLOW_UPS = (
    "still nothing, this is the third time I ask about {n}",
    "thanks, that worked",
    "sent you a DM an hour ago, no answer yet",
)


@dataclass(frozen=True, slots=True)
class GeneratedArchive:
    """What was written: the file, its size and counts, and the companies whose handles were used."""

    path: Path
    posts: int
    complaints: int
    bytes: int
    companies: Mapping[str, tuple[str, ...]]  # slug -> X handles


def company_handles(companies: int) -> dict[str, tuple[str, ...]]:
    return {f"bench-co-{i}": (f"BenchCo{i}Help",) for i in range(companies)}


def _user(user_id: str, username: str, followers: int, created: str) -> dict[str, Any]:
    return {
        "protected": False,
        "id": user_id,
        "username": username,
        "name": username.replace("_", " ").title(),
        "created_at": created,
        "verified": followers >= 100_000,
        "description": "Fictional account generated for Fair Reply's benchmarks.",
        "public_metrics": {"followers_count": followers, "following_count": 321, "tweet_count": 4567,
                           "listed_count": 3},
    }


def _tweet(post_id: int, author_id: str, at: datetime, text: str, conversation: int,
           mentions: list[tuple[str, str]], reply_to: tuple[int, str] | None) -> dict[str, Any]:
    tweet: dict[str, Any] = {
        "id": str(post_id),
        "text": text,
        "author_id": author_id,
        "conversation_id": str(conversation),
        "created_at": at.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "lang": "en",
        "reply_settings": "everyone",
        "possibly_sensitive": False,
        "source": "Twitter for iPhone",
        "public_metrics": {"retweet_count": 0, "reply_count": 0, "like_count": 1, "quote_count": 0},
        "entities": {"mentions": [{"start": 0, "end": len(u) + 1, "username": u, "id": i} for u, i in mentions]},
    }
    if reply_to is not None:
        tweet["referenced_tweets"] = [{"type": "replied_to", "id": str(reply_to[0])}]
        tweet["in_reply_to_user_id"] = reply_to[1]
    return tweet


def _snowflake(at: datetime, seq: int) -> int:
    return (int(at.timestamp() * 1000) - _EPOCH_MS) << 22 | (seq & 0x3FFFFF)


def _posts(n_posts: int, companies: Mapping[str, tuple[str, ...]], rng: random.Random) -> Iterator[tuple[dict, dict]]:
    """(tweet, author) pairs in time order, ``n_posts`` in all; threads are cut off at the end, as archives are."""
    handles = [(h, f"9{idx:05d}") for idx, hs in enumerate(companies.values()) for h in hs]
    company_users = {hid: _user(hid, h, 250_000, "2010-05-01T10:00:00.000Z") for h, hid in handles}
    pending: list[tuple[datetime, int, dict, dict]] = []  # (when, tie-break, tweet, author) not yet emitted
    emitted = seq = thread = 0
    clock = START
    while emitted < n_posts:
        while pending and pending[0][0] <= clock and emitted < n_posts:
            _, _, tweet, author = heapq.heappop(pending)
            yield tweet, author
            emitted += 1
        clock += timedelta(seconds=rng.expovariate(1 / 20))
        thread += 1
        handle, handle_id = rng.choice(handles)
        cid = f"{thread + 10**9}"
        followers = int(10 ** rng.uniform(0, 6.3))
        customer = _user(cid, f"customer_{thread}", followers, "2015-03-02T09:00:00.000Z")
        seq += 1
        root = _snowflake(clock, seq)
        text = f"@{handle} " + rng.choice(_COMPLAINTS).format(n=thread)
        heapq.heappush(pending, (clock, seq, _tweet(root, cid, clock, text, root, [(handle, handle_id)], None),
                                 customer))
        if rng.random() < 0.75:  # answered, after a lognormal delay (median ~1 h)
            at = clock + timedelta(seconds=rng.lognormvariate(8.2, 1.3))
            seq += 1
            reply = _snowflake(at, seq)
            text = f"@customer_{thread} " + rng.choice(_REPLIES).format(h=f"customer_{thread}", n=thread)
            heapq.heappush(pending, (at, seq, _tweet(reply, handle_id, at, text, root,
                                                     [(f"customer_{thread}", cid)], (root, cid)),
                                     company_users[handle_id]))
        if rng.random() < 0.3:
            at = clock + timedelta(seconds=rng.lognormvariate(7.5, 1.0))
            seq += 1
            text = f"@{handle} " + rng.choice(_FOLLOW_UPS).format(n=thread)
            heapq.heappush(pending, (at, seq, _tweet(_snowflake(at, seq), cid, at, text, root,
                                                     [(handle, handle_id)], (root, handle_id)), customer))
    # leftover pending posts are beyond the archive's end: unanswered complaints are censored there


def write_twarc2_archive(path: Path, n_posts: int, *, companies: int = 5, seed: int = 1) -> GeneratedArchive:
    """Write ``n_posts`` posts as twarc2 pages of 100 (the last one shorter)."""
    rng = random.Random(seed)
    handles = company_handles(companies)
    complaints = 0
    with path.open("w", encoding="utf-8") as fp:
        page: list[dict] = []
        users: dict[str, dict] = {}
        for tweet, author in _posts(n_posts, handles, rng):
            page.append(tweet)
            users[author["id"]] = author
            complaints += "referenced_tweets" not in tweet
            if len(page) == PAGE_SIZE:
                _write_page(fp, page, users)
                page, users = [], {}
        if page:
            _write_page(fp, page, users)
    return GeneratedArchive(path, n_posts, complaints, path.stat().st_size, handles)


def _write_page(fp: Any, page: list[dict], users: dict[str, dict]) -> None:
    body = {
        "data": page[::-1],  # search pages list newest first
        "includes": {"users": list(users.values())},
        "meta": {"newest_id": page[-1]["id"], "oldest_id": page[0]["id"], "result_count": len(page),
                 "next_token": f"b26v89c19zqg8o3f{page[0]['id'][-8:]}"},
        "__twarc": {"url": "https://api.twitter.com/2/tweets/search/all", "version": "2.14.0",
                    "retrieved_at": "2026-11-23T12:00:00+00:00"},
    }
    fp.write(json.dumps(body, separators=(", ", ": ")) + "\n")
