"""The light snapshot contract (read by the API) must agree with the aggregate job (which writes it).

:mod:`chalicelib.jobs.snapshots` exists so that serving a snapshot does not import the statistics; these
tests hold its keys, company header and ranking rule to the aggregate job's own.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.domain import fairness
from chalicelib.domain.models import Company
from chalicelib.jobs import aggregate, snapshots

NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)

_ratio = st.one_of(st.none(), st.just(0.0), st.just(math.inf), st.just(math.nan),
                   st.floats(min_value=0.01, max_value=100, allow_nan=False))
_verdict = st.sampled_from([None, fairness.INSUFFICIENT_DATA, "faster_for_high_profile", "no_clear_difference"])
_minutes = st.one_of(st.none(), st.floats(min_value=0, max_value=10_000, allow_nan=False))


@st.composite
def _entry(draw: st.DrawFn, slug: str) -> dict:
    tier = {"median_minutes": draw(_minutes), "curve": [[0, 1.0]], "substantive_curve": [[0, 1.0]]}
    platform = {"comparison": {"ratio": draw(_ratio), "verdict": draw(_verdict)},
                "tiers": {"ordinary": tier, "high_profile": {"median_minutes": draw(_minutes)}}}
    platforms = draw(st.sampled_from([{}, {"all": platform}, {"all": platform, "x": platform}]))
    return {"company": {"slug": slug, "retired": draw(st.booleans())}, "platforms": platforms,
            "breakdowns": {"bands": []}, "examples": []}


@st.composite
def _entries(draw: st.DrawFn) -> list[dict]:
    slugs = draw(st.lists(st.sampled_from(["acme", "bolt", "crane", "delta", "echo"]), unique=True, max_size=5))
    return [draw(_entry(slug)) for slug in slugs]


@settings(max_examples=200, deadline=None)
@given(entries=_entries())
def test_the_ranking_rule_matches_the_aggregate_jobs(entries: list[dict]) -> None:
    # GIVEN any mix of ranked, insufficient, retired and curve-carrying entries
    # WHEN both modules build the leaderboard
    light = snapshots.leaderboard_snapshot("30d", entries, NOW)
    job = aggregate.leaderboard_snapshot("30d", entries, NOW)
    # THEN they agree on every rank and every slimmed entry (NaN ratios compared by position, not value)
    assert [e["rank"] for e in light["companies"]] == [e["rank"] for e in job["companies"]]
    assert repr(light) == repr(job)


def test_keys_header_and_constants_match_the_aggregate_jobs() -> None:
    # GIVEN a company with every header field set
    company = Company(slug="acme-air", name="Acme Air", handles={"x": ("AcmeAir",), "bluesky": ("acme.example",)},
                      sector="airline", sla_minutes=60, sample=True, retired=True)
    # THEN the light module writes the same header, keys and constants as the job
    assert snapshots.company_info(company) == aggregate.company_info(company)
    assert snapshots.company_key("acme-air", "7d") == aggregate.company_key("acme-air", "7d")
    assert snapshots.leaderboard_key("all") == aggregate.leaderboard_key("all")
    assert snapshots.METHODOLOGY_VERSION == aggregate.METHODOLOGY_VERSION
    assert snapshots.ALL_PLATFORMS == aggregate.ALL_PLATFORMS
    assert snapshots.INSUFFICIENT_DATA == fairness.INSUFFICIENT_DATA
