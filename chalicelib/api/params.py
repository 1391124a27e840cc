"""Query-parameter validation: every bad value becomes a 400 that names its parameter, never a 500.

Parsers take the raw ``query_params`` mapping (``None`` when the request has none, as Chalice passes it)
and return plain values; they hold every limit the OpenAPI document advertises, so the two agree.

Every API request imports this module on a cold start, so it defines no dataclass (building one executes
generated code, about a millisecond) and compiles no pattern until one is needed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from chalicelib.api.errors import BadParameter

WINDOWS: tuple[str, ...] = ("7d", "30d", "90d", "all")
WINDOW_DAYS: dict[str, int | None] = {"7d": 7, "30d": 30, "90d": 90, "all": None}
DEFAULT_WINDOW = "30d"
PLATFORM_CHOICES: tuple[str, ...] = ("all", "x", "mastodon", "bluesky", "reddit")
TIER_CHOICES: tuple[str, ...] = ("ordinary", "notable", "high_profile", "unknown")
FORMATS: tuple[str, ...] = ("json", "csv")
SORTS: tuple[str, ...] = ("rank", "name", "slug", "ratio", "complaints", "median_ordinary", "median_high_profile")
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
MAX_CURSOR_LENGTH = 512
#: Dates outside these years are refused: no complaint predates social media, and far-off years overflow.
MIN_YEAR, MAX_YEAR = 2000, 2100
SLUG_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
MAX_SLUG_LENGTH = 64

Query = Mapping[str, str] | None


class Period(NamedTuple):
    """What to compute: a named window (served from snapshots) or an explicit since/until range."""

    window: str
    since: datetime | None = None
    until: datetime | None = None

    @property
    def explicit(self) -> bool:
        return self.since is not None or self.until is not None

    @property
    def label(self) -> str:
        """The public name of the period: the window, or an ISO 8601 interval for an explicit range."""
        if not self.explicit:
            return self.window
        start = self.since.isoformat() if self.since else ".."
        end = self.until.isoformat() if self.until else ".."
        return f"{start}/{end}"


def _get(query: Query, name: str) -> str | None:
    if not query:
        return None
    value = query.get(name)
    return None if value is None else str(value)


def _choice(query: Query, name: str, choices: tuple[str, ...], default: str | None) -> str | None:
    raw = _get(query, name)
    if raw is None or raw == "":
        return default
    if raw not in choices:
        raise BadParameter(f"{name}={raw!r}: must be one of {', '.join(choices)}", name)
    return raw


def window(query: Query) -> str:
    return _choice(query, "window", WINDOWS, DEFAULT_WINDOW) or DEFAULT_WINDOW


def platform(query: Query) -> str | None:
    """``None`` means every platform (each listed separately, plus ``all`` for them together)."""
    return _choice(query, "platform", PLATFORM_CHOICES, None)


def tier(query: Query) -> str | None:
    return _choice(query, "tier", TIER_CHOICES, None)


def sort(query: Query, default: str = "rank") -> str:
    raw = _get(query, "sort") or default
    if raw.lstrip("-") not in SORTS:
        raise BadParameter(f"sort={raw!r}: must be one of {', '.join(SORTS)}, optionally prefixed by '-'", "sort")
    return raw


def answered(query: Query) -> bool | None:
    raw = _get(query, "answered")
    if raw is None or raw == "":
        return None
    lowered = raw.lower()
    if lowered in ("true", "1", "yes"):
        return True
    if lowered in ("false", "0", "no"):
        return False
    raise BadParameter(f"answered={raw!r}: must be true or false", "answered")


def limit(query: Query) -> int:
    raw = _get(query, "limit")
    if raw is None or raw == "":
        return DEFAULT_LIMIT
    if not re.fullmatch(r"[0-9]{1,6}", raw) or not 1 <= int(raw) <= MAX_LIMIT:
        raise BadParameter(f"limit={raw!r}: must be a whole number from 1 to {MAX_LIMIT}", "limit")
    return int(raw)


def cursor(query: Query) -> str | None:
    raw = _get(query, "cursor")
    if raw is None or raw == "":
        return None
    if len(raw) > MAX_CURSOR_LENGTH or not re.fullmatch(r"[A-Za-z0-9_-]+", raw):
        raise BadParameter("cursor: not a cursor issued by this API; restart without one", "cursor")
    return raw


def date(query: Query, name: str) -> datetime | None:
    """ISO 8601 date (``2024-05-01``, midnight UTC) or date-time; a time without offset is taken as UTC."""
    raw = _get(query, name)
    if raw is None or raw == "":
        return None
    text = raw.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        value = datetime.fromisoformat(text)
    except ValueError as exc:
        raise BadParameter(f"{name}={raw!r}: must be an ISO 8601 date or date-time, e.g. 2024-05-01", name) from exc
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        raise BadParameter(f"{name}={raw!r}: must be between the years {MIN_YEAR} and {MAX_YEAR}", name)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError as exc:  # pragma: no cover - excluded by the year bounds above
        raise BadParameter(f"{name}={raw!r}: out of range", name) from exc


def period(query: Query, *, max_days: int | None = None) -> Period:
    """The window, or the explicit ``since``/``until`` range, which takes precedence when given."""
    name = window(query)
    since, until = date(query, "since"), date(query, "until")
    if since is not None and until is not None and since >= until:
        raise BadParameter("since: must be earlier than until", "since")
    if max_days is not None and since is not None and until is not None and until - since > timedelta(days=max_days):
        raise BadParameter(f"since: the range may span at most {max_days} days", "since")
    return Period(window=name, since=since, until=until)


def output_format(query: Query, accept: str | None) -> str:
    """``format`` wins; otherwise ``Accept: text/csv`` asks for CSV; JSON is the default."""
    chosen = _choice(query, "format", FORMATS, None)
    if chosen is not None:
        return chosen
    return "csv" if accept and "text/csv" in accept.lower() else "json"


def slug(value: str) -> str:
    """A path slug that cannot name a company is simply not found (404), not a bad request."""
    from chalicelib.api.errors import NotFound

    if not value or len(value) > MAX_SLUG_LENGTH or not re.match(SLUG_PATTERN, value):
        raise NotFound(f"no company {value[:80]!r}", "slug")
    return value
