"""``import``: archives in, complaints out, checked against an independent reading of the same file.

The independent computation below reads the TWCS sample with the ``csv`` module and applies the pairing
rules of the methodology directly (threads by reply links; a customer's first post in a thread that
mentions the brand or answers a brand post is the complaint; the brand's earliest later post answering
that customer, through any chain of brand posts, is its first reply). It shares no code with the importer.
"""

from __future__ import annotations

import csv
import re
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from chalicelib import cli, runtime
from chalicelib.domain.classify import classify_inbound
from chalicelib.domain.models import Category, Complaint
from chalicelib.jobs.importer import (
    ArchiveImportError,
    archive_source,
    discovered_companies,
    import_archive,
)
from chalicelib.registry import parse_registry
from chalicelib.store.sqlite import SQLiteStore
from tests.conftest import REPO_ROOT, shared_dir

TWCS = shared_dir() / "fixtures" / "twcs" / "twcs_first1000_rows.csv"
TWARC2 = REPO_ROOT / "tests" / "fixtures" / "archives" / "twarc2_shared_x_pages.jsonl"
BRANDS = {"sprint": "sprintcare", "spectrum": "Ask_Spectrum", "verizon": "VerizonSupport",
          "playstation": "AskPlayStation", "chipotle": "ChipotleTweets", "apple": "AppleSupport"}
REGISTRY_TOML = "".join(
    f'[companies.{slug}]\nname = "{handle}"\n[companies.{slug}.handles]\nx = ["{handle}"]\n'
    for slug, handle in BRANDS.items()
)
REGISTRY = parse_registry({"companies": {s: {"name": h, "handles": {"x": [h]}} for s, h in BRANDS.items()}})
NOW = datetime(2026, 1, 1, tzinfo=UTC)


# --- the independent reading ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    tweet_id: str
    author: str
    outbound: bool
    at: datetime
    text: str
    parent: str | None


def read_twcs(path: Path) -> dict[str, Row]:
    rows = {}
    with path.open(encoding="utf-8", newline="") as fp:
        for r in csv.DictReader(fp):
            parent = r["in_response_to_tweet_id"].removesuffix(".0") or None
            at = datetime.strptime(r["created_at"], "%a %b %d %H:%M:%S %z %Y")
            rows[r["tweet_id"]] = Row(r["tweet_id"], r["author_id"], r["inbound"] == "False", at, r["text"], parent)
    return rows


@dataclass(frozen=True)
class Expected:
    complaint: Row
    first_reply: Row | None

    @property
    def delay_seconds(self) -> float | None:
        return None if self.first_reply is None else (self.first_reply.at - self.complaint.at).total_seconds()


def expected_complaints(rows: dict[str, Row], brand: str) -> dict[str, Expected]:
    """Complaints to ``brand`` and their first replies, straight from the rows."""

    def is_brand(row: Row) -> bool:
        return row.author.casefold() == brand.casefold()

    def root(row: Row) -> str:
        while row.parent is not None:
            if row.parent not in rows:
                return row.parent
            row = rows[row.parent]
        return row.tweet_id

    threads: dict[str, list[Row]] = defaultdict(list)
    for row in rows.values():
        threads[root(row)].append(row)
    result: dict[str, Expected] = {}
    for thread in threads.values():
        thread.sort(key=lambda r: (r.at, int(r.tweet_id)))
        first: dict[str, Row] = {}
        for row in thread:
            mentions = {m.casefold() for m in re.findall(r"@(\w+)", row.text)}
            answers_brand = row.parent in rows and is_brand(rows[row.parent])
            if not is_brand(row) and row.author not in first and (brand.casefold() in mentions or answers_brand):
                first[row.author] = row
        replies: dict[str, Row] = {}
        for row in thread:
            if not is_brand(row) or row.parent is None:
                continue
            asked = rows.get(row.parent)
            while asked is not None and is_brand(asked):
                asked = rows.get(asked.parent or "")
            complaint = first.get(asked.author) if asked is not None else None
            if complaint is not None and row.at > complaint.at and complaint.tweet_id not in replies:
                replies[complaint.tweet_id] = row  # thread is in time order: the first one is the earliest
        for complaint in first.values():
            result[complaint.tweet_id] = Expected(complaint, replies.get(complaint.tweet_id))
    return result


