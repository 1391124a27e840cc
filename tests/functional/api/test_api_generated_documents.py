"""The documents served from committed, generated files must be what a fresh generation makes.

``/v1/methodology`` takes the statistics' constants and ``/v1/openapi.json`` the whole document from files
generated at build time (so that a cold start does not import the statistics or build the document); these
tests fail as soon as a constant, a field, a limit, a doc text or the version changes without regenerating.
"""

from __future__ import annotations

import json

from chalicelib.api import documents, methodology, openapi
from chalicelib.api.caching import json_etag
from chalicelib.config import PROJECT_ROOT


def test_the_committed_methodology_bundle_equals_a_fresh_generation() -> None:
    # GIVEN the committed bundle WHEN it is generated again from docs/ and the statistics modules
    fresh = methodology.bundle_text(PROJECT_ROOT / "docs")
    # THEN it is the same file
    assert methodology.BUNDLE.read_text(encoding="utf-8") == fresh, "stale: run `python -m chalicelib.api.methodology`"


def test_the_methodology_constants_are_the_statistics_own() -> None:
    from chalicelib.domain.fairness import ANSWERED_WITHIN_MINUTES, BOOTSTRAP_MAX_N, DEFAULT_ALPHA
    from chalicelib.jobs.aggregate import METHODOLOGY_VERSION, WINDOWS, AggregateOptions

    # GIVEN the constants as served WHEN compared with the modules that apply them THEN they agree
    fixed = methodology.load_bundle()["constants"]
    assert fixed["version"] == METHODOLOGY_VERSION
    assert fixed["confidence_level"] == 1 - DEFAULT_ALPHA
    assert {w["window"]: w["days"] for w in fixed["windows"]} == WINDOWS
    assert fixed["answered_within_minutes"] == list(ANSWERED_WITHIN_MINUTES)
    assert fixed["estimator"]["bootstrap_max_n"] == BOOTSTRAP_MAX_N
    assert str(BOOTSTRAP_MAX_N) in fixed["estimator"]["ratio_interval"]
    assert (fixed["estimator"]["bootstrap_replicates"], fixed["estimator"]["bootstrap_seed"]) == (
        AggregateOptions().replicates, AggregateOptions().seed)


def test_the_committed_openapi_document_equals_a_fresh_generation() -> None:
    # GIVEN the committed document WHEN it is built again from the code's constants
    fresh = openapi.generated_text()
    # THEN it is the same file, and its tag is the document's
    with open(documents.OPENAPI_JSON, encoding="utf-8") as f:
        assert f.read() == fresh, "stale: run `python -m chalicelib.api.openapi`"
    document, etag = documents.openapi_document()
    assert document == openapi.document() and etag == json_etag(openapi.document())


def test_the_openapi_route_sends_the_generated_document_with_its_tag(client) -> None:
    # WHEN the document is requested, then again with its tag
    response = client.http.get("/v1/openapi.json")
    again = client.http.get("/v1/openapi.json", headers={"If-None-Match": response.headers["ETag"]})
    # THEN it is the built document, byte for byte as before it was pregenerated, and the tag answers 304
    built = openapi.document()
    assert response.body.decode() == json.dumps(built, ensure_ascii=False, separators=(",", ":"))
    assert response.headers["ETag"] == json_etag(built) and again.status_code == 304
