"""Fixtures for the source tests: recorded payloads, a fast-retry session, a budget and a fixed clock."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests

from chalicelib.domain.models import Company
from chalicelib.sources.base import RequestBudget
from chalicelib.sources.http import build_session, default_retry

REPO_ROOT = Path(__file__).resolve().parents[3]
RECORDED = REPO_ROOT / "tests" / "fixtures" / "recorded"


def shared_dir() -> Path:
    """``../shared/fixtures`` next to the repository root, or ``$FAIR_REPLY_SHARED_DIR``."""
    beside = REPO_ROOT.parent / "shared" / "fixtures"
    if beside.is_dir():
        return beside
    env = os.environ.get("FAIR_REPLY_SHARED_DIR")
    if env:
        path = Path(env)
        return path / "fixtures" if (path / "fixtures").is_dir() else path
    pytest.skip("shared fixtures not found: set FAIR_REPLY_SHARED_DIR")


def shared_fixture(path: str) -> Any:
    """A real recorded payload from the shared fixtures, parsed."""
    return json.loads((shared_dir() / path).read_text(encoding="utf-8"))


def recorded_fixture(path: str) -> Any:
    """A recorded-in-the-same-shape payload from tests/fixtures/recorded (see its README)."""
    return json.loads((RECORDED / path).read_text(encoding="utf-8"))


@pytest.fixture
def session() -> requests.Session:
    # No backoff: retries happen, but tests never wait.
    return build_session(retries=default_retry(total=2, backoff_factor=0, backoff_jitter=0))


@pytest.fixture
def budget() -> RequestBudget:
    return RequestBudget(max_requests=50)


@pytest.fixture
def now() -> datetime:
    return datetime(2025, 5, 20, 12, 0, tzinfo=UTC)


def company(**handles: list[str]) -> Company:
    search = handles.pop("search", {})
    return Company(slug="acme", name="Acme", handles={k: tuple(v) for k, v in handles.items()}, search=search)
