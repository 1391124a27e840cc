"""The local server reports each caller's real TCP address as ``sourceIp``, never chalice's fixed 127.0.0.1.

Real HTTP against ``LocalServer`` on 127.0.0.1: Linux routes all of 127.0.0.0/8 to loopback, so clients bound
to 127.0.0.2 and 127.0.0.3 are two distinct callers. A non-loopback peer cannot connect on a test box, so that
case runs the server's own per-connection handler on a socket pair with a documentation-range address
(192.0.2.7): the exact point where the address enters the event.
"""

from __future__ import annotations

import http.client
import json
import socket
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from requests.adapters import HTTPAdapter

NEW = {"name": "Nimbus Rail", "sector": "rail", "sla_minutes": 90, "handles": {"x": ["NimbusRailHelp"]}}
JSON = {"Content-Type": "application/json"}


class _SourceAddressAdapter(HTTPAdapter):
    """Binds the client end of every connection to ``source`` before connecting."""

    def __init__(self, source: str) -> None:
        self._source = source
        super().__init__()

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs["source_address"] = (self._source, 0)
        super().init_poolmanager(*args, **kwargs)


@pytest.fixture(scope="module")
def server() -> Iterator[Any]:
    from app import app
    from chalicelib.local import LocalServer

    local = LocalServer(app, host="127.0.0.1", port=0)
    local.start()
    try:
        yield local
    finally:
        local.stop()


def _from(source: str) -> requests.Session:
    session = requests.Session()
    session.mount("http://", _SourceAddressAdapter(source))
    return session


def _subscribe(session: requests.Session, url: str, payload: object, **headers: str) -> requests.Response:
    return session.post(f"{url}/v1/subscriptions", data=json.dumps(payload), headers={**JSON, **headers}, timeout=10)


def _raw_request_from(server: Any, peer: str, raw: bytes) -> tuple[int, bytes]:
    """One HTTP exchange through the server's own handler, as if ``peer`` had connected."""
    ours, theirs = socket.socketpair()
    try:
        theirs.sendall(raw)
        theirs.shutdown(socket.SHUT_WR)
        server.request_handler(ours, (peer, 50000), server.http_server)
    finally:
        ours.close()
    with theirs:
        response = http.client.HTTPResponse(theirs)
        response.begin()
        return response.status, response.read()


def _admin_put(slug: str, body: object, *extra_headers: str) -> bytes:
    payload = json.dumps(body).encode()
    head = [f"PUT /v1/admin/companies/{slug} HTTP/1.1", "Host: fair-reply.local", "Content-Type: application/json",
            f"Content-Length: {len(payload)}", "Connection: close", *extra_headers]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + payload


def test_the_app_sees_each_callers_own_address_and_ignores_forwarded_headers(server) -> None:
    from chalicelib import runtime

    # GIVEN two callers on different loopback addresses, each claiming another address in X-Forwarded-For
    for source in ("127.0.0.2", "127.0.0.3"):
        email = f"reader-{source.rsplit('.', 1)[1]}@example.org"
        # WHEN each asks for a subscription
        response = _subscribe(_from(source), server.url, {"email": email, "company": "acme-air"},
                              **{"X-Forwarded-For": "203.0.113.5"})
        # THEN the app recorded the TCP peer, not 127.0.0.1 and not the forwarded header
        assert response.status_code == 202
        stored = runtime.store().find_subscription(email, "acme-air")
        assert stored is not None and stored.source_ip == source


def test_admin_is_refused_to_a_non_loopback_peer_even_if_it_forwards_loopback(server) -> None:
    # GIVEN a peer outside loopback that forges X-Forwarded-For: 127.0.0.1
    raw = _admin_put("nimbus-rail", NEW, "X-Forwarded-For: 127.0.0.1")
    # WHEN it calls the admin route through the server's handler
    status, body = _raw_request_from(server, "192.0.2.7", raw)
    # THEN it is refused and nothing changed
    assert status == 403, body
    assert requests.get(f"{server.url}/v1/companies/nimbus-rail", timeout=10).status_code == 404
    # AND the very same bytes from a loopback peer are accepted, so the address alone decided
    status, body = _raw_request_from(server, "127.0.0.1", raw)
    assert status == 201, body


def test_admin_over_real_http_from_another_loopback_address_is_allowed(server) -> None:
    # WHEN a caller bound to 127.0.0.2 adds a company over real HTTP
    response = _from("127.0.0.2").put(f"{server.url}/v1/admin/companies/nimbus-rail", data=json.dumps(NEW),
                                      headers=JSON, timeout=10)
    # THEN loopback may administer, and the company is served
    assert response.status_code == 201, response.text
    page = requests.get(f"{server.url}/v1/companies/nimbus-rail", timeout=10)
    assert page.status_code == 200 and page.json()["company"]["name"] == "Nimbus Rail"


def test_the_per_ip_subscription_limit_counts_each_caller_separately(server) -> None:
    from chalicelib.notify.subscriptions import DEFAULT_LIMITS

    # GIVEN one caller that used up its hourly requests (invalid ones count too)
    hammer = _from("127.0.0.2")
    for _ in range(DEFAULT_LIMITS.per_ip_per_hour):
        assert _subscribe(hammer, server.url, {}).status_code == 400
    valid = {"email": "someone@example.org", "company": "acme-air"}
    # WHEN it and a second caller send the same valid request
    limited = _subscribe(hammer, server.url, valid)
    other = _subscribe(_from("127.0.0.3"), server.url, valid)
    # THEN only the first is limited
    assert limited.status_code == 429 and limited.headers.get("Retry-After")
    assert other.status_code == 202, other.text


def test_server_refuses_to_start_when_chalice_handler_lacks_the_gateway_hook(monkeypatch) -> None:
    from http.server import BaseHTTPRequestHandler

    from chalice.local import ChaliceRequestHandler

    from app import app
    from chalicelib.local import LocalServer, LocalServerHookError

    # GIVEN a chalice whose request handler no longer keeps a per-connection gateway
    def without_gateway(self, request, client_address, server, app_object, config) -> None:
        BaseHTTPRequestHandler.__init__(self, request, client_address, server)

    monkeypatch.setattr(ChaliceRequestHandler, "__init__", without_gateway)
    # WHEN / THEN the server fails at construction, before serving anyone as 127.0.0.1
    with pytest.raises(LocalServerHookError):
        LocalServer(app, port=0)


def test_server_refuses_to_start_when_chalice_events_lack_an_identity(monkeypatch) -> None:
    from chalice.local import LambdaEventConverter

    from app import app
    from chalicelib.local import LocalServer, LocalServerHookError

    # GIVEN a chalice whose events have no requestContext.identity for the address
    original = LambdaEventConverter.create_lambda_event

    def without_identity(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        event = original(self, *args, **kwargs)
        event["requestContext"].pop("identity")
        return event

    monkeypatch.setattr(LambdaEventConverter, "create_lambda_event", without_identity)
    # WHEN / THEN
    with pytest.raises(LocalServerHookError):
        LocalServer(app, port=0)
