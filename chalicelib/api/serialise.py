"""The public contract: the only module that spells the API's field names and CSV columns.

Internal dictionaries (aggregate snapshots, ``TierStats.to_dict``, ``FairnessComparison.to_dict``) are mapped
here onto stable public names, so the statistics code can change its own shapes without breaking the
spreadsheets and scripts journalists built on ``/v1``. ``tests/functional/api/test_contract.py`` pins these
names; change them only with a new API version.
"""

from __future__ import annotations

import io
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

API_VERSION = "v1"

COMPANY_FIELDS: tuple[str, ...] = ("slug", "name", "sector", "sla_minutes", "platforms", "sample", "retired")

TIER_FIELDS: tuple[str, ...] = (
    "tier", "complaints", "answered", "answered_share",
    "answered_within_1h", "answered_within_24h", "answered_within_7d",
    "median_minutes", "median_reached", "median_ci_low_minutes", "median_ci_high_minutes",
    "substantive_median_minutes", "substantive_median_reached",
    "replies", "deflections", "deflection_share",
    "sla_minutes", "sla_met", "sla_decided", "sla_pending", "sla_compliance",
)  # fmt: skip

COMPARISON_FIELDS: tuple[str, ...] = (
    "ratio", "ratio_ci_low", "ratio_ci_high", "ratio_note", "verdict", "logrank_statistic", "logrank_p_value",
    "deflection_verdict", "deflection_difference", "deflection_difference_ci_low", "deflection_difference_ci_high",
    "deflection_p_value", "min_sample", "bootstrap_replicates", "bootstrap_seed", "ratio_ci_method",
)  # fmt: skip

CURVE_FIELDS: tuple[str, ...] = ("minutes", "waiting_share", "ci_low", "ci_high")

CELL_FIELDS: tuple[str, ...] = (
    "complaints", "answered", "answered_share", "median_minutes", "median_reached",
    "median_ci_low_minutes", "median_ci_high_minutes",
)  # fmt: skip

EXAMPLE_FIELDS: tuple[str, ...] = (
    "platform", "complaint_id", "complainant_handle", "complaint_url", "created_at", "followers",
    "reply_minutes", "reply_kind", "reply_url",
)  # fmt: skip

#: The long leaderboard / company CSV, one row per company × platform × tier. The first 16 columns are the
#: order the issue promised; new columns may only ever be appended.
STATS_CSV_COLUMNS: tuple[str, ...] = (
    "company", "platform", "window", "tier", "complaints", "answered", "answered_share", "median_minutes",
    "median_ci_low_minutes", "median_ci_high_minutes", "deflection_share", "sla_compliance", "ratio",
    "ratio_ci_low", "ratio_ci_high", "verdict",
    "rank", "median_reached", "sla_minutes", "deflection_verdict", "sample", "retired",
)  # fmt: skip

COMPLAINT_FIELDS: tuple[str, ...] = (
    "platform", "complaint_id", "complainant", "complainant_handle", "tier", "created_at", "answered",
    "first_reply_at", "reply_minutes", "reply_kind", "reply_url", "complaint_url",
)  # fmt: skip

COMPLAINT_CSV_COLUMNS: tuple[str, ...] = ("company", *COMPLAINT_FIELDS)


