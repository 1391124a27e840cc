from __future__ import annotations

import json
from datetime import UTC, datetime

import responses

from chalicelib.domain.models import PostKind
from chalicelib.sources.bluesky import BlueskySource, parse_feed, parse_search, parse_thread
from tests.unit.sources.conftest import company, recorded_fixture, shared_fixture

BASE = "https://appview.test"
XRPC = BASE + "/xrpc/"


def test_author_feed_yields_replies_with_their_parents_and_ignores_reposts():
    payload = shared_fixture("bluesky/get_author_feed.json")
    parsed = parse_feed(payload)
    posts = {p.post_id: p for p in parsed.posts}
    reposted = {i["post"]["uri"] for i in payload["feed"] if "reason" in i}
    assert not reposted & set(posts)
    for item in (i for i in payload["feed"] if "reply" in i):
        own = posts[item["post"]["uri"]]
        assert own.kind is PostKind.REPLY
        assert own.in_reply_to_post_id == item["post"]["record"]["reply"]["parent"]["uri"]
        assert own.thread_id == item["post"]["record"]["reply"]["root"]["uri"]
        assert item["reply"]["parent"]["uri"] in posts  # the complaint itself arrives with the reply
        assert own.in_reply_to_account_id == item["reply"]["parent"]["author"]["did"]
    assert all(p.url.startswith("https://bsky.app/profile/") for p in posts.values())


def test_thread_walks_parents_and_replies():
    payload = shared_fixture("bluesky/get_post_thread_parent_and_replies.json")
    parsed = parse_thread(payload)
    assert len(parsed.posts) == 4
    roots = {p.thread_id for p in parsed.posts}
    assert len(roots) == 1
    assert {p.author.handle for p in parsed.posts} == {"jbgruber.bsky.social"}


def test_search_and_mention_facets_resolve_to_handles_when_known():
    payload = shared_fixture("bluesky/search_posts.json")
    parsed = parse_search(payload)
    assert len(parsed.posts) == len(payload["posts"])
    replies = [p for p in parsed.posts if p.kind is PostKind.REPLY]
    assert len(replies) == sum(1 for p in payload["posts"] if "reply" in p["record"])
    notifications = shared_fixture("bluesky/list_notifications.json")["notifications"]
    mention = next(n for n in notifications if n["reason"] == "mention")
    did = mention["record"]["facets"][0]["features"][0]["did"]
    post = parse_search({"posts": [mention]}, {did: "chriskenny.bsky.social"}).posts[0]
    assert "chriskenny.bsky.social" in post.mentions


def test_deleted_parent_is_skipped_and_the_reply_survives():
    payload = recorded_fixture("bluesky/author_feed_not_found_parent.json")
    parsed = parse_feed(payload)
    assert ("notFoundPost", payload["feed"][0]["reply"]["parent"]["uri"]) in {
        (s.reason, s.item_id) for s in parsed.skipped}
    assert payload["feed"][0]["post"]["uri"] in {p.post_id for p in parsed.posts}


@responses.activate
def test_fetch_fills_audience_from_profiles_and_skips_refused_search(session, budget):
    # GIVEN the AppView serves the profile and the author feed, but refuses unauthenticated search
    now = datetime(2025, 5, 19, 18, 0, tzinfo=UTC)
    profile = shared_fixture("bluesky/get_profile.json")
    feed = shared_fixture("bluesky/get_author_feed.json")
    responses.get(XRPC + "app.bsky.actor.getProfile", json=profile)
    responses.get(XRPC + "app.bsky.feed.getAuthorFeed", json=feed)
    responses.get(XRPC + "app.bsky.actor.getProfiles", json=recorded_fixture("bluesky/get_profiles.json"))
    responses.get(XRPC + "app.bsky.feed.searchPosts", status=403, json={"error": "Forbidden"})
    source = BlueskySource(session=session, base_url=BASE)
    # WHEN fetched
    pages = list(source.fetch(company(bluesky=["jbgruber.bsky.social"]), None, budget=budget, now=now))
    # THEN the feed page's authors known to getProfiles carry followersCount
    accounts = {a.account_id: a for a in pages[0].accounts}
    assert accounts[profile["did"]].followers == profile["followersCount"]
    # AND the feed sweep finished (its oldest post predates the lookback) and moved `since` to its newest post
    state = json.loads(pages[-1].next_cursor)["feed:jbgruber.bsky.social"]
    newest = max(p.created_at for p in pages[0].posts if p.post_id in {i["post"]["uri"] for i in feed["feed"]})
    assert state == {"since": newest.isoformat(), "pending": None, "token": None}
    assert pages[-1].done
    # AND the getProfiles batches never exceed the API's 25 actors
    batches = [c.request for c in responses.calls if "getProfiles" in c.request.url]
    assert batches and all(len(r.params["actors"] if isinstance(r.params["actors"], list) else [1]) <= 25
                           for r in batches)
