"""Archive readers against the shared recorded data, damaged files and arbitrary bytes.

Expected values are computed here independently of the reader (Python's ``csv`` and ``json``
modules over the same files, ``strptime``), never copied from its output.
"""

from __future__ import annotations

import csv
import io
import json
import os
import tracemalloc
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib.domain.models import PostKind
from chalicelib.sources import archives
from chalicelib.sources.archives import (
    ArchivedPost,
    ArchiveSummary,
    Skipped,
    SkipReason,
    company_accounts,
    iter_twarc2,
    iter_twcs,
    load_authors_file,
    parse_twcs_time,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
DERIVED_JSONL = REPO_ROOT / "tests" / "fixtures" / "archives" / "twarc2_shared_x_pages.jsonl"
TWCS_TIME = "%a %b %d %H:%M:%S %z %Y"
# (file, __twarc as rebuilt from SOURCES.md, or None where twarc did not record the page)
X_PAGES = (
    (
        "tweet_lookup_reply_with_expansions",
        "https://api.twitter.com/2/tweets?ids=1501963039859363843",
        "2.9.5",
        "2022-03-16T03:48:22+00:00",
    ),
    (
        "tweet_lookup_verified_type",
        "https://api.twitter.com/2/tweets?ids=1603823063690199040",
        "2.13.0",
        "2023-01-06T02:30:36+00:00",
    ),
    (
        "user_tweets_timeline_reply_chain_trimmed",
        "https://api.twitter.com/2/users/2351222345/tweets?max_results=100",
        "2.0.12",
        "2021-05-05T18:58:59+00:00",
    ),
    ("users_lookup_by_ids", "https://api.twitter.com/2/users", "2.7.3", "2021-10-23T19:36:18+00:00"),
    ("users_mentions_default_fields", None, None, None),
)
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def shared_dir() -> Path:
    override = os.environ.get("FAIR_REPLY_SHARED_DIR")
    return Path(override) if override else REPO_ROOT.parent / "shared"


TWCS_PATH = shared_dir() / "fixtures" / "twcs" / "twcs_first1000_rows.csv"


def x_pages() -> list[dict]:
    return [json.loads((shared_dir() / "fixtures" / "x" / f"{name}.json").read_text("utf-8")) for name, *_ in X_PAGES]


def derive() -> bytes:
    """The recipe for ``tests/fixtures/archives/twarc2_shared_x_pages.jsonl`` (see its README)."""
    lines = []
    for page, (_name, url, version, retrieved_at) in zip(x_pages(), X_PAGES, strict=True):
        if url is not None:
            page = {**page, "__twarc": {"url": url, "version": version, "retrieved_at": retrieved_at}}
        lines.append(json.dumps(page, ensure_ascii=False))
    return ("\n".join(lines) + "\n").encode("utf-8")


def twcs_rows() -> list[dict[str, str]]:
    with TWCS_PATH.open(encoding="utf-8", newline="") as fp:
        return list(csv.DictReader(fp))


def read_twcs(data: bytes, **kwargs) -> list[ArchivedPost | Skipped]:
    return list(iter_twcs(io.BytesIO(data), **kwargs))


def posts(items) -> list[ArchivedPost]:
    return [i for i in items if isinstance(i, ArchivedPost)]


# --- TWCS ------------------------------------------------------------------------------------------------


def test_twcs_every_row_matches_an_independent_csv_read():
    # GIVEN the first 1000 rows of the real data set, read independently with csv.DictReader
    expected = twcs_rows()
    summary = ArchiveSummary()

    # WHEN the reader streams the file
    with TWCS_PATH.open("rb") as fp:
        items = list(iter_twcs(fp, summary=summary))

    # THEN every record becomes one post with the same id, author, direction, time, text and parent
    assert len(expected) == 1000
    assert [type(i) for i in items] == [ArchivedPost] * 1000
    for item, row in zip(items, expected, strict=True):
        post = item.post
        assert post.post_id == row["tweet_id"]
        assert post.platform == "x"
        assert post.author.account_id == post.author.handle == row["author_id"]
        assert post.author.followers is None
        assert item.outbound is (row["inbound"] == "False")
        assert post.created_at == datetime.strptime(row["created_at"], TWCS_TIME)
        assert post.text == row["text"]
        parent = row["in_response_to_tweet_id"]
        assert post.in_reply_to_post_id == (str(int(float(parent))) if parent else None)
        assert post.kind is (PostKind.REPLY if parent else PostKind.POST)
        assert post.thread_id is None
    assert summary.read == summary.parsed == 1000
    assert summary.skipped_total == 0
    times = [datetime.strptime(r["created_at"], TWCS_TIME) for r in expected]
    assert (summary.earliest_post_at, summary.latest_post_at) == (min(times), max(times))
    assert summary.observation_horizon == max(times)


def test_twcs_hand_checked_rows():
    # GIVEN rows read off the file by eye
    with TWCS_PATH.open("rb") as fp:
        by_id = {i.post.post_id: i for i in posts(iter_twcs(fp))}

    # THEN tweet 1 is sprintcare answering tweet 3 by customer 115712
    first = by_id["1"]
    assert (first.outbound, first.post.author.handle, first.post.in_reply_to_post_id) == (True, "sprintcare", "3")
    assert first.post.created_at == datetime(2017, 10, 31, 22, 10, 47, tzinfo=UTC)
    assert first.post.mentions == ("115712",)
    # AND tweet 8 is the customer's opening complaint, addressed to @sprintcare, replying to nothing
    complaint = by_id["8"].post
    assert by_id["8"].outbound is False
    assert (complaint.kind, complaint.in_reply_to_post_id) == (PostKind.POST, None)
    assert complaint.text == "@sprintcare is the worst customer service"
    assert complaint.mentions == ("sprintcare",)
    # AND tweet 6's quoted text keeps its comma, and tweet 38's its quoted newline
    assert by_id["6"].post.text.startswith("@115712 Can you please send us a private message, so that")
    assert by_id["38"].post.text == "@115720 Have your friend message us.\n^ACM"


def test_twcs_line_numbers_point_at_the_physical_line_where_each_record_starts():
    # GIVEN a file whose texts contain quoted newlines, so records and lines differ
    lines = TWCS_PATH.read_text("utf-8").split("\n")
    assert len(lines) > 1001
    with TWCS_PATH.open("rb") as fp:
        items = posts(iter_twcs(fp))

    # THEN each record's line starts with its pandas index and tweet id
    for index, item in enumerate(items):
        assert lines[item.line_number - 1].startswith(f"{index},{item.post.post_id},")


def test_twcs_company_accounts_are_the_outbound_authors():
    expected = {r["author_id"] for r in twcs_rows() if r["inbound"] == "False"}
    with TWCS_PATH.open("rb") as fp:
        found = company_accounts(iter_twcs(fp))
    assert set(found) == expected
    assert "sprintcare" in found and "115712" not in found


def test_twcs_without_the_index_column_and_in_another_order_reads_the_same(tmp_path):
    # GIVEN the fixture rewritten without pandas' index column, columns reversed, as a text-mode file
    rows = twcs_rows()
    names = list(reversed([n for n in rows[0] if n]))
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow(names)
    writer.writerows([[r[n] for n in names] for r in rows])

    # WHEN both are read
    with TWCS_PATH.open("rb") as fp:
        original = [i.post for i in posts(iter_twcs(fp))]
    rewritten = [i.post for i in posts(iter_twcs(io.StringIO(out.getvalue(), newline="")))]

    # THEN the posts are identical
    assert rewritten == original


def test_twcs_authors_file_supplies_followers(tmp_path):
    # GIVEN an authors file, as documented, for one company and one customer (BOM and pandas floats included)
    authors_path = tmp_path / "authors.csv"
    authors_path.write_text("\ufeffauthor_id,followers,note\nsprintcare,45123,x\n115712,87.0,\n115713,,\n", "utf-8")

    # WHEN it is loaded and given to the reader
    authors = load_authors_file(authors_path)
    with TWCS_PATH.open("rb") as fp:
        by_id = {i.post.post_id: i.post for i in posts(iter_twcs(fp, authors))}

    # THEN listed authors have followers, the rest stay unknown
    assert authors == {"sprintcare": 45123, "115712": 87}
    assert by_id["1"].author.followers == 45123
    assert by_id["8"].author.followers == 87
    assert by_id["12"].author.account_id == "115713" and by_id["12"].author.followers is None


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("author_id,count\na,1\n", "header"),
        ("author_id,followers\na,many\n", "line 2"),
        ("author_id,followers\n,3\n", "line 2"),
    ],
)
def test_authors_file_rejects_what_it_cannot_use(tmp_path, content, message):
    path = tmp_path / "authors.csv"
    path.write_text(content, "utf-8")
    with pytest.raises(ValueError, match=message):
        load_authors_file(path)


