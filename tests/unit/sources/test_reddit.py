from __future__ import annotations

import copy
import json
import re
from datetime import UTC, datetime

import responses

from chalicelib.domain.models import PostKind
from chalicelib.sources.reddit import RedditSource, parse_about, parse_listing
from tests.unit.sources.conftest import company, shared_fixture

BASE = "https://reddit.test"


def test_comment_tree_links_the_answer_to_the_question():
    parsed = parse_listing(shared_fixture("reddit/submission_comments.json"))
    posts = {p.post_id: p for p in parsed.posts}
    question, answer = posts["t1_cklfmye"], next(p for p in posts.values() if p.author.handle == "bboe" and
                                                  p.kind is PostKind.REPLY)
    assert answer.in_reply_to_post_id == "t1_cklfmye"
    assert {question.thread_id, answer.thread_id, posts["t3_2gmzqe"].thread_id} == {"t3_2gmzqe"}
    assert (answer.created_at - question.created_at).total_seconds() > 0


def test_reply_chain_and_placeholders_parse():
    parsed = parse_listing(shared_fixture("reddit/comment_context_reply_chain.json"))
    ids = {p.post_id for p in parsed.posts}
    assert {"t3_1j7g9uj", "t1_mynfrrh", "t1_mynfuan", "t1_myngt77"} <= ids
    assert not parsed.skipped


def test_mentions_and_search_listings():
    inbox = parse_listing(shared_fixture("reddit/inbox_mentions.json"))
    assert len(inbox.posts) == 16 and all(p.kind is PostKind.REPLY for p in inbox.posts)
    search = parse_listing(shared_fixture("reddit/subreddit_search.json"))
    assert all(p.kind is PostKind.POST and p.thread_id == p.post_id for p in search.posts)


def test_audience_is_profile_subscribers():
    about = parse_about(shared_fixture("reddit/user_about.json"))
    assert about.handle == "Watchful1" and about.followers == 156


def test_deleted_and_removed_posts():
    payload = copy.deepcopy(shared_fixture("reddit/subreddit_search.json"))
    children = payload["data"]["children"]
    children[0]["data"]["author"] = "[deleted]"
    children[1]["data"]["selftext"] = "[removed]"
    children[1]["data"]["title"] = ""
    parsed = parse_listing(payload)
    assert ("deleted", children[0]["data"]["name"]) in {(s.reason, s.item_id) for s in parsed.skipped}
    removed = next(p for p in parsed.posts if p.post_id == children[1]["data"]["name"])
    assert removed.deleted and removed.text == ""
    assert len(parsed.posts) == len(children) - 1


@responses.activate
def test_fetch_subreddit_with_profiles_over_public_json(session, budget):
    now = datetime(2016, 7, 12, 18, 0, tzinfo=UTC)
    listing = shared_fixture("reddit/subreddit_search.json")
    responses.get(f"{BASE}/r/redditdev/new.json", json=listing)
    responses.get(re.compile(rf"{BASE}/user/[^/]+/about\.json"), json=shared_fixture("reddit/user_about.json"))
    source = RedditSource(session=session, base_url=BASE, client_id="", client_secret="")
    pages = list(source.fetch(company(search={"reddit": ("r/redditdev",)}), None, budget=budget, now=now))
    assert responses.calls[0].request.params["raw_json"] == "1"
    assert {a.followers for a in pages[0].accounts} == {156}
    assert json.loads(pages[-1].next_cursor)["sub:r/redditdev"]["token"] is None
    assert pages[-1].done


@responses.activate
def test_oauth_is_used_when_credentials_are_configured(session, budget, now):
    responses.post("https://www.reddit.com/api/v1/access_token", json={"access_token": "t0k", "token_type": "bearer"})
    responses.get("https://oauth.reddit.com/user/VoltMobile_Official/comments",
                  json={"kind": "Listing", "data": {"children": [], "after": None}})
    source = RedditSource(session=session, client_id="id", client_secret="secret", fetch_profiles=False)
    pages = list(source.fetch(company(reddit=["VoltMobile_Official"]), None, budget=budget, now=now))
    assert responses.calls[1].request.headers["Authorization"] == "Bearer t0k"
    assert pages[-1].done


@responses.activate
def test_official_replies_fetch_their_parents_in_one_batch(session, budget):
    now = datetime(2014, 9, 18, 12, 0, tzinfo=UTC)
    tree = shared_fixture("reddit/submission_comments.json")
    answer = tree[1]["data"]["children"][0]["data"]["replies"]["data"]["children"][0]
    question = copy.deepcopy(tree[1]["data"]["children"][0])
    question["data"]["replies"] = ""
    responses.get(f"{BASE}/user/bboe/comments.json", json={"kind": "Listing", "data": {"children": [answer]}})
    responses.get(f"{BASE}/api/info.json", json={"kind": "Listing", "data": {"children": [question, tree[0]["data"]["children"][0]]}})
    source = RedditSource(session=session, base_url=BASE, client_id="", client_secret="", fetch_profiles=False)
    pages = list(source.fetch(company(reddit=["bboe"]), None, budget=budget, now=now))
    posts = {p.post_id: p for p in pages[0].posts}
    assert set(responses.calls[1].request.params["id"].split(",")) == {"t1_cklfmye", "t3_2gmzqe"}
    reply = posts[answer["data"]["name"]]
    assert reply.in_reply_to_account_id == "paneer_burrito"
