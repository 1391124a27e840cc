"""Inline SVG drawn on the server: median bars and Kaplan–Meier curves, so charts need no script or CDN.

Tiers differ by colour *and* dash pattern (not colour alone); colours live in the stylesheet as classes.
Coordinates are rounded to one decimal to keep the markup small.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from chalicelib.web.format import TIER_LABELS, TIERS

DASHES: dict[str, str] = {"ordinary": "", "notable": "8 4", "high_profile": "2 3"}
WIDTH, HEIGHT = 640, 320
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 16, 72
MAX_HOURS = 7 * 24
#: The x axis ends where every curve is within this share of its final level: the rest is a flat tail.
TAIL_TOLERANCE = 0.02


def bar(value: float | None, maximum: float, tier: str) -> str:
    """A horizontal bar proportional to ``value``; decorative (the figure is printed beside it)."""
    if value is None or maximum <= 0:
        return ""
    width = max(1.0, min(100.0, 100.0 * value / maximum))
    return (
        f'<svg class="bar" viewBox="0 0 100 8" preserveAspectRatio="none" aria-hidden="true" focusable="false">'
        f'<rect class="fill-{tier}" width="{width:.1f}" height="8"/></svg>'
    )


def _points(curve: Sequence[Mapping[str, Any]]) -> list[tuple[float, float]]:
    return [
        (float(p["minutes"]), float(p["waiting_share"]))
        for p in curve
        if p.get("minutes") is not None and p.get("waiting_share") is not None
    ]


def _x_max_hours(curves: Mapping[str, list[tuple[float, float]]]) -> float:
    """Hours shown: until each curve has (almost) reached its final level, at most a week, on a nice tick."""
    reach = 1.0
    for points in curves.values():
        if not points:
            continue
        final = points[-1][1]
        settled = next((t for t, s in points if s <= final + TAIL_TOLERANCE), points[-1][0])
        reach = max(reach, settled / 60.0)
    reach = min(reach * 1.1, MAX_HOURS)
    step = _tick_step(reach)
    return step * math.ceil(reach / step)


def _tick_step(hours: float) -> float:
    for step in (1, 2, 3, 6, 12, 24, 48):
        if hours / step <= 8:
            return step
    return 48


def _step_path(points: list[tuple[float, float]], x_max: float) -> str:
    """The Kaplan–Meier step function: flat until each event time, then a vertical drop; flat to the edge."""
    def x(minutes: float) -> float:
        return LEFT + (WIDTH - LEFT - RIGHT) * min(minutes / 60.0, x_max) / x_max

    def y(share: float) -> float:
        return TOP + (HEIGHT - TOP - BOTTOM) * (1.0 - share)

    parts = [f"M{x(0):.1f},{y(1.0):.1f}"]
    level = 1.0
    for minutes, share in points:
        if minutes / 60.0 > x_max:
            break
        parts.append(f"H{x(minutes):.1f}")
        if share != level:
            parts.append(f"V{y(share):.1f}")
            level = share
    parts.append(f"H{x(x_max * 60):.1f}")
    return "".join(parts)


def _axes(x_max: float) -> str:
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    out = [f'<rect class="plot" x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}"/>']
    for share in (0.0, 0.25, 0.5, 0.75, 1.0):
        y = TOP + plot_h * (1 - share)
        out.append(f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>')
        out.append(f'<text class="tick" x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{round(share * 100)}%</text>')
    step = _tick_step(x_max)
    hours = 0.0
    while hours <= x_max + 1e-9:
        x = LEFT + plot_w * hours / x_max
        out.append(f'<line class="grid" x1="{x:.1f}" x2="{x:.1f}" y1="{TOP}" y2="{TOP + plot_h}"/>')
        out.append(f'<text class="tick" x="{x:.1f}" y="{TOP + plot_h + 16}" text-anchor="middle">{hours:g}</text>')
        hours += step
    out.append(f'<text class="axis" x="{LEFT + plot_w / 2:.1f}" y="{TOP + plot_h + 34}" text-anchor="middle">'
               "hours since the complaint</text>")
    out.append(f'<text class="axis" transform="translate(14 {TOP + plot_h / 2:.1f}) rotate(-90)" '
               'text-anchor="middle">still waiting</text>')
    return "".join(out)


def _legend(tiers: Sequence[str]) -> str:
    out = []
    y = HEIGHT - 14
    for i, tier in enumerate(tiers):
        x = LEFT + i * 170
        dash = f' stroke-dasharray="{DASHES[tier]}"' if DASHES[tier] else ""
        out.append(f'<line class="stroke-{tier}" x1="{x}" x2="{x + 34}" y1="{y - 4}" y2="{y - 4}"{dash}/>')
        out.append(f'<text class="legend" x="{x + 40}" y="{y}">{TIER_LABELS[tier]}</text>')
    return "".join(out)


def survival_chart(curves: Mapping[str, Sequence[Mapping[str, Any]]], *, chart_id: str, description: str) -> str:
    """Kaplan–Meier "still waiting for a reply" curves, one ``<path>`` per tier that has any points.

    Parameters
    ----------
    curves:
        tier → the API's curve points (``minutes``, ``waiting_share``), ordered by time.
    chart_id:
        a page-unique prefix for the ``<title>``/``<desc>`` ids the SVG is labelled by.
    description:
        the text alternative: what the curves show, in words (the tier table repeats the figures).
    """
    drawn = {t: _points(curves[t]) for t in TIERS if curves.get(t) and _points(curves[t])}
    if not drawn:
        return '<p class="empty">No complaints in this period: nothing to draw.</p>'
    x_max = _x_max_hours(drawn)
    paths = []
    for tier, points in drawn.items():
        dash = f' stroke-dasharray="{DASHES[tier]}"' if DASHES[tier] else ""
        paths.append(
            f'<path class="curve stroke-{tier}" data-tier="{tier}" data-points="{len(points)}"{dash} '
            f'd="{_step_path(points, x_max)}"><title>{TIER_LABELS[tier]}</title></path>'
        )
    return (
        f'<svg class="km" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc">'
        f'<title id="{chart_id}-title">Share of complaints still waiting for a first reply, by audience tier</title>'
        f'<desc id="{chart_id}-desc">{escape(description)}</desc>'
        f"{_axes(x_max)}{''.join(paths)}{_legend(list(drawn))}</svg>"
    )
