"""Fuzz every route the app serves, over real HTTP: no 5xx, and every documented response on-schema.

``tests/functional/api/test_api_fuzz.py`` runs schemathesis over every operation of the OpenAPI document,
which now includes the subscription routes. This module adds what a schema-driven fuzz cannot reach:

* the route table itself: every route is either in the OpenAPI document or one of the known HTML pages;
* subscription requests that name *real* companies (schemathesis rarely guesses a slug), so the accepted
  path — validation, rate limits, the confirmation e-mail written to the outbox — is fuzzed too, and
  checked against the document;
* genuine, tampered and foreign link tokens on the confirm / unsubscribe routes;
* the HTML pages, static files and /health (outside /v1, so not in the document) with arbitrary path
  segments and query strings;
* a store outage on the subscription routes answers 503, never 500.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from chalicelib.api.openapi import document

schema = schemathesis.openapi.from_dict(document())
CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance, content_type_conformance]
HTML_PAGES = {("/", "GET"), ("/companies/{slug}", "GET"), ("/static/{name}", "GET"), ("/health", "GET")}
COMPANIES = ["acme-air", "bolt-bank"]  # tests/conftest.py's registry: acme-air has an SLA, bolt-bank none
FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))


@pytest.fixture
def server_url(local_server: str, isolated_env) -> str:
    """Each test's isolated data dir and registry are what the server reads (per request)."""
    return local_server


@pytest.fixture
def with_data(isolated_env) -> None:
    """A little aggregated data, so the pages render figures rather than empty states."""
    from chalicelib import runtime
    from chalicelib.domain.simulation import generate_sample_complaints
    from chalicelib.jobs.aggregate import AggregateOptions, run_aggregate

    now = datetime.now(UTC).replace(microsecond=0)
    store, registry = runtime.store(), runtime.registry()
    store.put_complaints(generate_sample_complaints("acme-air", "x", 80, now - timedelta(days=20), now, seed=5))
    store.set_horizon("acme-air", "simulation", now)
    run_aggregate(store, registry, now, AggregateOptions(replicates=20, min_sample=5))


def test_every_route_is_documented_or_a_known_html_page() -> None:
    # GIVEN the app's route table and the OpenAPI document
    from app import app

    served = {(path, method) for path, entries in app.routes.items() for method in entries}
    documented = {(path, method.upper()) for path, ops in document()["paths"].items() for method in ops}
    # THEN every /v1 route is documented (so the schemathesis fuzz reaches it) and the rest are the HTML pages
    assert {("/v1/subscriptions", "POST"), ("/v1/subscriptions/confirm", "GET"),
            ("/v1/subscriptions/unsubscribe", "GET"), ("/v1/subscriptions/unsubscribe", "POST")} <= documented
    assert served == documented | HTML_PAGES


_emails = st.one_of(
    st.emails().map(str),
    st.sampled_from(["reader@example.org", "Reader@Example.ORG", " reader@example.org ", "a@b", "@example.org"]),
    st.text(max_size=30),
)
_bodies = st.fixed_dictionaries(
    {"email": _emails, "company": st.one_of(st.sampled_from(COMPANIES), st.text(max_size=12))},
    optional={
        "sla_minutes": st.one_of(st.integers(-5, 50_000), st.none(), st.booleans(), st.floats(allow_nan=False, allow_infinity=False)),
        "tiers": st.one_of(st.lists(st.sampled_from(["ordinary", "notable", "high_profile", "unknown", "vip"])),
                           st.none(), st.text(max_size=5)),
        "digest": st.one_of(st.sampled_from(["immediate", "daily", "weekly"]), st.integers()),
        "extra": st.integers(),
    },
)


def test_subscription_requests_for_real_companies_conform_and_never_fail(server_url: str) -> None:
    # GIVEN the documented POST /v1/subscriptions and bodies naming real companies (valid or not)
    operation = schema["/v1/subscriptions"]["POST"]
    statuses: Counter[int] = Counter()

    @FUZZ
    @given(body=_bodies)
    def check(body: dict) -> None:
        # WHEN each is sent over HTTP
        case = operation.Case(body=body, media_type="application/json")
        response = case.call_and_validate(base_url=server_url, checks=CHECKS)
        statuses[response.status_code] += 1
        # THEN (checks above) no 5xx and the answer is one the document describes, in its schema
        assert response.headers["cache-control"] == ["no-store"]

    check()
    # AND the fuzz reached acceptance, validation errors and the rate limit
    assert {202, 400, 429} <= set(statuses), statuses


