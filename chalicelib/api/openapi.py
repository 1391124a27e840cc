"""The OpenAPI 3.0 document of /v1, built from the same constants the code validates and serialises with.

Field lists come from :mod:`chalicelib.api.serialise` and parameter limits from :mod:`chalicelib.api.params`,
so the document cannot drift from the responses; every object is closed (``additionalProperties: false``)
so that the schemathesis fuzz test notices any field the document does not describe.
"""

from __future__ import annotations

from typing import Any

from chalicelib import __version__
from chalicelib.api import params, serialise

VERDICTS = ["favours_high_profile", "no_evidence", "favours_ordinary", "insufficient_data"]


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _n(kind: str = "number", **extra: Any) -> dict[str, Any]:
    return {"type": kind, "nullable": True, **extra}


def _obj(properties: dict[str, Any], *, nullable: bool = False, required: list[str] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "type": "object",
        "properties": properties,
        "required": list(properties) if required is None else required,
        "additionalProperties": False,
    }
    if nullable:
        out["nullable"] = True
    return out


_S = {"type": "string"}
_B = {"type": "boolean"}
_I = {"type": "integer", "minimum": 0}
_SHARE = _n(minimum=0, maximum=1)
_MIN = _n(minimum=0)

_TIER = {
    "tier": _S, "complaints": _I, "answered": _I, "answered_share": _SHARE,
    "answered_within_1h": _SHARE, "answered_within_24h": _SHARE, "answered_within_7d": _SHARE,
    "median_minutes": _MIN, "median_reached": _B, "median_ci_low_minutes": _MIN, "median_ci_high_minutes": _MIN,
    "substantive_median_minutes": _MIN, "substantive_median_reached": _B,
    "replies": _I, "deflections": _I, "deflection_share": _SHARE,
    "sla_minutes": _n("integer"), "sla_met": _n("integer"), "sla_decided": _n("integer"),
    "sla_pending": _n("integer"), "sla_compliance": _SHARE,
}  # fmt: skip
_COMPARISON = {
    "ratio": _MIN, "ratio_ci_low": _MIN, "ratio_ci_high": _MIN, "ratio_note": _n("string"),
    "verdict": {"type": "string", "enum": VERDICTS}, "logrank_statistic": _n(), "logrank_p_value": _SHARE,
    "deflection_verdict": {"type": "string", "enum": VERDICTS}, "deflection_difference": _n(),
    "deflection_difference_ci_low": _n(), "deflection_difference_ci_high": _n(), "deflection_p_value": _SHARE,
    "min_sample": _n("integer"), "bootstrap_replicates": _n("integer"), "bootstrap_seed": _n("integer"),
    "ratio_ci_method": {**_n("string"), "enum": ["percentile_bootstrap", "mover_log_median", None]},
}  # fmt: skip
_CELL = {
    "complaints": _I, "answered": _I, "answered_share": _SHARE, "median_minutes": _MIN, "median_reached": _B,
    "median_ci_low_minutes": _MIN, "median_ci_high_minutes": _MIN,
}  # fmt: skip
_CURVE_POINT = {"minutes": _MIN, "waiting_share": _SHARE, "ci_low": _SHARE, "ci_high": _SHARE}
_EXAMPLE = {
    "platform": _S, "complaint_id": _n("string"), "complainant_handle": _n("string"), "complaint_url": _n("string"),
    "created_at": _n("string"), "followers": _n("integer"), "reply_minutes": _MIN, "reply_kind": _n("string"),
    "reply_url": _n("string"),
}  # fmt: skip
_COMPLAINT = {
    "platform": _S, "complaint_id": _n("string"), "complainant": _S, "complainant_handle": _n("string"),
    "tier": {"type": "string", "enum": list(params.TIER_CHOICES)}, "created_at": _S, "answered": _B,
    "first_reply_at": _n("string"), "reply_minutes": _MIN, "reply_kind": _n("string"), "reply_url": _n("string"),
    "complaint_url": _n("string"),
}  # fmt: skip


def _tier_schema(with_curves: bool) -> dict[str, Any]:
    props = dict(_TIER)
    if with_curves:
        props["curve"] = {"type": "array", "items": _ref("CurvePoint")}
        props["substantive_curve"] = {"type": "array", "items": _ref("CurvePoint")}
    return _obj(props)


def _platform_stats(tier_schema: str) -> dict[str, Any]:
    return _obj({
        "platform": _S,
        "tiers": {"type": "object", "additionalProperties": _ref(tier_schema)},
        "comparison": _ref("Comparison"),
    })


def _cells(key: str, key_schema: dict[str, Any]) -> dict[str, Any]:
    return {"type": "array", "items": _obj({key: key_schema, **_CELL})}


