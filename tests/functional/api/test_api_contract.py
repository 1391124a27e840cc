"""The public contract: field names and CSV columns are pinned here; changing them needs a new API version.

These lists are deliberately written out by hand: they are what journalists' scripts depend on.
"""

from __future__ import annotations

import json
from pathlib import Path

from chalicelib.api import serialise

REPO = Path(__file__).resolve().parents[3]


def test_stats_csv_columns_are_stable() -> None:
    assert serialise.STATS_CSV_COLUMNS[:16] == (
        "company", "platform", "window", "tier", "complaints", "answered", "answered_share", "median_minutes",
        "median_ci_low_minutes", "median_ci_high_minutes", "deflection_share", "sla_compliance", "ratio",
        "ratio_ci_low", "ratio_ci_high", "verdict",
    )  # fmt: skip
    assert serialise.STATS_CSV_COLUMNS[16:] == (
        "rank", "median_reached", "sla_minutes", "deflection_verdict", "sample", "retired",
    )  # fmt: skip


def test_complaint_fields_are_stable() -> None:
    assert serialise.COMPLAINT_CSV_COLUMNS == (
        "company", "platform", "complaint_id", "complainant", "complainant_handle", "tier", "created_at", "answered",
        "first_reply_at", "reply_minutes", "reply_kind", "reply_url", "complaint_url",
    )  # fmt: skip


def test_serialised_objects_carry_exactly_the_pinned_fields(client, api_data) -> None:
    page = json.loads(client.http.get("/v1/companies/acme-air").body)
    tier = page["stats"]["all"]["tiers"]["ordinary"]
    assert tuple(k for k in tier if k not in ("curve", "substantive_curve")) == serialise.TIER_FIELDS
    assert tuple(page["stats"]["all"]["comparison"]) == serialise.COMPARISON_FIELDS
    assert tuple(page["company"]) == serialise.COMPANY_FIELDS
    assert tuple(tier["curve"][0]) == serialise.CURVE_FIELDS
    assert tuple(page["breakdowns"]["audience_bands"][0])[1:] == serialise.CELL_FIELDS
    assert tuple(page["examples"][0]) == serialise.EXAMPLE_FIELDS
    complaints = json.loads(client.http.get("/v1/companies/acme-air/complaints?limit=1").body)
    assert tuple(complaints["complaints"][0]) == serialise.COMPLAINT_FIELDS


def test_methodology_serves_the_docs_verbatim_and_the_running_thresholds(client, monkeypatch) -> None:
    from chalicelib import runtime
    from chalicelib.api.methodology import DOCS

    monkeypatch.setenv("FAIR_REPLY_HIGH_PROFILE_FOLLOWERS", "250000")
    runtime.reset()
    doc = json.loads(client.http.get("/v1/methodology").body)
    served = {d["name"]: d["text"] for d in doc["documents"]}
    on_disk = {name: (REPO / "docs" / name).read_text(encoding="utf-8") for name in DOCS if (REPO / "docs" / name).exists()}
    assert served == on_disk, "stale bundle: run `python -m chalicelib.api.methodology`"
    assert "methodology.md" in served
    high = next(t for t in doc["tiers"] if t["tier"] == "high_profile")
    assert high["min_followers"] == 250000
    assert doc["meta"]["methodology_version"] == doc["version"]


def test_openapi_document_is_valid_and_describes_every_route(client) -> None:
    from schemathesis.specs.openapi.definitions import OPENAPI_30_VALIDATOR

    from app import app

    doc = json.loads(client.http.get("/v1/openapi.json").body)
    assert list(OPENAPI_30_VALIDATOR.iter_errors(doc)) == []
    documented = {(path, method.upper()) for path, ops in doc["paths"].items() for method in ops}
    served = {
        (path, method)
        for path, entries in app.routes.items()
        for method, entry in entries.items()
        if entry.view_function.__module__ in ("chalicelib.api.routes", "chalicelib.notify.routes")
    }
    assert served == documented
