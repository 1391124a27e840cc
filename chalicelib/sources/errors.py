"""Errors raised by the live sources, named for what happened rather than which library noticed it.

* SourceError                one source could not deliver; the run carries on with the other sources
  + RateLimited              the platform said "not now" (429 or an exhausted rate-limit window); carries reset_at
  + AuthRejected             401/403: missing, expired or under-privileged credentials (e.g. X Free tier)
  + UnexpectedPayload        the body is not the JSON shape we expect (truncated, HTML error page, not an object)
  + SourceUnavailable        timeouts, connection errors or 5xx that survived the retries
  + BudgetExhausted          this run's request budget for the source is spent; resume from the saved cursor

Every error carries ``source`` so the poll job can pause that source alone and log which platform stalled.
"""

from __future__ import annotations

from datetime import datetime


class SourceError(Exception):
    """Base class: one source failed for this run; its cursor stays where the last stored page left it."""

    def __init__(self, source: str, message: str = "", *, status: int | None = None) -> None:
        self.source = source
        self.status = status  # the HTTP status that caused it, when one did
        super().__init__(f"{source}: {message}" if message else source)


class RateLimited(SourceError):
    """The platform asked us to wait until ``reset_at`` (UTC); never slept on, because Lambda bills sleep."""

    def __init__(self, source: str, reset_at: datetime | None, message: str = "") -> None:
        self.reset_at = reset_at
        when = reset_at.isoformat() if reset_at else "unknown"
        super().__init__(source, message or f"rate limited until {when}")


class AuthRejected(SourceError):
    """Credentials were refused (401/403); retrying will not help until an operator fixes them."""


class UnexpectedPayload(SourceError):
    """The response body is not usable JSON of the expected shape."""


class SourceUnavailable(SourceError):
    """The platform did not answer usefully even after retries (timeouts, connection errors, 5xx)."""


class BudgetExhausted(SourceError):
    """The per-run request budget is spent; sources turn this into a final ``done`` page."""
