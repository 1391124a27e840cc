"""Audience bands, hour of week and weekly trend: every cell a KM summary, checked against lifelines."""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta

import pytest
from lifelines import KaplanMeierFitter

from chalicelib.domain.breakdowns import (
    audience_band,
    audience_band_order,
    audience_bands,
    hour_of_week,
    hour_of_week_breakdown,
    hours_of_week,
    iso_week,
    tables_by,
    weekly_trend,
)
from chalicelib.domain.fairness import Observation

MONDAY = datetime(2024, 3, 4, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("followers", "band"),
    [
        (None, "unknown"),
        (0, "0-9"),
        (9, "0-9"),
        (10, "10-99"),
        (999, "100-999"),
        (100_000, "100000-999999"),
        (999_999, "100000-999999"),
        (1_000_000, "1000000+"),
        (50_000_000, "1000000+"),
    ],
)
def test_audience_band_by_powers_of_ten(followers: int | None, band: str) -> None:
    assert audience_band(followers) == band


def test_hour_of_week_starts_monday_midnight_utc() -> None:
    assert hour_of_week(MONDAY) == 0
    assert hour_of_week(MONDAY + timedelta(days=6, hours=23, minutes=59)) == 167
    assert hour_of_week(MONDAY + timedelta(days=2, hours=9)) == 57
    assert iso_week(MONDAY) == "2024-W10"
    assert iso_week(datetime(2021, 1, 3, tzinfo=UTC)) == "2020-W53"


def _observations(seed: int, n: int) -> list[Observation]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        followers = rng.choice([None, int(10 ** rng.uniform(0, 7.5))])
        created = MONDAY + timedelta(minutes=rng.uniform(0, 4 * 10_080))
        # bigger audiences are answered faster, nights and weekends slower
        median = 600 / (1 + math.log10(1 + (followers or 100)))
        if created.weekday() >= 5 or not 9 <= created.hour < 17:
            median *= 4
        d = rng.lognormvariate(math.log(median), 1.0)
        cut = rng.uniform(0, 5_000)
        out.append(Observation(min(d, cut), d <= cut, rng.choice(["ordinary", "high_profile"]), followers, created))
    return out


def test_band_medians_match_lifelines_and_show_dose_response() -> None:
    # GIVEN complaints whose reply time falls with audience size
    obs = _observations(1, 3_000)
    # WHEN broken down by band
    bands = audience_bands(obs)
    # THEN bands come in order, every complaint is in exactly one band
    assert list(bands) == [b for b in audience_band_order() if b in bands]
    assert sum(c.n for c in bands.values()) == len(obs)
    # AND each band's median is lifelines' median of that band's data
    for band, cell in bands.items():
        mine = [o for o in obs if audience_band(o.followers) == band]
        kmf = KaplanMeierFitter().fit([o.duration_minutes for o in mine], [o.event_observed for o in mine])
        ref = kmf.median_survival_time_
        assert cell.median == (None if math.isinf(ref) else pytest.approx(ref, abs=1e-9))
    known = [bands[b].median for b in audience_band_order()[:-1] if b in bands and bands[b].n >= 100]
    assert known[0] > known[-1]


def test_hour_of_week_cells_and_margins_agree() -> None:
    obs = _observations(2, 4_000)
    cells = hours_of_week(obs)
    breakdown = hour_of_week_breakdown(tables_by(obs, lambda o: hour_of_week(o.created_at)))
    assert breakdown.cells == cells
    assert sum(c.n for c in breakdown.by_weekday.values()) == len(obs) == sum(c.n for c in breakdown.by_hour.values())
    # office hours are answered faster than the small hours in this data
    assert breakdown.by_hour[11].median < breakdown.by_hour[3].median
    assert breakdown.by_weekday["Wed"].median < breakdown.by_weekday["Sun"].median
    monday_hour_10 = [o for o in obs if o.created_at.weekday() == 0 and o.created_at.hour == 10]
    assert cells[10].n == len(monday_hour_10)
    assert cells[10].answered == sum(o.event_observed for o in monday_hour_10)
    assert set(breakdown.to_dict()) == {"hour_of_week", "by_weekday", "by_hour"}


def test_weekly_trend_per_tier() -> None:
    obs = _observations(3, 1_000)
    trend = weekly_trend(obs)
    assert set(trend) == {"ordinary", "high_profile"}
    assert list(trend["ordinary"]) == ["2024-W10", "2024-W11", "2024-W12", "2024-W13"]
    assert sum(c.n for weeks in trend.values() for c in weeks.values()) == len(obs)
    cell = trend["ordinary"]["2024-W11"]
    assert cell.answered_share == pytest.approx(cell.answered / cell.n)