def test_twcs_damaged_records_are_skipped_with_reasons_and_the_rest_survive():
    # GIVEN the fixture with five records damaged in five ways
    raw = TWCS_PATH.read_bytes()
    damaged = (
        raw.replace(b"3,4,sprintcare,False,", b"3,4,sprintcare,\xff\xfeFalse,")  # not UTF-8
        .replace(b"4,5,115712,True,", b"4,5,115712,Tr\x00ue,")  # NUL byte
        .replace(b"2,3,115712,True,Tue Oct 31", b"2,3,115712,True,Tue Xyz 31")  # bad month
        .replace(b"9,15,sprintcare,False,", b"9,15,sprintcare,maybe,")  # bad inbound
        .replace(b"11,17,sprintcare,False,", b"11,17x,sprintcare,False,")  # bad id
    )
    assert len(damaged) != len(raw)

    # WHEN it is read
    summary = ArchiveSummary()
    items = read_twcs(damaged, summary=summary)

    # THEN exactly those five are skipped, with the right reasons and ids, and the other 995 parse
    skipped = {(i.reason, i.item_id, i.line_number) for i in items if isinstance(i, Skipped)}
    assert skipped == {
        (SkipReason.NOT_UTF8, "4", 5),
        (SkipReason.NUL_BYTE, "5", 6),
        (SkipReason.BAD_CREATED_AT, "3", 4),
        (SkipReason.BAD_INBOUND, "15", 11),
        (SkipReason.BAD_ID, "17x", 13),
    }
    assert len(posts(items)) == 995
    assert summary.read == 1000 and summary.parsed == 995
    assert summary.skipped == {"not_utf8": 1, "nul_byte": 1, "bad_created_at": 1, "bad_inbound": 1, "bad_id": 1}


