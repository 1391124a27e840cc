"""The /v1 routes: wiring only. Each handler hands the request to :mod:`chalicelib.api.views`.

The module top imports chalice alone (this file is imported at cold start); every failure becomes the API's
JSON error body in :func:`_handled`, so no request ends in an HTML or unexplained 500.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from chalice import Blueprint, IAMAuthorizer, Response

api = Blueprint(__name__)
_IAM = IAMAuthorizer()


def _handled(view: Callable[..., Response]) -> Callable[..., Response]:
    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Response:
        from chalicelib.api.errors import ApiError, Unavailable, error_response

        try:
            return view(*args, **kwargs)
        except ApiError as exc:
            return error_response(exc)
        except Exception as exc:
            from chalicelib.errors import RegistryError
            from chalicelib.logs import get_logger
            from chalicelib.store.errors import StoreUnavailable

            if isinstance(exc, StoreUnavailable | RegistryError):
                return error_response(Unavailable("the data store or registry is unavailable; retry later"))
            get_logger().exception("api request failed", extra={"route": view.__name__})
            return error_response(ApiError("internal error; it has been logged"))

    return wrapper


def _views() -> Any:
    from chalicelib.api import views

    return views


def _documents() -> Any:
    from chalicelib.api import documents

    return documents


@api.route("/v1/leaderboard", methods=["GET"])
@_handled
def leaderboard() -> Response:
    return _views().leaderboard(api.current_request)


@api.route("/v1/companies", methods=["GET"])
@_handled
def companies() -> Response:
    return _views().companies(api.current_request)


@api.route("/v1/companies/{slug}", methods=["GET"])
@_handled
def company(slug: str) -> Response:
    return _views().company(api.current_request, slug)


@api.route("/v1/companies/{slug}/badge.svg", methods=["GET"])
@_handled
def badge(slug: str) -> Response:
    return _views().badge(api.current_request, slug)


@api.route("/v1/companies/{slug}/complaints", methods=["GET"])
@_handled
def complaints(slug: str) -> Response:
    return _views().complaints(api.current_request, slug)


@api.route("/v1/methodology", methods=["GET"])
@_handled
def methodology() -> Response:
    return _documents().methodology(api.current_request)


@api.route("/v1/openapi.json", methods=["GET"])
@_handled
def openapi() -> Response:
    return _documents().openapi(api.current_request)


@api.route("/v1/admin/companies/{slug}", methods=["PUT"], authorizer=_IAM, content_types=["application/json"])
@_handled
def admin_put_company(slug: str) -> Response:
    return _views().admin_put(api.current_request, slug)


@api.route("/v1/admin/companies/{slug}", methods=["DELETE"], authorizer=_IAM)
@_handled
def admin_delete_company(slug: str) -> Response:
    return _views().admin_delete(api.current_request, slug)
