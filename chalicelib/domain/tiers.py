"""Audience tiers: how famous a complainant was when they complained.

The fairness question ("do famous customers get answered faster?") compares tiers, so the cut-offs are
one explicit, validated value that is published with every figure, not numbers scattered through code.
"""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib.domain.errors import DomainError
from chalicelib.domain.models import Tier

__all__ = ["DEFAULT_THRESHOLDS", "InvalidAudience", "InvalidThresholds", "TierThresholds", "tier_for"]


class InvalidThresholds(DomainError, ValueError):
    """Tier cut-offs that are not positive whole numbers in increasing order."""


class InvalidAudience(DomainError, ValueError):
    """A follower count that cannot be a real audience size (negative, or not a whole number)."""


@dataclass(frozen=True, slots=True)
class TierThresholds:
    """Follower counts at which a complainant becomes ``notable`` and ``high_profile``.

    ordinary < ``notable`` <= notable < ``high_profile`` <= high_profile. Both bounds are inclusive
    lower bounds of the higher tier, so 1,000 followers is already notable with the defaults.
    """

    notable: int = 1_000
    high_profile: int = 100_000

    def __post_init__(self) -> None:
        for name in ("notable", "high_profile"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InvalidThresholds(f"{name}={value!r}: must be a whole number of followers, at least 1")
        if self.high_profile <= self.notable:
            raise InvalidThresholds(f"high_profile={self.high_profile} must be greater than notable={self.notable}")


DEFAULT_THRESHOLDS = TierThresholds()


def tier_for(followers: int | None, thresholds: TierThresholds = DEFAULT_THRESHOLDS) -> Tier:
    """Tier of an author with ``followers`` followers at complaint time.

    ``None`` means the source carries no audience size (e.g. TWCS archives); that is ``unknown``,
    never guessed as ordinary, so archives cannot dilute the ordinary tier.

    Raises
    ------
    InvalidAudience
        If ``followers`` is negative or not an integer: a source bug that must not become a tier.
    """
    if followers is None:
        return Tier.UNKNOWN
    if isinstance(followers, bool) or not isinstance(followers, int) or followers < 0:
        raise InvalidAudience(f"followers={followers!r}: must be a whole number >= 0 or None")
    if followers >= thresholds.high_profile:
        return Tier.HIGH_PROFILE
    if followers >= thresholds.notable:
        return Tier.NOTABLE
    return Tier.ORDINARY
