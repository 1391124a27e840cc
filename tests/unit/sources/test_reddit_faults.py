"""Reddit profile look-ups under faults: a transient failure must fail the page, not store a lost audience.

A profile (``/user/<name>/about``) that fails for a moment — 429, 5xx after retries, a cut or truncated body —
used to be treated like a shadow-banned account: the page was stored with the author's tier "unknown" and the
sweep moved on, so one blip changed the published numbers for good. Only 403/404 (the account is gone or
hidden) and an unparseable profile are permanent; everything else must stop the page before it is stored, so
the poll job keeps the cursor and the next run re-reads the page.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest
import responses

from chalicelib.domain.models import Account
from chalicelib.sources.errors import AuthRejected, RateLimited, SourceUnavailable, UnexpectedPayload
from chalicelib.sources.reddit import RedditSource
from tests.hardening.fake_reddit import FakeReddit
from tests.unit.sources.conftest import company, shared_fixture

BASE = "https://reddit.test"
NOW = datetime(2016, 7, 12, 18, 0, tzinfo=UTC)
ABOUT = re.compile(rf"{BASE}/user/[^/]+/about\.json")


def _source(session, **kwargs) -> RedditSource:
    return RedditSource(session=session, base_url=BASE, client_id="", client_secret="", **kwargs)


def _subreddit() -> None:
    responses.get(f"{BASE}/r/redditdev/new.json", json=shared_fixture("reddit/subreddit_search.json"))


def _fetch(source: RedditSource, budget) -> list:
    return list(source.fetch(company(search={"reddit": ("r/redditdev",)}), None, budget=budget, now=NOW))


def _authors(pages) -> dict[str, Account]:
    return {a.account_id: a for page in pages for a in page.accounts}


ABOUT_BODY = json.dumps(shared_fixture("reddit/user_about.json")).encode()
TRANSIENT = {
    "rate limited": (429, {"x-ratelimit-remaining": "0.0", "x-ratelimit-reset": "120"}, b'{"error": 429}', RateLimited),
    "server error after retries": (503, {}, b'{"error": 503}', SourceUnavailable),
    "truncated body": (200, {}, ABOUT_BODY[: len(ABOUT_BODY) // 2], UnexpectedPayload),
}


@responses.activate
@pytest.mark.parametrize("fault", sorted(TRANSIENT))
def test_a_transient_profile_failure_fails_the_page_instead_of_storing_an_unknown_tier(session, budget, fault):
    # GIVEN a subreddit page whose authors' profiles fail transiently
    status, headers, body, error = TRANSIENT[fault]
    _subreddit()
    responses.get(ABOUT, status=status, headers=headers, body=body)
    # WHEN the source reads it
    pages = []
    with pytest.raises(error):
        for page in _source(session).fetch(company(search={"reddit": ("r/redditdev",)}), None, budget=budget, now=NOW):
            pages.append(page)
    # THEN no page (and so no checkpoint) was produced: nothing is stored with a lost audience
    assert pages == []


@responses.activate
def test_the_page_re_read_after_a_transient_failure_carries_the_audience(session, budget):
    # GIVEN a profile that fails once with a 503 that outlasts the retries, then answers
    _subreddit()
    for _ in range(3):  # the session's first try and its two retries
        responses.get(ABOUT, status=503, body=b'{"error": 503}')
    responses.get(ABOUT, json=shared_fixture("reddit/user_about.json"))
    source = _source(session)
    with pytest.raises(SourceUnavailable):
        _fetch(source, budget)
    # WHEN the next run re-reads the page from the same (unsaved) cursor
    pages = _fetch(source, budget)
    # THEN every author has the profile's audience, as a run without the failure would have stored
    assert pages[-1].done
    assert {a.followers for a in _authors(pages).values()} == {156}


@responses.activate
@pytest.mark.parametrize("status", [403, 404])
def test_a_hidden_or_deleted_profile_still_leaves_the_tier_unknown_and_the_page_goes_on(session, budget, status):
    # GIVEN profiles that answer 403/404 (suspended, shadow-banned, deleted): a lasting state, not a blip
    _subreddit()
    responses.get(ABOUT, status=status, body=b'{"message": "Not Found", "error": 404}')
    # WHEN the source reads the page
    pages = _fetch(_source(session), budget)
    # THEN the page is kept with every author's audience unknown, and the sweep finishes
    listing = shared_fixture("reddit/subreddit_search.json")["data"]["children"]
    assert _authors(pages).keys() == {c["data"]["author"] for c in listing}
    assert {a.followers for a in _authors(pages).values()} == {None}
    assert pages[-1].done and not pages[-1].exhausted


@responses.activate
def test_an_unauthorised_profile_request_is_our_credentials_failing_not_the_users(session, budget):
    # GIVEN OAuth credentials the platform stops accepting after the listing was read
    responses.post("https://www.reddit.com/api/v1/access_token", json={"access_token": "t0k"})
    responses.get("https://oauth.reddit.com/r/redditdev/new", json=shared_fixture("reddit/subreddit_search.json"))
    responses.get(re.compile(r"https://oauth\.reddit\.com/user/[^/]+/about"), status=401, body=b'{"error": 401}')
    source = RedditSource(session=session, client_id="id", client_secret="secret")
    # WHEN / THEN the fetch fails as a whole instead of storing every author as unknown
    with pytest.raises(AuthRejected):
        _fetch(source, budget)


@responses.activate
def test_a_page_of_only_deleted_authors_does_not_end_the_sweep(session, budget):
    # GIVEN a first listing page whose every author deleted their account, and an `after` to a second page
    listing = shared_fixture("reddit/subreddit_search.json")
    gone = json.loads(json.dumps(listing))
    for child in gone["data"]["children"]:
        child["data"]["author"] = "[deleted]"
    gone["data"]["after"] = "t3_next"
    responses.get(f"{BASE}/r/redditdev/new.json", json=gone)  # answered in the order registered
    responses.get(f"{BASE}/r/redditdev/new.json", json=listing)
    responses.get(ABOUT, json=shared_fixture("reddit/user_about.json"))
    # WHEN the source sweeps the subreddit
    pages = _fetch(_source(session), budget)
    # THEN it went on to the second page, and the sweep ended there (that page has no `after`)
    requested = [c.request.url for c in responses.calls if "/new.json" in c.request.url]
    assert len(requested) == 2 and "after=t3_next" in requested[1]
    assert pages[-1].done


@responses.activate
def test_a_listing_sweep_resumed_in_a_later_run_also_reads_what_was_posted_meanwhile(session, budget):
    # GIVEN a subreddit with six posts and a first run stopped after the first page of its listing
    fake = FakeReddit()
    start = datetime(2026, 8, 3, 12, 0, tzinfo=UTC)
    for n in range(6):
        fake.profiles[f"user{n}"] = 12
        fake.submission("acme", f"user{n}", start - timedelta(hours=6 - n), "parcel missing", "@AcmeHelp where is it")
    responses.add_callback("GET", re.compile(re.escape(BASE) + r"/.*"), callback=lambda r: fake.respond(r.url))
    source = _source(session, page_size=2)
    target = company(search={"reddit": ("r/acme",)})
    fake.now = start
    pages = source.fetch(target, None, budget=budget, now=start)
    cursor, first_run = None, set()
    for page in pages:
        cursor = page.next_cursor
        first_run.update(p.post_id for p in page.posts)
        if json.loads(cursor).get("sub:r/acme", {}).get("token"):
            break
    pages.close()
    assert json.loads(cursor)["sub:r/acme"]["token"]  # the sweep is mid-way
    # AND somebody posts before the next run
    later = start + timedelta(minutes=5)
    fake.profiles["late"] = 12
    new = fake.submission("acme", "late", start + timedelta(minutes=2), "refund", "@AcmeHelp still waiting")
    fake.now = later
    # WHEN the next run resumes the sweep from the saved cursor and reads to the end
    resumed = list(source.fetch(target, cursor, budget=budget, now=later))
    # THEN the fetch is done only once it has read the new post too, and every older one
    assert resumed[-1].done and not resumed[-1].exhausted
    read = {p.post_id for page in resumed for p in page.posts}
    assert new in read
    assert set(fake.things) - first_run <= read
