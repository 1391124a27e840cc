"""Published documents: the company page, leaderboard and company list stored ready to send.

The promise is that publishing changes the cost of a request, never its answer: every variant (formats,
platforms, sorts, windows, 304s) must come back byte for byte as it was shaped from the snapshots, and a
record that no longer describes the company (renamed, retired) or was written by another version is ignored.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from chalicelib.api import published, serialise
from chalicelib.jobs import snapshots

WINDOWS = ("7d", "30d", "90d", "all")
PATHS = (
    "/v1/companies/acme-air", "/v1/companies/bolt-bank", "/v1/companies/acme-air?format=csv",
    "/v1/companies/bolt-bank?format=csv", "/v1/companies/acme-air?platform=x", "/v1/companies/acme-air?platform=mastodon",
    "/v1/companies/acme-air?platform=bluesky", "/v1/companies/acme-air?platform=all&format=csv",
    "/v1/companies/acme-air/badge.svg", "/v1/companies/acme-air/badge.svg?platform=mastodon",
    "/v1/leaderboard", "/v1/leaderboard?format=csv", "/v1/leaderboard?platform=x", "/v1/leaderboard?sort=-ratio",
    "/v1/companies", "/v1/companies?sort=rank", "/v1/companies?format=csv",
)  # fmt: skip


def _paths() -> list[str]:
    out = []
    for path in PATHS:
        out += [path] + [f"{path}{'&' if '?' in path else '?'}window={w}" for w in WINDOWS]
    return out


def _responses(client, paths: list[str]) -> dict[str, tuple[int, bytes, dict[str, str]]]:
    return {p: (r.status_code, r.body, dict(r.headers)) for p in paths if (r := client.http.get(p))}


def _publish(now) -> int:
    from chalicelib import runtime

    return snapshots.republish(runtime.store(), WINDOWS, now)


@pytest.fixture
def shaping(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Names of the pages shaped from snapshots (each call of ``serialise.company_detail``)."""
    calls: list[str] = []
    original = serialise.company_detail

    def spy(body, **kwargs):
        calls.append(body["company"]["slug"])
        return original(body, **kwargs)

    monkeypatch.setattr(serialise, "company_detail", spy)
    return calls


def test_published_responses_equal_the_shaped_ones_byte_for_byte(client, api_data, shaping) -> None:
    # GIVEN every variant shaped from the snapshots, as a version that does not publish serves them
    paths = _paths()
    before = _responses(client, paths)
    assert all(status == 200 for status, _, _ in before.values())
    # WHEN the windows are published (a head and a body for two company pages and two lists per window)
    assert _publish(api_data.now) == len(WINDOWS) * (2 + 2) * 2
    published.BODIES.clear()
    shaping.clear()
    read_from_store = _responses(client, paths)
    held_in_memory = _responses(client, paths)
    # THEN every status, body and header is unchanged, and the pages were not shaped again
    assert read_from_store == before and held_in_memory == before
    assert shaping == []


def test_a_published_document_is_keyed_reads_and_a_304_reads_only_its_head(
    client, api_data, shaping, monkeypatch
) -> None:
    from chalicelib import runtime

    # GIVEN published windows, and a record of every snapshot key the requests read
    _publish(api_data.now)
    published.BODIES.clear()
    shaping.clear()
    store = runtime.store()
    key = snapshots.public_company_key("acme-air", "30d")
    head = store.get_snapshot(key)[0]
    reads: list[str] = []
    for method in ("get_snapshot", "get_text"):
        original = getattr(type(store), method)
        monkeypatch.setattr(type(store), method, lambda self, k, _o=original: reads.append(k) or _o(self, k))
    # WHEN the page is asked for with its tag, then without, then again
    unchanged = client.http.get("/v1/companies/acme-air", headers={"If-None-Match": head["etag"]})
    first_reads, reads[:] = list(reads), []
    page = client.http.get("/v1/companies/acme-air")
    second_reads, reads[:] = list(reads), []
    again = client.http.get("/v1/companies/acme-air")
    # THEN the 304 read the head only, the page its head and body, and the repeat only the head (body held)
    assert unchanged.status_code == 304 and key in first_reads and published.body_key(key) not in first_reads
    assert published.body_key(key) in second_reads and published.body_key(key) not in reads
    assert not any(k.startswith(("company:", "leaderboard:")) for k in first_reads + second_reads + reads)
    # AND the bytes and tag are the stored ones, with the leaderboard's rank
    stored = store.get_text(published.body_key(key))[0]
    assert page.body == again.body and stored == f"{head['digest']}\n{page.body.decode()}"
    assert page.headers["ETag"] == head["etag"]
    ranked = {e["company"]["slug"]: e["rank"] for e in json.loads(client.http.get("/v1/leaderboard").body)["companies"]}
    assert json.loads(page.body)["rank"] == ranked["acme-air"] == 1
    assert shaping == []


def test_a_body_replaced_after_its_head_was_read_is_not_sent_under_the_old_head(client, api_data, shaping) -> None:
    from chalicelib import runtime

    # GIVEN a published page whose body record no longer has the head's digest (a publish in between)
    _publish(api_data.now)
    published.BODIES.clear()
    store = runtime.store()
    key = published.body_key(snapshots.public_company_key("acme-air", "30d"))
    digest, _, body = store.get_text(key)[0].partition("\n")
    other = f"{'0' * len(digest)}\n{body}"
    for replaced in (lambda: store.put_text(key, other, api_data.now),
                     lambda: store.put_snapshot(key, {"digest": "other", "body": body}, api_data.now)):
        replaced()
        shaping.clear()
        # WHEN / THEN the page is shaped from the snapshots instead, with the same bytes
        assert client.http.get("/v1/companies/acme-air").body.decode() == body
        assert shaping == ["acme-air"]


