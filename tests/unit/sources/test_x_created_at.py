"""The X parser's fast path for ``created_at`` gives what the general ISO-8601 parser gives, or defers to it."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from chalicelib.sources.base import parse_time
from chalicelib.sources.x import _parse_created_at


def _outcome(parse, value):
    try:
        parsed = parse(value)
    except (ValueError, TypeError) as exc:
        return type(exc)
    return parsed, parsed.tzinfo, parsed.utcoffset()


@given(st.datetimes(min_value=datetime(1000, 1, 1), max_value=datetime(9999, 12, 31)))
def test_x_timestamps_parse_as_the_general_parser_parses_them(when):
    # GIVEN a timestamp in the form X writes  THEN the fast path and parse_time agree exactly
    value = when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"
    assert _outcome(_parse_created_at, value) == _outcome(parse_time, value)
    assert _parse_created_at(value).tzinfo is UTC


@given(st.text(alphabet="0123456789-:TZ.+ ", min_size=20, max_size=26))
def test_near_misses_parse_or_fail_as_the_general_parser_does(value):
    assert _outcome(_parse_created_at, value) == _outcome(parse_time, value)
