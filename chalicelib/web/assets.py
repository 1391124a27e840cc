"""The page's stylesheet and script, shipped inside ``chalicelib/`` (Chalice packages only that and app.py).

Only the files named in :data:`ASSETS` are served, so a path can never reach anything else on disk.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from chalice import Response

from chalicelib.api import caching
from chalicelib.web.layout import SECURITY_HEADERS, error_response

STATIC_DIR = Path(__file__).resolve().parent / "static"
ASSETS: dict[str, str] = {
    "site.css": "text/css; charset=utf-8",
    "sort.js": "text/javascript; charset=utf-8",
    "favicon.svg": "image/svg+xml",
}


@cache
def asset_text(name: str) -> str:
    return (STATIC_DIR / name).read_text(encoding="utf-8")


def asset_response(name: str, headers: dict[str, str] | None = None) -> Response:
    if name not in ASSETS:
        return error_response(404, "Not found", f"no static file {name[:80]!r}")
    return caching.cached(headers, asset_text(name), ASSETS[name], max_age=caching.DOCUMENT_MAX_AGE,
                          extra=SECURITY_HEADERS)