def test_raw_garbage_bodies_get_a_documented_400(server_url: str) -> None:
    operation = schema["/v1/subscriptions"]["POST"]

    @FUZZ
    @given(raw=st.one_of(st.binary(max_size=64), st.text(max_size=64).map(str.encode),
                         st.sampled_from([b"[]", b"null", b"42", b'"x"', b"{", b'{"email": []}'])))
    def check(raw: bytes) -> None:
        response = requests.post(f"{server_url}/v1/subscriptions", data=raw,
                                 headers={"Content-Type": "application/json"}, timeout=10)
        assert response.status_code in (400, 429), (raw, response.status_code, response.text)
        # The same validation as a schemathesis case: the error body matches the documented Error schema.
        operation.validate_response(response)

    check()


def _tokens() -> st.SearchStrategy[str]:
    from chalicelib.notify import tokens

    key = b"0123456789abcdef-not-the-server-key"
    forged = st.builds(lambda p, s: tokens.make_token(key, p, s, datetime(2100, 1, 1, tzinfo=UTC)),
                       st.sampled_from(tokens.PURPOSES), st.from_regex(r"[A-Za-z0-9_-]{1,64}", fullmatch=True))
    return st.one_of(st.text(max_size=80), st.from_regex(r"[A-Za-z0-9_-]{0,40}\.[A-Za-z0-9_-]{0,44}", fullmatch=True),
                     forged)


def test_link_routes_answer_html_for_any_token(server_url: str) -> None:
    # GIVEN arbitrary, look-alike and foreign-key tokens
    @FUZZ
    @given(token=_tokens(), route=st.sampled_from([("/v1/subscriptions/confirm", "GET"),
                                                    ("/v1/subscriptions/unsubscribe", "GET"),
                                                    ("/v1/subscriptions/unsubscribe", "POST")]))
    def check(token: str, route: tuple[str, str]) -> None:
        path, method = route
        # WHEN each opens a link route
        case = schema[path][method].Case(query={"token": token})
        response = case.call_and_validate(base_url=server_url, checks=CHECKS)
        # THEN it is never acted on: only the GET prompt page (which changes nothing) answers 200
        prompt = (path, method) == ("/v1/subscriptions/unsubscribe", "GET") and token != ""
        assert response.status_code == (200 if prompt else 400)
        assert response.headers["content-type"][0].startswith("text/html")
        if method == "GET" and "unsubscribe" in path:
            assert "<script" not in response.text.lower()

    check()


_segment = st.text(min_size=1, max_size=20).map(lambda s: quote(s, safe=""))
_query = st.dictionaries(st.sampled_from(["window", "platform", "since", "until", "format", "sort", "x"]),
                         st.text(max_size=12), max_size=3)


@pytest.mark.usefixtures("with_data")
def test_html_pages_static_files_and_health_never_fail(server_url: str) -> None:
    @FUZZ
    @given(path=st.one_of(st.just("/"), st.just("/health"), st.just("/companies/acme-air"),
                          _segment.map(lambda s: f"/companies/{s}"), _segment.map(lambda s: f"/static/{s}")),
           query=_query)
    def check(path: str, query: dict[str, str]) -> None:
        response = requests.get(server_url + path, params=query, timeout=10)
        # 503 is /health's documented "not ready" answer; every other page must not fail.
        allowed_5xx = {503} if path == "/health" else set()
        assert response.status_code < 500 or response.status_code in allowed_5xx, (path, query, response.text[:300])

    check()


def test_a_store_outage_on_the_subscription_routes_is_503_not_500(client, monkeypatch) -> None:
    # GIVEN a store that cannot be reached
    from chalicelib import runtime
    from chalicelib.store.errors import StoreUnavailable

    store = runtime.store()

    def down(*args: object, **kwargs: object) -> None:
        raise StoreUnavailable("throttled")

    for name in ("count_events", "record_event", "get_subscription", "put_subscription", "find_subscription"):
        monkeypatch.setattr(store, name, down)
    body = '{"email": "reader@example.org", "company": "acme-air"}'
    # WHEN each subscription route is called
    post = client.http.post("/v1/subscriptions", body=body, headers={"Content-Type": "application/json"})
    confirm = client.http.get("/v1/subscriptions/confirm?token=" + _genuine_token(runtime))
    unsubscribe = client.http.post("/v1/subscriptions/unsubscribe?token=" + _genuine_token(runtime, "unsubscribe"),
                                   body="", headers={"Content-Type": "application/x-www-form-urlencoded"})
    # THEN each answers 503 in its documented form
    assert post.status_code == 503
    assert post.json_body["error"] == {"code": "unavailable", "parameter": None,
                                       "message": "the service is temporarily unavailable; try again later"}
    for response in (confirm, unsubscribe):
        assert response.status_code == 503 and response.headers["Content-Type"].startswith("text/html")


def _genuine_token(runtime: object, purpose: str = "confirm") -> str:
    from chalicelib.notify import tokens
    from chalicelib.notify.keys import signing_key

    key = signing_key(runtime.settings())  # type: ignore[attr-defined]
    return tokens.make_token(key, purpose, "abc123", datetime.now(UTC) + timedelta(days=1))
