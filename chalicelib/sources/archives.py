"""Streaming readers for archive imports: twarc2 JSONL and the TWCS ("Customer Support on Twitter") CSV.

Researchers bring files of many gigabytes, collected by someone else, often damaged at the edges (a
download cut short, a line mangled by a spreadsheet). So both readers hold one record at a time,
never raise on what a file contains, and turn every record they cannot use into a :class:`Skipped`
with a reason and a line number, which the import's summary reports. Storing, attributing posts to
companies and counting what was new is the import pipeline's job, not this module's.

Formats
-------
twarc2 JSONL
    One X API v2 response page per line (``data``, ``includes.users``, ``includes.tweets``, ``meta``,
    ``errors``, and twarc's own ``__twarc`` key, which is ignored). Lines holding one tweet with an
    embedded ``author`` object (the output of ``twarc2 flatten``) are read too. Pages are normalised
    by :func:`chalicelib.sources.x.parse_x_page`, the live X parser, so both paths agree.
TWCS CSV
    Columns ``tweet_id, author_id, inbound, created_at, text, response_tweet_id,
    in_response_to_tweet_id`` in any order, found by header name, so the unnamed index column pandas
    writes in front is ignored. Company accounts are the authors of outbound rows.
Authors file
    See :func:`load_authors_file`.

Open files in binary mode (``"rb"``): then a line that is not UTF-8 costs only that record. A text
file is accepted too, but its decoder cannot resume after a decoding error, so reading stops there
with one :class:`Skipped`.
"""

from __future__ import annotations

import csv
import json
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from enum import StrEnum
from pathlib import Path
from typing import IO, Any, NamedTuple

from chalicelib.domain.models import Account, Post, PostKind
from chalicelib.sources.errors import UnexpectedPayload
from chalicelib.sources.x import parse_x_page

PLATFORM = "x"
# A page of 100 tweets with full expansions is about 1 MB; anything far larger is not a page.
MAX_LINE_BYTES = 64 * 1024 * 1024
_MAX_ITEM_ID = 64
_MAX_DETAIL = 120

