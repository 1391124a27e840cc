"""API errors: one JSON shape for every failure, so clients parse errors one way.

Every error body is ``{"error": {"code": ..., "message": ..., "parameter": ...}}``; ``parameter`` names the
query parameter, path parameter or body field at fault (``null`` when none is). Handlers raise
:class:`ApiError` subclasses; :func:`error_response` turns them into responses in one place.

* ApiError
  + BadParameter       400: a query/path parameter or body field is invalid (names it)
  + NotFound           404: unknown company
  + Forbidden          403: admin route called from outside the allowed network
  + Unavailable        503: data not ready or the store cannot be reached; retrying later may help
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from chalice import Response


class ApiError(Exception):
    """Base class: carries the HTTP status, a stable machine code and the parameter at fault."""

    status = 500
    code = "internal_error"

    def __init__(self, message: str, parameter: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.parameter = parameter
        if code is not None:
            self.code = code

    def to_dict(self) -> dict[str, object]:
        return {"error": {"code": self.code, "message": self.message, "parameter": self.parameter}}


class BadParameter(ApiError):
    """A parameter or body field has a value the API cannot use."""

    status = 400
    code = "invalid_parameter"


class NotFound(ApiError):
    """The company (or other addressed item) does not exist."""

    status = 404
    code = "not_found"


class Forbidden(ApiError):
    """The caller may not use this route from where it is calling."""

    status = 403
    code = "forbidden"


class Unavailable(ApiError):
    """A temporary condition: the store is down, or a figure has not been computed yet."""

    status = 503
    code = "unavailable"


def error_response(error: ApiError) -> Response:
    """The JSON response for ``error``; errors are never cached and are readable cross-origin."""
    from chalice import Response

    return Response(
        body=error.to_dict(),
        status_code=error.status,
        headers={
            "Content-Type": "application/json",
            "Cache-Control": "no-store",
            "Access-Control-Allow-Origin": "*",
        },
    )
