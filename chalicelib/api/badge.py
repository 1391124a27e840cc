"""A small embeddable SVG badge: median first-reply time per tier and the fairness verdict.

Self-contained (no fonts or images fetched), escaped, and sized from its text, so it can be dropped into
any page with ``<img src=".../badge.svg">``.
"""

from __future__ import annotations

from collections.abc import Mapping
from html import escape
from typing import Any

VERDICT_TEXT = {
    "favours_high_profile": ("favours the famous", "#c0392b"),
    "favours_ordinary": ("favours ordinary customers", "#2471a3"),
    "no_evidence": ("no evidence of favour", "#2e7d32"),
    "insufficient_data": ("not enough data", "#7f8c8d"),
}
_CHAR_WIDTH = 6.6


def duration_text(tier: Mapping[str, Any] | None) -> str:
    """Minutes as "45m", "3h 20m" or "2d 4h"; "not reached" when under half were answered; "no data"."""
    if not tier or not tier.get("complaints"):
        return "no data"
    minutes = tier.get("median_minutes")
    if minutes is None:
        return "not reached"
    total = round(float(minutes))
    if total < 60:
        return f"{total}m"
    hours, mins = divmod(total, 60)
    if hours < 24:
        return f"{hours}h {mins}m" if mins else f"{hours}h"
    days, hours = divmod(hours, 24)
    return f"{days}d {hours}h" if hours else f"{days}d"


def badge_svg(figures: Mapping[str, Any]) -> str:
    """Render ``{"name", "ordinary", "high_profile", "verdict"}`` (tier dicts as the API publishes them)."""
    label = f"{figures['name']} replies"
    value = (
        f"ordinary {duration_text(figures.get('ordinary'))} · "
        f"high-profile {duration_text(figures.get('high_profile'))} · "
    )
    verdict_text, colour = VERDICT_TEXT.get(figures.get("verdict") or "", VERDICT_TEXT["insufficient_data"])
    value += verdict_text
    left = int(len(label) * _CHAR_WIDTH) + 12
    right = int(len(value) * _CHAR_WIDTH) + 12
    width = left + right
    title = escape(f"{label}: {value}")
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="20" role="img" aria-label="{title}">'
        f"<title>{title}</title>"
        f'<rect width="{left}" height="20" fill="#555"/>'
        f'<rect x="{left}" width="{right}" height="20" fill="{colour}"/>'
        '<g fill="#fff" font-family="Verdana,DejaVu Sans,sans-serif" font-size="11">'
        f'<text x="6" y="14">{escape(label)}</text>'
        f'<text x="{left + 6}" y="14">{escape(value)}</text>'
        "</g></svg>"
    )
