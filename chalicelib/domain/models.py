"""Platform-neutral domain types.

Every source turns its platform's payloads into these, and every later stage (pairing, statistics,
storage, the public API) speaks only these, so adding a platform never touches the measurement code.
Times are always timezone-aware UTC ``datetime`` values.

The record types are built by :mod:`chalicelib.domain.records` (frozen, slotted dataclasses that import
without compiling generated methods): a new field goes into the class body and into its ``__init__``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from enum import StrEnum

from chalicelib.domain.records import FACTORY, Record, factory, record, set_field

PLATFORMS: tuple[str, ...] = ("x", "mastodon", "bluesky", "reddit")

SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


class Tier(StrEnum):
    """Audience tier of a complainant when the complaint was made (names are public API)."""

    ORDINARY = "ordinary"
    NOTABLE = "notable"
    HIGH_PROFILE = "high_profile"
    UNKNOWN = "unknown"


TIERS: tuple[str, ...] = tuple(t.value for t in Tier)


class PostKind(StrEnum):
    """What a post is: only original posts and replies can be complaints."""

    POST = "post"
    REPLY = "reply"
    REPOST = "repost"
    QUOTE = "quote"


class ReplyKind(StrEnum):
    """Whether a company reply helps, or only redirects the customer elsewhere."""

    SUBSTANTIVE = "substantive"
    DEFLECTION = "deflection"


class Category(StrEnum):
    """Inbound post category: only complaints enter the statistics; the rest are kept and counted."""

    COMPLAINT = "complaint"
    PRAISE = "praise"
    SPAM = "spam"
    CHATTER = "chatter"


def utc(value: datetime) -> datetime:
    """Return ``value`` as aware UTC; naive values are taken to be UTC already (as archives write them)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def parse_instant(value: str) -> datetime:
    """An ISO-8601 instant as aware UTC (``Z`` or an offset; naive means UTC); ValueError when it is not one."""
    return utc(datetime.fromisoformat(value.strip().replace("Z", "+00:00")))


def normalise_handle(handle: str) -> str:
    """Compare handles case-insensitively and without a leading '@' (platforms treat them so)."""
    return handle.strip().lstrip("@").casefold()


@record
class Account(Record):
    """An account on one platform, with its audience size as seen when it was fetched."""

    platform: str
    account_id: str
    handle: str
    display_name: str | None = None
    followers: int | None = None
    verified: bool | None = None
    url: str | None = None
    verified_type: str | None = None  # X: "blue" | "business" | "government" | "none"; other platforms: None

    def __init__(
        self, platform: str, account_id: str, handle: str, display_name: str | None = None,
        followers: int | None = None, verified: bool | None = None, url: str | None = None,
        verified_type: str | None = None,
    ) -> None:
        set_field(self, "platform", platform)
        set_field(self, "account_id", account_id)
        set_field(self, "handle", handle)
        set_field(self, "display_name", display_name)
        set_field(self, "followers", followers)
        set_field(self, "verified", verified)
        set_field(self, "url", url)
        set_field(self, "verified_type", verified_type)