def test_twcs_truncated_last_record_yields_all_earlier_rows_and_one_skipped():
    raw = TWCS_PATH.read_bytes()
    cut = raw[: raw.rindex(b"@116037") + 20]  # inside the last record's text
    items = read_twcs(cut)
    assert len(posts(items)) == 999
    assert [(type(i), i.reason) for i in items[999:]] == [(Skipped, SkipReason.WRONG_FIELD_COUNT)]


def test_twcs_unrecognised_header_is_one_skip_not_an_exception():
    items = read_twcs(b"id,who,when\n1,2,3\n")
    assert items == [Skipped(SkipReason.UNRECOGNISED_HEADER, 1)]


def test_twcs_ids_are_kept_exactly_even_when_too_long_for_a_float():
    # GIVEN a record whose ids are 19-digit snowflakes in pandas' float spelling
    data = (
        b"tweet_id,author_id,inbound,created_at,text,response_tweet_id,in_response_to_tweet_id\n"
        b"1234567890123456789,someone,True,Tue Oct 31 22:10:47 +0200 2017,hi @Acme_Help's team x@y.z,,"
        b"1234567890123456781.0\n"
    )
    (item,) = read_twcs(data)
    assert item.post.post_id == "1234567890123456789"
    assert item.post.in_reply_to_post_id == "1234567890123456781"
    assert float("1234567890123456781.0") != 1234567890123456781  # why the reader must not use float
    assert item.post.created_at == datetime(2017, 10, 31, 20, 10, 47, tzinfo=UTC)
    assert item.post.mentions == ("Acme_Help",)


@given(
    st.datetimes(min_value=datetime(1000, 1, 2), max_value=datetime(9999, 12, 30)),
    st.integers(min_value=-23 * 60 - 59, max_value=23 * 60 + 59),
)
def test_twcs_time_parse_agrees_with_strptime(moment, offset_minutes):
    moment = moment.replace(microsecond=0, tzinfo=timezone(timedelta(minutes=offset_minutes)))
    text = moment.strftime(TWCS_TIME)
    assert parse_twcs_time(text) == datetime.strptime(text, TWCS_TIME)


# --- twarc2 ----------------------------------------------------------------------------------------------


def test_derived_jsonl_matches_shared_pages():
    assert DERIVED_JSONL.read_bytes() == derive()


