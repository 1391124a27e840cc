"""Opaque pagination cursors.

A cursor is urlsafe base64 of a small JSON document holding the last key returned and a fingerprint of the
filters that produced it. Pages resume strictly after that key, so items inserted between pages are seen
once (if their key is later) or not at all (if earlier), never twice; the fingerprint turns a cursor reused
with other filters into a clear :class:`InvalidCursor` instead of a silently wrong page.
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime
from typing import Any

from chalicelib.domain.models import utc
from chalicelib.store.errors import InvalidCursor

CURSOR_VERSION = 1

# (created_at, platform, post_id): the order list_complaints returns items in.
ComplaintKey = tuple[datetime, str, str]


def filter_fingerprint(**filters: Any) -> str:
    """A short stable digest of query filters; values are stringified so datetimes and enums hash alike."""
    import hashlib  # here: every route imports the store, few list complaints, and chalice alone never loads it

    canonical = json.dumps({k: None if v is None else str(v) for k, v in sorted(filters.items())}, sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def encode_cursor(key: ComplaintKey, fingerprint: str) -> str:
    created_at, platform, post_id = key
    doc = {"v": CURSOR_VERSION, "k": [utc(created_at).isoformat(), platform, post_id], "f": fingerprint}
    raw = json.dumps(doc, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, fingerprint: str) -> ComplaintKey:
    """Return the key a cursor resumes after; raise :class:`InvalidCursor` naming the cursor if it cannot be used."""
    if not isinstance(cursor, str) or not cursor:
        raise InvalidCursor(str(cursor), "empty cursor")
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        doc = json.loads(raw)
    except (binascii.Error, ValueError) as exc:
        raise InvalidCursor(cursor, "not a cursor issued by this API") from exc
    if not isinstance(doc, dict) or doc.get("v") != CURSOR_VERSION:
        raise InvalidCursor(cursor, "not a cursor issued by this API")
    if doc.get("f") != fingerprint:
        raise InvalidCursor(cursor, "it was issued for different filters; restart without a cursor")
    key = doc.get("k")
    try:
        created_at, platform, post_id = key
        if not (isinstance(platform, str) and isinstance(post_id, str)):
            raise TypeError(key)
        when = datetime.fromisoformat(created_at)
    except (TypeError, ValueError) as exc:
        raise InvalidCursor(cursor, "its position is malformed") from exc
    return utc(when), platform, post_id
