"""Domain objects to and from compact JSON documents, shared by both backends.

Both backends keep the full object as one JSON document next to the few attributes they index, so a new
optional field on a domain type needs no schema migration. Times are ISO-8601 UTC in documents, integer
microseconds in SQLite columns, and fixed-width ``...T..:..:..ffffffZ`` strings in DynamoDB keys, because each
of those sorts the same way as the instants they denote.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from chalicelib.domain.models import (
    Account,
    Category,
    Checkpoint,
    Complaint,
    Post,
    PostKind,
    Reply,
    ReplyKind,
    Subscription,
    Tier,
    utc,
)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def to_us(value: datetime) -> int:
    """Microseconds since the epoch: exact, and sortable as an integer."""
    delta = (value if value.tzinfo is UTC else utc(value)) - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_us(value: int) -> datetime:
    return _EPOCH + timedelta(microseconds=value)


def ts_key(value: datetime) -> str:
    """Fixed-width UTC timestamp that sorts lexicographically in time order (years 1000-9999)."""
    return utc(value).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def from_ts_key(value: str) -> datetime:
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def dumps(doc: dict[str, Any]) -> str:
    return _encode_sorted(doc)


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return (value if value.tzinfo is UTC else utc(value)).isoformat()


def _dt(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def account_doc(a: Account) -> dict[str, Any]:
    return {
        "platform": a.platform, "account_id": a.account_id, "handle": a.handle, "display_name": a.display_name,
        "followers": a.followers, "verified": a.verified, "url": a.url,
    }


def account_from(d: dict[str, Any]) -> Account:
    return Account(**d)


def post_doc(p: Post) -> dict[str, Any]:
    return {
        "platform": p.platform, "post_id": p.post_id, "author": account_doc(p.author), "created_at": _iso(p.created_at),
        "text": p.text, "kind": str(p.kind), "thread_id": p.thread_id, "in_reply_to_post_id": p.in_reply_to_post_id,
        "in_reply_to_account_id": p.in_reply_to_account_id, "mentions": list(p.mentions), "url": p.url,
        "lang": p.lang, "deleted": p.deleted,
    }


def post_from(d: dict[str, Any], *, deleted: bool | None = None) -> Post:
    return Post(
        platform=d["platform"], post_id=d["post_id"], author=account_from(d["author"]),
        created_at=_dt(d["created_at"]), text=d.get("text", ""), kind=PostKind(d.get("kind", "post")),
        thread_id=d.get("thread_id"), in_reply_to_post_id=d.get("in_reply_to_post_id"),
        in_reply_to_account_id=d.get("in_reply_to_account_id"), mentions=tuple(d.get("mentions", ())),
        url=d.get("url"), lang=d.get("lang"), deleted=d.get("deleted", False) if deleted is None else deleted,
    )


def reply_doc(r: Reply) -> dict[str, Any]:
    return {
        "platform": r.platform, "post_id": r.post_id, "complaint_post_id": r.complaint_post_id,
        "company": r.company, "author_handle": r.author_handle, "created_at": _iso(r.created_at),
        "kind": str(r.kind), "url": r.url,
    }


def reply_from(d: dict[str, Any] | None) -> Reply | None:
    if d is None:
        return None
    return Reply(**{**d, "created_at": _dt(d["created_at"]), "kind": ReplyKind(d["kind"])})


def complaint_doc(c: Complaint) -> dict[str, Any]:
    """The complaint without its replies and mutable status, which backends store as separate attributes."""
    return {
        "platform": c.platform, "post_id": c.post_id, "company": c.company, "author_id": c.author_id,
        "author_handle": c.author_handle, "created_at": _iso(c.created_at), "tier": str(c.tier),
        "followers": c.followers, "thread_id": c.thread_id, "url": c.url, "text": c.text, "source": c.source,
    }


def complaint_from(
    d: dict[str, Any], *, category: str, deleted: bool, first_reply: Reply | None, first_substantive_reply: Reply | None
) -> Complaint:
    return Complaint(
        platform=d["platform"], post_id=d["post_id"], company=d["company"], author_id=d["author_id"],
        author_handle=d["author_handle"], created_at=_dt(d["created_at"]), tier=Tier(d["tier"]),
        followers=d.get("followers"), category=Category(category), thread_id=d.get("thread_id"), url=d.get("url"),
        text=d.get("text", ""), first_reply=first_reply, first_substantive_reply=first_substantive_reply,
        deleted=deleted, source=d.get("source", ""),
    )


def checkpoint_doc(cp: Checkpoint) -> dict[str, Any]:
    return {
        "company": cp.company, "source": cp.source, "cursor": cp.cursor, "updated_at": _iso(cp.updated_at),
        "newest_post_at": _iso(cp.newest_post_at),
    }


def checkpoint_from(d: dict[str, Any]) -> Checkpoint:
    return Checkpoint(
        company=d["company"], source=d["source"], cursor=d.get("cursor"), updated_at=_dt(d["updated_at"]),
        newest_post_at=_dt(d.get("newest_post_at")),
    )


def subscription_doc(s: Subscription) -> dict[str, Any]:
    return {
        "sub_id": s.sub_id, "email": s.email, "company": s.company, "sla_minutes": s.sla_minutes,
        "tiers": list(s.tiers), "digest": s.digest, "status": s.status, "created_at": _iso(s.created_at),
        "confirmed_at": _iso(s.confirmed_at), "source_ip": s.source_ip,
    }


def subscription_from(d: dict[str, Any]) -> Subscription:
    return Subscription(**{
        **d, "tiers": tuple(d.get("tiers", ())), "created_at": _dt(d["created_at"]),
        "confirmed_at": _dt(d.get("confirmed_at")),
    })


# --- compact positional documents (SQLite) ------------------------------------------------------------------
# The same fields as the dict documents above, as JSON arrays in a fixed order: encoding one costs a fraction
# of a sorted-key object, and an import writes one per post and complaint. Readers accept both shapes, so
# files written before keep working without a migration.

def _compact_encoder(*, sort_keys: bool = False) -> Any:
    """``JSONEncoder(separators=(",", ":"), ensure_ascii=False, sort_keys=...).encode``, its C encoder made once.

    ``JSONEncoder.encode`` builds a new C encoder on every call, a third of the cost of encoding a short document.
    Documents are built fresh from domain objects, so they hold no cycles to check for.
    """
    encoder = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, sort_keys=sort_keys)
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:  # no C accelerator: the plain encoder
        return encoder.encode
    c_encode = make(None, encoder.default, json.encoder.encode_basestring, None, ":", ",", sort_keys, False, True)

    def encode(value: Any) -> str:
        return "".join(c_encode(value, 0))

    return encode


_encode = _compact_encoder()
_encode_sorted = _compact_encoder(sort_keys=True)


def post_row_doc(p: Post) -> str:
    a = p.author
    return _encode([
        p.platform, p.post_id, a.platform, a.account_id, a.handle, a.display_name, a.followers, a.verified, a.url,
        _iso(p.created_at), p.text, p.kind.value, p.thread_id, p.in_reply_to_post_id, p.in_reply_to_account_id,
        p.mentions, p.url, p.lang,
    ])


def post_from_doc(text: str, *, deleted: bool) -> Post:
    d = json.loads(text)
    if isinstance(d, dict):
        return post_from(d, deleted=deleted)
    (platform, post_id, a_platform, account_id, handle, display_name, followers, verified, a_url, created_at,
     body, kind, thread_id, in_reply_to_post_id, in_reply_to_account_id, mentions, url, lang) = d
    return Post(
        platform, post_id, Account(a_platform, account_id, handle, display_name, followers, verified, a_url),
        datetime.fromisoformat(created_at), body, PostKind(kind), thread_id, in_reply_to_post_id,
        in_reply_to_account_id, tuple(mentions), url, lang, deleted,
    )


def reply_row_doc(r: Reply) -> str:
    return _encode([
        r.platform, r.post_id, r.complaint_post_id, r.company, r.author_handle, _iso(r.created_at), r.kind.value, r.url,
    ])


def reply_from_doc(text: str | None) -> Reply | None:
    if not text:
        return None
    d = json.loads(text)
    if isinstance(d, dict):
        return reply_from(d)
    platform, post_id, complaint_post_id, company, author_handle, created_at, kind, url = d
    return Reply(
        platform, post_id, complaint_post_id, company, author_handle, datetime.fromisoformat(created_at),
        ReplyKind(kind), url,
    )


COMPLAINT_SOURCE_INDEX = 11  # position of ``source`` in a positional complaint document


def complaint_row_doc(c: Complaint) -> str:
    return _encode([
        c.platform, c.post_id, c.company, c.author_id, c.author_handle, _iso(c.created_at), c.tier.value, c.followers,
        c.thread_id, c.url, c.text, c.source,
    ])


def complaint_from_doc(
    text: str, *, category: str, deleted: bool, first_reply: Reply | None, first_substantive_reply: Reply | None
) -> Complaint:
    d = json.loads(text)
    if isinstance(d, dict):
        return complaint_from(d, category=category, deleted=deleted, first_reply=first_reply,
                              first_substantive_reply=first_substantive_reply)
    platform, post_id, company, author_id, author_handle, created_at, tier, followers, thread_id, url, body, source = d
    return Complaint(
        platform, post_id, company, author_id, author_handle, datetime.fromisoformat(created_at), Tier(tier),
        followers, Category(category), thread_id, url, body, first_reply, first_substantive_reply, deleted, source,
    )
