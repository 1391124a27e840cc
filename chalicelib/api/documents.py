"""The two fixed documents, /v1/methodology and /v1/openapi.json, served from files generated at build time.

Apart from :mod:`chalicelib.api.views` so that their first request on a cold Lambda imports neither the
published-records reader nor the queries, which they do not use.
"""

from __future__ import annotations

import functools
import json
import os
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from chalicelib.api import caching

if TYPE_CHECKING:
    from chalice import Response
    from chalice.app import Request

#: Written by ``python -m chalicelib.api.openapi`` (:func:`chalicelib.api.openapi.generated_text`).
OPENAPI_JSON = os.path.join(os.path.dirname(__file__), "openapi.json")


def methodology(request: Request) -> Response:
    from chalicelib import runtime
    from chalicelib.api import serialise
    from chalicelib.api.methodology import methodology_document

    document = methodology_document(runtime.settings())
    meta = serialise.meta(
        generated_at=datetime.now(UTC).isoformat(), window=None, since=None, until=None,
        methodology_version=document["version"], coverage_rows=[],
    )
    return caching.cached_json(request.headers, {"meta": meta, **document}, max_age=caching.DOCUMENT_MAX_AGE)


def openapi_document() -> tuple[dict[str, Any], str]:
    """The generated OpenAPI document and its ETag, without importing the module that builds it."""
    with open(OPENAPI_JSON, encoding="utf-8") as f:
        stored = json.load(f)
    return stored["document"], stored["etag"]


@functools.cache
def _openapi_text() -> tuple[str, str]:
    """The body as sent and its tag, made once per process: the file does not change while it runs."""
    document, etag = openapi_document()
    return caching.json_text(document), etag


def openapi(request: Request) -> Response:
    """The generated document with the tag generated with it: nothing is built or hashed per cold start."""
    text, etag = _openapi_text()
    return caching.cached(request.headers, text, caching.JSON, etag=etag, max_age=caching.DOCUMENT_MAX_AGE)