def schemas() -> dict[str, Any]:
    stats_map = {"type": "object", "additionalProperties": _ref("PlatformStats")}
    return {
        "Error": _obj({"error": _obj({"code": _S, "message": _S, "parameter": _n("string")})}),
        "Meta": _obj({
            "api_version": _S, "generated_at": _S, "window": _n("string"), "since": _n("string"),
            "until": _n("string"), "methodology_version": _S,
            "coverage": {"type": "array", "items": _obj({"company": _S, "source": _S, "observed_until": _S})},
        }),
        "Company": _obj({
            "slug": _S, "name": _S, "sector": _n("string"), "sla_minutes": _n("integer"),
            "platforms": {"type": "array", "items": _S}, "sample": _B, "retired": _B,
        }),
        "TierStats": _tier_schema(False),
        "TierStatsWithCurves": _tier_schema(True),
        "CurvePoint": _obj(_CURVE_POINT),
        "Comparison": _obj(_COMPARISON),
        "PlatformStats": _platform_stats("TierStats"),
        "PlatformStatsWithCurves": _platform_stats("TierStatsWithCurves"),
        "CompanySummary": _obj({
            "company": _ref("Company"), "rank": _n("integer", minimum=1),
            "verdict": {"type": "string", "enum": VERDICTS}, "stats": stats_map,
        }),
        "CompanyList": _obj({"meta": _ref("Meta"), "companies": {"type": "array", "items": _ref("CompanySummary")}}),
        "CompanyDetail": _obj({
            "meta": _ref("Meta"), "company": _ref("Company"), "rank": _n("integer", minimum=1),
            "verdict": {"type": "string", "enum": VERDICTS},
            "stats": {"type": "object", "additionalProperties": _ref("PlatformStatsWithCurves")},
            "breakdowns": _obj({
                "audience_bands": _cells("band", _S),
                "hour_of_week": _cells("hour_of_week", {"type": "integer", "minimum": 0, "maximum": 167}),
                "by_weekday": _cells("weekday", _S),
                "by_hour": _cells("hour", {"type": "integer", "minimum": 0, "maximum": 23}),
            }, nullable=True),
            "weekly_trend": {"type": "object", "nullable": True, "additionalProperties": _cells("week", _S)},
            "examples": {"type": "array", "items": _obj(_EXAMPLE)},
            "categories": {"type": "object", "nullable": True, "additionalProperties": {"type": "integer"}},
        }),
        "Complaint": _obj(_COMPLAINT),
        "ComplaintList": _obj({
            "meta": _ref("Meta"), "company": _S, "complaints": {"type": "array", "items": _ref("Complaint")},
            "next_cursor": _n("string"),
        }),
        "Methodology": _obj({
            "meta": _ref("Meta"), "version": _S, "app_version": _S,
            "tiers": {"type": "array", "items": _obj({
                "tier": _S, "min_followers": _n("integer"), "max_followers": _n("integer")})},
            "min_sample": {"type": "integer"}, "confidence_level": {"type": "number"},
            "windows": {"type": "array", "items": _obj({"window": _S, "days": _n("integer")})},
            "answered_within_minutes": {"type": "array", "items": {"type": "integer"}},
            "estimator": {"type": "object"},
            "verdicts": {"type": "array", "items": _obj({"verdict": _S, "meaning": _S})},
            "documents": {"type": "array", "items": _obj({"name": _S, "text": _S})},
        }),
        "CompanyEntry": {
            "type": "object",
            "description": "A companies.toml entry, as JSON.",
            "properties": {
                "name": _S, "sector": _S, "sla_minutes": {"type": "integer", "minimum": 1},
                "handles": {"type": "object", "additionalProperties": {"type": "array", "items": _S}},
                "email_domains": {"type": "array", "items": _S},
                "search": {"type": "object", "additionalProperties": {"type": "array", "items": _S}},
                "sample": _B, "retired": _B,
            },
            "required": ["name", "handles"],
        },
        "AdminResult": _obj({"company": _ref("Company"), "created": _B}),
    }  # fmt: skip


def _query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": description}


