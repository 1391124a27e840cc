from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
import requests
import responses

from chalicelib.sources.base import RequestBudget
from chalicelib.sources.errors import (
    AuthRejected,
    BudgetExhausted,
    RateLimited,
    SourceUnavailable,
    UnexpectedPayload,
)
from chalicelib.sources.http import DEFAULT_TIMEOUT, USER_AGENT, get_json, parse_reset
from tests.unit.sources.conftest import shared_fixture

URL = "https://api.example.test/2/tweets/search/recent"
NOW = datetime(2025, 5, 20, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"x-rate-limit-reset": "1747746000"}, datetime.fromtimestamp(1747746000, tz=UTC)),  # X: epoch
        ({"X-Ratelimit-Reset": "42"}, NOW + timedelta(seconds=42)),  # Reddit: delta seconds
        ({"X-RateLimit-Reset": "2025-05-20T12:05:00.000Z"}, NOW + timedelta(minutes=5)),  # Mastodon: ISO
        ({"RateLimit-Reset": "30"}, NOW + timedelta(seconds=30)),  # IETF draft / Bluesky
        ({"Retry-After": "Tue, 20 May 2025 12:10:00 GMT"}, NOW + timedelta(minutes=10)),  # HTTP-date
        ({"Retry-After": "120"}, NOW + timedelta(seconds=120)),
        ({"Retry-After": "soon"}, None),
        ({}, None),
    ],
)
def test_parse_reset_understands_every_platform_header_style(headers, expected):
    assert parse_reset(headers, NOW) == expected


def test_parse_reset_takes_the_latest_of_several_headers():
    # GIVEN a platform that sends both a window reset and a longer Retry-After
    headers = {"x-rate-limit-reset": str(int((NOW + timedelta(seconds=10)).timestamp())), "Retry-After": "600"}
    # THEN we wait for the later one, so the retry is not refused again
    assert parse_reset(headers, NOW) == NOW + timedelta(seconds=600)


@responses.activate
def test_429_with_reset_header_raises_rate_limited_without_retrying(session):
    # GIVEN X answering 429 with its reset header
    reset = int((NOW + timedelta(minutes=7)).timestamp())
    responses.get(URL, status=429, json={"title": "Too Many Requests"}, headers={"x-rate-limit-reset": str(reset)})
    # WHEN we ask
    with pytest.raises(RateLimited) as caught:
        get_json(session, URL, {}, source="x", budget=RequestBudget(5), now=NOW)
    # THEN the reset time is a value for the caller, and nothing slept or retried
    assert caught.value.reset_at == datetime.fromtimestamp(reset, tz=UTC)
    assert caught.value.source == "x"
    assert len(responses.calls) == 1


@responses.activate
def test_500_then_success_is_retried_and_returns_the_recorded_body(session):
    body = shared_fixture("x/users_mentions_default_fields.json")
    responses.get(URL, status=500, body="oops")
    responses.get(URL, json=body)
    budget = RequestBudget(5)
    assert get_json(session, URL, {}, source="x", budget=budget, now=NOW) == body
    assert len(responses.calls) == 2
    assert budget.used == 1  # one logical request, however many transport retries


@responses.activate
def test_persistent_5xx_becomes_source_unavailable_after_retries(session):
    responses.get(URL, status=503, body="down")
    with pytest.raises(SourceUnavailable):
        get_json(session, URL, {}, source="x", budget=RequestBudget(5), now=NOW)
    assert len(responses.calls) == 3  # first try + total=2 retries


@responses.activate
def test_timeout_becomes_source_unavailable(session):
    responses.get(URL, body=requests.exceptions.ReadTimeout("read timed out"))
    with pytest.raises(SourceUnavailable):
        get_json(session, URL, {}, source="mastodon", budget=RequestBudget(5), now=NOW)


@responses.activate
def test_truncated_json_is_unexpected_payload(session):
    raw = json.dumps(shared_fixture("mastodon/account.json"))
    responses.get(URL, body=raw[: len(raw) // 2], content_type="application/json")
    with pytest.raises(UnexpectedPayload):
        get_json(session, URL, {}, source="mastodon", budget=RequestBudget(5), now=NOW)


@pytest.mark.parametrize("status", [401, 403])
@responses.activate
def test_auth_failures_are_auth_rejected(session, status):
    responses.get(URL, status=status, json={"title": "Unauthorized"})
    with pytest.raises(AuthRejected):
        get_json(session, URL, {}, source="x", budget=RequestBudget(5), now=NOW)


@responses.activate
def test_empty_rate_window_pauses_the_source_before_the_next_request(session):
    # GIVEN a success that says no calls remain until the reset
    reset = int((NOW + timedelta(minutes=3)).timestamp())
    responses.get(URL, json={"data": []}, headers={"x-rate-limit-remaining": "0", "x-rate-limit-reset": str(reset)})
    budget = RequestBudget(5)
    get_json(session, URL, {}, source="x", budget=budget, now=NOW)
    # WHEN the source asks again in the same run
    with pytest.raises(RateLimited) as caught:
        get_json(session, URL, {}, source="x", budget=budget, now=NOW)
    # THEN it is paused without spending a request that would only earn a 429
    assert caught.value.reset_at == datetime.fromtimestamp(reset, tz=UTC)
    assert len(responses.calls) == 1


@responses.activate
def test_budget_exhaustion_stops_before_sending(session):
    budget = RequestBudget(1)
    responses.get(URL, json={})
    get_json(session, URL, {}, source="x", budget=budget, now=NOW)
    with pytest.raises(BudgetExhausted):
        get_json(session, URL, {}, source="x", budget=budget, now=NOW)
    assert len(responses.calls) == 1


@responses.activate
def test_requests_carry_default_timeouts_and_a_descriptive_user_agent(session):
    responses.get(URL, json={})
    get_json(session, URL, {}, source="x", budget=RequestBudget(1), now=NOW)
    call = responses.calls[0]
    assert call.request.req_kwargs["timeout"] == DEFAULT_TIMEOUT
    assert call.request.headers["User-Agent"] == USER_AGENT
    assert "fair-reply" in USER_AGENT and "+http" in USER_AGENT
