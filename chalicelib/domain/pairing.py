"""Pairing: which inbound posts are complaints, and which company post first answered each.

Everything here is a pure function of the *set* of posts given: the order they arrive in, duplicates,
and re-running on the same posts never change the result. That is what lets the poll job store posts
as they come (a reply is often fetched before its complaint) and simply re-pair a thread whenever
anything in it is stored. The rules are documented in docs/methodology-classification.md.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from operator import attrgetter

from chalicelib.domain.classify import classify_inbound, classify_reply
from chalicelib.domain.models import Category, Company, Complaint, Post, PostKind, Reply, ReplyKind, normalise_handle
from chalicelib.domain.tiers import DEFAULT_THRESHOLDS, TierThresholds, tier_for

__all__ = [
    "IGNORED_REASONS",
    "PairingResult",
    "dedupe_posts",
    "group_threads",
    "pair_companies",
    "pair_thread",
    "thread_root",
]

InboundClassifier = Callable[[str, str | None], Category]
ReplyClassifier = Callable[[str, str | None], ReplyKind]

# Why a stored post is neither a complaint nor a counted reply; every unique post gets exactly one.
COMPANY_POST = "company_post"  # company post answering no complaint (announcement, reply to someone else, too early)
DELETED_REPLY = "deleted_reply"  # company reply that would have answered, but was deleted
REPOST_OR_QUOTE = "repost_or_quote"  # inbound repost/quote: amplification, not a request for help
NOT_ADDRESSED = "not_addressed"  # inbound post that neither mentions nor replies to the company
FOLLOW_UP = "follow_up"  # a complainant's later post in the same thread: the clock keeps running
IGNORED_REASONS: tuple[str, ...] = (COMPANY_POST, DELETED_REPLY, REPOST_OR_QUOTE, NOT_ADDRESSED, FOLLOW_UP)

_MAX_CHAIN = 10_000  # guards against reply cycles in corrupt data


@dataclass(frozen=True)
class PairingResult:
    """Complaints with their first replies, every counted reply, and why the other posts were not used.

    ``ignored`` maps each reason in :data:`IGNORED_REASONS` to a count, so that
    ``len(complaints) + len(replies) + sum(ignored.values())`` is the number of distinct posts given.
    """

    complaints: tuple[Complaint, ...] = ()
    replies: tuple[Reply, ...] = ()
    ignored: Mapping[str, int] = field(default_factory=lambda: dict.fromkeys(IGNORED_REASONS, 0))


def _post_order(post: Post) -> tuple:
    return (post.created_at, post.post_id)


_PLATFORM_TIME_ID = attrgetter("platform", "created_at", "post_id")  # _post_order after the platform, in C
_TIME_PLATFORM_ID = attrgetter("created_at", "platform", "post_id")
_REPLY_ORDER = attrgetter("created_at", "post_id")


def dedupe_posts(posts: Iterable[Post]) -> list[Post]:
    """One copy per (platform, post id), chosen so that the choice does not depend on input order.

    A deleted copy wins (deletion is a later observation of the same post); otherwise the copies are
    ordered by their ``repr`` so that any mismatch between copies still resolves identically on every run.
    """
    chosen: dict[tuple[str, str], Post] = {}
    for post in posts:
        current = chosen.get(post.key)
        if current is None or (post.deleted, repr(post)) > (current.deleted, repr(current)):
            chosen[post.key] = post
    return sorted(chosen.values(), key=_PLATFORM_TIME_ID)


def thread_root(post: Post, lookup: Callable[[str], Post | None]) -> str:
    """The thread a post belongs to: its own ``thread_id``, an ancestor's, or the topmost ancestor's id.

    Sources without thread ids (TWCS archives) only link replies to parents. Walking ``in_reply_to_post_id``
    upward via ``lookup`` (a dict's ``get``, or a store read for the same platform) gives every post of a
    conversation the same key: the first ``thread_id`` met, else the id of the highest post reached, where a
    parent that ``lookup`` cannot find still names the thread by its id. On X/Mastodon the root's id equals
    the ``thread_id`` its replies carry, so posts with and without thread ids meet in the same thread.
    """
    current = post
    seen: set[str] = set()
    while len(seen) < _MAX_CHAIN:
        if current.thread_id:
            return current.thread_id
        parent_id = current.in_reply_to_post_id
        if not parent_id or parent_id in seen or parent_id == current.post_id:
            return current.post_id
        seen.add(current.post_id)
        parent = lookup(parent_id)
        if parent is None:
            return parent_id
        current = parent
    return current.post_id


def group_threads(posts: Iterable[Post]) -> dict[tuple[str, str], list[Post]]:
    """Deduplicated posts grouped by (platform, thread key), each group in time order."""
    unique = dedupe_posts(posts)
    by_platform: dict[str, dict[str, Post]] | None = None  # for walks up reply links; most posts have thread ids
    groups: dict[tuple[str, str], list[Post]] = defaultdict(list)
    for post in unique:
        root = post.thread_id  # what thread_root returns first
        if not root:
            if by_platform is None:
                by_platform = defaultdict(dict)
                for p in unique:
                    by_platform[p.platform][p.post_id] = p
            root = thread_root(post, by_platform[post.platform].get)
        groups[(post.platform, root)].append(post)
    # ``unique`` is in (platform, time, id) order and a group holds one platform: each is in time order already
    return dict(sorted(groups.items()))


def pair_thread(
    posts: Iterable[Post],
    company: Company,
    *,
    thresholds: TierThresholds = DEFAULT_THRESHOLDS,
    classify_complaint: InboundClassifier = classify_inbound,
    classify_reply: ReplyClassifier = classify_reply,
    source: str = "",
) -> PairingResult:
    """Pair complaints to ``company`` with the company's replies, over one or more threads.

    Parameters
    ----------
    posts
        Posts of the thread(s), in any order, possibly with duplicates; several threads and platforms
        may be mixed, they are grouped first (see :func:`thread_root`).
    company
        The company whose handles define "company accounts" on each platform.
    thresholds
        Follower cut-offs for the complainant's tier.
    classify_complaint, classify_reply
        Text classifiers ``(text, lang)``; injectable so tests and other languages can swap them.
    source
        Copied to ``Complaint.source`` (e.g. ``"x"``, ``"twcs"``) for provenance.

    Returns
    -------
    PairingResult
        Complaints and replies in (time, id) order, identical for any permutation or duplication of ``posts``.
    """
    return pair_companies(
        posts, (company,), thresholds=thresholds, classify_complaint=classify_complaint,
        classify_reply=classify_reply, source=source,
    )[0]


def pair_companies(
    posts: Iterable[Post],
    companies: Sequence[Company],
    *,
    thresholds: TierThresholds = DEFAULT_THRESHOLDS,
    classify_complaint: InboundClassifier = classify_inbound,
    classify_reply: ReplyClassifier = classify_reply,
    source: str = "",
    handle_key: Callable[[str], str] = normalise_handle,
) -> list[PairingResult]:
    """:func:`pair_thread` for each of ``companies`` over the same posts: one result per company, in order.

    The posts are deduplicated and grouped into threads once for all the companies (an ingest pairs every
    company a thread involves). ``handle_key`` must return :func:`~chalicelib.domain.models.normalise_handle`'s
    value; a caller pairing many threads passes a memoised one.
    """
    groups = group_threads(posts).items()
    ctx = _Classifiers(thresholds, classify_complaint, classify_reply, source, handle_key)
    results = []
    for company in companies:
        complaints: list[Complaint] = []
        replies: list[Reply] = []
        ignored = dict.fromkeys(IGNORED_REASONS, 0)
        for (platform, thread_key), thread in groups:
            _pair_one_thread(thread, platform, thread_key, company, ctx, complaints, replies, ignored)
        if len(complaints) > 1:
            complaints.sort(key=_TIME_PLATFORM_ID)
        if len(replies) > 1:
            replies.sort(key=_TIME_PLATFORM_ID)
        results.append(PairingResult(tuple(complaints), tuple(replies), ignored))
    return results


@dataclass(frozen=True, slots=True)
class _Classifiers:
    thresholds: TierThresholds
    inbound: InboundClassifier
    reply: ReplyClassifier
    source: str
    handle_key: Callable[[str], str] = normalise_handle


def _addressed(
    post: Post, handles: frozenset[str], company_ids: set[str], company_posts: set[str], key: Callable[[str], str]
) -> bool:
    """Mentions a company handle, or replies to a company post or account."""
    for m in post.mentions:
        if key(m) in handles:
            return True
    if post.in_reply_to_account_id and post.in_reply_to_account_id in company_ids:
        return True
    parent = post.in_reply_to_post_id
    return parent is not None and parent in company_posts


def _addressee(post: Post, by_id: Mapping[str, Post], company_posts: set[str], company_ids: set[str]):
    """Account id of the nearest non-company ancestor of a company post, or None if it cannot be known.

    When the chain leaves the stored posts, ``in_reply_to_account_id`` of the last known post still
    names whom it answered, provided that is not a company account.
    """
    current = post
    for _ in range(_MAX_CHAIN):
        parent = by_id.get(current.in_reply_to_post_id or "")
        if parent is None:
            target = current.in_reply_to_account_id
            return target if target and target not in company_ids else None
        if parent.post_id not in company_posts:
            return parent.author.account_id
        current = parent
    return None


def _pair_one_thread(
    thread: list[Post], platform: str, thread_key: str, company: Company, ctx: _Classifiers,
    complaints: list[Complaint], replies: list[Reply], reasons: dict[str, int],
) -> None:
    """Pair one thread (time order), appending to ``complaints`` and ``replies`` and counting ``reasons``."""
    handles = _handles_on(company, platform, ctx.handle_key)
    key = ctx.handle_key
    by_id = {p.post_id: p for p in thread}  # one platform, deduplicated: ids are unique
    company_posts = [p for p in thread if key(p.author.handle) in handles]
    company_ids = {p.author.account_id for p in company_posts}
    company_post_ids = {p.post_id for p in company_posts}
    first_by_author: dict[str, Post] = {}
    for post in thread:  # time order: an author's first addressed post is the complaint
        if post.post_id in company_post_ids:
            continue
        if post.kind in (PostKind.REPOST, PostKind.QUOTE):
            reasons[REPOST_OR_QUOTE] += 1
        elif post.author.account_id in first_by_author:
            reasons[FOLLOW_UP] += 1
        elif _addressed(post, handles, company_ids, company_post_ids, key):
            first_by_author[post.author.account_id] = post
        else:
            reasons[NOT_ADDRESSED] += 1

    answers: dict[str, list[Reply]] = defaultdict(list)
    for post in company_posts:
        complaint = None
        if post.kind != PostKind.REPOST and post.in_reply_to_post_id:
            complaint = first_by_author.get(_addressee(post, by_id, company_post_ids, company_ids) or "")
        if complaint is None or post.created_at <= complaint.created_at:
            reasons[COMPANY_POST] += 1
        elif post.deleted:
            reasons[DELETED_REPLY] += 1
        else:
            answers[complaint.post_id].append(_reply(post, complaint, company, ctx))

    complaints.extend(
        _complaint(p, thread_key, company, ctx, answers.get(p.post_id, ())) for p in first_by_author.values()
    )
    for answered in answers.values():
        replies.extend(answered)


def _handles_on(company: Company, platform: str, key: Callable[[str], str]) -> frozenset[str]:
    """``company.handles_on(platform)``, normalised through ``key`` (the same values, possibly memoised)."""
    return frozenset(key(h) for h in company.handles.get(platform, ()))


def _reply(post: Post, complaint: Post, company: Company, ctx: _Classifiers) -> Reply:
    return Reply(
        platform=post.platform,
        post_id=post.post_id,
        complaint_post_id=complaint.post_id,
        company=company.slug,
        author_handle=post.author.handle,
        created_at=post.created_at,
        kind=ctx.reply(post.text, post.lang),
        url=post.url,
    )


def _complaint(
    post: Post, thread_key: str, company: Company, ctx: _Classifiers, answers: Sequence[Reply]
) -> Complaint:
    if len(answers) > 1:
        answers = sorted(answers, key=_REPLY_ORDER)
    substantive = [r for r in answers if r.kind == ReplyKind.SUBSTANTIVE]
    followers = post.author.followers
    return Complaint(
        platform=post.platform,
        post_id=post.post_id,
        company=company.slug,
        author_id=post.author.account_id,
        author_handle=post.author.handle,
        created_at=post.created_at,
        tier=tier_for(followers, ctx.thresholds),
        followers=followers,
        category=ctx.inbound(post.text, post.lang),
        thread_id=thread_key,
        url=post.url,
        text=post.text,
        first_reply=answers[0] if answers else None,
        first_substantive_reply=substantive[0] if substantive else None,
        deleted=post.deleted,
        source=ctx.source,
    )
