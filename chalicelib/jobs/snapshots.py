"""The contract between the aggregate job (writer) and the API (reader): keys, company header, ranking rule.

Nothing here imports the statistics (:mod:`chalicelib.domain.fairness` and what it pulls in), so serving a
stored snapshot does not load the Kaplan–Meier code and the bootstrap on a cold start. The aggregate job
defines the same names; ``tests/unit/test_snapshot_contract.py`` holds both to the same results.

:func:`publish_window` also stores each window's public documents ready to send (``public:…`` keys, shaped by
:mod:`chalicelib.api.published`), so that a request does not pay for shaping what every request would shape
the same way; the aggregate run calls it after the leaderboard.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from chalicelib import __version__

if TYPE_CHECKING:
    from chalicelib.domain.models import Company
    from chalicelib.store.base import Store

METHODOLOGY_VERSION = "1.0"
ALL_PLATFORMS = "all"
INSUFFICIENT_DATA = "insufficient_data"  # chalicelib.domain.fairness.INSUFFICIENT_DATA, without its imports


def company_key(slug: str, window: str) -> str:
    return f"company:{slug}:{window}"


def leaderboard_key(window: str) -> str:
    return f"leaderboard:{window}"


def public_company_key(slug: str, window: str) -> str:
    """The company page for ``window`` as the API sends it (see :mod:`chalicelib.api.published`)."""
    return f"public:company:{slug}:{window}"


def public_list_key(name: str, window: str) -> str:
    """The leaderboard (``name="leaderboard"``) or company list (``"companies"``) as the API sends it."""
    return f"public:{name}:{window}"


def company_info(company: Company) -> dict[str, Any]:
    return {
        "slug": company.slug, "name": company.name, "sector": company.sector, "sla_minutes": company.sla_minutes,
        "sample": company.sample, "retired": company.retired, "platforms": sorted(company.handles),
    }


def _rank_key(entry: Mapping[str, Any]) -> tuple[float, float]:
    comparison = entry["platforms"].get(ALL_PLATFORMS, {}).get("comparison", {})
    ratio = comparison.get("ratio")
    distance = abs(math.log(ratio)) if ratio and ratio > 0 and math.isfinite(ratio) else math.inf
    tiers = entry["platforms"].get(ALL_PLATFORMS, {}).get("tiers", {})
    ordinary = tiers.get("ordinary", {}).get("median_minutes")
    return (distance, ordinary if ordinary is not None else math.inf)


def _without_curves(value: Any) -> Any:
    """The leaderboard needs no survival curves (the company pages carry them)."""
    if isinstance(value, dict):
        return {k: _without_curves(v) for k, v in value.items() if k not in ("curve", "substantive_curve")}
    return value


def leaderboard_snapshot(window: str, entries: list[dict[str, Any]], now: datetime) -> dict[str, Any]:
    """Every company, ranked by how equally it treats ordinary and high-profile customers (see methodology)."""
    ranked = sorted(
        (e for e in entries if e["platforms"].get(ALL_PLATFORMS, {}).get("comparison", {}).get("verdict")
         not in (None, INSUFFICIENT_DATA) and not e["company"]["retired"]),
        key=_rank_key,
    )
    ranks = {e["company"]["slug"]: i + 1 for i, e in enumerate(ranked)}
    companies = []
    for e in sorted(entries, key=lambda e: (ranks.get(e["company"]["slug"], 10**9), e["company"]["slug"])):
        slim = {k: v for k, v in e.items() if k not in ("breakdowns", "examples")}
        slim["platforms"] = {
            p: {**body, "tiers": {t: _without_curves(s) for t, s in body["tiers"].items()}}
            for p, body in e["platforms"].items()
        }
        slim["rank"] = ranks.get(e["company"]["slug"])
        companies.append(slim)
    return {
        "window": window, "generated_at": now.isoformat(), "methodology_version": METHODOLOGY_VERSION,
        "version": __version__, "companies": companies,
    }


def publish_window(store: Store, window: str, entries: list[dict[str, Any]], now: datetime) -> int:
    """Store the window's responses ready to send (each company page, the leaderboard, the company list).

    The aggregate run calls this after writing the window's company snapshots and leaderboard, with the same
    ``entries``, so a request becomes a keyed read (:mod:`chalicelib.api.published`). Returns the number of
    documents written.
    """
    from chalicelib.api.published import records

    written = records(window, entries, now)
    for key, record in written.items():
        if isinstance(record, str):
            store.put_text(key, record, now)
        else:
            store.put_snapshot(key, record, now)
    return len(written)


def republish(store: Store, windows: tuple[str, ...], now: datetime) -> int:
    """Publish from the snapshots already stored, e.g. written by a version that did not publish.

    The companies are those of the window's stored leaderboard (every company of the run that wrote it),
    with their snapshots as stored, so the records say what the snapshots say.
    """
    written = 0
    for window in windows:
        board = store.get_snapshot(leaderboard_key(window))
        slugs = [e["company"]["slug"] for e in board[0].get("companies", [])] if board else []
        entries = [found[0] for slug in slugs if (found := store.get_snapshot(company_key(slug, window)))]
        written += publish_window(store, window, entries, now)
    return written
