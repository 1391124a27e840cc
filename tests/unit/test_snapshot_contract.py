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


def _distance(entry: dict) -> tuple[float, float]:
    body = entry["platforms"].get("all", {})
    ratio = body.get("comparison", {}).get("ratio")
    distance = abs(math.log(ratio)) if ratio and ratio > 0 and math.isfinite(ratio) else math.inf
    median = body.get("tiers", {}).get("ordinary", {}).get("median_minutes")
    return (distance, median if median is not None else math.inf)


@settings(max_examples=200, deadline=None)
@given(entries=_entries())
def test_the_ranking_rule(entries: list[dict]) -> None:
    # GIVEN any mix of ranked, insufficient, retired and curve-carrying entries
    # WHEN the leaderboard is built (the aggregate job writes it with this very function)
    assert aggregate.leaderboard_snapshot is snapshots.leaderboard_snapshot
    board = snapshots.leaderboard_snapshot("30d", entries, NOW)["companies"]
    # THEN exactly the live companies with a verdict are ranked 1..k, most equal treatment first
    rankable = {e["company"]["slug"] for e in entries if not e["company"]["retired"]
                and e["platforms"].get("all", {}).get("comparison", {}).get("verdict")
                not in (None, fairness.INSUFFICIENT_DATA)}
    ranked = [e for e in board if e["rank"] is not None]
    assert {e["company"]["slug"] for e in ranked} == rankable
    assert [e["rank"] for e in ranked] == list(range(1, len(ranked) + 1))
    keys = [_distance(e) for e in ranked]
    assert all(not (b < a) for a, b in zip(keys, keys[1:], strict=False))
    # AND unranked companies are still listed, after the ranked ones, and no curves or breakdowns are carried
    assert len(board) == len(entries) and all(e["rank"] is None for e in board[len(ranked):])
    assert "curve" not in repr(board) and "breakdowns" not in repr(board)


def test_keys_header_and_constants() -> None:
    # GIVEN a company with every header field set
    company = Company(slug="acme-air", name="Acme Air", handles={"x": ("AcmeAir",), "bluesky": ("acme.example",)},
                      sector="airline", sla_minutes=60, sample=True, retired=True)
    # THEN the header names what the page and API show, and keys are stable
    assert snapshots.company_info(company) == {
        "slug": "acme-air", "name": "Acme Air", "sector": "airline", "sla_minutes": 60, "sample": True,
        "retired": True, "platforms": ["bluesky", "x"],
    }
    assert snapshots.company_key("acme-air", "30d") == "company:acme-air:30d"
    assert snapshots.leaderboard_key("all") == "leaderboard:all"
