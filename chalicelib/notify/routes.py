"""Subscription routes: a Blueprint whose handlers each call one notify function.

Only chalice is imported at module level (app.py imports this at cold start); the rest is imported in
the handlers.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

from chalice import Blueprint, Response

subscriptions = Blueprint(__name__)

_FORM = ["application/x-www-form-urlencoded", "application/json", "text/plain"]


def _now() -> datetime:
    return datetime.now(UTC)


def _error(status: int, code: str, message: str, parameter: str | None = None, headers: dict | None = None) -> Response:
    # The API's one error shape: ``parameter`` is always present, null when no field is at fault.
    body: dict[str, Any] = {"error": {"code": code, "message": message, "parameter": parameter}}
    return Response(body=body, status_code=status, headers={"Cache-Control": "no-store", **(headers or {})})


def _html(text: str, status: int = 200) -> Response:
    return Response(body=text, status_code=status,
                    headers={"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store"})


def _unavailable_as_503(html: bool) -> Callable[[Callable[[], Response]], Callable[[], Response]]:
    """A store that cannot be reached is a temporary condition: answer 503 (as the /v1 API does), not 500."""

    def wrap(view: Callable[[], Response]) -> Callable[[], Response]:
        @functools.wraps(view)
        def handler() -> Response:
            from chalicelib.store.errors import StoreUnavailable

            try:
                return view()
            except StoreUnavailable:
                if html:
                    from chalicelib.notify import render

                    page = render.message_page("Try again later", "The service is busy; please open the link again.")
                    return _html(page, 503)
                return _error(503, "unavailable", "the service is temporarily unavailable; try again later")

        return handler

    return wrap


def _context() -> tuple[Any, Any, bytes]:
    from chalicelib import runtime
    from chalicelib.notify.keys import signing_key

    settings = runtime.settings()
    return runtime.store(), settings, signing_key(settings)


def _token() -> str | None:
    request = subscriptions.current_request
    return (request.query_params or {}).get("token")


@subscriptions.route("/v1/subscriptions", methods=["POST"], content_types=["application/json"])
@_unavailable_as_503(html=False)
def create_subscription() -> Response:
    from chalicelib import runtime
    from chalicelib.notify.errors import RateLimitedError, SendFailed, ValidationError
    from chalicelib.notify.senders import mail_from, sender_from_env
    from chalicelib.notify.subscriptions import request_subscription

    request = subscriptions.current_request
    try:
        payload = json.loads(request.raw_body or b"{}")
    except ValueError:
        return _error(400, "invalid_json", "the request body must be a JSON object", "body")
    if not isinstance(payload, dict):
        return _error(400, "invalid_json", "the request body must be a JSON object", "body")
    store, settings, key = _context()
    ip = (request.context or {}).get("identity", {}).get("sourceIp") or "unknown"
    try:
        outcome = request_subscription(
            store, runtime.registry(), payload, ip=ip, now=_now(), sender=sender_from_env(settings),
            base_url=settings.public_base_url, key=key, from_addr=mail_from(),
        )
    except ValidationError as exc:
        return _error(400, "invalid_parameter", str(exc), exc.field)
    except RateLimitedError as exc:
        retry = str(int(getattr(exc, "retry_after", 3600)))
        return _error(429, "rate_limited", "too many subscription requests; try later", None, {"Retry-After": retry})
    except SendFailed:
        return _error(503, "send_failed", "the confirmation e-mail could not be sent; try again later")
    return Response(body=outcome.body(), status_code=outcome.status_code, headers={"Cache-Control": "no-store"})


@subscriptions.route("/v1/subscriptions/confirm", methods=["GET"])
@_unavailable_as_503(html=True)
def confirm_subscription() -> Response:
    from chalicelib import runtime
    from chalicelib.notify import render
    from chalicelib.notify.errors import TokenError, UnknownSubscription
    from chalicelib.notify.subscriptions import confirm

    token = _token()
    if not token:
        return _html(render.result_page("invalid"), 400)
    store, _, key = _context()
    try:
        result = confirm(store, key, token, _now(), runtime.registry())
    except TokenError:
        return _html(render.result_page("invalid"), 400)
    except UnknownSubscription:
        return _html(render.result_page("invalid"), 404)
    return _html(render.result_page(result.state))


@subscriptions.route("/v1/subscriptions/unsubscribe", methods=["GET"])
def unsubscribe_prompt() -> Response:
    """Link scanners open GET links: this page only asks; the POST (RFC 8058 one-click) unsubscribes."""
    from chalicelib.notify import render

    token = _token()
    if not token:
        return _html(render.result_page("invalid"), 400)
    return _html(render.unsubscribe_prompt_page(token))


@subscriptions.route("/v1/subscriptions/unsubscribe", methods=["POST"], content_types=_FORM)
@_unavailable_as_503(html=True)
def unsubscribe_now() -> Response:
    from chalicelib import runtime
    from chalicelib.notify import render
    from chalicelib.notify.errors import TokenError, UnknownSubscription
    from chalicelib.notify.subscriptions import unsubscribe

    token = _token()
    if not token:
        raw = (subscriptions.current_request.raw_body or b"").decode("utf-8", "replace")
        token = (parse_qs(raw).get("token") or [None])[0]
    if not token:
        return _html(render.result_page("invalid"), 400)
    store, _, key = _context()
    try:
        result = unsubscribe(store, key, token, _now(), runtime.registry())
    except TokenError:
        return _html(render.result_page("invalid"), 400)
    except UnknownSubscription:
        return _html(render.result_page("invalid"), 404)
    return _html(render.result_page(result.state))
