"""HTTP caching and CORS for every GET: ETag, Cache-Control, 304 on If-None-Match, open to any origin.

The ETag is a hash of the content. For JSON it leaves out ``meta.generated_at``, which changes on every
on-request computation although the figures do not, so the tag is weak (``W/``): equal tags promise the
same figures, not the same bytes.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from typing import Any

from chalice import Response

DATA_MAX_AGE = 60
DOCUMENT_MAX_AGE = 3600
JSON = "application/json"
CSV = "text/csv; charset=utf-8"
SVG = "image/svg+xml"


def etag_of(content: str) -> str:
    """Imports :mod:`hashlib` here: initialising OpenSSL costs a cold start milliseconds, and documents
    published with their tag, the common case, never hash."""
    import hashlib

    return 'W/"' + hashlib.sha256(content.encode("utf-8")).hexdigest()[:32] + '"'


def matches(if_none_match: str | None, etag: str) -> bool:
    """Weak comparison (RFC 9110 §13.1.2): ``W/`` prefixes are ignored; ``*`` matches anything."""
    if not if_none_match:
        return False
    wanted = etag.removeprefix("W/")
    for candidate in if_none_match.split(","):
        candidate = candidate.strip()
        if candidate == "*" or candidate.removeprefix("W/") == wanted:
            return True
    return False


def _headers(etag: str, max_age: int, extra: Mapping[str, str] | None) -> dict[str, str]:
    return {
        "ETag": etag,
        "Cache-Control": f"public, max-age={max_age}",
        "Access-Control-Allow-Origin": "*",
        "Vary": "Accept",
        **(extra or {}),
    }


def not_modified(
    headers: Mapping[str, str] | None, etag: str, *, max_age: int = DATA_MAX_AGE,
    extra: Mapping[str, str] | None = None,
) -> Response | None:
    """The empty 304 :func:`cached` would answer with ``etag``, decided before the body is at hand."""
    if matches((headers or {}).get("if-none-match"), etag):
        return Response(body="", status_code=304, headers=_headers(etag, max_age, extra))
    return None


def cached(
    headers: Mapping[str, str] | None,
    text: str,
    content_type: str,
    *,
    etag_source: str | None = None,
    etag: str | None = None,
    max_age: int = DATA_MAX_AGE,
    extra: Mapping[str, str] | None = None,
) -> Response:
    """``text`` with caching headers, or an empty 304 when the client's If-None-Match already has it.

    ``etag`` is a tag computed earlier (a document published with its tag), else it is hashed here.
    """
    tag = etag or etag_of(text if etag_source is None else etag_source)
    out = _headers(tag, max_age, extra)
    if matches((headers or {}).get("if-none-match"), tag):
        return Response(body="", status_code=304, headers=out)
    return Response(body=text, status_code=200, headers={**out, "Content-Type": content_type})


def json_text(payload: Mapping[str, Any]) -> str:
    """The response body of a JSON document, exactly as sent."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"))


def json_etag(payload: Mapping[str, Any]) -> str:
    """The document's tag: its figures in key order, ``meta.generated_at`` left out."""
    stable: Any = payload
    if isinstance(payload.get("meta"), Mapping):
        stable = copy.copy(dict(payload))
        stable["meta"] = {k: v for k, v in payload["meta"].items() if k != "generated_at"}
    return etag_of(json.dumps(stable, ensure_ascii=False, separators=(",", ":"), sort_keys=True))


def cached_json(headers: Mapping[str, str] | None, payload: Mapping[str, Any], *, max_age: int = DATA_MAX_AGE,
                extra: Mapping[str, str] | None = None) -> Response:
    return cached(headers, json_text(payload), JSON, etag=json_etag(payload), max_age=max_age, extra=extra)