def number(value: Any) -> float | int | None:
    """JSON has no NaN or infinity: a value that is not a finite number is published as null."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def _pair(values: Any) -> tuple[float | None, float | None]:
    if not isinstance(values, Sequence) or len(values) != 2:
        return None, None
    return number(values[0]), number(values[1])


# --- companies and statistics ------------------------------------------------------------------


def company(info: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "slug": info["slug"],
        "name": info.get("name") or info["slug"],
        "sector": info.get("sector"),
        "sla_minutes": info.get("sla_minutes"),
        "platforms": sorted(info.get("platforms") or []),
        "sample": bool(info.get("sample", False)),
        "retired": bool(info.get("retired", False)),
    }


def curve(points: Iterable[Mapping[str, Any]] | None) -> list[dict[str, Any]]:
    return [
        {"minutes": number(p.get("t")), "waiting_share": number(p.get("s")),
         "ci_low": number(p.get("lower")), "ci_high": number(p.get("upper"))}
        for p in points or ()
    ]


def tier(internal: Mapping[str, Any], *, with_curves: bool = False) -> dict[str, Any]:
    """One tier's figures; ``with_curves`` adds the Kaplan–Meier points (company pages only)."""
    within = internal.get("answered_within") or {}
    low, high = _pair(internal.get("median_ci"))
    substantive = internal.get("time_to_substantive_reply") or {}
    out = {
        "tier": internal.get("tier"),
        "complaints": int(internal.get("n") or 0),
        "answered": int(internal.get("answered") or 0),
        "answered_share": number(internal.get("answered_share")),
        "answered_within_1h": number(within.get("60")),
        "answered_within_24h": number(within.get("1440")),
        "answered_within_7d": number(within.get("10080")),
        "median_minutes": number(internal.get("median_minutes")),
        "median_reached": bool(internal.get("median_reached")),
        "median_ci_low_minutes": low,
        "median_ci_high_minutes": high,
        "substantive_median_minutes": number(substantive.get("median")),
        "substantive_median_reached": bool(substantive.get("median_reached")),
        "replies": int(internal.get("replies") or 0),
        "deflections": int(internal.get("deflections") or 0),
        "deflection_share": number(internal.get("deflection_share")),
        "sla_minutes": internal.get("sla_minutes"),
        "sla_met": internal.get("sla_met"),
        "sla_decided": internal.get("sla_decided"),
        "sla_pending": internal.get("sla_pending"),
        "sla_compliance": number(internal.get("sla_compliance")),
    }
    if with_curves:
        out["curve"] = curve((internal.get("time_to_reply") or {}).get("curve"))
        out["substantive_curve"] = curve(substantive.get("curve"))
    return out


def comparison(internal: Mapping[str, Any]) -> dict[str, Any]:
    low, high = _pair(internal.get("ratio_ci"))
    logrank = internal.get("logrank") or {}
    deflection = internal.get("deflection") or {}
    d_low, d_high = _pair(deflection.get("difference_ci"))
    d_test = deflection.get("test") or {}
    bootstrapped = internal.get("ratio_ci_method") == "percentile_bootstrap"
    return {
        "ratio": number(internal.get("ratio")),
        "ratio_ci_low": low,
        "ratio_ci_high": high,
        "ratio_note": internal.get("ratio_note"),
        "verdict": internal.get("verdict") or "insufficient_data",
        "logrank_statistic": number(logrank.get("test_statistic")),
        "logrank_p_value": number(logrank.get("p_value")),
        "deflection_verdict": deflection.get("verdict") or "insufficient_data",
        "deflection_difference": number(deflection.get("difference")),
        "deflection_difference_ci_low": d_low,
        "deflection_difference_ci_high": d_high,
        "deflection_p_value": number(d_test.get("p_value")),
        "min_sample": internal.get("min_sample"),
        "bootstrap_replicates": bootstrapped and internal.get("bootstrap_replicates") or None,
        "bootstrap_seed": internal.get("bootstrap_seed") if bootstrapped else None,
        "ratio_ci_method": internal.get("ratio_ci_method"),
    }


def platform_stats(internal: Mapping[str, Any], *, with_curves: bool = False) -> dict[str, Any]:
    tiers = internal.get("tiers") or {}
    return {
        "platform": internal.get("platform"),
        "tiers": {name: tier(body, with_curves=with_curves) for name, body in tiers.items()},
        "comparison": comparison(internal.get("comparison") or {}),
    }


def _stats(platforms: Mapping[str, Any], platform: str | None, with_curves: bool) -> dict[str, Any]:
    chosen = {p: body for p, body in platforms.items() if platform is None or p == platform}
    ordered = sorted(chosen, key=lambda p: (p != "all", p))
    return {p: platform_stats(chosen[p], with_curves=with_curves) for p in ordered}


