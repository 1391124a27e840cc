"""Fixtures for the notification tests: a SQLite store, a small registry, recording senders, a fixed clock."""

from __future__ import annotations

import email
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email import policy
from email.message import EmailMessage, Message
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from chalicelib.domain.models import Complaint, Reply, Subscription, Tier
from chalicelib.notify.errors import SendFailed
from chalicelib.registry import parse_registry
from chalicelib.store.sqlite import SQLiteStore

KEY = b"test-signing-key-0123456789abcdef"
BASE_URL = "https://fairreply.example"
NOW = datetime(2024, 5, 6, 12, 0, tzinfo=UTC)

REGISTRY_DOC: dict[str, Any] = {
    "companies": {
        "acme-air": {
            "name": "Acme Air", "sla_minutes": 60, "email_domains": ["acme.example"],
            "handles": {"x": ["AcmeAirHelp"]},
        },
        "bolt-bank": {"name": "Bolt Bank", "handles": {"x": ["BoltBankHelp"]}},
        "old-co": {"name": "Old Co", "sla_minutes": 30, "retired": True, "handles": {"x": ["OldCoHelp"]}},
    }
}


class RecordingSender:
    """Keeps every message it is given; ``fail_next`` makes the next sends raise SendFailed."""

    def __init__(self) -> None:
        self.sent: list[EmailMessage] = []
        self.fail_next = 0

    def send(self, message: EmailMessage) -> None:
        if self.fail_next:
            self.fail_next -= 1
            raise SendFailed("simulated outage")
        # round-trip through bytes, as every real transport does
        self.sent.append(email.message_from_bytes(message.as_bytes(), policy=policy.default))

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.sent if str(m["To"]) == address]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SQLiteStore]:
    s = SQLiteStore(tmp_path / "notify.sqlite3")
    yield s
    s.close()


@pytest.fixture
def registry() -> dict[str, Any]:
    return parse_registry(REGISTRY_DOC)


@pytest.fixture
def sender() -> RecordingSender:
    return RecordingSender()


def parse(raw: bytes) -> EmailMessage:
    return email.message_from_bytes(raw, policy=policy.default)  # type: ignore[return-value]


def text_part(message: Message) -> str:
    part = message.get_body(preferencelist=("plain",)) if isinstance(message, EmailMessage) else None
    assert part is not None, "message has no text/plain part"
    return part.get_content()


def html_part(message: Message) -> str:
    part = message.get_body(preferencelist=("html",)) if isinstance(message, EmailMessage) else None
    assert part is not None, "message has no text/html part"
    return part.get_content()


def token_from(message: Message, path: str) -> str:
    """The ``token`` query parameter of the first link to ``path`` in the message's text part."""
    for word in text_part(message).split():
        parts = urlsplit(word.strip("<>"))
        if parts.path == path:
            return parse_qs(parts.query)["token"][0]
    raise AssertionError(f"no link to {path} in message")


def complaint(
    post_id: str,
    *,
    created_at: datetime,
    company: str = "acme-air",
    tier: Tier = Tier.ORDINARY,
    author_id: str | None = None,
    handle: str | None = None,
    replied_after: timedelta | None = None,
    deleted: bool = False,
) -> Complaint:
    reply = None
    if replied_after is not None:
        reply = Reply(platform="x", post_id=f"r{post_id}", complaint_post_id=post_id, company=company,
                      author_handle="AcmeAirHelp", created_at=created_at + replied_after)
    return Complaint(
        platform="x", post_id=post_id, company=company, author_id=author_id or f"u{post_id}",
        author_handle=handle or f"user{post_id}", created_at=created_at, tier=tier,
        url=f"https://x.com/user{post_id}/status/{post_id}", text="my bag is lost", first_reply=reply,
        first_substantive_reply=reply, deleted=deleted,
    )


def add_sub(
    store: SQLiteStore,
    email: str = "reader@example.org",
    *,
    company: str = "acme-air",
    digest: str = "immediate",
    tiers: tuple[str, ...] | list[str] = (),
    sla: int | None = None,
    sub_id: str | None = None,
) -> Subscription:
    """Store a subscription that is already confirmed (the double opt-in itself is tested elsewhere)."""
    sub = Subscription(sub_id=sub_id or email.split("@")[0].replace(".", ""), email=email, company=company,
                       sla_minutes=sla, tiers=tuple(tiers), digest=digest, status="confirmed",
                       created_at=NOW - timedelta(days=2), confirmed_at=NOW - timedelta(days=2))
    store.put_subscription(sub)
    return sub
