"""Errors of the notification package, named for what happened so the API can map each to one status.

* NotifyError
  + TokenError            a link token that cannot be honoured (API: 400, page says "ask for a new link")
    x InvalidToken        malformed, or its signature does not match (tampered, or another key)
    x ExpiredToken        genuine but past its expiry
    x WrongPurpose        genuine but made for another action (a confirm token used to unsubscribe, …)
  + ValidationError       a subscription request field is invalid (API: 400 naming ``field``)
  + RateLimitedError      too many requests from an address or an IP (API: 429)
  + UnknownSubscription   a genuine token whose subscription is gone (API: 404)
  + SendFailed            the mail transport refused or failed; the caller retries on its next run
"""

from __future__ import annotations


class NotifyError(Exception):
    """Base class for every error this package raises."""


class TokenError(NotifyError):
    """A token that must not be acted on."""


class InvalidToken(TokenError):
    """The token is malformed or its signature does not verify."""


class ExpiredToken(TokenError):
    """The token verified but has expired."""


class WrongPurpose(TokenError):
    """The token verified but was issued for a different action."""


class ValidationError(NotifyError, ValueError):
    """One field of a request is invalid; ``field`` names it for the 400 response."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")


class RateLimitedError(NotifyError):
    """Too many requests; ``scope`` is ``address`` or ``ip``, ``retry_after`` seconds until a slot frees."""

    def __init__(self, scope: str, retry_after: int) -> None:
        self.scope = scope
        self.retry_after = retry_after
        super().__init__(f"too many subscription requests for this {scope}; retry in {retry_after} s")


class UnknownSubscription(NotifyError):
    """A verified token names a subscription that is not stored."""


class SendFailed(NotifyError):
    """The message was not handed over to the mail transport."""
