"""Pairing complaints with the company's first reply: rules, edge cases and order-independence."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib.domain.models import Account, Category, Company, Post, PostKind, ReplyKind, Tier
from chalicelib.domain.pairing import IGNORED_REASONS, PairingResult, group_threads, pair_thread, thread_root
from chalicelib.domain.tiers import TierThresholds

FIXTURE = Path("/work/shared/fixtures/x/user_tweets_timeline_reply_chain_trimmed.json")
T0 = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)

ACME = Company(slug="acme", name="Acme", handles={"x": ("@AcmeHelp", "AcmeCare"), "mastodon": ("acme@acme.social",)})
HELP = Account("x", "c1", "AcmeHelp", followers=50_000)
CARE = Account("x", "c2", "acmecare", followers=20_000)
ALICE = Account("x", "u1", "alice", followers=120)
BOB = Account("x", "u2", "bob", followers=250_000)
CAROL = Account("x", "u3", "carol", followers=None)


def post(pid, author, minutes, *, parent=None, to=None, mentions=(), kind=None, thread="t1", text="", deleted=False):
    """A post ``minutes`` after T0; ``parent`` is a Post (or id), ``to`` an account replied to."""
    parent_id = parent.post_id if isinstance(parent, Post) else parent
    if to is None and isinstance(parent, Post):
        to = parent.author
    return Post(
        platform="x",
        post_id=pid,
        author=author,
        created_at=T0 + timedelta(minutes=minutes),
        text=text,
        kind=kind or (PostKind.REPLY if parent_id else PostKind.POST),
        thread_id=thread,
        in_reply_to_post_id=parent_id,
        in_reply_to_account_id=to.account_id if to else None,
        mentions=tuple(mentions),
        deleted=deleted,
    )


def only(result: PairingResult):
    assert len(result.complaints) == 1, result
    return result.complaints[0]


def total(result: PairingResult) -> int:
    return len(result.complaints) + len(result.replies) + sum(result.ignored.values())


# --- the basic rule --------------------------------------------------------------------------------


def test_mention_then_company_reply_pairs_with_the_earliest_reply():
    # GIVEN a complaint mentioning the company and two company replies
    c = post("1", ALICE, 0, mentions=["AcmeHelp"], text="my train is cancelled again")
    r1 = post("2", CARE, 12, parent=c, text="So sorry! Please DM us your booking reference.")
    r2 = post("3", HELP, 30, parent=c, text="We've refunded your ticket in full.")
    # WHEN paired (in reverse arrival order)
    result = pair_thread([r2, r1, c], ACME)
    # THEN the earliest reply by any company account is first, the refund is first substantive
    complaint = only(result)
    assert complaint.first_reply.post_id == "2"
    assert complaint.first_reply.kind is ReplyKind.DEFLECTION
    assert complaint.first_substantive_reply.post_id == "3"
    assert [r.post_id for r in result.replies] == ["2", "3"]
    assert all(r.complaint_post_id == "1" and r.company == "acme" for r in result.replies)
    assert complaint.first_reply.created_at - complaint.created_at == timedelta(minutes=12)


def test_unanswered_complaint_is_kept_without_a_reply():
    result = pair_thread([post("1", ALICE, 0, mentions=["acmehelp"])], ACME)
    assert not only(result).answered
    assert only(result).first_substantive_reply is None


def test_handles_match_case_insensitively_and_without_at():
    c = post("1", ALICE, 0, mentions=["@ACMEHELP"])
    r = post("2", Account("x", "c9", "@AcmeCare"), 5, parent=c)
    assert only(pair_thread([c, r], ACME)).first_reply.post_id == "2"


# --- follow-ups -----------------------------------------------------------------------------------


def test_follow_ups_do_not_restart_the_clock_or_become_complaints():
    # GIVEN a complaint, two follow-ups (one top-level, one reply to self), and a reply to the last one
    c = post("1", ALICE, 0, mentions=["AcmeHelp"])
    f1 = post("2", ALICE, 60, mentions=["AcmeHelp"], text="hello??")
    f2 = post("3", ALICE, 120, parent=f1, mentions=["AcmeHelp"])
    r = post("4", HELP, 130, parent=f2)
    result = pair_thread([c, f1, f2, r], ACME)
    # THEN the complaint is the first post and the reply to the follow-up answers it
    complaint = only(result)
    assert complaint.post_id == "1"
    assert complaint.first_reply.post_id == "4"
    assert complaint.first_reply.created_at - complaint.created_at == timedelta(minutes=130)
    assert result.ignored["follow_up"] == 2


def test_company_continuing_its_own_reply_chain_still_answers_the_complainant():
    c = post("1", ALICE, 0, mentions=["AcmeHelp"])
    r1 = post("2", HELP, 10, parent=c, deleted=True)
    r2 = post("3", HELP, 11, parent=r1)  # thread continuation under a (deleted) company post
    result = pair_thread([c, r1, r2], ACME)
    assert only(result).first_reply.post_id == "3"
    assert result.ignored["deleted_reply"] == 1


# --- who is answered ------------------------------------------------------------------------------


def test_company_replies_to_other_people_do_not_count():
    # GIVEN Alice's complaint and Bob, also in the thread, replying to Alice without addressing Acme
    c = post("1", ALICE, 0, mentions=["AcmeHelp"])
    b = post("2", BOB, 5, parent=c)
    to_bob = post("3", HELP, 10, parent=b)
    result = pair_thread([c, b, to_bob], ACME)
    # THEN Alice is still unanswered; Bob's post was not addressed to Acme, and the reply to him is not counted
    assert not only(result).answered
    assert result.ignored["not_addressed"] == 1
    assert result.ignored["company_post"] == 1


def test_two_complainants_in_one_thread_are_paired_separately():
    c1 = post("1", ALICE, 0, mentions=["AcmeHelp"])
    c2 = post("2", BOB, 3, parent=c1, mentions=["AcmeHelp", "alice"])  # "same here!"
    r_bob = post("3", HELP, 4, parent=c2)
    r_alice = post("4", HELP, 9, parent=c1)
    result = pair_thread([c1, c2, r_bob, r_alice], ACME)
    by_id = {c.post_id: c for c in result.complaints}
    assert by_id["1"].first_reply.post_id == "4"
    assert by_id["2"].first_reply.post_id == "3"
    assert by_id["2"].tier is Tier.HIGH_PROFILE and by_id["1"].tier is Tier.ORDINARY


def test_reply_whose_parent_is_not_stored_pairs_through_in_reply_to_account():
    c = post("1", ALICE, 0, mentions=["AcmeHelp"])
    r = post("3", HELP, 20, parent="2-missing-follow-up", to=ALICE)
    assert only(pair_thread([c, r], ACME)).first_reply.post_id == "3"


def test_reply_to_unknown_parent_and_unknown_account_answers_nobody():
    c = post("1", ALICE, 0, mentions=["AcmeHelp"])
    r = post("3", HELP, 20, parent="2-missing")
    result = pair_thread([c, r], ACME)
    assert not only(result).answered
    assert result.ignored["company_post"] == 1


@pytest.mark.parametrize("delta", [0, -5])
def test_company_reply_must_be_strictly_later_than_the_complaint(delta):
    c = post("1", ALICE, 10, mentions=["AcmeHelp"])
    r = post("2", HELP, 10 + delta, parent=c)
    assert not only(pair_thread([c, r], ACME)).answered


# --- what is a complaint --------------------------------------------------------------------------


def test_replying_to_a_company_post_addresses_the_company_without_a_mention():
    announcement = post("1", HELP, 0, text="Planned maintenance tonight")
    via_parent = post("2", ALICE, 5, parent=announcement, to=None)
    via_account = post("3", BOB, 6, parent="unknown", to=HELP)
    result = pair_thread([announcement, via_parent, via_account], ACME)
    assert {c.post_id for c in result.complaints} == {"2", "3"}
    assert result.ignored["company_post"] == 1  # the announcement answers nobody


def test_company_posts_reposts_and_quotes_are_never_complaints():
    own = post("1", HELP, 0, mentions=["AcmeCare"])
    repost = post("2", ALICE, 1, mentions=["AcmeHelp"], kind=PostKind.REPOST)
    quote = post("3", BOB, 2, mentions=["AcmeHelp"], kind=PostKind.QUOTE)
    unrelated = post("4", CAROL, 3, mentions=["someone_else"])
    result = pair_thread([own, repost, quote, unrelated], ACME)
    assert result.complaints == ()
    assert result.ignored["repost_or_quote"] == 2
    assert result.ignored["not_addressed"] == 1
    assert result.ignored["company_post"] == 1


def test_category_comes_from_the_classifier_and_non_complaints_are_kept():
    praise = post("1", ALICE, 0, mentions=["AcmeHelp"], text="Thank you so much, brilliant service!")
    complaint = only(pair_thread([praise], ACME))
    assert complaint.category is Category.PRAISE


def test_classifiers_can_be_injected():
    c = post("1", ALICE, 0, mentions=["AcmeHelp"], text="anything")
    r = post("2", HELP, 1, parent=c, text="anything")
    result = pair_thread(
        [c, r],
        ACME,
        classify_complaint=lambda t, lang: Category.SPAM,
        classify_reply=lambda t, lang: ReplyKind.DEFLECTION,
    )
    assert only(result).category is Category.SPAM
    assert only(result).first_substantive_reply is None


# --- deletions and out-of-order arrival ------------------------------------------------------------


def test_deleted_reply_does_not_count_and_the_next_reply_pairs():
    c = post("1", ALICE, 0, mentions=["AcmeHelp"])
    gone = post("2", HELP, 5, parent=c, deleted=True)
    later = post("3", CARE, 40, parent=c)
    result = pair_thread([c, gone, later], ACME)
    assert only(result).first_reply.post_id == "3"
    assert [r.post_id for r in result.replies] == ["3"]
    assert result.ignored["deleted_reply"] == 1


def test_deleted_complaint_is_kept_flagged_and_still_paired():
    c = post("1", ALICE, 0, mentions=["AcmeHelp"], deleted=True)
    r = post("2", HELP, 5, parent=c)
    complaint = only(pair_thread([c, r], ACME))
    assert complaint.deleted
    assert complaint.first_reply.post_id == "2"


def test_a_deleted_copy_of_a_post_wins_over_the_live_copy():
    c = post("1", ALICE, 0, mentions=["AcmeHelp"])
    r = post("2", HELP, 5, parent=c)
    r_deleted = post("2", HELP, 5, parent=c, deleted=True)
    assert pair_thread([c, r, r_deleted], ACME) == pair_thread([r_deleted, c, r], ACME)
    assert not only(pair_thread([c, r, r_deleted], ACME)).answered


def test_reply_stored_before_its_complaint_pairs_once_the_complaint_arrives():
    c = post("1", ALICE, 0, mentions=["AcmeHelp"])
    r = post("2", HELP, 5, parent=c)
    # WHEN only the reply has been polled so far THEN nothing is a complaint yet
    early = pair_thread([r], ACME)
    assert early.complaints == () and early.ignored["company_post"] == 1
    # WHEN the complaint is stored later and the thread is re-paired THEN they pair
    assert only(pair_thread([r, c], ACME)).first_reply.post_id == "2"


# --- audience ---------------------------------------------------------------------------------------


def test_tier_uses_followers_on_the_complaint_post_and_the_given_thresholds():
    c = post("1", Account("x", "u7", "dora", followers=600), 0, mentions=["AcmeHelp"])
    follow_up = post("2", Account("x", "u7", "dora", followers=2_000_000), 10, mentions=["AcmeHelp"])
    default = only(pair_thread([c, follow_up], ACME))
    assert (default.followers, default.tier) == (600, Tier.ORDINARY)
    custom = only(pair_thread([c], ACME, thresholds=TierThresholds(notable=500, high_profile=1_000)))
    assert custom.tier is Tier.NOTABLE
    assert only(pair_thread([post("3", CAROL, 0, mentions=["AcmeHelp"])], ACME)).tier is Tier.UNKNOWN


# --- threads without thread ids (TWCS archives) -----------------------------------------------------


def test_threads_are_resolved_through_reply_links_when_sources_give_no_thread_id():
    c1 = post("10", ALICE, 0, mentions=["AcmeHelp"], thread=None)
    r1 = post("11", HELP, 5, parent=c1, thread=None)
    f1 = post("12", ALICE, 9, parent=r1, mentions=["AcmeHelp"], thread=None)
    c2 = post("20", BOB, 1, mentions=["AcmeHelp"], thread=None)  # a second conversation
    r2 = post("21", CARE, 2, parent=c2, thread=None)
    groups = group_threads([r2, f1, c1, c2, r1])
    assert {key: [p.post_id for p in g] for key, g in groups.items()} == {
        ("x", "10"): ["10", "11", "12"],
        ("x", "20"): ["20", "21"],
    }
    result = pair_thread([r2, f1, c1, c2, r1], ACME)
    assert {c.post_id: c.first_reply.post_id for c in result.complaints} == {"10": "11", "20": "21"}
    assert result.ignored["follow_up"] == 1


def test_thread_root_walks_a_lookup_and_names_missing_ancestors():
    stored = {
        "a": post("a", ALICE, 0, thread=None),
        "b": post("b", HELP, 1, parent="a", thread=None),
        "c": post("c", ALICE, 2, parent="b", thread=None),
        "x": post("x", ALICE, 3, parent="gone", thread=None),
        "y": post("y", BOB, 4, parent="z", thread=None),
        "z": post("z", BOB, 4, parent="y", thread=None),  # corrupt cycle
        "k": post("k", BOB, 5, parent="a", thread="conv-1"),
    }
    assert thread_root(stored["c"], stored.get) == "a"
    assert thread_root(stored["x"], stored.get) == "gone"
    assert thread_root(stored["y"], stored.get) in {"y", "z"}
    assert thread_root(stored["k"], stored.get) == "conv-1"
    child_of_k = post("m", ALICE, 6, parent="k", thread=None)
    assert thread_root(child_of_k, stored.get) == "conv-1"  # inherits an ancestor's thread id


def test_platforms_are_kept_apart_even_with_equal_post_ids():
    c = post("1", ALICE, 0, mentions=["AcmeHelp"])
    m = Post(
        "mastodon",
        "1",
        Account("mastodon", "m1", "alice@example.org"),
        T0,
        thread_id="t1",
        mentions=("acme@acme.social",),
    )
    result = pair_thread([c, m], ACME)
    assert {(x.platform, x.post_id) for x in result.complaints} == {("x", "1"), ("mastodon", "1")}


# --- a real conversation ---------------------------------------------------------------------------


def _fixture_posts(conversation: str) -> list[Post]:
    """Minimal X v2 -> Post mapping for the recorded timeline (tweets in data and includes)."""
    payload = json.loads(FIXTURE.read_text(encoding="utf-8"))
    users = {u["id"]: u for u in payload["includes"]["users"]}
    posts = []
    for tweet in payload["data"] + payload["includes"].get("tweets", []):
        if tweet.get("conversation_id") != conversation:
            continue
        user = users[tweet["author_id"]]
        parent = next((r["id"] for r in tweet.get("referenced_tweets", []) if r["type"] == "replied_to"), None)
        posts.append(
            Post(
                platform="x",
                post_id=tweet["id"],
                author=Account("x", user["id"], user["username"], followers=user["public_metrics"]["followers_count"]),
                created_at=datetime.fromisoformat(tweet["created_at"].replace("Z", "+00:00")),
                text=tweet["text"],
                kind=PostKind.REPLY if parent else PostKind.POST,
                thread_id=tweet["conversation_id"],
                in_reply_to_post_id=parent,
                in_reply_to_account_id=tweet.get("in_reply_to_user_id"),
                mentions=tuple(m["username"] for m in tweet.get("entities", {}).get("mentions", [])),
                lang=tweet.get("lang"),
            )
        )
    return posts


def test_recorded_x_conversation_pairs_the_first_company_reply():
    # GIVEN the recorded PhillyNEFL conversation: root by WhoDisTweet, two replies, a follow-up, a reply to it
    posts = _fixture_posts("1253788283760492544")
    assert len(posts) == 5
    company = Company(slug="phillynefl", name="PhillyNEFL", handles={"x": ("PhillyNEFL",)})
    # WHEN paired
    result = pair_thread(posts, company, source="x")
    # THEN the root is the one complaint, answered by the 21:08:02 reply, 18 min 7 s later
    complaint = only(result)
    assert (complaint.post_id, complaint.author_handle) == ("1253788283760492544", "WhoDisTweet")
    assert complaint.first_reply.post_id == "1253792843128283136"
    assert complaint.first_reply.created_at - complaint.created_at == timedelta(minutes=18, seconds=7)
    assert complaint.tier is Tier.ORDINARY and complaint.followers == 236
    # AND the reply to the follow-up also answers the same complaint; the follow-up is not a complaint
    assert {r.post_id for r in result.replies} == {"1253792843128283136", "1253792955133026304", "1253796880888279046"}
    assert result.ignored["follow_up"] == 1
    assert complaint.first_substantive_reply is not None and complaint.source == "x"


# --- properties over random threads -----------------------------------------------------------------

ACCOUNTS = [HELP, CARE, ALICE, BOB, CAROL, Account("x", "u4", "dave", followers=5_000)]
TEXTS = ["please DM us", "we've refunded you", "still broken!", "thanks so much", "hello", ""]


@st.composite
def threads(draw) -> list[Post]:
    """1-3 random threads: random authors, parents, mentions, kinds, deletions and (unordered) timestamps."""
    posts: list[Post] = []
    for t in range(draw(st.integers(1, 3))):
        with_thread_ids = draw(st.booleans())
        thread: list[Post] = []
        for i in range(draw(st.integers(1, 10))):
            author = draw(st.sampled_from(ACCOUNTS))
            parent = draw(st.none() | st.sampled_from(thread)) if thread else None
            kind = draw(
                st.sampled_from([PostKind.POST, PostKind.REPLY, PostKind.REPLY, PostKind.REPOST, PostKind.QUOTE])
            )
            thread.append(
                Post(
                    platform="x",
                    post_id=f"{t}-{i}",
                    author=author,
                    created_at=T0 + timedelta(minutes=draw(st.integers(0, 600))),
                    text=draw(st.sampled_from(TEXTS)),
                    kind=kind,
                    thread_id=f"T{t}" if with_thread_ids else None,
                    in_reply_to_post_id=parent.post_id if parent else (None if i == 0 else f"{t}-0"),
                    in_reply_to_account_id=parent.author.account_id if parent else None,
                    mentions=tuple(
                        draw(st.lists(st.sampled_from(["AcmeHelp", "acmecare", "bob", "alice"]), max_size=2))
                    ),
                    deleted=draw(st.booleans()) and draw(st.booleans()),
                )
            )
        posts.extend(thread)
    return posts


PROPERTY_SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY_SETTINGS
@given(posts=threads(), seed=st.integers(0, 2**32 - 1))
def test_pairing_is_independent_of_arrival_order(posts, seed):
    shuffled = list(posts)
    random.Random(seed).shuffle(shuffled)
    assert pair_thread(shuffled, ACME) == pair_thread(posts, ACME)


@PROPERTY_SETTINGS
@given(posts=threads(), seed=st.integers(0, 2**32 - 1))
def test_pairing_ignores_duplicates_and_is_idempotent(posts, seed):
    rng = random.Random(seed)
    first = pair_thread(posts, ACME)
    duplicated = posts + rng.sample(posts, k=rng.randint(0, len(posts))) + posts
    rng.shuffle(duplicated)
    assert pair_thread(duplicated, ACME) == first
    # re-running on the union of what was already paired and the same posts again changes nothing
    assert pair_thread([*posts, *posts], ACME) == pair_thread(posts, ACME) == first


@PROPERTY_SETTINGS
@given(posts=threads())
def test_pairing_invariants(posts):
    result = pair_thread(posts, ACME)
    unique = {p.key for p in posts}
    # every distinct post is exactly one of: complaint, counted reply, ignored-with-a-reason
    assert total(result) == len(unique)
    assert set(result.ignored) == set(IGNORED_REASONS)
    by_id = {p.post_id: p for p in posts}
    complaints = {c.post_id: c for c in result.complaints}
    seen_authors = set()
    for c in result.complaints:
        source = by_id[c.post_id]
        assert not ACME.owns("x", source.author.handle)
        assert source.kind in (PostKind.POST, PostKind.REPLY)
        assert (c.thread_id, c.author_id) not in seen_authors  # one complaint per author per thread
        seen_authors.add((c.thread_id, c.author_id))
        mine = sorted(
            (r for r in result.replies if r.complaint_post_id == c.post_id), key=lambda r: (r.created_at, r.post_id)
        )
        assert c.first_reply == (mine[0] if mine else None)
        substantive = [r for r in mine if r.kind is ReplyKind.SUBSTANTIVE]
        assert c.first_substantive_reply == (substantive[0] if substantive else None)
    for r in result.replies:
        assert r.created_at > complaints[r.complaint_post_id].created_at
        assert ACME.owns("x", r.author_handle)
        assert not by_id[r.post_id].deleted


@PROPERTY_SETTINGS
@given(posts=threads(), data=st.data())
def test_more_posts_never_delay_a_first_reply(posts, data):
    # GIVEN a subset of live posts paired first (as an early poll would), then the full set
    live = [p for p in posts if not p.deleted]
    subset = data.draw(st.lists(st.sampled_from(live), unique_by=lambda p: p.key)) if live else []
    early = {c.key: c for c in pair_thread(subset, ACME).complaints}
    late = {c.key: c for c in pair_thread(live, ACME).complaints}
    # THEN a complaint that is still a complaint is answered no later than before
    for key, before in early.items():
        after = late.get(key)
        if after is not None and before.answered:
            assert after.answered
            assert after.first_reply.created_at <= before.first_reply.created_at
