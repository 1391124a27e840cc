"""Request → response for each /v1 route: parse and check parameters, query, serialise, cache.

Kept apart from :mod:`chalicelib.api.routes` so that importing the routes at cold start costs nothing;
this module is imported by the first request that needs it.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

from chalice import Response

from chalicelib.api import caching, params, published, queries, serialise
from chalicelib.api.errors import BadParameter

if TYPE_CHECKING:
    from chalice.app import Request

    from chalicelib.domain.models import Company
    from chalicelib.store.base import Store


def now() -> datetime:
    return datetime.now(UTC)


def _deps() -> tuple[Store, dict[str, Company]]:
    from chalicelib import runtime
    from chalicelib.api.admin import tracked_companies

    store = runtime.store()
    return store, tracked_companies(store, runtime.registry())


def _format(request: Request) -> str:
    return params.output_format(request.query_params, request.headers.get("accept"))


def _csv(request: Request, text: str, filename: str, extra: dict[str, str] | None = None) -> Response:
    disposition = {"Content-Disposition": f'attachment; filename="{filename}"'}
    return caching.cached(request.headers, text, caching.CSV, extra={**disposition, **(extra or {})})


def _stats(request: Request, doc: dict[str, Any], entries: list[dict[str, Any]], filename: str, fmt: str) -> Response:
    if fmt == "csv":
        rows = serialise.stats_rows(entries, doc["meta"]["window"])
        return _csv(request, serialise.to_csv(serialise.STATS_CSV_COLUMNS, rows), filename)
    return caching.cached_json(request.headers, doc)


def _ready(request: Request, store: Store, record: published.Published) -> Response | None:
    """A published JSON document with the ETag computed when it was published; None if its body is gone."""
    unchanged = caching.not_modified(request.headers, record.etag)
    if unchanged is not None:
        return unchanged
    body = published.text(store, record)
    return None if body is None else caching.cached(request.headers, body, caching.JSON, etag=record.etag)


def _summaries(request: Request, *, include_retired: bool, default_sort: str, filename: str) -> Response:
    q = request.query_params
    period, platform, sort, fmt = params.period(q), params.platform(q), params.sort(q, default_sort), _format(request)
    store, companies = _deps()
    if fmt == "json" and platform is None and sort == default_sort and not period.explicit:
        name = "companies" if include_retired else "leaderboard"
        record = published.read_list(store, companies, period.window, name)
        if record is not None and (ready := _ready(request, store, record)) is not None:
            return ready
    doc = queries.summaries(
        store, companies, period, platform=platform, sort=sort, now=now(), include_retired=include_retired
    )
    return _stats(request, doc, doc["companies"], filename, fmt)


def leaderboard(request: Request) -> Response:
    return _summaries(request, include_retired=False, default_sort="rank", filename="fair-reply-leaderboard.csv")


def companies(request: Request) -> Response:
    return _summaries(request, include_retired=True, default_sort="slug", filename="fair-reply-companies.csv")


def _page(request: Request, slug: str) -> dict[str, Any]:
    params.slug(slug)
    q = request.query_params
    period, platform = params.period(q), params.platform(q)
    store, tracked = _deps()
    return queries.company_page(store, tracked, slug, period, platform=platform, now=now())


def company(request: Request, slug: str) -> Response:
    """The default page is sent as published; other variants are derived from it, or shaped when unpublished."""
    fmt = _format(request)
    params.slug(slug)
    q = request.query_params
    period, platform = params.period(q), params.platform(q)
    store, tracked = _deps()
    company = queries.find_company(tracked, slug)
    record = None if period.explicit else published.read_company(store, company, period.window)
    filename = f"fair-reply-{slug}.csv"
    if record is not None and platform is None:
        if fmt == "csv":
            return _csv(request, record.head["csv"], filename)
        if (ready := _ready(request, store, record)) is not None:
            return ready
    body = None if record is None else published.text(store, record)
    if body is not None:
        page = published.company_page(body, platform)
    else:
        page = queries.shaped_company_page(store, company, period, platform=platform, now=now())
    return _stats(request, page, [page], filename, fmt)


def badge(request: Request, slug: str) -> Response:
    from chalicelib.api.badge import badge_svg

    page = _page(request, slug)
    svg = badge_svg(queries.badge_figures(page, params.platform(request.query_params)))
    return caching.cached(request.headers, svg, caching.SVG)


def complaints(request: Request, slug: str) -> Response:
    params.slug(slug)
    q = request.query_params
    fmt = _format(request)
    store, tracked = _deps()
    doc = queries.complaints_page(
        store, tracked, slug, since=params.date(q, "since"), until=params.date(q, "until"),
        platform=params.platform(q), tier=params.tier(q), answered=params.answered(q), limit=params.limit(q),
        cursor=params.cursor(q), now=now(),
    )
    extra = {}
    if doc["next_cursor"]:
        following = {**(q or {}), "cursor": doc["next_cursor"]}
        extra = {
            "X-Next-Cursor": doc["next_cursor"],
            "Link": f'</v1/companies/{quote(slug)}/complaints?{urlencode(following)}>; rel="next"',
        }
    if fmt == "csv":
        rows = [{"company": slug, **row} for row in doc["complaints"]]
        text = serialise.to_csv(serialise.COMPLAINT_CSV_COLUMNS, rows)
        return _csv(request, text, f"fair-reply-{slug}-complaints.csv", extra)
    return caching.cached_json(request.headers, doc, extra=extra)


# --- admin -----------------------------------------------------------------------------------------------


def _admin_response(body: dict[str, Any], status: int) -> Response:
    return Response(body=body, status_code=status, headers={"Content-Type": "application/json", "Cache-Control": "no-store"})


def _company_doc(company: Company) -> dict[str, Any]:
    from chalicelib.jobs.snapshots import company_info

    return serialise.company(company_info(company))


def admin_put(request: Request, slug: str) -> Response:
    from chalicelib import runtime
    from chalicelib.api.admin import check_caller, put_company

    check_caller(request.context)
    try:
        entry = json.loads(request.raw_body or b"null")
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadParameter("the request body must be JSON", "body", "invalid_field") from exc
    company, created = put_company(runtime.store(), runtime.registry(), slug, entry, now())
    return _admin_response({"company": _company_doc(company), "created": created}, 201 if created else 200)


def admin_delete(request: Request, slug: str) -> Response:
    from chalicelib import runtime
    from chalicelib.api.admin import check_caller, retire_company

    check_caller(request.context)
    params.slug(slug)
    company = retire_company(runtime.store(), runtime.registry(), slug, now())
    return _admin_response({"company": _company_doc(company), "created": False}, 200)