def _p(name: str) -> dict[str, Any]:
    date = {"type": "string", "format": "date-time"}
    table = {
        "window": _query("window", {"type": "string", "enum": list(params.WINDOWS), "default": params.DEFAULT_WINDOW},
                         "Rolling window; ignored when since or until is given."),
        "platform": _query("platform", {"type": "string", "enum": list(params.PLATFORM_CHOICES)},
                           "One platform, or all of them together; default: every platform plus `all`."),
        "since": _query("since", date, "Start (inclusive) of an explicit range, ISO 8601 date or date-time."),
        "until": _query("until", date, "End (exclusive) of an explicit range, ISO 8601 date or date-time."),
        "sort": _query("sort", {"type": "string", "pattern": "^-?(" + "|".join(params.SORTS) + ")$"},
                       "Sort key; prefix `-` for descending. Missing values sort last."),
        "format": _query("format", {"type": "string", "enum": list(params.FORMATS)},
                         "Response format; `Accept: text/csv` also selects CSV."),
        "tier": _query("tier", {"type": "string", "enum": list(params.TIER_CHOICES)}, "Only this audience tier."),
        "answered": _query("answered", {"type": "boolean"}, "Only answered (true) or unanswered (false)."),
        "limit": _query("limit", {"type": "integer", "minimum": 1, "maximum": params.MAX_LIMIT,
                                  "default": params.DEFAULT_LIMIT}, "Page size."),
        "cursor": _query("cursor", {"type": "string", "pattern": "^[A-Za-z0-9_-]+$",
                                    "maxLength": params.MAX_CURSOR_LENGTH},
                         "`next_cursor` of the previous page (only with the same filters)."),
        "slug": {"name": "slug", "in": "path", "required": True, "description": "Company slug.",
                 "schema": {"type": "string", "pattern": params.SLUG_RE.pattern, "maxLength": params.MAX_SLUG_LENGTH}},
    }
    return table[name]


_CACHE_HEADERS = {
    "ETag": {"schema": {"type": "string"}, "description": "Weak validator of the content."},
    "Cache-Control": {"schema": {"type": "string"}},
    "Access-Control-Allow-Origin": {"schema": {"type": "string"}},
}


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ref("Error")}}}


def _get(summary: str, schema: str | None, names: list[str], *, csv: bool = False, svg: bool = False,
         not_found: bool = False) -> dict[str, Any]:
    content: dict[str, Any] = {}
    if svg:
        content["image/svg+xml"] = {"schema": {"type": "string"}}
    if schema is not None:
        content["application/json"] = {"schema": _ref(schema)}
    if csv:
        content["text/csv"] = {"schema": {"type": "string"}}
    responses: dict[str, Any] = {
        "200": {"description": "OK", "headers": _CACHE_HEADERS, "content": content},
        "304": {"description": "Not modified (If-None-Match matched the ETag).", "headers": _CACHE_HEADERS},
        "400": _error("A parameter is invalid; `error.parameter` names it."),
        "503": _error("The store or the pseudonym salt is unavailable; retry later."),
    }
    if not_found:
        responses["404"] = _error("Unknown company.")
    return {"summary": summary, "parameters": [_p(n) for n in names], "responses": responses}


def _admin(summary: str, *, body: bool) -> dict[str, Any]:
    op: dict[str, Any] = {
        "summary": summary,
        "security": [{"sigv4": []}],
        "parameters": [_p("slug")],
        "responses": {
            "200": {"description": "Changed.", "content": {"application/json": {"schema": _ref("AdminResult")}}},
            "400": _error("A field is invalid; `error.parameter` names it."),
            "403": _error("Not allowed from this address (locally: loopback only)."),
            "404": _error("Unknown company."),
            "503": _error("The store is unavailable."),
        },
    }
    if body:
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": _ref("CompanyEntry")}}}
        op["responses"]["201"] = {"description": "Created.",
                                  "content": {"application/json": {"schema": _ref("AdminResult")}}}
    return op


def subscription_schemas() -> dict[str, Any]:
    """The subscription request and its answer, from the constants :mod:`chalicelib.notify.subscriptions` checks."""
    from chalicelib.domain.models import TIERS
    from chalicelib.notify.subscriptions import DIGESTS, MAX_EMAIL_CHARS
    from chalicelib.registry import MAX_SLA_MINUTES

    return {
        "SubscriptionRequest": {
            "type": "object",
            "description": "Ask for SLA-breach alerts about one company. Double opt-in: only a confirmation e-mail "
            "is sent until its link is opened. Unknown fields are refused (400 naming the field).",
            "properties": {
                "email": {"type": "string", "format": "email", "maxLength": MAX_EMAIL_CHARS},
                "company": {"type": "string", "description": "Slug of a tracked, non-retired company."},
                "sla_minutes": {"type": "integer", "minimum": 1, "maximum": MAX_SLA_MINUTES, "nullable": True,
                                "description": "Alert threshold; required when the company publishes no SLA."},
                "tiers": {"type": "array", "nullable": True, "items": {"type": "string", "enum": list(TIERS)},
                          "description": "Only complaints from these audience tiers; empty or absent: all."},
                "digest": {"type": "string", "enum": list(DIGESTS), "default": DIGESTS[0]},
            },
            "required": ["email", "company"],
            "additionalProperties": False,
        },
        "SubscriptionAccepted": _obj({"status": {"type": "string", "enum": ["accepted"]}, "message": _S}),
    }


