"""Shared fixtures: an isolated data dir and registry per test, and the Chalice test client."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent


def shared_dir() -> Path:
    """``../shared`` beside the repository (CI places it there); FAIR_REPLY_SHARED_DIR overrides."""
    override = os.environ.get("FAIR_REPLY_SHARED_DIR")
    return Path(override) if override else REPO_ROOT.parent / "shared"


SAMPLE_REGISTRY = """
[companies.acme-air]
name = "Acme Air"
sector = "airline"
sla_minutes = 60
[companies.acme-air.handles]
x = ["AcmeAirHelp", "AcmeAir"]
mastodon = ["help@acme.example"]
bluesky = ["help.acme.example"]
reddit = ["AcmeAir_Official"]

[companies.bolt-bank]
name = "Bolt Bank"
email_domains = ["boltbank.example"]
[companies.bolt-bank.handles]
x = ["BoltBankHelp"]
"""


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Every test gets its own data dir and registry, and fresh lazily-built dependencies."""
    from chalicelib import runtime

    registry = tmp_path / "companies.toml"
    registry.write_text(SAMPLE_REGISTRY, encoding="utf-8")
    monkeypatch.setenv("FAIR_REPLY_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("FAIR_REPLY_COMPANIES", str(registry))
    monkeypatch.setenv("FAIR_REPLY_STORE", "sqlite")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    runtime.reset()
    yield tmp_path
    runtime.reset()


@pytest.fixture
def client(tmp_path: Path) -> Iterator[object]:
    """chalice's test Client, with a project dir whose config sets no environment (the deploy config would)."""
    import json

    from chalice.test import Client

    from app import app

    project = tmp_path / "project"
    (project / ".chalice").mkdir(parents=True)
    (project / ".chalice" / "config.json").write_text(
        json.dumps({"version": "2.0", "app_name": "fair-reply", "stages": {"dev": {}}})
    )
    with Client(app, project_dir=str(project)) as test_client:
        yield test_client


@pytest.fixture(scope="session")
def local_server() -> Iterator[str]:
    """chalice's local server as ``make run`` serves it, one per test process (its app can be adapted only once).

    It reads settings, registry and store per request, so each test's isolated data is what it serves.
    """
    from app import app
    from chalicelib.local import LocalServer

    server = LocalServer(app, port=0)
    server.start()
    try:
        yield server.url
    finally:
        server.stop()