def expected_x_posts(pages: list[dict]) -> list[tuple[str, str, int | None]]:
    """(tweet id, author username, followers) per usable tweet, straight from the JSON.

    Usable: it has a time and its author is in ``includes.users`` (without a handle a customer cannot
    be told from the company). ``data`` first, then ``includes.tweets``, each tweet once per page.
    """
    expected = []
    for page in pages:
        users = {u["id"]: u for u in page.get("includes", {}).get("users", [])}
        seen = set()
        for tweet in page.get("data", []) + page.get("includes", {}).get("tweets", []):
            user = users.get(tweet.get("author_id"))
            if user and "created_at" in tweet and tweet["id"] not in seen:
                seen.add(tweet["id"])
                expected.append((tweet["id"], user["username"], user["public_metrics"]["followers_count"]))
    return expected


def test_twarc2_posts_and_followers_match_the_pages():
    # GIVEN the shared X pages, one per line, with twarc's __twarc key
    pages = x_pages()
    summary = ArchiveSummary()

    # WHEN the JSONL is read
    with DERIVED_JSONL.open("rb") as fp:
        items = list(iter_twarc2(fp, summary=summary))

    # THEN every usable tweet is a post whose author has the followers given in includes.users
    got = [(i.post.post_id, i.post.author.handle, i.post.author.followers) for i in posts(items)]
    assert got == expected_x_posts(pages)
    assert summary.read == 5 and summary.parsed == len(got)
    assert all(i.outbound is None for i in posts(items))
    # AND each unusable tweet or user object, and each item the API reported in errors[], is one skip
    tweets_and_users = sum(len(p.get("data", [])) + len(p.get("includes", {}).get("tweets", [])) for p in pages)
    duplicates = 1  # @TwitterDev's tweet is both the page's data and its includes.tweets
    api_errors = sum(len(p.get("errors", [])) for p in pages)
    assert summary.skipped == {"missing_field": tweets_and_users - duplicates - len(got), "api_error": api_errors}
    assert api_errors == 9


def test_twarc2_reply_fields_hand_checked():
    with DERIVED_JSONL.open("rb") as fp:
        by_id = {i.post.post_id: i for i in posts(iter_twarc2(fp))}
    # Igor Brigadir's reply to Joanna Bryson's question to @Twitter (SOURCES.md)
    reply = by_id["1501963039859363843"].post
    assert (reply.author.handle, reply.author.followers, reply.kind) == ("IgorBrigadir", 2969, PostKind.REPLY)
    assert reply.in_reply_to_post_id == reply.thread_id == "1501958949863661574"
    assert reply.in_reply_to_account_id == "2919151"
    assert reply.mentions == ("j2bryson", "Twitter")
    assert reply.created_at == datetime(2022, 3, 10, 16, 47, 48, tzinfo=UTC)
    question = by_id["1501958949863661574"]
    assert question.post.author.handle == "j2bryson"
    assert by_id["1501958949863661574"].post.author.followers == 27843
    # The PhillyNEFL chain: 21:24:05 answers WhoDisTweet's 21:20:45 reply in conversation 1253788283760492544
    chain = by_id["1253796880888279046"].post
    assert chain.in_reply_to_post_id == "1253796041020919809" and chain.thread_id == "1253788283760492544"
    assert by_id["1253796041020919809"].post.author.handle == "WhoDisTweet"
    assert by_id["1253794985633333248"].post.kind is PostKind.REPOST
    assert by_id["1603823063690199040"].post.author.verified is True


def test_twarc2_flattened_tweets_read_like_pages():
    # GIVEN one tweet per line with its author embedded, as `twarc2 flatten` writes
    page = x_pages()[0]
    flat = {**page["data"][0], "author": page["includes"]["users"][0], "__twarc": {"version": "2.9.5"}}
    (item,) = list(iter_twarc2(io.BytesIO(json.dumps(flat).encode())))
    assert (item.post.post_id, item.post.author.handle, item.post.author.followers) == (
        "1501963039859363843",
        "IgorBrigadir",
        2969,
    )


