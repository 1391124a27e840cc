"""Signed, expiring, single-purpose link tokens (confirm, unsubscribe).

A token is ``base64url(payload) "." base64url(HMAC-SHA256(key, payload))`` where the payload is
``v1:<purpose>:<expiry unix seconds>:<sub_id>``. The purpose and expiry are inside the signed bytes, so a
confirm link cannot be turned into an unsubscribe link and an expiry cannot be stretched. Nothing secret is
in the payload: it only names a subscription the holder of the link already controls.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from datetime import datetime

from chalicelib.domain.models import utc
from chalicelib.notify.errors import ExpiredToken, InvalidToken, WrongPurpose

CONFIRM = "confirm"
UNSUBSCRIBE = "unsubscribe"
PURPOSES = (CONFIRM, UNSUBSCRIBE)
_VERSION = "v1"
_SUB_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
MAX_TOKEN_CHARS = 512


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(key: bytes, payload: bytes) -> bytes:
    return hmac.new(key, payload, hashlib.sha256).digest()


def make_token(key: bytes, purpose: str, sub_id: str, expires_at: datetime) -> str:
    """A URL-safe token allowing ``purpose`` on subscription ``sub_id`` until ``expires_at``."""
    if purpose not in PURPOSES:
        raise ValueError(f"purpose={purpose!r}: must be one of {PURPOSES}")
    if not _SUB_ID.match(sub_id):
        raise ValueError(f"sub_id={sub_id!r}: must be 1-64 URL-safe characters")
    payload = f"{_VERSION}:{purpose}:{int(utc(expires_at).timestamp())}:{sub_id}".encode("ascii")
    return f"{_b64(payload)}.{_b64(_mac(key, payload))}"


def verify_token(key: bytes, token: str, purpose: str, now: datetime) -> str:
    """Return the ``sub_id`` a genuine, unexpired ``purpose`` token names.

    The signature is checked (in constant time) before anything in the payload is trusted, so a forger
    learns nothing from which error they get except "invalid".
    """
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_CHARS or token.count(".") != 1:
        raise InvalidToken("malformed token")
    body, _, signature = token.partition(".")
    try:
        payload = _unb64(body)
        given = _unb64(signature)
    except (binascii.Error, ValueError) as exc:
        raise InvalidToken("malformed token") from exc
    if _b64(payload) != body or _b64(given) != signature:
        raise InvalidToken("non-canonical encoding")  # one token, one spelling: no look-alike variants
    if not hmac.compare_digest(given, _mac(key, payload)):
        raise InvalidToken("bad signature")
    try:
        version, got_purpose, expiry, sub_id = payload.decode("ascii").split(":", 3)
        expires = int(expiry)
    except ValueError as exc:  # pragma: no cover - only reachable with the key
        raise InvalidToken("malformed payload") from exc
    if version != _VERSION or not _SUB_ID.match(sub_id):
        raise InvalidToken("unsupported token")
    if got_purpose != purpose:
        raise WrongPurpose(f"token is for {got_purpose!r}, not {purpose!r}")
    if utc(now).timestamp() >= expires:
        raise ExpiredToken("token has expired")
    return sub_id
