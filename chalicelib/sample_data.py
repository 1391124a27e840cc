"""Bundled sample data for the local demo: simulated complaints for the FICTIONAL sample companies.

Only companies marked ``sample = true`` in the registry get sample data, so a real company never shows
invented numbers. Everything loaded here has ``source = "simulation"`` and the company entries say
``sample: true`` in the API and on the page. Loaded once; a marker snapshot records that it was.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from chalicelib.domain.models import Company
from chalicelib.domain.simulation import generate_sample_complaints
from chalicelib.store.base import Store

MARKER = "meta:sample-data"
PROFILES = ("favours_high_profile", "fair", "favours_ordinary")
COMPLAINTS_PER_PLATFORM = 400
DAYS = 60


def ensure_sample_data(store: Store, companies: Mapping[str, Company], now: datetime | None = None) -> int:
    """Load sample complaints for every sample company on first start; return how many were stored."""
    if store.get_snapshot(MARKER) is not None:
        return 0
    now = now or datetime.now(UTC)
    start = now - timedelta(days=DAYS)
    stored = 0
    for i, slug in enumerate(sorted(s for s, c in companies.items() if c.sample)):
        company = companies[slug]
        for j, platform in enumerate(sorted(company.handles)):
            complaints = generate_sample_complaints(
                slug, platform, COMPLAINTS_PER_PLATFORM, start, now, seed=1000 * i + j, profile=PROFILES[i % 3]
            )
            stored += store.put_complaints(complaints)
        store.set_horizon(slug, "simulation", now)
    store.put_snapshot(MARKER, {"loaded_at": now.isoformat(), "complaints": stored}, now)
    return stored
