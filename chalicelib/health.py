"""Pipeline health for operators: is the store reachable, is the registry valid, how fresh is the data."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from chalice import Response

from chalicelib import __version__, runtime


def health_report(now: datetime | None = None) -> dict[str, Any]:
    """Collect health facts; never raises, so that /health answers even when parts are broken."""
    now = now or datetime.now(timezone.utc)
    report: dict[str, Any] = {"status": "ok", "version": __version__, "generated_at": now.isoformat()}
    try:
        report["companies"] = len(runtime.registry())
    except Exception as exc:  # report, don't crash: this is the page operators open when things break
        report["status"] = "error"
        report["registry_error"] = str(exc)
    try:
        settings = runtime.settings()
        report["store"] = settings.store
        checkpoints = runtime.store().list_checkpoints()
        report["sources"] = [
            {
                "company": cp.company,
                "source": cp.source,
                "last_success": cp.updated_at.isoformat(),
                "newest_post_at": cp.newest_post_at.isoformat() if cp.newest_post_at else None,
                "poll_lag_seconds": (now - cp.newest_post_at).total_seconds() if cp.newest_post_at else None,
            }
            for cp in checkpoints
        ]
    except Exception as exc:
        report["status"] = "error"
        report["store_error"] = type(exc).__name__
    return report


def health_response() -> Response:
    report = health_report()
    status = 200 if report["status"] == "ok" else 503
    return Response(body=report, status_code=status, headers={"Cache-Control": "no-store"})
