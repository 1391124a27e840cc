"""Live platform sources: each turns one platform's public API into domain Posts and Accounts, page by page.

The names below are loaded on first access (PEP 562): importing a light submodule such as
``chalicelib.sources.errors`` must not import ``requests`` and Powertools through this package.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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

_HOME = {
    "Page": "base", "RequestBudget": "base", "Skipped": "base", "Source": "base",
    "AuthRejected": "errors", "BudgetExhausted": "errors", "RateLimited": "errors", "SourceError": "errors",
    "SourceUnavailable": "errors", "UnexpectedPayload": "errors",
    "build_session": "http", "get_json": "http",
}

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


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_HOME))