def test_twarc2_bad_lines_cost_only_themselves():
    # GIVEN good pages around garbage, non-UTF-8, NUL, a non-page and a blank line (not a record, so not a
    # skip), then a truncated last line
    good = DERIVED_JSONL.read_bytes().splitlines(keepends=True)
    data = b"".join(
        [good[0], b"{not json\n", b"\xff\xfe{}\n", b'{"data": []\x00}\n', b"[1, 2]\n", b"\n", good[2], good[1][:100]]
    )
    items = list(iter_twarc2(io.BytesIO(data)))

    # THEN the good pages' posts all arrive, and each bad line is one Skipped with its line number
    assert [i.post.post_id for i in posts(items)] == [e[0] for e in expected_x_posts([x_pages()[i] for i in (0, 2)])]
    skipped = [(i.reason, i.line_number) for i in items if isinstance(i, Skipped)]
    assert skipped == [
        (SkipReason.INVALID_JSON, 2),
        (SkipReason.NOT_UTF8, 3),
        (SkipReason.NUL_BYTE, 4),
        (SkipReason.NOT_A_PAGE, 5),
        (SkipReason.API_ERROR, 7),  # the timeline page's own errors[] entry
        (SkipReason.INVALID_JSON, 8),
    ]


def test_overlong_lines_are_skipped_without_being_held_in_memory(monkeypatch):
    # GIVEN a line limit far below one real page, and a TWCS record longer than it
    monkeypatch.setattr(archives, "MAX_LINE_BYTES", 100)
    page = b'{"data": [], "meta": {"result_count": 0, "padding": "' + b"x" * 500 + b'"}}\n'
    header = b"tweet_id,author_id,inbound,created_at,text,in_response_to_tweet_id\n"
    long_record = b"1,sprintcare,False,Tue Oct 31 22:10:47 +0000 2017," + b"y" * 500 + b",3.0\n"
    short_record = b"2,115712,True,Tue Oct 31 22:11:45 +0000 2017,hi,1.0\n"

    # WHEN the readers meet them
    jsonl = list(iter_twarc2(io.BytesIO(b'{"meta": {}}\n' + page + b'{"data": 1}\n')))
    twcs = read_twcs(header + long_record + short_record)

    # THEN each costs one skip and reading carries on at the next line
    assert [(i.reason, i.line_number) for i in jsonl] == [
        (SkipReason.NO_POSTS, 1),
        (SkipReason.LINE_TOO_LONG, 2),
        (SkipReason.WRONG_TYPE, 3),
    ]
    assert [(type(i), i.line_number) for i in twcs] == [(Skipped, 2), (ArchivedPost, 3)]
    assert twcs[0].reason is SkipReason.LINE_TOO_LONG and twcs[1].post.post_id == "2"


def test_text_mode_file_that_is_not_utf8_stops_with_one_skip():
    # GIVEN a text-mode file whose decoder fails near the end (a text decoder cannot resume)
    raw = TWCS_PATH.read_bytes()
    cut = raw.index(b"\n990,")
    fp = io.TextIOWrapper(io.BytesIO(raw[:cut] + b"\n\xff\xfe" + raw[cut:]), encoding="utf-8", newline="")

    # WHEN it is read
    items = list(iter_twcs(fp))

    # THEN the records of the chunks decoded before the bad bytes arrive in order, then one skip ends the read
    expected_ids = [r["tweet_id"] for r in twcs_rows()]
    assert isinstance(items[-1], Skipped) and items[-1].reason is SkipReason.NOT_UTF8
    arrived = [i.post.post_id for i in items[:-1]]
    assert 0 < len(arrived) < 990 and arrived == expected_ids[: len(arrived)]
    # AND a file that fails at once reports that, not a bad header
    assert [i.reason for i in iter_twcs(io.TextIOWrapper(io.BytesIO(b"\xff" + raw), encoding="utf-8"))] == [
        SkipReason.NOT_UTF8
    ]


# --- never crash ---------------------------------------------------------------------------------------


def check_items(items: list, summary: ArchiveSummary) -> None:
    assert all(isinstance(i, ArchivedPost | Skipped) for i in items)
    assert summary.parsed + summary.skipped_total == len(items)


@FUZZ
@given(st.lists(st.binary(max_size=80), max_size=8))
def test_fuzz_arbitrary_bytes_never_raise(chunks):
    data = b"\n".join(chunks)
    header = b"tweet_id,author_id,inbound,created_at,text,response_tweet_id,in_response_to_tweet_id\n"
    for reader, payload in ((iter_twarc2, data), (iter_twcs, data), (iter_twcs, header + data)):
        summary = ArchiveSummary()
        check_items(list(reader(io.BytesIO(payload), summary=summary)), summary)


