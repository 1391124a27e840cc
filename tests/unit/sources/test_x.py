from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta

import pytest
import responses

from chalicelib.domain.models import PostKind
from chalicelib.sources.base import RequestBudget
from chalicelib.sources.errors import AuthRejected, RateLimited
from chalicelib.sources.x import SEARCH_PATH, XSource, parse_x_page
from tests.unit.sources.conftest import company, recorded_fixture, shared_fixture

BASE = "https://api.x.test"
SEARCH = BASE + SEARCH_PATH


def test_timeline_page_normalises_replies_authors_and_conversations():
    # GIVEN a real timeline page with a reply chain and expansions
    page = shared_fixture("x/user_tweets_timeline_reply_chain_trimmed.json")
    # WHEN parsed
    result = parse_x_page(page)
    posts = {p.post_id: p for p in result.posts}
    # THEN every data tweet and every expanded referenced tweet is a post, once
    assert {t["id"] for t in page["data"]} <= set(posts)
    assert {t["id"] for t in page["includes"]["tweets"]} <= set(posts)
    assert len(posts) == len(result.posts)
    # AND the back-and-forth chain is linked by conversation and reply ids
    chain = [p for p in posts.values() if p.thread_id == "1253788283760492544"]
    assert {p.author.handle for p in chain} == {"PhillyNEFL", "WhoDisTweet"}
    reply = posts["1253796880888279046"]
    assert reply.kind is PostKind.REPLY
    assert reply.in_reply_to_account_id == "1154498013626327041"
    assert reply.url == "https://x.com/PhillyNEFL/status/1253796880888279046"
    # AND authors carry followers from the user expansion
    users = {u["id"]: u for u in page["includes"]["users"]}
    for post in posts.values():
        assert post.author.followers == users[post.author.account_id]["public_metrics"]["followers_count"]
    # AND retweets are reposts, never complaints
    assert posts["1253794985633333248"].kind is PostKind.REPOST
    # AND the API's "not found" error for a deleted referenced tweet is reported as skipped
    assert ("tweet deleted", "1252320537600299008") in {(s.reason, s.item_id) for s in result.skipped}


def test_mentions_come_from_entities():
    result = parse_x_page(shared_fixture("x/tweet_lookup_reply_with_expansions.json"))
    reply = next(p for p in result.posts if p.post_id == "1501963039859363843")
    page = shared_fixture("x/tweet_lookup_reply_with_expansions.json")
    expected = tuple(m["username"] for m in page["data"][0]["entities"]["mentions"])
    assert reply.mentions == expected and expected


def test_verified_type_is_kept():
    result = parse_x_page(shared_fixture("x/tweet_lookup_verified_type.json"))
    author = next(a for a in result.accounts if a.handle == "TwitterDev")
    assert author.verified_type == "business"
    assert author.verified is True


def test_default_fields_page_is_skipped_item_by_item_without_crashing():
    # GIVEN a real page requested without fields: no author_id, no created_at
    page = shared_fixture("x/users_mentions_default_fields.json")
    result = parse_x_page(page)
    # THEN nothing unusable becomes a post, and every item is accounted for as skipped
    assert result.posts == ()
    assert {s.item_id for s in result.skipped} == {t["id"] for t in page["data"]}
    assert all(s.reason.startswith("malformed") for s in result.skipped)


def test_one_malformed_tweet_does_not_drop_the_rest_of_the_page():
    page = copy.deepcopy(shared_fixture("x/user_tweets_timeline_reply_chain_trimmed.json"))
    del page["data"][0]["created_at"]
    page["data"][1] = "not a tweet"
    result = parse_x_page(page, include_referenced=False)
    assert len(result.posts) == len(page["data"]) - 2
    assert page["data"][0]["id"] in {s.item_id for s in result.skipped}


def test_withheld_tweet_is_kept_and_deleted_parent_is_skipped():
    page = recorded_fixture("x/search_recent_withheld_and_deleted.json")
    result = parse_x_page(page)
    assert "1253796880888279046" in {p.post_id for p in result.posts}
    assert ("tweet deleted", "1253796041020919809") in {(s.reason, s.item_id) for s in result.skipped}


def _two_pages():
    """The real timeline page as the first search page, and a last page repeating some of its tweets."""
    first = shared_fixture("x/user_tweets_timeline_reply_chain_trimmed.json")
    last = copy.deepcopy(first)
    last["data"] = last["data"][-4:]  # duplicated across pages: the feed shifted between requests
    last["meta"] = {"result_count": 4, "newest_id": last["data"][0]["id"], "oldest_id": last["data"][-1]["id"]}
    return first, last


