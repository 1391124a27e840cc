"""The one HTTP session every source shares: timeouts, retries with backoff, rate limits as values.

Retries are urllib3's ``Retry`` (exponential backoff with jitter on 5xx, timeouts and connection errors,
GET only). 429 is deliberately *not* retried and ``Retry-After`` is not slept on: sleeping in Lambda is
billed and can outlive the function, so a 429 surfaces as :class:`RateLimited` with its reset time and
the poll job pauses that one source and keeps its cursor.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from chalicelib.sources.base import RequestBudget, logger
from chalicelib.sources.errors import AuthRejected, RateLimited, SourceUnavailable, UnexpectedPayload

DEFAULT_TIMEOUT = (3.05, 20.0)  # (connect, read); connect just over a TCP retransmit window, as twarc does
USER_AGENT = "fair-reply/0.1 (+https://github.com/fair-reply/fair-reply; public complaint-response monitor)"
RESET_HEADERS = ("x-rate-limit-reset", "x-ratelimit-reset", "ratelimit-reset", "retry-after")
REMAINING_HEADERS = ("x-rate-limit-remaining", "x-ratelimit-remaining", "ratelimit-remaining")
_EPOCH_THRESHOLD = 1_000_000_000  # a bare number above this is a Unix time, below it a delay in seconds


def default_retry(*, total: int = 3, backoff_factor: float = 0.5, backoff_jitter: float = 0.5) -> Retry:
    """Retry policy: backoff_factor * 2**n (+ up to ``backoff_jitter`` s), capped at 10 s, on 5xx and timeouts."""
    return Retry(
        total=total,
        connect=total,
        read=total,
        status=total,
        backoff_factor=backoff_factor,
        backoff_jitter=backoff_jitter,
        backoff_max=10.0,
        status_forcelist=(500, 502, 503, 504),
        allowed_methods=frozenset({"GET"}),
        respect_retry_after_header=False,
        raise_on_status=False,
    )


class TimeoutHTTPAdapter(HTTPAdapter):
    """An adapter that applies default timeouts, because requests' own default is to wait forever."""

    def __init__(self, *args: Any, timeout: tuple[float, float] = DEFAULT_TIMEOUT, **kwargs: Any) -> None:
        self.timeout = timeout
        super().__init__(*args, **kwargs)

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeout
        return super().send(request, **kwargs)


def build_session(
    *,
    user_agent: str = USER_AGENT,
    retries: Retry | None = None,
    timeout: tuple[float, float] = DEFAULT_TIMEOUT,
) -> requests.Session:
    """A session for all sources; build one per run (or per warm Lambda) and hand it to each source."""
    session = requests.Session()
    adapter = TimeoutHTTPAdapter(max_retries=retries if retries is not None else default_retry(), timeout=timeout)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    session.headers["User-Agent"] = user_agent
    session.headers["Accept"] = "application/json"
    return session


def parse_reset(headers: Mapping[str, str], now: datetime) -> datetime | None:
    """When a rate-limit window reopens, from whichever header the platform sent.

    Handles X's ``x-rate-limit-reset`` (epoch seconds), Reddit's ``X-Ratelimit-Reset`` (seconds from now),
    Mastodon's ``X-RateLimit-Reset`` (ISO 8601), IETF/Bluesky ``RateLimit-Reset`` (delta or epoch) and
    ``Retry-After`` (delta seconds or HTTP-date, RFC 9110 §10.2.3). The latest of them wins.
    """
    lowered = {k.lower(): v for k, v in headers.items()}
    found = [t for name in RESET_HEADERS if (t := _parse_instant(lowered.get(name), now)) is not None]
    return max(found) if found else None


def _parse_instant(raw: str | None, now: datetime) -> datetime | None:
    if raw is None or not raw.strip():
        return None
    raw = raw.strip()
    try:
        number = float(raw)
    except ValueError:
        number = None
    if number is not None:
        if not math.isfinite(number) or number < 0:
            return None
        if number >= _EPOCH_THRESHOLD:
            return datetime.fromtimestamp(number, tz=UTC)
        return now + timedelta(seconds=number)
    try:
        parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        try:
            parsed = parsedate_to_datetime(raw)
        except (TypeError, ValueError, IndexError):
            return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _remaining(headers: Mapping[str, str]) -> float | None:
    lowered = {k.lower(): v for k, v in headers.items()}
    for name in REMAINING_HEADERS:
        raw = lowered.get(name)
        if raw is not None:
            try:
                return float(raw)
            except ValueError:
                return None
    return None


def get_json(
    session: requests.Session,
    url: str,
    params: Mapping[str, Any] | None = None,
    *,
    source: str,
    budget: RequestBudget,
    now: datetime | None = None,
    headers: Mapping[str, str] | None = None,
) -> Any:
    """GET ``url`` and return its JSON, or raise the :mod:`chalicelib.sources.errors` value for what went wrong.

    Raises
    ------
    BudgetExhausted   before sending, when the source's budget for this run is spent
    RateLimited       on 429, or before sending once a response reported an empty rate-limit window
    AuthRejected      on 401 / 403
    SourceUnavailable on timeouts / connection errors after retries, 5xx after retries, other 4xx
    UnexpectedPayload when the body is not valid JSON (truncated, HTML error page)
    """
    now = now or datetime.now(UTC)
    budget.spend(source, now)
    try:
        response = session.get(url, params=params, headers=headers)
    except requests.exceptions.ChunkedEncodingError as exc:
        raise UnexpectedPayload(source, "response body was cut off") from exc
    except requests.RequestException as exc:
        logger.warning("request failed after retries", extra={"source": source, "error": type(exc).__name__})
        raise SourceUnavailable(source, f"{type(exc).__name__} after retries") from exc
    status = response.status_code
    if status == 429:
        reset_at = parse_reset(response.headers, now)
        logger.warning("rate limited", extra={"source": source, "reset_at": reset_at.isoformat() if reset_at else None})
        raise RateLimited(source, reset_at)
    if status in (401, 403):
        raise AuthRejected(source, f"HTTP {status} from {response.url.split('?')[0]}", status=status)
    if status >= 400:
        raise SourceUnavailable(source, f"HTTP {status} from {response.url.split('?')[0]}", status=status)
    remaining = _remaining(response.headers)
    if remaining is not None and remaining < 1:
        # The window is empty: the next call would be a 429, so pause this source without spending it.
        budget.paused_until = parse_reset(response.headers, now) or now + timedelta(minutes=15)
    try:
        return json.loads(response.content)
    except ValueError as exc:
        logger.warning("invalid JSON body", extra={"source": source, "status": status})
        raise UnexpectedPayload(source, "response body is not valid JSON") from exc
