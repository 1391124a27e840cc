"""Numbers into the words and units a reader of the page expects, without changing what they say.

Every figure on the page comes from the public API's dictionaries; these helpers only choose units and
rounding. A value the API publishes as ``null`` is shown as missing, never as zero.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

TIERS: tuple[str, ...] = ("ordinary", "notable", "high_profile")
TIER_LABELS: dict[str, str] = {"ordinary": "Ordinary", "notable": "Notable", "high_profile": "High-profile"}
WINDOW_LABELS: dict[str, str] = {"7d": "Last 7 days", "30d": "Last 30 days", "90d": "Last 90 days", "all": "All time"}
PLATFORM_LABELS: dict[str, str] = {
    "all": "All platforms", "x": "X", "mastodon": "Mastodon", "bluesky": "Bluesky", "reddit": "Reddit",
}  # fmt: skip
MISSING = "—"


def duration(minutes: float | None) -> str:
    """Minutes as "45 min", "4 h 50 min" or "3 d 4 h": the coarsest units that still tell tiers apart."""
    if minutes is None:
        return MISSING
    if minutes < 1:
        return "< 1 min"
    total = round(minutes)
    if total < 60:
        return f"{total} min"
    if total < 48 * 60:
        hours, rest = divmod(total, 60)
        return f"{hours} h {rest} min" if rest else f"{hours} h"
    days, rest = divmod(round(minutes / 60), 24)
    return f"{days} d {rest} h" if rest else f"{days} d"


def percent(share: float | None) -> str:
    if share is None:
        return MISSING
    value = share * 100
    if 0 < value < 1:
        return "< 1%"
    if 99 < value < 100:
        return "> 99%"
    return f"{round(value)}%"


def multiple(ratio: float) -> str:
    """A "× faster" factor: one decimal below 10 (1.7×), whole numbers above (17×)."""
    return f"{ratio:.1f}×" if ratio < 10 else f"{round(ratio)}×"


def number(value: float | None, digits: int = 2) -> str:
    if value is None:
        return MISSING
    return f"{value:.{digits}f}"


def median_text(tier: Mapping[str, Any] | None) -> str:
    """The Kaplan–Meier median, or "not reached" with the answered share that explains why."""
    if not tier or not tier.get("complaints"):
        return "no complaints"
    if not tier.get("median_reached") or tier.get("median_minutes") is None:
        return f"not reached ({percent(tier.get('answered_share'))} answered)"
    return duration(tier["median_minutes"])


def median_ci_text(tier: Mapping[str, Any] | None) -> str:
    if not tier or not tier.get("median_reached"):
        return MISSING
    low, high = tier.get("median_ci_low_minutes"), tier.get("median_ci_high_minutes")
    if low is None and high is None:
        return MISSING
    return f"{duration(low) if low is not None else '0'} – {duration(high) if high is not None else 'not reached'}"


def verdict_words(verdict: str, ratio: float | None) -> str:
    """The fairness verdict as a sentence fragment; ``ratio`` is ordinary median / high-profile median."""
    if verdict == "favours_high_profile":
        return f"answers high-profile customers {multiple(ratio)} faster" if ratio else \
            "answers high-profile customers faster"
    if verdict == "favours_ordinary":
        return f"answers ordinary customers {multiple(1 / ratio)} faster" if ratio else \
            "answers ordinary customers faster"
    if verdict == "no_evidence":
        return "no evidence of a difference"
    return "not enough data yet"


def ratio_text(comparison: Mapping[str, Any]) -> str:
    """"2.31 (95% CI 1.40–3.90)"; without an interval the point estimate is marked as preliminary."""
    ratio = comparison.get("ratio")
    if ratio is None:
        return comparison.get("ratio_note") or "not defined"
    low, high = comparison.get("ratio_ci_low"), comparison.get("ratio_ci_high")
    if low is None and high is None:
        return f"{number(ratio)} (no interval: too few complaints)"
    return f"{number(ratio)} (95% CI {number(low)}–{number(high) if high is not None else '∞'})"


def deflection_words(comparison: Mapping[str, Any]) -> str:
    """The "DM us" comparison; the API's difference is the ordinary share minus the high-profile share."""
    verdict = comparison.get("deflection_verdict")
    difference = comparison.get("deflection_difference")
    low, high = comparison.get("deflection_difference_ci_low"), comparison.get("deflection_difference_ci_high")
    interval = ""
    if difference is not None and low is not None and high is not None:
        interval = (f" (ordinary minus high-profile: {difference * 100:+.0f} percentage points, "
                    f"95% CI {low * 100:+.0f} to {high * 100:+.0f})")
    if verdict == "favours_high_profile":
        return "ordinary customers are fobbed off with “DM us” replies more often" + interval
    if verdict == "favours_ordinary":
        return "high-profile customers are fobbed off with “DM us” replies more often" + interval
    if verdict == "no_evidence":
        return "no evidence of a difference in “DM us” replies" + interval
    return "not enough replies yet to compare “DM us” replies"


def pooled_share(tiers: Mapping[str, Mapping[str, Any]], part: str, whole: str) -> float | None:
    """A share over every tier together (e.g. answered / complaints), from the per-tier counts."""
    numerator = sum(int(t.get(part) or 0) for t in tiers.values())
    denominator = sum(int(t.get(whole) or 0) for t in tiers.values())
    return numerator / denominator if denominator else None
