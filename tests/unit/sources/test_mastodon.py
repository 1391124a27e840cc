from __future__ import annotations

import copy
import json
import re
from datetime import timedelta

import responses

from chalicelib.domain.models import PostKind
from chalicelib.sources.base import RequestBudget
from chalicelib.sources.mastodon import MastodonSource, parse_context, parse_statuses, snowflake_at
from tests.unit.sources.conftest import company, shared_fixture

BASE = "http://localhost:3000"


def test_context_stamps_every_status_with_the_thread_root():
    payload = shared_fixture("mastodon/status_context.json")
    posts, skipped = parse_context(payload, "mastodon.social")
    root = payload["ancestors"][0]["id"]
    assert skipped == []
    assert {p.thread_id for p in posts} == {root}
    child = next(p for p in posts if p.post_id == payload["descendants"][0]["id"])
    assert child.in_reply_to_post_id == payload["descendants"][0]["in_reply_to_id"]
    assert child.author.followers == payload["descendants"][0]["account"]["followers_count"]


def test_reply_status_resolves_mentions_and_replied_account_to_full_handles():
    raw = shared_fixture("mastodon/status_reply_localhost.json")
    [post], _ = parse_statuses([raw], "localhost")
    assert post.kind is PostKind.REPLY
    assert post.mentions == ("mastodonpy_test_2@localhost",)
    assert post.in_reply_to_account_id == "mastodonpy_test_2@localhost"
    assert post.author.handle == "admin@localhost"
    assert post.text and "<" not in post.text


def test_search_statuses_keep_audience():
    payload = shared_fixture("mastodon/search_v2.json")
    posts, skipped = parse_statuses(payload["statuses"], "mastodon.social")
    assert len(posts) == len(payload["statuses"]) and not skipped
    assert all(p.kind is PostKind.REPLY and p.author.followers is not None for p in posts)


def test_malformed_status_is_skipped_and_the_rest_survive():
    statuses = copy.deepcopy(shared_fixture("mastodon/account_statuses_localhost.json"))
    del statuses[2]["account"]
    posts, skipped = parse_statuses(statuses, "localhost")
    assert len(posts) == len(statuses) - 1
    assert [s.item_id for s in skipped] == [statuses[2]["id"]]


def _register_lookup(account):
    responses.get(f"{BASE}/api/v1/accounts/lookup", json=account)


@responses.activate
def test_fetch_reads_statuses_oldest_first_and_expands_reply_contexts(session, budget, now):
    # GIVEN the company account "admin" whose statuses include a reply to a customer
    reply = shared_fixture("mastodon/status_reply_localhost.json")
    context = shared_fixture("mastodon/status_context.json")
    _register_lookup(reply["account"])
    statuses_url = f"{BASE}/api/v1/accounts/{reply['account']['id']}/statuses"
    responses.get(statuses_url, json=[reply])
    responses.get(f"{BASE}/api/v1/statuses/{reply['id']}/context", json=context)
    source = MastodonSource(session=session, base_urls={"admin@localhost": BASE})
    # WHEN fetched from scratch
    pages = list(source.fetch(company(mastodon=["admin@localhost"]), None, budget=budget, now=now))
    # THEN the first run starts `lookback` ago, via a Snowflake id
    assert responses.calls[1].request.params["min_id"] == snowflake_at(now - timedelta(days=7))
    # AND the page holds the reply and its thread, and the cursor moved to the reply
    keys = {p.post_id for p in pages[0].posts}
    assert reply["id"] in keys and context["ancestors"][0]["id"] in keys
    state = json.loads(pages[-1].next_cursor)["account:admin@localhost"]
    assert state == {"id": reply["account"]["id"], "min_id": reply["id"]}
    assert pages[-1].done and not pages[-1].exhausted


@responses.activate
def test_budget_running_out_mid_contexts_keeps_unprocessed_statuses_for_next_run(session, now):
    # GIVEN two replies by the company and budget for the lookup, the statuses and one context
    reply = shared_fixture("mastodon/status_reply_localhost.json")
    later = copy.deepcopy(reply)
    later["id"] = str(int(reply["id"]) + 1)
    _register_lookup(reply["account"])
    responses.get(f"{BASE}/api/v1/accounts/{reply['account']['id']}/statuses", json=[later, reply])
    responses.get(re.compile(rf"{BASE}/api/v1/statuses/\d+/context"), json=shared_fixture("mastodon/status_context.json"))
    source = MastodonSource(session=session, base_urls={"admin@localhost": BASE})
    pages = list(source.fetch(company(mastodon=["admin@localhost"]), None, budget=RequestBudget(3), now=now))
    # THEN only the older reply (processed first) is covered by the cursor
    state = json.loads(pages[-1].next_cursor)["account:admin@localhost"]
    assert state["min_id"] == reply["id"]
    assert pages[-1].exhausted
    assert later["id"] not in {p.post_id for page in pages for p in page.posts}


@responses.activate
def test_hashtag_and_search_terms_are_read_and_a_refused_search_is_skipped(session, budget, now):
    account = shared_fixture("mastodon/account_statuses_localhost.json")[0]["account"]
    _register_lookup(account)
    responses.get(f"{BASE}/api/v1/accounts/{account['id']}/statuses", json=[])
    responses.get(f"{BASE}/api/v1/timelines/tag/acmefail", json=shared_fixture("mastodon/account_statuses_localhost.json"))
    responses.get(f"{BASE}/api/v2/search", status=401, json={"error": "login required"})
    source = MastodonSource(session=session, base_urls={"mastodonpy_test@localhost": BASE})
    acme = company(mastodon=["mastodonpy_test@localhost"], search={"mastodon": ("#acmefail", "acme broken")})
    pages = list(source.fetch(acme, None, budget=budget, now=now))
    tagged = [p for page in pages for p in page.posts]
    assert len(tagged) == 5
    assert pages[-1].done
    assert "search:acmefail" not in json.loads(pages[-1].next_cursor)  # keys are the whole term
    assert "search:#acmefail" in json.loads(pages[-1].next_cursor)