def _html_page(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"text/html": {"schema": {"type": "string"}}}}


_LINK_RESPONSES = {
    "200": _html_page("The result page (confirmed, already confirmed, unsubscribed, …)."),
    "400": _html_page("The token is missing, malformed, tampered with, expired or for another action."),
    "404": _html_page("The token is genuine but its subscription no longer exists."),
    "503": _html_page("The store is unavailable; open the link again later."),
}
_TOKEN = {"name": "token", "in": "query", "required": False, "description": "The signed token from the e-mail link.",
          "schema": {"type": "string"}}


def _subscription_paths() -> dict[str, Any]:
    no_store = {"Cache-Control": {"schema": {"type": "string"}}}
    return {
        "/v1/subscriptions": {"post": {
            "summary": "Ask for SLA-breach alerts by e-mail (double opt-in)",
            "requestBody": {"required": True,
                            "content": {"application/json": {"schema": _ref("SubscriptionRequest")}}},
            "responses": {
                "202": {"description": "Accepted. The same answer whatever the address's state (no enumeration).",
                        "headers": no_store,
                        "content": {"application/json": {"schema": _ref("SubscriptionAccepted")}}},
                "400": _error("The body or a field is invalid; `error.parameter` names it."),
                "429": {**_error("Too many requests from this address or IP; see Retry-After."),
                        "headers": {"Retry-After": {"schema": {"type": "string"}}, **no_store}},
                "503": {**_error("The confirmation e-mail could not be sent, or the store is unavailable; retry later."),
                        "headers": no_store},
            },
        }},
        "/v1/subscriptions/confirm": {"get": {
            "summary": "Open a confirmation link", "parameters": [_TOKEN], "responses": _LINK_RESPONSES}},
        "/v1/subscriptions/unsubscribe": {
            "get": {"summary": "Ask whether to unsubscribe (link scanners open GET links; nothing changes)",
                    "parameters": [_TOKEN], "responses": {"200": _LINK_RESPONSES["200"],
                                                          "400": _LINK_RESPONSES["400"]}},
            "post": {
                "summary": "Unsubscribe (RFC 8058 one-click); the token comes in the query or the form body",
                "parameters": [_TOKEN],
                "requestBody": {"required": False, "content": {"application/x-www-form-urlencoded": {"schema": {
                    "type": "object", "properties": {"token": _S, "List-Unsubscribe": _S}}}}},
                "responses": _LINK_RESPONSES,
            },
        },
    }


def document() -> dict[str, Any]:
    stats = ["window", "platform", "since", "until", "format"]
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "Fair Reply API",
            "version": f"{serialise.API_VERSION} ({__version__})",
            "description": "How fast companies answer complaints on social media, per audience tier, and whether "
            "high-profile customers are answered faster. See /v1/methodology.",
            "license": {"name": "Open data; cite Fair Reply and the methodology version"},
        },
        "paths": {
            "/v1/leaderboard": {"get": _get("Every tracked company, ranked", "CompanyList", [*stats, "sort"], csv=True)},
            "/v1/companies": {"get": _get("Every company, retired ones too", "CompanyList", [*stats, "sort"], csv=True)},
            "/v1/companies/{slug}": {"get": _get("One company's figures", "CompanyDetail", ["slug", *stats], csv=True,
                                                 not_found=True)},
            "/v1/companies/{slug}/badge.svg": {"get": _get("Embeddable badge", None,
                                                           ["slug", "window", "platform", "since", "until"],
                                                           svg=True, not_found=True)},
            "/v1/companies/{slug}/complaints": {"get": _get(
                "Complaint-level evidence", "ComplaintList",
                ["slug", "platform", "tier", "since", "until", "answered", "limit", "cursor", "format"],
                csv=True, not_found=True)},
            "/v1/methodology": {"get": _get("Definitions, thresholds and the method texts", "Methodology", [])},
            "/v1/openapi.json": {"get": {"summary": "This document", "responses": {
                "200": {"description": "OK", "headers": _CACHE_HEADERS,
                        "content": {"application/json": {"schema": {"type": "object"}}}},
                "304": {"description": "Not modified.", "headers": _CACHE_HEADERS}}}},
            "/v1/admin/companies/{slug}": {
                "put": _admin("Add or change a tracked company", body=True),
                "delete": _admin("Retire a company (its history stays queryable)", body=False),
            },
            **_subscription_paths(),
        },
        "components": {
            "schemas": {**schemas(), **subscription_schemas()},
            "securitySchemes": {"sigv4": {"type": "apiKey", "name": "Authorization", "in": "header",
                                          "x-amazon-apigateway-authtype": "awsSigv4"}},
        },
    }  # fmt: skip
