"""API fixtures: a store with simulated complaints for the test registry's companies, aggregated once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.domain.models import Complaint, Reply, ReplyKind, Tier

SALT = "test-pseudonym-salt"
REPLICATES = 40


@dataclass(frozen=True)
class ApiData:
    now: datetime
    start: datetime
    complaints: dict[str, list[Complaint]]


def _hand_made(now: datetime) -> list[Complaint]:
    """One ordinary and one high-profile complaint with real-looking handles and URLs (privacy tests)."""
    def reply(post_id: str, at: datetime) -> Reply:
        return Reply(platform="x", post_id=f"{post_id}-r", complaint_post_id=post_id, company="bolt-bank",
                     author_handle="BoltBankHelp", created_at=at, kind=ReplyKind.SUBSTANTIVE,
                     url=f"https://x.com/BoltBankHelp/status/{post_id}9")

    made = now - timedelta(days=2)
    return [
        Complaint(platform="x", post_id="9001", company="bolt-bank", author_id="u-ordinary",
                  author_handle="jane_private", created_at=made, tier=Tier.ORDINARY, followers=12,
                  url="https://x.com/jane_private/status/9001", first_reply=reply("9001", made + timedelta(hours=5)),
                  first_substantive_reply=reply("9001", made + timedelta(hours=5)), source="x"),
        Complaint(platform="x", post_id="9002", company="bolt-bank", author_id="u-famous",
                  author_handle="famous_person", created_at=made, tier=Tier.HIGH_PROFILE, followers=2_000_000,
                  url="https://x.com/famous_person/status/9002", first_reply=reply("9002", made + timedelta(minutes=9)),
                  first_substantive_reply=reply("9002", made + timedelta(minutes=9)), source="x"),
    ]


@pytest.fixture
def api_data(isolated_env, monkeypatch: pytest.MonkeyPatch) -> ApiData:
    """acme-air has enough simulated data for a verdict; bolt-bank has too little to be ranked."""
    from chalicelib import runtime
    from chalicelib.api import queries
    from chalicelib.domain.simulation import generate_sample_complaints
    from chalicelib.jobs.aggregate import AggregateOptions, run_aggregate

    monkeypatch.setenv("FAIR_REPLY_PSEUDONYM_SALT", SALT)
    monkeypatch.setattr(queries, "options", lambda: AggregateOptions(replicates=REPLICATES))
    now = datetime.now(UTC).replace(microsecond=0)
    start = now - timedelta(days=25)
    store, registry = runtime.store(), runtime.registry()
    acme = [
        *generate_sample_complaints("acme-air", "x", 450, start, now, seed=1, profile="favours_high_profile"),
        *generate_sample_complaints("acme-air", "mastodon", 60, start, now, seed=2, profile="fair"),
    ]
    bolt = [*generate_sample_complaints("bolt-bank", "x", 15, start, now, seed=3), *_hand_made(now)]
    store.put_complaints(acme)
    store.put_complaints(bolt)
    for slug in ("acme-air", "bolt-bank"):
        store.set_horizon(slug, "simulation", now)
    store.set_horizon("bolt-bank", "x", now)
    run_aggregate(store, registry, now, AggregateOptions(replicates=REPLICATES))
    return ApiData(now=now, start=start, complaints={"acme-air": acme, "bolt-bank": bolt})