# X handles are 1-15 ASCII word characters; "user@example.com" is not a mention.
_MENTION_RE = re.compile(r"(?<![A-Za-z0-9_@])@([A-Za-z0-9_]{1,15})(?![A-Za-z0-9_@])")
_MONTHS = {
    m: i
    for i, m in enumerate(("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), start=1)
}
_BOOLS = {"true": True, "false": False, "1": True, "0": False}
_TWCS_REQUIRED = ("tweet_id", "author_id", "inbound", "created_at", "text")
_PAGE_KEYS = frozenset(("data", "includes", "meta", "errors"))


class SkipReason(StrEnum):
    """Why a record or a post in it was not imported (names appear in the import summary)."""

    NOT_UTF8 = "not_utf8"
    NUL_BYTE = "nul_byte"
    LINE_TOO_LONG = "line_too_long"
    INVALID_JSON = "invalid_json"
    NOT_A_PAGE = "not_a_page"
    NO_POSTS = "no_posts"
    API_ERROR = "api_error"
    MISSING_FIELD = "missing_field"
    WRONG_TYPE = "wrong_type"
    BAD_ID = "bad_id"
    BAD_VALUE = "bad_value"
    BAD_CREATED_AT = "bad_created_at"
    BAD_INBOUND = "bad_inbound"
    MALFORMED_CSV = "malformed_csv"
    WRONG_FIELD_COUNT = "wrong_field_count"
    UNRECOGNISED_HEADER = "unrecognised_header"


@dataclass(frozen=True, slots=True)
class ArchivedPost:
    """A post read from an archive.

    ``outbound`` is True when the archive says the author is a company account (TWCS rows with
    ``inbound`` False), False when it says the author is a customer, and None when the format cannot
    tell (twarc2). twarc2 pages also yield the posts in ``includes.tweets`` (the parents a reply
    answers, quoted and retweeted posts), so a post may repeat across pages; the store's upsert by
    (platform, post id) absorbs that.
    """

    post: Post
    line_number: int
    outbound: bool | None = None


@dataclass(frozen=True, slots=True)
class Skipped:
    """A record, or one post inside it, that could not be imported, and where it is in the file.

    Unlike :class:`chalicelib.sources.base.Skipped` (one item of a live page), it carries the line
    number a researcher needs to find the record; ``detail`` names the field or the error, never
    the post's text.
    """

    reason: SkipReason
    line_number: int
    item_id: str | None = None
    detail: str = ""


ArchiveItem = ArchivedPost | Skipped


@dataclass(slots=True)
class ArchiveSummary:
    """Running totals of one archive read, filled in by the readers as they go.

    ``read`` counts records (JSONL lines, CSV records after the header). Archives are rarely in time
    order, so the earliest and latest post times are a minimum and a maximum; the latest is the
    default observation horizon, because the archive says nothing about what happened after it.
    """

    read: int = 0
    parsed: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    earliest_post_at: datetime | None = None
    latest_post_at: datetime | None = None

    def add(self, item: ArchiveItem) -> None:
        if isinstance(item, Skipped):
            self.skipped[item.reason.value] += 1
            return
        self.parsed += 1
        at = item.post.created_at
        if self.earliest_post_at is None or at < self.earliest_post_at:
            self.earliest_post_at = at
        if self.latest_post_at is None or at > self.latest_post_at:
            self.latest_post_at = at

    @property
    def skipped_total(self) -> int:
        return sum(self.skipped.values())

    @property
    def observation_horizon(self) -> datetime | None:
        return self.latest_post_at


# --- reading lines -------------------------------------------------------------------------------------


def _raw_lines(fp: IO[Any]) -> Iterator[tuple[int, str | None, SkipReason | None]]:
    """Yield ``(line_number, text, problem)`` one physical line at a time, with bounded memory.

    Bytes are decoded here rather than by a text wrapper so that one bad line costs one record: the
    text of a line that is not UTF-8 is decoded with replacement characters and flagged.
    """
    readline = fp.readline
    number = 0
    while True:
        try:
            line = readline(MAX_LINE_BYTES)
        except UnicodeDecodeError:
            yield number + 1, None, SkipReason.NOT_UTF8
            return  # a text decoder cannot resume after an error
        if not line:
            return
        number += 1
        binary = isinstance(line, bytes)
        newline = b"\n" if binary else "\n"
        if len(line) >= MAX_LINE_BYTES and not line.endswith(newline):
            while line and not line.endswith(newline):
                line = readline(MAX_LINE_BYTES)
            yield number, "\n", SkipReason.LINE_TOO_LONG
            continue
        problem = None
        if binary:
            try:
                line = line.decode("utf-8")
            except UnicodeDecodeError:
                line = line.decode("utf-8", "replace")
                problem = SkipReason.NOT_UTF8
        if "\x00" in line:
            line = line.replace("\x00", "")
            problem = problem or SkipReason.NUL_BYTE
        yield number, line, problem


def _clip(value: object) -> str | None:
    return value[:_MAX_ITEM_ID] if isinstance(value, str) and value else None


# --- twarc2 JSONL ----------------------------------------------------------------------------------------


def iter_twarc2(fp: IO[Any], *, summary: ArchiveSummary | None = None) -> Iterator[ArchiveItem]:
    """Read a twarc2 JSONL file one line (one API response page) at a time.

    Parameters
    ----------
    fp
        A file opened in binary (preferred) or text mode.
    summary
        Updated in place with every line read and every item yielded.

    Returns
    -------
    Iterator of :class:`ArchivedPost` (``outbound`` None: the format does not say who is a company) and
    :class:`Skipped`; never raises on the file's content.
    """
    for number, line, problem in _raw_lines(fp):
        if problem is None and line is not None and not line.strip():
            continue  # blank lines are not records, as in CSV
        if summary is not None:
            summary.read += 1
        for item in _twarc2_line(number, line, problem):
            if summary is not None:
                summary.add(item)
            yield item


def _twarc2_line(number: int, line: str | None, problem: SkipReason | None) -> Iterator[ArchiveItem]:
    if problem is not None or line is None:
        yield Skipped(problem or SkipReason.NOT_UTF8, number)
        return
    try:
        page = json.loads(line)
    except (ValueError, RecursionError):
        yield Skipped(SkipReason.INVALID_JSON, number)
        return
    if not isinstance(page, dict):
        yield Skipped(SkipReason.NOT_A_PAGE, number)
        return
    if "data" not in page and isinstance(page.get("id"), str) and "text" in page:
        author = page.get("author")
        page = {"data": [page], "includes": {"users": [author] if isinstance(author, dict) else []}}
    elif not _PAGE_KEYS.intersection(page):
        yield Skipped(SkipReason.NOT_A_PAGE, number)
        return
    yield from _twarc2_page(page, number)


def _twarc2_page(page: dict[str, Any], number: int) -> Iterator[ArchiveItem]:
    """Reuse the live X parser, so an archived page and a polled page become the same posts."""
    try:
        result = parse_x_page(page)
    except (UnexpectedPayload, KeyError, TypeError, ValueError, AttributeError, IndexError, OverflowError) as exc:
        yield Skipped(SkipReason.WRONG_TYPE, number, detail=type(exc).__name__)
        return
    if not result.posts and not result.skipped:
        yield Skipped(SkipReason.NO_POSTS, number)
        return
    for post in result.posts:
        yield ArchivedPost(post, number)
    for skipped in result.skipped:
        yield Skipped(_skip_reason(skipped.reason), number, _clip(skipped.item_id), skipped.reason[:_MAX_DETAIL])


def _skip_reason(x_reason: str) -> SkipReason:
    """Fold the X parser's free-text reasons into the summary's few categories (the text stays as detail)."""
    if not x_reason.startswith("malformed"):
        return SkipReason.API_ERROR  # an ``errors[]`` entry: a referenced item deleted, withheld or protected
    if "KeyError" in x_reason:
        return SkipReason.MISSING_FIELD
    if "ValueError" in x_reason:
        return SkipReason.BAD_VALUE
    return SkipReason.WRONG_TYPE


def _text_mentions(text: str) -> tuple[str, ...]:
    if "@" not in text:
        return ()
    return tuple(dict.fromkeys(_MENTION_RE.findall(text)))


# --- TWCS CSV --------------------------------------------------------------------------------------------


class _CsvLines:
    """Feed ``csv.reader`` decoded lines, remembering any problem met since the last record.

    ``csv.reader`` pulls exactly the lines of one record before returning it, so a problem flagged
    while it read belongs to the record it returns next.
    """

    __slots__ = ("_lines", "problem")

    def __init__(self, fp: IO[Any]) -> None:
        self._lines = _raw_lines(fp)
        self.problem: SkipReason | None = None

    def __iter__(self) -> Iterator[str]:
        for _number, line, problem in self._lines:
            if problem is not None:
                self.problem = self.problem or problem
            if line is None:
                return
            yield line


def iter_twcs(
    fp: IO[Any],
    authors: Mapping[str, int] | None = None,
    *,
    summary: ArchiveSummary | None = None,
) -> Iterator[ArchiveItem]:
    """Read a TWCS CSV one record at a time.

    Parameters
    ----------
    fp
        A file opened in binary (preferred) or text mode; the first record is the header.
    authors
        Follower counts by ``author_id`` (see :func:`load_authors_file`). TWCS carries no audience
        size, so without it every author's ``followers`` is None and complaints get tier unknown.
    summary
        Updated in place with every record read and every item yielded.

    Returns
    -------
    Iterator of :class:`ArchivedPost`, with ``outbound`` True for company accounts (``inbound`` False), and
    :class:`Skipped`. ``thread_id`` is None: the pipeline finds roots by following reply links.
    """
    records = _csv_records(fp)
    header = next(records, None)
    columns = _twcs_columns(header[1]) if header is not None and header[2] is None and header[1] else None
    if columns is None:
        if header is not None:
            item: ArchiveItem = Skipped(header[2] or SkipReason.UNRECOGNISED_HEADER, header[0])
            if summary is not None:
                summary.add(item)
            yield item
        return
    id_column, width = columns.tweet_id, columns.width
    for line, row, problem in records:
        if row == [] and problem is None:
            continue
        if problem is not None:
            item = Skipped(problem, line, _clip(row[id_column]) if row and len(row) == width else None)
        elif row is None:
            item = Skipped(SkipReason.MALFORMED_CSV, line)
        else:
            item = _twcs_row(row, columns, authors, line)
        if summary is not None:
            summary.read += 1
            summary.add(item)
        yield item


def _csv_records(fp: IO[Any]) -> Iterator[tuple[int, list[str] | None, SkipReason | None]]:
    """Yield ``(first_line, fields, problem)`` per CSV record; fields is None where ``csv`` gave up."""
    lines = _CsvLines(fp)
    reader = csv.reader(lines)
    end = 0
    while True:
        start = end + 1
        try:
            row: list[str] | None = next(reader)
        except StopIteration:
            if lines.problem is not None:  # the text decoder failed and ended the file
                yield start, None, lines.problem
            return
        except csv.Error:
            row = None
        end = reader.line_num
        problem, lines.problem = lines.problem, None
        yield start, row, problem


class _Columns(NamedTuple):
    """Positions of the TWCS fields in this file's records; ``parent`` is -1 when the column is absent."""

    tweet_id: int
    author_id: int
    inbound: int
    created_at: int
    text: int
    parent: int
    width: int


def _twcs_columns(header: list[str]) -> _Columns | None:
    """Find the fields by header name, so column order and pandas' unnamed index column do not matter."""
    names = [h.strip().lstrip("\ufeff") for h in header]
    if len(set(names)) != len(names) or not all(n in names for n in _TWCS_REQUIRED):
        return None
    at = {n: i for i, n in enumerate(names)}
    return _Columns(*(at[n] for n in _TWCS_REQUIRED), at.get("in_response_to_tweet_id", -1), len(names))


def _twcs_row(row: list[str], columns: _Columns, authors: Mapping[str, int] | None, line: int) -> ArchiveItem:
    if len(row) != columns.width:
        return Skipped(SkipReason.WRONG_FIELD_COUNT, line, detail=f"{len(row)} fields, header has {columns.width}")
    raw_id = row[columns.tweet_id]
    tweet_id = _integer_id(raw_id)
    if tweet_id is None:
        return Skipped(SkipReason.BAD_ID, line, _clip(raw_id), "tweet_id")
    author_id = row[columns.author_id].strip()
    if not author_id:
        return Skipped(SkipReason.MISSING_FIELD, line, tweet_id, "author_id")
    inbound = _BOOLS.get(row[columns.inbound].strip().lower())
    if inbound is None:
        return Skipped(SkipReason.BAD_INBOUND, line, tweet_id, "inbound")
    created_at = parse_twcs_time(row[columns.created_at])
    if created_at is None:
        return Skipped(SkipReason.BAD_CREATED_AT, line, tweet_id, "created_at")
    parent_id = None
    if columns.parent >= 0 and row[columns.parent].strip():
        parent_id = _integer_id(row[columns.parent])
        if parent_id is None:
            return Skipped(SkipReason.BAD_ID, line, tweet_id, "in_response_to_tweet_id")
    text = row[columns.text]
    author = Account(
        platform=PLATFORM,
        account_id=author_id,
        handle=author_id,
        followers=authors.get(author_id) if authors is not None else None,
    )
    post = Post(
        platform=PLATFORM,
        post_id=tweet_id,
        author=author,
        created_at=created_at,
        text=text,
        kind=PostKind.REPLY if parent_id is not None else PostKind.POST,
        in_reply_to_post_id=parent_id,
        mentions=_text_mentions(text),
    )
    return ArchivedPost(post, line, outbound=not inbound)


def _integer_id(value: str) -> str | None:
    """``"3"`` and pandas' float spelling ``"3.0"`` are both id 3; anything else is not an id.

    Done on the text, not through ``float``, which would round 19-digit ids.
    """
    value = value.strip()
    if value.endswith(".0"):
        value = value[:-2]
    if not (value.isascii() and value.isdigit()):
        return None
    return value.lstrip("0") or "0"


def parse_twcs_time(value: str) -> datetime | None:
    """Parse Twitter's v1.1 ``"Tue Oct 31 22:10:47 +0000 2017"`` into aware UTC, or None.

    Hand-parsed because ``strptime`` is several times slower and this runs once per record; the
    weekday is not checked, as ``strptime`` does not check it either.
    """
    parts = value.split()
    if len(parts) != 6:
        return None
    _weekday, month_name, day, clock, offset, year = parts
    month = _MONTHS.get(month_name)
    if (
        month is None
        or len(clock) != 8
        or clock[2] != ":"
        or clock[5] != ":"
        or len(offset) != 5
        or offset[0] not in "+-"
        or len(year) != 4
        or not 1 <= len(day) <= 2
    ):
        return None
    digits = day + clock[:2] + clock[3:5] + clock[6:] + offset[1:] + year
    if not (digits.isascii() and digits.isdigit()):
        return None
    try:
        tz = UTC
        if offset != "+0000" and offset != "-0000":
            delta = timedelta(hours=int(offset[1:3]), minutes=int(offset[3:]))
            tz = timezone(-delta if offset[0] == "-" else delta)
        parsed = datetime(int(year), month, int(day), int(clock[:2]), int(clock[3:5]), int(clock[6:]), tzinfo=tz)
        return parsed if tz is UTC else parsed.astimezone(UTC)
    except (ValueError, OverflowError):
        return None


# --- helpers for the import pipeline -----------------------------------------------------------------------


def load_authors_file(path: str | Path) -> dict[str, int]:
    """Read follower counts for an archive that has none (TWCS).

    The file is a UTF-8 CSV with a header row naming at least ``author_id`` and ``followers`` (or
    ``followers_count``); other columns are ignored::

        author_id,followers
        sprintcare,45123
        115712,87

    ``followers`` is a whole number (``"87.0"`` as pandas writes it is accepted); an empty value
    means unknown and the author is left out. Unlike an archive, this file is small and written by
    the researcher, so a bad row is an error to fix rather than a record to skip.

    Raises
    ------
    ValueError
        Naming the file and the first rows that are wrong.
    """
    path = Path(path)
    followers: dict[str, int] = {}
    problems: list[str] = []
    try:
        _read_authors(path, followers, problems)
    except (csv.Error, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: not a UTF-8 CSV file: {exc}") from exc
    if problems:
        raise ValueError(
            f"{path}: bad rows (author_id must be set, followers a whole number):\n  " + "\n  ".join(problems)
        )
    return followers


def _read_authors(path: Path, followers: dict[str, int], problems: list[str]) -> None:
    with path.open(encoding="utf-8-sig", newline="") as fp:
        reader = csv.DictReader(fp)
        fields = reader.fieldnames or []
        column = "followers" if "followers" in fields else "followers_count"
        if "author_id" not in fields or column not in fields:
            raise ValueError(f"{path}: header must name 'author_id' and 'followers'; found {fields}")
        for row in reader:
            author_id, raw = (row.get("author_id") or "").strip(), (row.get(column) or "").strip()
            if not raw:
                continue
            count = _integer_id(raw)
            if not author_id or count is None:
                problems.append(f"line {reader.line_num}: author_id={author_id!r} followers={raw!r}")
                if len(problems) == 10:
                    break
                continue
            followers[author_id] = int(count)


def company_accounts(items: Iterable[ArchiveItem]) -> dict[str, Account]:
    """Company accounts the archive reveals (authors of outbound posts), for ``--all-companies``.

    Meant for a first pass over the file, so that the registry knows every company before the
    import pass attributes complaints; memory grows with the number of companies, not of posts.
    """
    found: dict[str, Account] = {}
    for item in items:
        if isinstance(item, ArchivedPost) and item.outbound:
            found.setdefault(item.post.author.account_id, item.post.author)
    return found
