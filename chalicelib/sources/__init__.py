"""Live platform sources: each turns one platform's public API into domain Posts and Accounts, page by page."""

from __future__ import annotations

from chalicelib.sources.base import Page, RequestBudget, Skipped, Source
from chalicelib.sources.errors import (
    AuthRejected,
    BudgetExhausted,
    RateLimited,
    SourceError,
    SourceUnavailable,
    UnexpectedPayload,
)
from chalicelib.sources.http import build_session, get_json

__all__ = [
    "AuthRejected",
    "BudgetExhausted",
    "Page",
    "RateLimited",
    "RequestBudget",
    "Skipped",
    "Source",
    "SourceError",
    "SourceUnavailable",
    "UnexpectedPayload",
    "build_session",
    "get_json",
]
