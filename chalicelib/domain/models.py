"""Platform-neutral domain types.

Every source turns its platform's payloads into these, and every later stage (pairing, statistics,
storage, the public API) speaks only these, so adding a platform never touches the measurement code.
Times are always timezone-aware UTC ``datetime`` values.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum

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


@dataclass(frozen=True, slots=True)
class Account:
    """An account on one platform, with its audience size as seen when it was fetched."""

    platform: str
    account_id: str
    handle: str
    display_name: str | None = None
    followers: int | None = None
    verified: bool | None = None
    url: str | None = None
    verified_type: str | None = None  # X: "blue" | "business" | "government" | "none"; other platforms: None


@dataclass(frozen=True, slots=True)
class Post:
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

    def __post_init__(self) -> None:
        object.__setattr__(self, "created_at", utc(self.created_at))

    @property
    def key(self) -> tuple[str, str]:
        return (self.platform, self.post_id)


@dataclass(frozen=True, slots=True)
class Reply:
    """A company's reply to a complaint: the evidence behind one time-to-first-reply."""

    platform: str
    post_id: str
    complaint_post_id: str
    company: str
    author_handle: str
    created_at: datetime
    kind: ReplyKind = ReplyKind.SUBSTANTIVE
    url: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "created_at", utc(self.created_at))


@dataclass(frozen=True, slots=True)
class Complaint:
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

    def __post_init__(self) -> None:
        object.__setattr__(self, "created_at", utc(self.created_at))

    @property
    def key(self) -> tuple[str, str]:
        return (self.platform, self.post_id)

    @property
    def answered(self) -> bool:
        return self.first_reply is not None


@dataclass(frozen=True, slots=True)
class Company:
    """A tracked company and its support accounts per platform, as declared in ``companies.toml``."""

    slug: str
    name: str
    handles: Mapping[str, tuple[str, ...]]
    sector: str | None = None
    sla_minutes: int | None = None
    email_domains: tuple[str, ...] = ()
    search: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    sample: bool = False
    retired: bool = False

    def handles_on(self, platform: str) -> frozenset[str]:
        """Normalised handles of this company's accounts on ``platform``."""
        return frozenset(normalise_handle(h) for h in self.handles.get(platform, ()))

    def owns(self, platform: str, handle: str) -> bool:
        return normalise_handle(handle) in self.handles_on(platform)


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """How far one company × source has been read; advanced only after what it covers is stored."""

    company: str
    source: str
    cursor: str | None
    updated_at: datetime
    newest_post_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Subscription:
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

    def __post_init__(self) -> None:
        object.__setattr__(self, "created_at", utc(self.created_at))
        if self.confirmed_at is not None:
            object.__setattr__(self, "confirmed_at", utc(self.confirmed_at))