def stored(store: SQLiteStore, company: str) -> dict[str, Complaint]:
    found: dict[str, Complaint] = {}
    cursor = None
    while True:
        page = store.list_complaints(company, limit=1000, cursor=cursor)
        found.update((c.post_id, c) for c in page.items)
        if (cursor := page.next_cursor) is None:
            return found


@pytest.fixture
def store(tmp_path: Path):
    s = SQLiteStore(tmp_path / "import.sqlite3")
    yield s
    s.close()


@pytest.fixture
def registry_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The brands' registry for the CLI, and only this module's verb (other verbs' modules are not ours)."""
    path = tmp_path / "brands.toml"
    path.write_text(REGISTRY_TOML, encoding="utf-8")
    monkeypatch.setenv("FAIR_REPLY_COMPANIES", str(path))
    monkeypatch.setattr(cli, "VERB_MODULES", ("chalicelib.jobs.importer",))
    runtime.reset()
    return path


# --- TWCS ------------------------------------------------------------------------------------------------------


def test_twcs_sample_matches_an_independent_computation(store: SQLiteStore) -> None:
    # GIVEN the TWCS sample and a registry naming six of its brands
    rows = read_twcs(TWCS)
    # WHEN it is imported
    report = import_archive(TWCS, fmt="twcs", store=store, companies=REGISTRY, batch_size=97)
    # THEN every record is read and imported, none skipped, under the archive's own source key
    assert report.source == archive_source(TWCS) and report.source.startswith("archive:")
    assert (report.read, report.imported, report.new_posts, report.skipped_total) == (len(rows), len(rows), len(rows), 0)
    for slug, handle in BRANDS.items():
        expected = expected_complaints(rows, handle)
        got = stored(store, slug)
        # THEN the same posts are complaints, answered by the same replies after the same delays
        assert set(got) == set(expected), slug
        for post_id, exp in expected.items():
            c = got[post_id]
            assert c.source == report.source
            assert (c.first_reply.post_id if c.first_reply else None) == (exp.first_reply.tweet_id if exp.first_reply else None)
            if exp.first_reply is not None:
                assert (c.first_reply.created_at - c.created_at).total_seconds() == exp.delay_seconds
        # THEN the summary's per-company numbers agree (category by the classifier, unit-tested elsewhere)
        complaints = [e for e in expected.values() if classify_inbound(e.complaint.text) == Category.COMPLAINT]
        tally = report.companies.get(slug)
        if not expected:
            assert tally is None
            continue
        assert tally.inbound == len(expected)
        assert tally.complaints == len(complaints)
        assert tally.answered == sum(e.first_reply is not None for e in complaints)
        assert tally.tiers == {"unknown": len(complaints)}  # TWCS has no audience sizes
    # THEN the sample is not trivial: several brands have complaints, answered and unanswered ones
    playstation = expected_complaints(rows, BRANDS["playstation"]).values()
    delays = [e.delay_seconds for e in playstation if e.delay_seconds is not None]
    assert len(report.companies) >= 4 and len(delays) >= 10 and len(delays) < len(playstation)
    stored_delays = [(c.first_reply.created_at - c.created_at).total_seconds()
                     for c in stored(store, "playstation").values() if c.first_reply]
    assert statistics.median(stored_delays) == statistics.median(delays)


def test_twcs_horizon_is_the_latest_post_and_re_running_counts_nothing_twice(store: SQLiteStore) -> None:
    # GIVEN the sample imported once
    rows = read_twcs(TWCS)
    first = import_archive(TWCS, fmt="twcs", store=store, companies=REGISTRY)
    before = {slug: store.changed_complaints(slug) for slug in BRANDS}
    # WHEN it is imported again
    again = import_archive(TWCS, fmt="twcs", store=store, companies=REGISTRY)
    # THEN nothing is new, no complaint changed, and the summary's counts are the same
    assert again.new_posts == 0 and first.new_posts == len(rows)
    assert {slug: store.changed_complaints(slug) for slug in BRANDS} == before
    assert again.companies == first.companies
    # THEN each company with complaints is observed until the archive's latest post, under the archive's key
    latest = max(r.at for r in rows.values())
    assert first.horizon == latest and again.source == first.source
    for slug in first.companies:
        assert store.get_horizons(slug) == {first.source: latest}


def test_observed_until_is_recorded_and_an_early_one_is_warned_about(store: SQLiteStore) -> None:
    # GIVEN an explicit end of observation a week after the archive's last post
    later = datetime(2017, 12, 9, tzinfo=UTC)
    report = import_archive(TWCS, fmt="twcs", store=store, companies=REGISTRY, observed_until=later)
    # THEN it is the horizon, with no warning
    assert report.horizon == later and report.warnings == ()
    assert store.get_horizons("playstation") == {report.source: later}
    # WHEN another import claims observation ended before the archive's last post
    early = datetime(2017, 10, 1, tzinfo=UTC)
    report = import_archive(TWCS, fmt="twcs", store=store, companies=REGISTRY, observed_until=early)
    # THEN the summary warns that later posts and replies are out of the measurement
    assert report.horizon == early
    assert any("before the archive's latest post" in w for w in report.warnings)
    # THEN the later horizon already stored is kept, and the summary says so
    assert store.get_horizons("playstation") == {report.source: later}
    assert any("never move back" in w for w in report.warnings)


def test_all_companies_registers_every_outbound_author(store: SQLiteStore) -> None:
    # GIVEN an empty registry
    rows = read_twcs(TWCS)
    outbound = {r.author for r in rows.values() if r.outbound}
    # WHEN the sample is imported with --all-companies
    report = import_archive(TWCS, fmt="twcs", store=store, companies={}, all_companies=True, now=NOW)
    # THEN every outbound author is a registered company, kept in the store for the API
    discovered = discovered_companies(store)
    assert {h for c in discovered.values() for h in c.handles["x"]} == outbound
    assert set(report.registered) == set(discovered)
    # THEN their complaints are those an independent reading finds
    sprint = next(c for c in discovered.values() if c.handles["x"] == ("sprintcare",))
    assert set(stored(store, sprint.slug)) == set(expected_complaints(rows, "sprintcare"))
    # WHEN it is imported again with the brands' registry: nothing new is registered, the file wins
    again = import_archive(TWCS, fmt="twcs", store=store, companies=REGISTRY, all_companies=True, now=NOW)
    assert again.registered == ()
    merged = discovered_companies(store, registry=REGISTRY)
    assert not {h for c in merged.values() for h in c.handles["x"]} & set(BRANDS.values())
    assert len(merged) == len(outbound) - len(BRANDS)


def test_progress_reports_bytes_up_to_the_file_size(store: SQLiteStore) -> None:
    seen: list[tuple[str, int]] = []
    import_archive(TWCS, fmt="twcs", store=store, companies=REGISTRY, all_companies=True,
                   progress=lambda phase, at: seen.append((phase, at)), now=NOW)
    for phase in ("digest", "scan", "import"):
        positions = [at for p, at in seen if p == phase]
        assert positions == sorted(positions) and positions[-1] == TWCS.stat().st_size


# --- twarc2 ----------------------------------------------------------------------------------------------------


def test_twarc2_pages_import_with_tiers_from_follower_counts(store: SQLiteStore) -> None:
    # GIVEN the recorded X pages as twarc2 writes them, and PhillyNEFL and Twitter as companies
    registry = parse_registry({"companies": {
        "philly": {"name": "PhillyNEFL", "handles": {"x": ["PhillyNEFL"]}},
        "twitter": {"name": "Twitter", "handles": {"x": ["Twitter"]}},
    }})
    # WHEN imported
    report = import_archive(TWARC2, fmt="twarc2", store=store, companies=registry)
    # THEN the documented chain (SOURCES.md): @WhoDisTweet's post at 20:49:55 answered by PhillyNEFL at 21:08:02
    complaint = store.get_complaint("x", "1253788283760492544")
    assert complaint is not None and complaint.company == "philly" and complaint.source == report.source
    assert complaint.first_reply is not None and complaint.first_reply.post_id == "1253792843128283136"
    assert (complaint.first_reply.created_at - complaint.created_at).total_seconds() == 18 * 60 + 7
    # THEN tiers follow the authors' follower counts in the pages (236 → ordinary; 27,843 → notable)
    assert complaint.tier == "ordinary" and complaint.followers == 236
    assert store.get_complaint("x", "1501958949863661574").tier == "notable"
    # THEN the users-lookup page's items are reported as skipped, and the horizon is the latest post
    assert report.read == 5 and report.skipped_total > 0 and "missing_field" in report.skipped
    assert report.horizon == datetime(2022, 12, 16, 18, 43, 10, tzinfo=UTC)


# --- the command line ------------------------------------------------------------------------------------------


def test_cli_imports_with_an_authors_file_and_tiers_follow_the_thresholds(
    registry_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN follower counts for most inbound authors, and custom tier thresholds
    rows = read_twcs(TWCS)
    inbound_authors = sorted({r.author for r in rows.values() if not r.outbound})
    followers = {a: (10, 700, 50_000)[i % 3] for i, a in enumerate(inbound_authors) if i % 4}
    authors = tmp_path / "authors.csv"
    authors.write_text("author_id,followers\n" + "".join(f"{a},{n}\n" for a, n in followers.items()))
    monkeypatch.setenv("FAIR_REPLY_NOTABLE_FOLLOWERS", "500")
    monkeypatch.setenv("FAIR_REPLY_HIGH_PROFILE_FOLLOWERS", "10000")
    runtime.reset()
    # WHEN imported through the CLI
    code = cli.main(["import", "--format", "twcs", str(TWCS), "--authors", str(authors)])
    # THEN it succeeds with a summary, and each complaint's tier follows its author's count
    out = capsys.readouterr().out
    assert code == 0 and "posts imported" in out and "playstation" in out
    store = runtime.store()
    tiers = Counter()
    for slug in BRANDS:
        for c in stored(store, slug).values():
            n = followers.get(c.author_id)
            want = "unknown" if n is None else "ordinary" if n < 500 else "notable" if n < 10_000 else "high_profile"
            assert (c.tier, c.followers) == (want, n)
            tiers[want] += 1
    assert len(tiers) == 4  # the sample exercises every tier


def test_cli_re_run_prints_no_new_posts(registry_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["import", "--format", "twcs", str(TWCS), "--observed-until", "2017-12-09T00:00:00Z"]) == 0
    capsys.readouterr()
    assert cli.main(["import", "--format", "twcs", str(TWCS)]) == 0
    out = capsys.readouterr().out
    assert "(0 new)" in out and archive_source(TWCS) in out
    assert runtime.store().get_horizons("sprint") == {archive_source(TWCS): datetime(2017, 12, 9, tzinfo=UTC)}


def test_cli_all_companies_works_without_a_registry_file(
    registry_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("FAIR_REPLY_COMPANIES", str(tmp_path / "absent.toml"))
    runtime.reset()
    assert cli.main(["import", "--format", "twcs", str(TWCS), "--all-companies"]) == 0
    assert "registered" in capsys.readouterr().out
    assert "sprintcare" in discovered_companies(runtime.store())


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--format", "twcs", "missing.csv"], "no such file"),
        (["--format", "json", str(TWCS)], "unknown --format"),
        (["--format", "twcs", str(TWCS), "--observed-until", "last tuesday"], "--observed-until"),
        (["--format", "twarc2", str(TWARC2), "--all-companies"], "--all-companies needs --format twcs"),
        (["--format", "twarc2", str(TWARC2), "--authors", str(TWCS)], "--authors applies to --format twcs"),
        (["--format", "twcs", str(TWCS), "--authors", "missing.csv"], "no such file"),
        (["--format", "twcs", str(TWCS), "--authors", "BAD"], "author_id"),
    ],
)
def test_cli_bad_input_is_one_error_line_and_exit_2(
    registry_env: Path, tmp_path: Path, args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad_authors.csv"
    bad.write_text("author_id,followers\n115712,many\n")
    args = [str(bad) if a == "BAD" else a for a in args]
    assert cli.main(["import", *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err


def test_discovered_companies_is_empty_before_any_discovery(store: SQLiteStore) -> None:
    assert discovered_companies(store) == {}
    with pytest.raises(ArchiveImportError):
        import_archive(TWCS, fmt="twcs", store=store, companies=REGISTRY, batch_size=0)