@FUZZ
@given(st.text(max_size=300))
def test_fuzz_arbitrary_text_files_never_raise(text):
    header = "tweet_id,author_id,inbound,created_at,text,response_tweet_id,in_response_to_tweet_id\n"
    for reader, payload in ((iter_twarc2, text), (iter_twcs, header + text)):
        summary = ArchiveSummary()
        check_items(list(reader(io.StringIO(payload), summary=summary)), summary)


twcs_fields = st.one_of(
    st.text(max_size=20),
    st.sampled_from(
        [
            "True",
            "False",
            "3.0",
            "12",
            "",
            "Tue Oct 31 22:10:47 +0000 2017",
            "Mon Jan 01 00:00:00 +2359 0001",
            "Fri Dec 31 23:59:59 -2359 9999",
            '"5,7"',
            "@sprintcare hi",
        ]
    ),
)


@FUZZ
@given(st.lists(st.lists(twcs_fields, min_size=6, max_size=9), max_size=6))
def test_fuzz_csv_shaped_records_never_raise(rows):
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow(
        [""]
        + ["tweet_id", "author_id", "inbound", "created_at", "text", "response_tweet_id", "in_response_to_tweet_id"]
    )
    writer.writerows(rows)
    summary = ArchiveSummary()
    items = read_twcs(out.getvalue().encode("utf-8", "surrogatepass"), summary=summary)
    check_items(items, summary)
    assert summary.read == len(items) == len(rows)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=10,
)
tweet_keys = st.sampled_from(
    [
        "id",
        "author_id",
        "created_at",
        "text",
        "conversation_id",
        "referenced_tweets",
        "entities",
        "in_reply_to_user_id",
        "lang",
        "username",
    ]
)
tweets = st.dictionaries(tweet_keys, json_values | st.just("2022-03-10T16:56:58.000Z"), max_size=8)
users = st.dictionaries(st.sampled_from(["id", "username", "name", "public_metrics", "verified"]), json_values)


@FUZZ
@given(
    st.lists(
        st.fixed_dictionaries(
            {},
            optional={
                "data": st.lists(tweets, max_size=3) | json_values,
                "includes": st.fixed_dictionaries(
                    {},
                    optional={
                        "users": st.lists(users, max_size=3) | json_values,
                        "tweets": st.lists(tweets, max_size=2),
                    },
                )
                | json_values,
                "meta": json_values,
            },
        ),
        max_size=4,
    )
)
def test_fuzz_page_shaped_json_never_raises(pages):
    summary = ArchiveSummary()
    data = "\n".join(json.dumps(p) for p in pages).encode()
    check_items(list(iter_twarc2(io.BytesIO(data), summary=summary)), summary)


# --- constant memory -------------------------------------------------------------------------------------


def peak_memory(reader, path: Path) -> tuple[int, int]:
    summary = ArchiveSummary()
    tracemalloc.start()
    try:
        with path.open("rb") as fp:
            for _ in reader(fp, summary=summary):
                pass
        return tracemalloc.get_traced_memory()[1], summary.parsed
    finally:
        tracemalloc.stop()


@pytest.mark.slow
def test_memory_does_not_grow_with_file_size(tmp_path):
    # GIVEN TWCS files of 2k and 20k records and JSONL files of 40 and 400 pages, made from the fixtures
    header, body = TWCS_PATH.read_bytes().split(b"\n", 1)
    page = DERIVED_JSONL.read_bytes().splitlines(keepends=True)[2]
    files = {}
    for n in (1, 10):
        files["twcs", n] = tmp_path / f"twcs{n}.csv"
        files["twcs", n].write_bytes(header + b"\n" + body * (2 * n))
        files["twarc2", n] = tmp_path / f"x{n}.jsonl"
        files["twarc2", n].write_bytes(page * (40 * n))

    # WHEN each is streamed under tracemalloc
    for name, reader in (("twcs", iter_twcs), ("twarc2", iter_twarc2)):
        small, small_posts = peak_memory(reader, files[name, 1])
        large, large_posts = peak_memory(reader, files[name, 10])

        # THEN ten times the posts costs nowhere near ten times the memory
        assert large_posts == 10 * small_posts
        assert large < 1.5 * small + 64 * 1024, (name, small, large)
        assert large < 4 * 1024 * 1024
