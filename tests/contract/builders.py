"""Builders of domain objects for the contract tests (plain values: the store never parses payloads)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from chalicelib.domain.models import Account, Category, Complaint, Post, PostKind, Reply, ReplyKind, Tier

T0 = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)

_ids = itertools.count(1)


def next_id() -> str:
    return str(next(_ids))


def make_account(account_id: str = "a1", followers: int | None = 10, platform: str = "x") -> Account:
    return Account(platform=platform, account_id=account_id, handle=f"user{account_id}", followers=followers)


def make_post(
    post_id: str | None = None,
    *,
    at: datetime = T0,
    platform: str = "x",
    thread_id: str | None = None,
    in_reply_to: str | None = None,
    followers: int | None = 10,
    deleted: bool = False,
) -> Post:
    return Post(
        platform=platform, post_id=post_id or next_id(), author=make_account(followers=followers, platform=platform),
        created_at=at, text="my parcel is lost", kind=PostKind.REPLY if in_reply_to else PostKind.POST,
        thread_id=thread_id, in_reply_to_post_id=in_reply_to, mentions=("acme",), deleted=deleted,
    )


def make_complaint(
    post_id: str | None = None,
    *,
    company: str = "acme",
    at: datetime = T0,
    platform: str = "x",
    tier: Tier = Tier.ORDINARY,
    category: Category = Category.COMPLAINT,
    first_reply: Reply | None = None,
    first_substantive_reply: Reply | None = None,
    deleted: bool = False,
) -> Complaint:
    return Complaint(
        platform=platform, post_id=post_id or next_id(), company=company, author_id="a1", author_handle="user1",
        created_at=at, tier=tier, followers=10, category=category, thread_id="t1", text="my parcel is lost",
        first_reply=first_reply, first_substantive_reply=first_substantive_reply, deleted=deleted, source="x",
    )


def make_reply(
    complaint: Complaint, post_id: str, minutes: float, kind: ReplyKind = ReplyKind.SUBSTANTIVE
) -> Reply:
    return Reply(
        platform=complaint.platform, post_id=post_id, complaint_post_id=complaint.post_id, company=complaint.company,
        author_handle="acmehelp", created_at=complaint.created_at + timedelta(minutes=minutes), kind=kind,
    )
