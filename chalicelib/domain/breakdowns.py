"""The evidence behind the tiers: reply times by audience size, by hour of the week, and by week.

Three buckets can hide a lot; these breakdowns show the dose-response (does waiting shrink steadily as
follower counts grow?), whether a company answers nights and weekends, and how things move over time.
Every cell is a Kaplan–Meier summary of its own event table, so unanswered complaints stay in as
censored, and cells can be built from stored per-cell counts as well as from observations.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from chalicelib.domain.fairness import Observation
from chalicelib.domain.survival import EventTable, kaplan_meier

UNKNOWN_BAND = "unknown"
#: Bands by powers of ten: 0–9, 10–99, …, 100000–999999, then everything from a million up.
TOP_BAND_EXPONENT = 6
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass(frozen=True, slots=True)
class CellSummary:
    """One cell of a breakdown: how many complaints, how many answered, and the KM median with its CI."""

    n: int
    answered: int
    answered_share: float | None
    median: float | None
    median_ci: tuple[float | None, float | None]

    def to_dict(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "answered": self.answered,
            "answered_share": self.answered_share,
            "median_minutes": self.median,
            "median_ci": list(self.median_ci),
            "median_reached": self.median is not None,
        }


def summarise(table: EventTable, alpha: float = 0.05) -> CellSummary:
    km = kaplan_meier(table, alpha)
    n = table.n
    return CellSummary(n, table.events, table.events / n if n else None, km.median, km.median_ci)


def audience_band(followers: int | None) -> str:
    """Power-of-ten band label ("0-9", "10-99", …, "1000000+"), or "unknown"."""
    if followers is None or followers < 0:
        return UNKNOWN_BAND
    exponent = min(len(str(followers)) - 1, TOP_BAND_EXPONENT)
    if exponent == TOP_BAND_EXPONENT:
        return f"{10**exponent}+"
    low = 0 if exponent == 0 else 10**exponent
    return f"{low}-{10 ** (exponent + 1) - 1}"


def audience_band_order() -> list[str]:
    return [audience_band(0 if e == 0 else 10**e) for e in range(TOP_BAND_EXPONENT + 1)] + [UNKNOWN_BAND]


def hour_of_week(t: datetime) -> int:
    """0–167, Monday 00:00–00:59 UTC being 0 (``t`` is aware UTC, as every domain time is)."""
    return t.weekday() * 24 + t.hour


def iso_week(t: datetime) -> str:
    year, week, _ = t.isocalendar()
    return f"{year}-W{week:02d}"


def tables_by(
    observations: Iterable[Observation], key: Callable[[Observation], Hashable]
) -> dict[Hashable, EventTable]:
    """Group observations into one event table per key (the from-scratch path; stored counts merge the same)."""
    counts: dict[Hashable, tuple[Counter[float], Counter[float]]] = {}
    for o in observations:
        cell = counts.setdefault(key(o), (Counter(), Counter()))
        cell[0 if o.event_observed else 1][o.duration_minutes] += 1
    return {k: EventTable.from_counters(*v) for k, v in counts.items()}


def summarise_all(tables: Mapping[Any, EventTable], alpha: float = 0.05) -> dict[Any, CellSummary]:
    return {k: summarise(t, alpha) for k, t in tables.items()}


def audience_bands(observations: Iterable[Observation], alpha: float = 0.05) -> dict[str, CellSummary]:
    """Median and answered share per follower band, in band order, empty bands left out."""
    tables = tables_by(observations, lambda o: audience_band(o.followers))
    return {band: summarise(tables[band], alpha) for band in audience_band_order() if band in tables}


def hours_of_week(observations: Iterable[Observation], alpha: float = 0.05) -> dict[int, CellSummary]:
    """Per hour of the week the complaint was made (UTC), only hours that have complaints."""
    tables = tables_by(observations, lambda o: hour_of_week(o.created_at))
    return {h: summarise(tables[h], alpha) for h in sorted(tables)}


@dataclass(frozen=True, slots=True)
class HourOfWeekBreakdown:
    """The 168 cells plus their margins: by weekday (7) and by hour of the day (24)."""

    cells: dict[int, CellSummary]
    by_weekday: dict[str, CellSummary]
    by_hour: dict[int, CellSummary]

    def to_dict(self) -> dict[str, Any]:
        return {
            "hour_of_week": {str(h): c.to_dict() for h, c in self.cells.items()},
            "by_weekday": {d: c.to_dict() for d, c in self.by_weekday.items()},
            "by_hour": {str(h): c.to_dict() for h, c in self.by_hour.items()},
        }


def hour_of_week_breakdown(tables: Mapping[int, EventTable], alpha: float = 0.05) -> HourOfWeekBreakdown:
    """Summaries per hour of week, and margins pooled from the same tables (so they always agree)."""
    days: dict[str, EventTable] = {}
    hours: dict[int, EventTable] = {}
    for how, table in tables.items():
        day, hour = WEEKDAYS[how // 24], how % 24
        days[day] = days[day].merge(table) if day in days else table
        hours[hour] = hours[hour].merge(table) if hour in hours else table
    return HourOfWeekBreakdown(
        cells={h: summarise(tables[h], alpha) for h in sorted(tables)},
        by_weekday={d: summarise(days[d], alpha) for d in WEEKDAYS if d in days},
        by_hour={h: summarise(hours[h], alpha) for h in sorted(hours)},
    )


def weekly_trend(observations: Iterable[Observation], alpha: float = 0.05) -> dict[str, dict[str, CellSummary]]:
    """Per tier, per ISO week of the complaint: answered share and median (weeks in order)."""
    tables = tables_by(observations, lambda o: (o.tier, iso_week(o.created_at)))
    out: dict[str, dict[str, CellSummary]] = {}
    for tier, week in sorted(tables):  # type: ignore[misc]
        out.setdefault(tier, {})[week] = summarise(tables[(tier, week)], alpha)
    return out
