"""Pseudonyms and the salt are published and stored: the faster one-shot HMAC must give the very same values."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from chalicelib.domain.privacy import PSEUDONYM_PREFIX, pseudonym
from chalicelib.notify.keys import pseudonym_salt


@pytest.mark.parametrize("salt", [b"", b"salt", bytes(range(32)), b"k" * 200], ids=["empty", "short", "32", "long"])
@pytest.mark.parametrize(("platform", "author_id"), [("x", "42"), ("bluesky", "did:plc:ab"), ("mastodon", "Zoë@ü.example")])
def test_pseudonyms_are_the_hmac_sha256_they_always_were(salt: bytes, platform: str, author_id: str) -> None:
    # GIVEN the definition: the first 8 hex digits of HMAC-SHA256(salt, platform NUL author id)
    expected = hmac.new(salt, f"{platform}\x00{author_id}".encode(), hashlib.sha256).hexdigest()[:8]
    # THEN the pseudonym is exactly that
    assert pseudonym(salt, platform, author_id) == PSEUDONYM_PREFIX + expected


def test_the_salt_is_the_hmac_sha256_it_always_was() -> None:
    key = bytes(range(16, 48))
    assert pseudonym_salt(key) == hmac.new(key, b"fair-reply pseudonym salt v1", hashlib.sha256).digest()