def test_a_body_stored_by_the_previous_version_as_a_json_snapshot_is_still_sent(client, api_data, shaping) -> None:
    from chalicelib import runtime

    # GIVEN a page published with its body inside a JSON snapshot, as the previous record format stored it
    _publish(api_data.now)
    published.BODIES.clear()
    store = runtime.store()
    key = published.body_key(snapshots.public_company_key("acme-air", "30d"))
    digest, _, body = store.get_text(key)[0].partition("\n")
    store.put_snapshot(key, {"digest": digest, "body": body}, api_data.now)
    shaping.clear()
    # WHEN / THEN it is sent as stored, not shaped again
    assert client.http.get("/v1/companies/acme-air").body.decode() == body
    assert shaping == []


def test_bodies_held_in_memory_stay_within_their_budget() -> None:
    bodies = published._Bodies(budget=10)
    bodies.put("a", "1", "xxxx")
    bodies.put("b", "1", "yyyy")
    assert bodies.get("a", "1") == "xxxx"  # a is now the most recently sent
    bodies.put("c", "1", "zzzz")
    assert bodies.get("b", "1") is None and bodies.get("a", "1") == "xxxx" and bodies.get("c", "1") == "zzzz"
    assert bodies.get("a", "2") is None  # another digest is another body
    bodies.put("d", "1", "w" * 11)
    assert bodies.get("d", "1") is None


def test_a_company_changed_since_publishing_is_shaped_from_its_snapshot(client, api_data, shaping) -> None:
    # GIVEN published windows, then acme-air renamed through the admin API
    _publish(api_data.now)
    entry = {"name": "Acme Airways", "sector": "airline", "sla_minutes": 60,
             "handles": {"x": ["AcmeAirHelp", "AcmeAir"], "mastodon": ["help@acme.example"],
                         "bluesky": ["help.acme.example"], "reddit": ["AcmeAir_Official"]}}
    assert client.http.put("/v1/admin/companies/acme-air", body=json.dumps(entry),
                           headers={"Content-Type": "application/json"}).status_code in (200, 201)
    shaping.clear()
    # WHEN its page and the leaderboard are requested
    page = json.loads(client.http.get("/v1/companies/acme-air").body)
    board = json.loads(client.http.get("/v1/leaderboard").body)
    # THEN both show the new name (the stale records are not served), and the page was shaped anew
    assert page["company"]["name"] == "Acme Airways"
    assert {e["company"]["slug"]: e["company"]["name"] for e in board["companies"]}["acme-air"] == "Acme Airways"
    assert shaping == ["acme-air"]


def test_retiring_after_publishing_drops_the_rank_and_leaves_the_leaderboard(client, api_data) -> None:
    # GIVEN published windows, then acme-air retired
    _publish(api_data.now)
    assert client.http.delete("/v1/admin/companies/acme-air").status_code == 200
    # WHEN / THEN
    page = json.loads(client.http.get("/v1/companies/acme-air").body)
    assert page["company"]["retired"] is True and page["rank"] is None
    board = json.loads(client.http.get("/v1/leaderboard").body)
    assert "acme-air" not in {e["company"]["slug"] for e in board["companies"]}


def test_records_of_another_version_are_ignored(client, api_data, shaping, monkeypatch) -> None:
    # GIVEN records published by a version whose stamp differs from this one's
    before = _responses(client, ["/v1/companies/acme-air", "/v1/leaderboard"])
    with monkeypatch.context() as patched:
        patched.setattr(published, "STAMP", "0.0.0/0")
        _publish(api_data.now)
    shaping.clear()
    # WHEN / THEN the responses are shaped from the snapshots again, and unchanged
    assert _responses(client, ["/v1/companies/acme-air", "/v1/leaderboard"]) == before
    assert shaping == ["acme-air"]


def test_publishing_the_run_s_own_bodies_equals_publishing_the_stored_ones(api_data) -> None:
    # GIVEN the bodies an aggregate run holds in memory (tuples, number keys) for the same store and clock
    from chalicelib import runtime
    from chalicelib.jobs.aggregate import AggregateOptions, aggregate_company


    store, registry = runtime.store(), runtime.registry()
    in_memory = {w: [] for w in WINDOWS}
    for slug in sorted(registry):
        bodies, _ = aggregate_company(store, registry[slug], api_data.now, AggregateOptions(replicates=40))  # conftest's
        for window, body in bodies.items():
            in_memory[window].append(body)
    # WHEN each is turned into records
    stored = {}
    for window in WINDOWS:
        found = [store.get_snapshot(snapshots.company_key(s, window))[0] for s in sorted(registry)]
        stored.update(published.records(window, found, api_data.now))
    fresh = {}
    for window, entries in in_memory.items():
        fresh.update(published.records(window, entries, api_data.now))
    # THEN they are the same documents
    assert fresh == stored and len(fresh) == len(WINDOWS) * 4 * 2


def test_nothing_is_published_for_an_empty_window(api_data, tmp_path) -> None:
    from chalicelib.store.sqlite import SQLiteStore

    # GIVEN no company snapshots / WHEN published / THEN no list stamped with the publisher's clock is stored
    store = SQLiteStore(tmp_path / "empty.sqlite3")
    try:
        assert published.records("30d", [], api_data.now) == {}
        assert snapshots.publish_window(store, "30d", [], api_data.now + timedelta(days=1)) == 0
        assert store.get_snapshot(snapshots.public_list_key("leaderboard", "30d")) is None
    finally:
        store.close()