def overall_verdict(stats: Mapping[str, Any], platform: str | None) -> str:
    chosen = stats.get(platform or "all")
    return chosen["comparison"]["verdict"] if chosen else "insufficient_data"


def company_summary(body: Mapping[str, Any], *, rank: int | None, platform: str | None) -> dict[str, Any]:
    """A leaderboard / company-list entry: figures per platform and tier, no curves."""
    stats = _stats(body.get("platforms") or {}, platform, with_curves=False)
    return {
        "company": company(body["company"]),
        "rank": rank,
        "verdict": overall_verdict(stats, platform),
        "stats": stats,
    }


def _cell(internal: Mapping[str, Any]) -> dict[str, Any]:
    low, high = _pair(internal.get("median_ci"))
    return {
        "complaints": int(internal.get("n") or 0),
        "answered": int(internal.get("answered") or 0),
        "answered_share": number(internal.get("answered_share")),
        "median_minutes": number(internal.get("median_minutes")),
        "median_reached": bool(internal.get("median_reached")),
        "median_ci_low_minutes": low,
        "median_ci_high_minutes": high,
    }


def breakdowns(internal: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """Audience bands and hour-of-week cells (computed for the 7/30/90-day windows; null for ``all``)."""
    if not internal:
        return None
    how = internal.get("hour_of_week") or {}
    return {
        "audience_bands": [{"band": b, **_cell(c)} for b, c in (internal.get("audience_bands") or {}).items()],
        "hour_of_week": [
            {"hour_of_week": int(h), **_cell(c)}
            for h, c in sorted((how.get("hour_of_week") or {}).items(), key=lambda kv: int(kv[0]))
        ],
        "by_weekday": [{"weekday": d, **_cell(c)} for d, c in (how.get("by_weekday") or {}).items()],
        "by_hour": [
            {"hour": int(h), **_cell(c)}
            for h, c in sorted((how.get("by_hour") or {}).items(), key=lambda kv: int(kv[0]))
        ],
    }


def weekly_trend(internal: Mapping[str, Any] | None) -> dict[str, list[dict[str, Any]]] | None:
    if not internal or internal.get("weekly_trend") is None:
        return None
    return {
        t: [{"week": w, **_cell(c)} for w, c in sorted(weeks.items())]
        for t, weeks in internal["weekly_trend"].items()
    }


def example(internal: Mapping[str, Any]) -> dict[str, Any]:
    """A high-profile complaint: public figures are named and linked, as is the company's reply."""
    return {
        "platform": internal.get("platform"),
        "complaint_id": internal.get("post_id"),
        "complainant_handle": internal.get("author_handle") or None,
        "complaint_url": internal.get("url"),
        "created_at": internal.get("created_at"),
        "followers": internal.get("followers"),
        "reply_minutes": number(internal.get("reply_minutes")),
        "reply_kind": internal.get("reply_kind"),
        "reply_url": internal.get("reply_url"),
    }


def company_detail(body: Mapping[str, Any], *, platform: str | None, rank: int | None) -> dict[str, Any]:
    """One company's full page: summary figures plus curves, breakdowns, weekly trend and examples."""
    stats = _stats(body.get("platforms") or {}, platform, with_curves=True)
    categories = body.get("categories")
    return {
        "company": company(body["company"]),
        "rank": rank,
        "verdict": overall_verdict(stats, platform),
        "stats": stats,
        "breakdowns": breakdowns(body.get("breakdowns")),
        "weekly_trend": weekly_trend(body.get("breakdowns")),
        "examples": [example(e) for e in body.get("examples") or () if platform in (None, "all", e.get("platform"))],
        "categories": None if categories is None else {k: int(v) for k, v in categories.items()},
    }


# --- envelope ------------------------------------------------------------------------------------


def coverage(horizons: Mapping[str, Mapping[str, str]]) -> list[dict[str, str]]:
    """Until when each company × source was observed: the honest edge of every figure."""
    return [
        {"company": slug, "source": source, "observed_until": until}
        for slug, sources in sorted(horizons.items())
        for source, until in sorted(sources.items())
    ]


def meta(
    *,
    generated_at: str,
    window: str | None,
    since: str | None,
    until: str | None,
    methodology_version: str,
    coverage_rows: list[dict[str, str]],
) -> dict[str, Any]:
    return {
        "api_version": API_VERSION,
        "generated_at": generated_at,
        "window": window,
        "since": since,
        "until": until,
        "methodology_version": methodology_version,
        "coverage": coverage_rows,
    }


# --- complaints ------------------------------------------------------------------------------------


def complaint(c: Any, alias: str, *, public: bool) -> dict[str, Any]:
    """One complaint as evidence; only a public (high-profile) complainant is named, linked and identified.

    Ordinary and notable complainants appear only by ``alias`` (a salted pseudonym): no handle, no post id
    and no post URL, any of which would lead back to them. The company's reply is linked only for public
    complainants too: a reply is addressed to the complainant ("replying to @…"), so its URL leads back as well.
    For the same reason a private row's times are coarse: the hour the complaint was made and the minutes to
    the reply, never the reply's exact time, which would find the reply (and so the complainant) in the
    company's public timeline.
    """
    reply = c.first_reply
    minutes = None if reply is None else round((reply.created_at - c.created_at).total_seconds() / 60.0, 2)
    made = c.created_at if public else c.created_at.replace(minute=0, second=0, microsecond=0)
    return {
        "platform": c.platform,
        "complaint_id": c.post_id if public else None,
        "complainant": alias,
        "complainant_handle": (c.author_handle or None) if public else None,
        "tier": str(c.tier),
        "created_at": made.isoformat(),
        "answered": reply is not None,
        "first_reply_at": None if reply is None or not public else reply.created_at.isoformat(),
        "reply_minutes": number(minutes if public or minutes is None else round(minutes)),
        "reply_kind": None if reply is None else str(reply.kind),
        "reply_url": reply.url if reply is not None and public else None,
        "complaint_url": c.url if public else None,
    }


# --- CSV -------------------------------------------------------------------------------------------


def _cell_text(value: Any) -> str:
    """Empty cell for a value that is not reached or not defined; booleans as true/false."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return " ".join(str(v) for v in value)
    return str(value)


def to_csv(columns: Sequence[str], rows: Iterable[Mapping[str, Any]]) -> str:
    """A header row, then one line per row in ``columns`` order; missing values become empty cells."""
    import csv  # only CSV responses need it (cold start)

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell_text(row.get(c)) for c in columns])
    return out.getvalue()


def stats_rows(entries: Iterable[Mapping[str, Any]], window: str) -> list[dict[str, Any]]:
    """Long form of public company entries: one row per company × platform × tier, the company-level
    comparison (ratio … verdict, taken from the row's platform) repeated on each of its rows."""
    rows: list[dict[str, Any]] = []
    for entry in entries:
        info = entry["company"]
        for platform, stats in entry["stats"].items():
            comp = stats["comparison"]
            for tier_name, t in stats["tiers"].items():
                rows.append({
                    "company": info["slug"], "platform": platform, "window": window, "tier": tier_name,
                    "complaints": t["complaints"], "answered": t["answered"], "answered_share": t["answered_share"],
                    "median_minutes": t["median_minutes"], "median_ci_low_minutes": t["median_ci_low_minutes"],
                    "median_ci_high_minutes": t["median_ci_high_minutes"], "deflection_share": t["deflection_share"],
                    "sla_compliance": t["sla_compliance"], "ratio": comp["ratio"], "ratio_ci_low": comp["ratio_ci_low"],
                    "ratio_ci_high": comp["ratio_ci_high"], "verdict": comp["verdict"], "rank": entry.get("rank"),
                    "median_reached": t["median_reached"], "sla_minutes": t["sla_minutes"],
                    "deflection_verdict": comp["deflection_verdict"], "sample": info["sample"],
                    "retired": info["retired"],
                })
    return rows
