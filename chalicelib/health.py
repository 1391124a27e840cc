"""Pipeline health for operators: is the store reachable, is the registry valid, how fresh is the data."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from chalice import Response

from chalicelib import __version__, runtime


def health_report(now: datetime | None = None) -> dict[str, Any]:
    """Collect health facts; never raises, so that /health answers even when parts are broken."""
    now = now or datetime.now(UTC)
    report: dict[str, Any] = {"status": "ok", "version": __version__, "generated_at": now.isoformat()}
    companies: Mapping[str, Any] = {}
    try:
        companies = runtime.registry()
        report["companies"] = len(companies)
    except Exception as exc:  # report, don't crash: this is the page operators open when things break
        report["status"] = "error"
        report["registry_error"] = str(exc)
    try:
        settings = runtime.settings()
        report["store"] = settings.store
        report["sources"] = poll_status(runtime.store(), companies, now)
    except Exception as exc:
        report["status"] = "error"
        report["store_error"] = type(exc).__name__
    return report


def poll_status(store: Any, companies: Mapping[str, Any], now: datetime) -> list[dict[str, Any]]:
    """Per company × source: last successful poll, poll lag, last error, remaining rate budget, paused until.

    Built from the checkpoints and the poll job's ``poll:status`` snapshot (plain reads, no job imports, so
    /health stays cheap). A unit is ``ok`` when its last success is newer than its last error.
    """
    found = store.get_snapshot("poll:status")
    status = found[0] if found else {}
    units: dict[str, dict[str, Any]] = dict(status.get("units", {}))
    sources: dict[str, dict[str, Any]] = status.get("sources", {})
    checkpoints = {(cp.company, cp.source): cp for cp in store.list_checkpoints()}
    keys = {tuple(k.split("|", 1)) for k in units} | set(checkpoints)
    rows = []
    for company, source in sorted(keys):
        unit = units.get(f"{company}|{source}", {})
        cp = checkpoints.get((company, source))
        newest = _time(unit.get("newest_post_at")) or (cp.newest_post_at if cp else None)
        success = unit.get("last_success_at") or (cp.updated_at.isoformat() if cp else None)
        error_at = unit.get("last_error_at")
        budget = sources.get(source, {})
        rows.append({
            "company": company,
            "source": source,
            "tracked": company in companies,
            "last_success": success,
            "newest_post_at": newest.isoformat() if newest else None,
            "poll_lag_seconds": round((now - newest).total_seconds(), 1) if newest else None,
            "last_error": unit.get("last_error"),
            "last_error_at": error_at,
            "last_outcome": unit.get("outcome"),
            "remaining_budget": budget.get("remaining_budget"),
            "paused_until": budget.get("paused_until"),
            "ok": bool(success) and (not error_at or _time(success) >= _time(error_at)),
        })
    return rows


def _time(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def health_response() -> Response:
    report = health_report()
    status = 200 if report["status"] == "ok" else 503
    return Response(body=report, status_code=status, headers={"Cache-Control": "no-store"})
