"""The X tweet parser's plain-dict fast path gives what the general parser gave, posts and errors alike.

The reference below is the tweet parser as it was before the fast path (kept here as the behaviour to match).
It runs over every tweet of the recorded pages, and over mutations of them that break one field at a time
(missing, null, wrong type), so that a malformed item is skipped for the same reason as before.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator, Mapping
from types import MappingProxyType
from typing import Any

import pytest

from chalicelib.domain.models import Account, Post, PostKind
from chalicelib.sources.base import require
from chalicelib.sources.x import NAME, _parse_created_at, _parse_tweet, _parse_user
from tests.conftest import REPO_ROOT, shared_dir

PAGES = [
    shared_dir() / "fixtures" / "x" / name
    for name in ("user_tweets_timeline_reply_chain_trimmed.json", "tweet_lookup_reply_with_expansions.json",
                 "tweet_lookup_verified_type.json")
]
ARCHIVE = REPO_ROOT / "tests" / "fixtures" / "archives" / "twarc2_shared_x_pages.jsonl"
_KINDS = {"retweeted": PostKind.REPOST, "quoted": PostKind.QUOTE}


def reference_parse_tweet(raw: Any, users: Mapping[str, Account]) -> Post:
    post_id = str(require(raw, "id"))
    author_id = str(require(raw, "author_id"))
    created_at = _parse_created_at(require(raw, "created_at"))
    author = users.get(author_id)
    if author is None:
        raise KeyError("author not in includes.users")
    refs = {r.get("type"): str(r.get("id")) for r in raw.get("referenced_tweets") or [] if isinstance(r, Mapping)}
    kind = PostKind.REPLY if "replied_to" in refs else next((k for t, k in _KINDS.items() if t in refs), PostKind.POST)
    entities = raw.get("entities") or {}
    mentions = tuple(str(m["username"]) for m in entities.get("mentions") or [] if m.get("username"))
    in_reply_to_user = raw.get("in_reply_to_user_id")
    return Post(
        platform=NAME, post_id=post_id, author=author, created_at=created_at, text=str(raw.get("text") or ""),
        kind=kind, thread_id=str(raw["conversation_id"]) if raw.get("conversation_id") else None,
        in_reply_to_post_id=refs.get("replied_to"),
        in_reply_to_account_id=str(in_reply_to_user) if in_reply_to_user else None, mentions=mentions,
        url=f"https://x.com/{author.handle}/status/{post_id}", lang=raw.get("lang"),
    )


def _pages() -> Iterator[dict[str, Any]]:
    for path in PAGES:
        yield json.loads(path.read_text(encoding="utf-8"))
    for line in ARCHIVE.read_text(encoding="utf-8").splitlines():
        if line.strip():
            yield json.loads(line)


def _cases() -> Iterator[tuple[dict[str, Any], dict[str, Account]]]:
    """Every recorded tweet with its page's authors, then copies with one field broken."""
    broken_values = (None, 0, 7, "", "x", [], {}, ["x"], [{"type": "quoted", "id": 5}], {"mentions": "ab"})
    for page in _pages():
        users = {u["id"]: _parse_user(u) for u in (page.get("includes") or {}).get("users", [])}
        tweets = page.get("data") or []
        for raw in [tweets] if isinstance(tweets, dict) else tweets:
            yield raw, users
            for key in ("id", "author_id", "created_at", "text", "referenced_tweets", "entities",
                        "conversation_id", "in_reply_to_user_id", "lang"):
                for value in broken_values:
                    mutated = copy.deepcopy(raw)
                    mutated[key] = value
                    yield mutated, users
                mutated = copy.deepcopy(raw)
                mutated.pop(key, None)
                yield mutated, users


def _outcome(parse: Any, raw: Any, users: Mapping[str, Account]) -> Any:
    try:
        return parse(raw, users)
    except Exception as exc:  # noqa: BLE001 - the error type and message are what is compared
        return (type(exc), str(exc))


CASES = list(_cases())


def test_there_are_recorded_tweets_and_mutations_to_compare() -> None:
    outcomes = [_outcome(_parse_tweet, raw, users) for raw, users in CASES]
    assert sum(isinstance(o, Post) for o in outcomes) > 20
    assert sum(isinstance(o, tuple) for o in outcomes) > 20  # and many that fail
    assert {o.kind for o in outcomes if isinstance(o, Post)} >= {PostKind.POST, PostKind.REPLY}


@pytest.mark.parametrize("wrap", [dict, MappingProxyType], ids=["dict", "other-mapping"])
def test_every_tweet_and_mutation_parses_or_fails_as_before(wrap: Any) -> None:
    # GIVEN recorded tweets and one-field mutations, as plain dicts (fast path) or another mapping (general path)
    for raw, users in CASES:
        # WHEN parsed by the current parser and by the reference
        got, want = _outcome(_parse_tweet, wrap(raw), users), _outcome(reference_parse_tweet, wrap(raw), users)
        # THEN the same post comes out, or the same error
        assert got == want, raw


def test_a_tweet_that_is_not_an_object_fails_as_before() -> None:
    for raw in (None, 5, "id", ["id"]):
        assert _outcome(_parse_tweet, raw, {}) == _outcome(reference_parse_tweet, raw, {})
