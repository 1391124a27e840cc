"""Server-rendered HTML pages: request → the API's own queries → HTML. No CDN, no external requests.

The pages read the very functions the /v1 routes serve (``chalicelib.api.queries``), so a figure on the
page is the figure in the JSON and the CSV. Failures become small HTML pages: 400 naming the parameter,
404 for an unknown company, 503 when the store is down; never an unexplained 500.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from chalice import Response

from chalicelib.api import params, queries
from chalicelib.api.errors import ApiError, BadParameter, NotFound, Unavailable
from chalicelib.web.layout import error_response, html_response

if TYPE_CHECKING:
    from chalice.app import Request

    from chalicelib.domain.models import Company
    from chalicelib.store.base import Store

#: Evidence rows shown on a company page; the CSV link has them all.
EVIDENCE_ROWS = 50


def now() -> datetime:
    return datetime.now(UTC)


def _deps() -> tuple[Store, dict[str, Company]]:
    from chalicelib import runtime
    from chalicelib.api.admin import tracked_companies

    store = runtime.store()
    return store, tracked_companies(store, runtime.registry())


def _html_errors(render: Callable[..., Response]) -> Callable[..., Response]:
    @functools.wraps(render)
    def wrapper(*args: Any, **kwargs: Any) -> Response:
        try:
            return render(*args, **kwargs)
        except BadParameter as exc:
            name = exc.parameter or "a parameter"
            return error_response(400, f"Invalid parameter: {name}", exc.message)
        except NotFound as exc:
            return error_response(404, "Not found", exc.message)
        except ApiError as exc:
            return error_response(exc.status, "Unavailable" if exc.status == 503 else "Error", exc.message)
        except Exception as exc:
            from chalicelib.errors import RegistryError
            from chalicelib.logs import get_logger
            from chalicelib.store.errors import StoreUnavailable

            if isinstance(exc, StoreUnavailable | RegistryError):
                return error_response(503, "Unavailable", "The data store is unavailable; please retry shortly.")
            get_logger().exception("page request failed", extra={"route": render.__name__})
            return error_response(500, "Error", "Something went wrong; it has been logged.")

    return wrapper


def _switches(request: Request) -> tuple[str, str]:
    query = request.query_params
    return params.window(query), params.platform(query) or "all"


@_html_errors
def index_page(request: Request) -> Response:
    """The leaderboard: every live company ranked on the chosen window and platform."""
    window, platform = _switches(request)
    store, companies = _deps()
    doc = queries.summaries(
        store, companies, params.Period(window=window), platform=platform, sort="rank", now=now(),
        include_retired=False,
    )
    from chalicelib import runtime
    from chalicelib.web import leaderboard as leaderboard_html

    settings = runtime.settings()
    thresholds = (settings.notable_followers, settings.high_profile_followers)
    body = leaderboard_html.render(doc, window=window, platform=platform, thresholds=thresholds)
    return html_response(request.headers, "Fair Reply — who gets a faster answer?", body)


def _evidence(store: Store, companies: dict[str, Company], slug: str, window: str, platform: str,
              at: datetime) -> tuple[dict[str, Any] | None, str | None]:
    """The first page of complaints since the window's first day (a whole day, so the CSV link stays stable)."""
    days = params.WINDOW_DAYS[window]
    since = None
    if days is not None:
        since = (at - timedelta(days=days)).replace(hour=0, minute=0, second=0, microsecond=0)
    try:
        doc = queries.complaints_page(
            store, companies, slug, since=since, until=None, platform=platform, tier=None, answered=None,
            limit=EVIDENCE_ROWS, cursor=None, now=at,
        )
    except Unavailable:
        return None, None
    return doc, since.date().isoformat() if since else None


@_html_errors
def company_page(request: Request, slug: str) -> Response:
    """One company: curves per tier, figures, breakdowns, high-profile examples and the evidence list."""
    params.slug(slug)
    window, platform = _switches(request)
    store, companies = _deps()
    at = now()
    page = queries.company_page(store, companies, slug, params.Period(window=window), platform=platform, now=at)
    evidence, since = _evidence(store, companies, slug, window, platform, at)
    from chalicelib.web import company as company_html

    body = company_html.render(page, evidence, window=window, platform=platform, evidence_since=since)
    return html_response(request.headers, f"{page['company']['name']} — Fair Reply", body)


def static_asset(request: Request, name: str) -> Response:
    """The page's own stylesheet and script (served from here: the CSP allows no other origin)."""
    from chalicelib.web.assets import asset_response

    return asset_response(name, request.headers)