def _source(session):
    return XSource("test-token", session=session, base_url=BASE)


@responses.activate
def test_since_id_moves_only_after_the_whole_query_is_consumed(session, now):
    # GIVEN a mentions query that spans two pages, and an empty replies query
    first, last = _two_pages()
    responses.get(SEARCH, json=first)
    responses.get(SEARCH, json=last)
    responses.get(SEARCH, json={"meta": {"result_count": 0}})
    # WHEN fetched from scratch
    pages = list(_source(session).fetch(company(x=["PhillyNEFL"]), None, budget=RequestBudget(10), now=now))
    cursors = [json.loads(p.next_cursor) for p in pages]
    # THEN the intermediate page keeps the old since_id and remembers the token and the newest id seen
    assert cursors[0]["mentions:phillynefl"] == {
        "since": None, "pending": first["meta"]["newest_id"], "token": first["meta"]["next_token"]}
    # AND only the last page of the query moves since_id to the newest id
    assert cursors[1]["mentions:phillynefl"] == {"since": first["meta"]["newest_id"], "pending": None, "token": None}
    assert pages[-1].done and not pages[-1].exhausted
    # AND tweets repeated on the later page are not yielded twice
    keys = [p.key for page in pages for p in page.posts]
    assert len(keys) == len(set(keys))
    # AND the requests asked for the audience fields, excluded the company's own posts, and sent the token
    first_call = responses.calls[0].request
    assert first_call.params["query"] == "@PhillyNEFL -from:PhillyNEFL -is:retweet"
    assert "public_metrics" in first_call.params["user.fields"] and "verified_type" in first_call.params["user.fields"]
    assert first_call.params["start_time"] == (now - timedelta(days=7)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert responses.calls[1].request.params["next_token"] == first["meta"]["next_token"]
    assert responses.calls[2].request.params["query"] == "from:PhillyNEFL is:reply"
    assert first_call.headers["Authorization"] == "Bearer test-token"


@responses.activate
def test_rate_limit_mid_query_keeps_the_stored_cursor_resumable(session, now):
    # GIVEN page one succeeds, then X says 429 with its reset header
    first, last = _two_pages()
    reset = int((now + timedelta(minutes=15)).timestamp())
    responses.get(SEARCH, json=first)
    responses.get(SEARCH, status=429, headers={"x-rate-limit-reset": str(reset)})
    source = _source(session)
    stored = []
    # WHEN the job stores pages until the source raises
    with pytest.raises(RateLimited) as caught:
        for page in source.fetch(company(x=["PhillyNEFL"]), None, budget=RequestBudget(10), now=now):
            stored.append(page.next_cursor)
    assert caught.value.reset_at == datetime.fromtimestamp(reset, tz=UTC)
    # THEN a later run resumes the same sweep: the token, and no since_id yet
    responses.reset()
    responses.get(SEARCH, json=last)
    responses.get(SEARCH, json={"meta": {"result_count": 0}})
    pages = list(source.fetch(company(x=["PhillyNEFL"]), stored[-1], budget=RequestBudget(10), now=now))
    assert responses.calls[0].request.params["next_token"] == first["meta"]["next_token"]
    assert "since_id" not in responses.calls[0].request.params
    final = json.loads(pages[-1].next_cursor)["mentions:phillynefl"]
    assert final["since"] == first["meta"]["newest_id"]  # the newest id from the first run's page is not lost


@responses.activate
def test_budget_exhaustion_ends_with_an_exhausted_page_and_a_resumable_cursor(session, now):
    first, _ = _two_pages()
    responses.get(SEARCH, json=first)
    pages = list(_source(session).fetch(company(x=["PhillyNEFL"]), None, budget=RequestBudget(1), now=now))
    assert pages[-1].done and pages[-1].exhausted
    assert json.loads(pages[-1].next_cursor)["mentions:phillynefl"]["token"] == first["meta"]["next_token"]


@responses.activate
def test_missing_token_is_auth_rejected(session, now, monkeypatch):
    monkeypatch.delenv("FAIR_REPLY_X_BEARER_TOKEN", raising=False)
    monkeypatch.delenv("FAIR_REPLY_X_BEARER_TOKEN_SSM_PARAMETER", raising=False)
    source = XSource(session=session, base_url=BASE)
    with pytest.raises(AuthRejected):
        list(source.fetch(company(x=["acme"]), None, budget=RequestBudget(1), now=now))