@record
class Post(Record):
    """One public post, normalised.

    ``thread_id`` is the root of the conversation (X ``conversation_id``, Bluesky root URI, Reddit
    ``link_id``, Mastodon root status id) when the platform says it; pairing falls back to following
    ``in_reply_to_post_id`` links when it does not.
    """

    platform: str
    post_id: str
    author: Account
    created_at: datetime
    text: str = ""
    kind: PostKind = PostKind.POST
    thread_id: str | None = None
    in_reply_to_post_id: str | None = None
    in_reply_to_account_id: str | None = None
    mentions: tuple[str, ...] = ()
    url: str | None = None
    lang: str | None = None
    deleted: bool = False

    def __init__(
        self, platform: str, post_id: str, author: Account, created_at: datetime, text: str = "",
        kind: PostKind = PostKind.POST, thread_id: str | None = None, in_reply_to_post_id: str | None = None,
        in_reply_to_account_id: str | None = None, mentions: tuple[str, ...] = (), url: str | None = None,
        lang: str | None = None, deleted: bool = False,
    ) -> None:
        set_field(self, "platform", platform)
        set_field(self, "post_id", post_id)
        set_field(self, "author", author)
        set_field(self, "created_at", created_at)
        set_field(self, "text", text)
        set_field(self, "kind", kind)
        set_field(self, "thread_id", thread_id)
        set_field(self, "in_reply_to_post_id", in_reply_to_post_id)
        set_field(self, "in_reply_to_account_id", in_reply_to_account_id)
        set_field(self, "mentions", mentions)
        set_field(self, "url", url)
        set_field(self, "lang", lang)
        set_field(self, "deleted", deleted)
        self.__post_init__()

    def __post_init__(self) -> None:
        set_field(self, "created_at", utc(self.created_at))

    @property
    def key(self) -> tuple[str, str]:
        return (self.platform, self.post_id)


@record
class Reply(Record):
    """A company's reply to a complaint: the evidence behind one time-to-first-reply."""

    platform: str
    post_id: str
    complaint_post_id: str
    company: str
    author_handle: str
    created_at: datetime
    kind: ReplyKind = ReplyKind.SUBSTANTIVE
    url: str | None = None

    def __init__(
        self, platform: str, post_id: str, complaint_post_id: str, company: str, author_handle: str,
        created_at: datetime, kind: ReplyKind = ReplyKind.SUBSTANTIVE, url: str | None = None,
    ) -> None:
        set_field(self, "platform", platform)
        set_field(self, "post_id", post_id)
        set_field(self, "complaint_post_id", complaint_post_id)
        set_field(self, "company", company)
        set_field(self, "author_handle", author_handle)
        set_field(self, "created_at", created_at)
        set_field(self, "kind", kind)
        set_field(self, "url", url)
        self.__post_init__()

    def __post_init__(self) -> None:
        set_field(self, "created_at", utc(self.created_at))


@record
class Complaint(Record):
    """An inbound post addressed to a company, with the first reply (and first substantive reply) if any.

    ``category`` other than ``complaint`` keeps praise, spam and chatter stored and counted but out of
    the statistics. ``followers`` is the complainant's audience when the complaint was made, which is
    what ``tier`` was derived from.
    """

    platform: str
    post_id: str
    company: str
    author_id: str
    author_handle: str
    created_at: datetime
    tier: Tier
    followers: int | None = None
    category: Category = Category.COMPLAINT
    thread_id: str | None = None
    url: str | None = None
    text: str = ""
    first_reply: Reply | None = None
    first_substantive_reply: Reply | None = None
    deleted: bool = False
    source: str = ""

    def __init__(
        self, platform: str, post_id: str, company: str, author_id: str, author_handle: str, created_at: datetime,
        tier: Tier, followers: int | None = None, category: Category = Category.COMPLAINT,
        thread_id: str | None = None, url: str | None = None, text: str = "", first_reply: Reply | None = None,
        first_substantive_reply: Reply | None = None, deleted: bool = False, source: str = "",
    ) -> None:
        set_field(self, "platform", platform)
        set_field(self, "post_id", post_id)
        set_field(self, "company", company)
        set_field(self, "author_id", author_id)
        set_field(self, "author_handle", author_handle)
        set_field(self, "created_at", created_at)
        set_field(self, "tier", tier)
        set_field(self, "followers", followers)
        set_field(self, "category", category)
        set_field(self, "thread_id", thread_id)
        set_field(self, "url", url)
        set_field(self, "text", text)
        set_field(self, "first_reply", first_reply)
        set_field(self, "first_substantive_reply", first_substantive_reply)
        set_field(self, "deleted", deleted)
        set_field(self, "source", source)
        self.__post_init__()

    def __post_init__(self) -> None:
        set_field(self, "created_at", utc(self.created_at))

    @property
    def key(self) -> tuple[str, str]:
        return (self.platform, self.post_id)

    @property
    def answered(self) -> bool:
        return self.first_reply is not None


