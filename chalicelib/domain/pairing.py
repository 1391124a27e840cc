"""Pairing: which inbound posts are complaints, and which company post first answered each.

Everything here is a pure function of the *set* of posts given: the order they arrive in, duplicates,
and re-running on the same posts never change the result. That is what lets the poll job store posts
as they come (a reply is often fetched before its complaint) and simply re-pair a thread whenever
anything in it is stored. The rules are documented in docs/methodology-classification.md.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from chalicelib.domain.classify import classify_inbound, classify_reply
from chalicelib.domain.models import Category, Company, Complaint, Post, PostKind, Reply, ReplyKind, normalise_handle
from chalicelib.domain.tiers import DEFAULT_THRESHOLDS, TierThresholds, tier_for

__all__ = [
    "IGNORED_REASONS",
    "PairingResult",
    "dedupe_posts",
    "group_threads",
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
    return sorted(chosen.values(), key=lambda p: (p.platform, *_post_order(p)))


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
    by_platform: dict[str, dict[str, Post]] = defaultdict(dict)
    unique = dedupe_posts(posts)
    for post in unique:
        by_platform[post.platform][post.post_id] = post
    groups: dict[tuple[str, str], list[Post]] = defaultdict(list)
    for post in unique:
        groups[(post.platform, thread_root(post, by_platform[post.platform].get))].append(post)
    return {key: sorted(group, key=_post_order) for key, group in sorted(groups.items())}


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
    complaints: list[Complaint] = []
    replies: list[Reply] = []
    ignored: Counter[str] = Counter(dict.fromkeys(IGNORED_REASONS, 0))
    ctx = _Classifiers(thresholds, classify_complaint, classify_reply, source)
    for (platform, thread_key), thread in group_threads(posts).items():
        found, answered, reasons = _pair_one_thread(thread, platform, thread_key, company, ctx)
        complaints.extend(found)
        replies.extend(answered)
        ignored.update(reasons)
    complaints.sort(key=lambda c: (c.created_at, c.platform, c.post_id))
    replies.sort(key=lambda r: (r.created_at, r.platform, r.post_id))
    return PairingResult(tuple(complaints), tuple(replies), dict(ignored))


@dataclass(frozen=True, slots=True)
class _Classifiers:
    thresholds: TierThresholds
    inbound: InboundClassifier
    reply: ReplyClassifier
    source: str


def _addressed(post: Post, handles: frozenset[str], company_ids: set[str], by_id: Mapping[str, Post]) -> bool:
    """Mentions a company handle, or replies to a company post or account."""
    if any(normalise_handle(m) in handles for m in post.mentions):
        return True
    if post.in_reply_to_account_id and post.in_reply_to_account_id in company_ids:
        return True
    parent = by_id.get(post.in_reply_to_post_id or "")
    return parent is not None and normalise_handle(parent.author.handle) in handles


def _addressee(post: Post, by_id: Mapping[str, Post], is_company: Callable[[Post], bool], company_ids: set[str]):
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
        if not is_company(parent):
            return parent.author.account_id
        current = parent
    return None


def _pair_one_thread(
    thread: list[Post], platform: str, thread_key: str, company: Company, ctx: _Classifiers
) -> tuple[list[Complaint], list[Reply], Counter[str]]:
    handles = company.handles_on(platform)
    by_id = {p.post_id: p for p in thread}

    def is_company(p: Post) -> bool:
        return normalise_handle(p.author.handle) in handles

    company_ids = {p.author.account_id for p in thread if is_company(p)}
    reasons: Counter[str] = Counter()
    first_by_author: dict[str, Post] = {}
    company_posts: list[Post] = []
    for post in thread:  # time order: an author's first addressed post is the complaint
        if is_company(post):
            company_posts.append(post)
        elif post.kind in (PostKind.REPOST, PostKind.QUOTE):
            reasons[REPOST_OR_QUOTE] += 1
        elif post.author.account_id in first_by_author:
            reasons[FOLLOW_UP] += 1
        elif _addressed(post, handles, company_ids, by_id):
            first_by_author[post.author.account_id] = post
        else:
            reasons[NOT_ADDRESSED] += 1

    answers: dict[str, list[Reply]] = defaultdict(list)
    for post in company_posts:
        complaint = None
        if post.kind != PostKind.REPOST and post.in_reply_to_post_id:
            complaint = first_by_author.get(_addressee(post, by_id, is_company, company_ids) or "")
        if complaint is None or post.created_at <= complaint.created_at:
            reasons[COMPANY_POST] += 1
        elif post.deleted:
            reasons[DELETED_REPLY] += 1
        else:
            answers[complaint.post_id].append(_reply(post, complaint, company, ctx))

    complaints = [_complaint(p, thread_key, company, ctx, answers.get(p.post_id, [])) for p in first_by_author.values()]
    return complaints, [r for rs in answers.values() for r in rs], reasons


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


def _complaint(post: Post, thread_key: str, company: Company, ctx: _Classifiers, answers: list[Reply]) -> Complaint:
    answers = sorted(answers, key=lambda r: (r.created_at, r.post_id))
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
