"""Each benchmark's measuring function runs on tiny sizes and returns what its table needs (no timing asserts)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import aggregate_history, api, cold_start, ingest, survival_km
from bench.archive_gen import write_twarc2_archive
from bench.common import replace_section


def test_generated_archive_is_parsed_by_the_archive_reader_into_complaints_and_replies(tmp_path: Path) -> None:
    # GIVEN a small generated twarc2 archive
    from chalicelib.sources.archives import ArchivedPost, iter_twarc2

    archive = write_twarc2_archive(tmp_path / "a.jsonl", 450, companies=3)

    # WHEN the real archive reader reads it
    with archive.path.open("rb") as fp:
        items = list(iter_twarc2(fp))

    # THEN every post parses, pages hold at most 100 posts, and threads have company replies
    posts = [i.post for i in items if isinstance(i, ArchivedPost)]
    assert len(posts) == archive.posts == 450
    assert all(len(json.loads(line)["data"]) <= 100 for line in archive.path.read_text().splitlines())
    company_handles = {h for hs in archive.companies.values() for h in hs}
    replies = [p for p in posts if p.author.handle in company_handles]
    assert replies and all(p.in_reply_to_post_id for p in replies)


def test_ingest_measure_reports_rates_and_memory_per_size() -> None:
    result = ingest.measure(sizes=(150, 300), repeats=1, companies=2)
    assert [r["posts"] for r in result["rows"]] == [150, 300]
    for row in result["rows"]:
        assert row["floor_posts_per_s"] > 0 and row["subject_posts_per_s"] > 0
        assert row["complaints"] > 0 and row["subject_maxrss_mib"] > 0
    assert "share of floor" in ingest.table(result)
    assert result["memory_growth"] > 0


def test_ingest_lower_bound_classifies_what_the_import_classifies() -> None:
    # GIVEN the bench's reader + classifier child beside the real import, on the same generated archive
    result = ingest.measure(sizes=(300,), repeats=1, companies=2)
    row = result["rows"][0]

    # THEN it classified one text per conversation opened with a company and one per company reply
    # (every company reply in a generated archive answers a complaint), and the stage table shows it
    assert row["classified"] == row["inbound"] + row["answered"] > 0
    assert row["reader_posts_per_s"] > 0 and row["reader_classifier_posts_per_s"] > 0
    assert f"{row['classified']:,} texts" in ingest.stages_table(result)


def test_survival_km_agrees_with_lifelines_and_reports_both() -> None:
    result = survival_km.measure(n=2_000, repeats=1, rss=False)
    assert result["ours_median"] == pytest.approx(result["lifelines_median"])
    assert result["ours_median_ci"] == pytest.approx(result["lifelines_median_ci"])
    assert result["ours_traced_mib"] > 0 and result["lifelines_traced_mib"] > 0
    assert set(survival_km.targets_met(result)) == {"no slower than lifelines", "lower peak memory",
                                                   "no numpy at runtime"}
    assert "lifelines" in survival_km.table(result)


def test_survival_km_child_reports_that_our_path_loads_no_numpy() -> None:
    from bench.common import run_child

    child = run_child(survival_km._CHILD.format(n=500, which="ours"))
    assert child["numpy_loaded"] is False
    assert child["maxrss_mib"] > 0


@pytest.mark.parametrize("dense", [False, True])
def test_aggregate_history_measure_returns_one_row_per_scale(dense: bool) -> None:
    result = aggregate_history.measure(base=20, scales=(1, 3), repeats=1, new=10, dense=dense)
    assert [r["history"] for r in result["rows"]] == [20, 60]
    assert result["rows"][0]["ratio"] == pytest.approx(1.0)
    assert "ratio to 1×" in aggregate_history.table(result)
    # a constant rate stretches the span with the history; dense packs it into the same span
    first, bigger = (r["days"] for r in result["rows"])
    assert bigger == (first if dense else 3 * first)


def test_api_measure_covers_every_mode_route_and_config() -> None:
    result = api.measure(configs=((2, 40), (2, 80)), requests=3, repeats=1)
    seen = {(r["companies"], r["complaints"], r["mode"], r["route"]) for r in result["rows"]}
    assert seen == {(2, n, m, route) for n in (40, 80) for m in api.MODES for route in api.ROUTES}
    assert all(r["rps"] > 0 and r["p99_ms"] >= r["p50_ms"] for r in result["rows"])
    assert len(result["ratios"]) == len(api.MODES) * len(api.ROUTES)
    assert "/v1/leaderboard" in api.table(result)


def test_cold_start_first_requests_cover_the_routes_asked_for() -> None:
    result = cold_start.measure_first_requests(repeats=1, routes=("/health", "/v1/leaderboard"), complaints=30)
    assert [r["route"] for r in result["rows"]] == ["/health", "/v1/leaderboard"]
    assert result["rows"][1]["status"] == 200
    assert result["hello_ms"] > 0 and all(r["total_ms"] >= r["ms"] for r in result["rows"])
    assert "hello-world" in cold_start.first_request_table(result)


def test_replace_section_rewrites_only_its_own_markers(tmp_path: Path) -> None:
    doc = tmp_path / "B.md"
    doc.write_text("# B\n<!-- bench:a -->\nold a\n<!-- /bench:a -->\n<!-- bench:b -->\nold b\n<!-- /bench:b -->\n")
    replace_section("a", "new a", doc)
    text = doc.read_text()
    assert "new a" in text and "old a" not in text and "old b" in text