@record
class Company(Record):
    """A tracked company and its support accounts per platform, as declared in ``companies.toml``."""

    slug: str
    name: str
    handles: Mapping[str, tuple[str, ...]]
    sector: str | None = None
    sla_minutes: int | None = None
    email_domains: tuple[str, ...] = ()
    search: Mapping[str, tuple[str, ...]] = factory(dict)
    sample: bool = False
    retired: bool = False

    def __init__(
        self, slug: str, name: str, handles: Mapping[str, tuple[str, ...]], sector: str | None = None,
        sla_minutes: int | None = None, email_domains: tuple[str, ...] = (),
        search: Mapping[str, tuple[str, ...]] = FACTORY, sample: bool = False, retired: bool = False,
    ) -> None:
        set_field(self, "slug", slug)
        set_field(self, "name", name)
        set_field(self, "handles", handles)
        set_field(self, "sector", sector)
        set_field(self, "sla_minutes", sla_minutes)
        set_field(self, "email_domains", email_domains)
        set_field(self, "search", {} if search is FACTORY else search)
        set_field(self, "sample", sample)
        set_field(self, "retired", retired)

    def handles_on(self, platform: str) -> frozenset[str]:
        """Normalised handles of this company's accounts on ``platform``."""
        return frozenset(normalise_handle(h) for h in self.handles.get(platform, ()))

    def owns(self, platform: str, handle: str) -> bool:
        return normalise_handle(handle) in self.handles_on(platform)


@record
class Checkpoint(Record):
    """How far one company × source has been read; advanced only after what it covers is stored."""

    company: str
    source: str
    cursor: str | None
    updated_at: datetime
    newest_post_at: datetime | None = None

    def __init__(
        self, company: str, source: str, cursor: str | None, updated_at: datetime,
        newest_post_at: datetime | None = None,
    ) -> None:
        set_field(self, "company", company)
        set_field(self, "source", source)
        set_field(self, "cursor", cursor)
        set_field(self, "updated_at", updated_at)
        set_field(self, "newest_post_at", newest_post_at)


@record
class Subscription(Record):
    """A reader's request for SLA-breach alerts about one company (double opt-in, so it starts ``pending``).

    ``sla_minutes`` overrides the company's own SLA when set; ``tiers`` limits alerts to complaints from
    those audience tiers (empty means all); ``digest`` is ``immediate`` or ``daily``; ``status`` is one of
    ``pending``, ``confirmed``, ``unsubscribed`` or ``suppressed``.
    """

    sub_id: str
    email: str
    company: str
    sla_minutes: int | None
    tiers: tuple[str, ...]
    digest: str
    status: str
    created_at: datetime
    confirmed_at: datetime | None = None
    source_ip: str | None = None

    def __init__(
        self, sub_id: str, email: str, company: str, sla_minutes: int | None, tiers: tuple[str, ...], digest: str,
        status: str, created_at: datetime, confirmed_at: datetime | None = None, source_ip: str | None = None,
    ) -> None:
        set_field(self, "sub_id", sub_id)
        set_field(self, "email", email)
        set_field(self, "company", company)
        set_field(self, "sla_minutes", sla_minutes)
        set_field(self, "tiers", tiers)
        set_field(self, "digest", digest)
        set_field(self, "status", status)
        set_field(self, "created_at", created_at)
        set_field(self, "confirmed_at", confirmed_at)
        set_field(self, "source_ip", source_ip)
        self.__post_init__()

    def __post_init__(self) -> None:
        set_field(self, "created_at", utc(self.created_at))
        if self.confirmed_at is not None:
            set_field(self, "confirmed_at", utc(self.confirmed_at))
