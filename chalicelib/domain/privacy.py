"""Who may be named: only high-profile complainants, whose audience makes them public figures.

Ordinary and notable complainants are shown by a pseudonym that is stable (the same person gets the same
name on every page and in every e-mail, so patterns stay visible) but cannot be reversed without the salt,
which deployments keep secret.
"""

from __future__ import annotations

import hmac

from chalicelib.domain.models import Tier

PSEUDONYM_PREFIX = "anon-"


def pseudonym(salt: bytes, platform: str, author_id: str) -> str:
    """A stable, non-reversible name for one account, e.g. ``anon-3f9a1c2b``."""
    # hmac.digest: the same HMAC-SHA256 as hmac.new(...).digest(), in one call into OpenSSL (a page names 100)
    digest = hmac.digest(salt, f"{platform}\x00{author_id}".encode(), "sha256")
    return PSEUDONYM_PREFIX + digest[:4].hex()


def is_public_tier(tier: Tier | str) -> bool:
    """True only for high-profile complainants; unknown tiers are treated as private."""
    return str(tier) == Tier.HIGH_PROFILE.value
