"""The /v1 read routes through chalice's test Client, on simulated data aggregated by the real job."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

import pytest

from chalicelib.api.serialise import COMPLAINT_CSV_COLUMNS

PROMISED = (
    "company,platform,window,tier,complaints,answered,answered_share,median_minutes,median_ci_low_minutes,"
    "median_ci_high_minutes,deflection_share,sla_compliance,ratio,ratio_ci_low,ratio_ci_high,verdict"
).split(",")


def _json(response) -> dict:
    assert response.headers["Content-Type"].startswith("application/json"), response.body[:200]
    return json.loads(response.body)


def _csv(response) -> list[dict[str, str]]:
    assert response.headers["Content-Type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.body.decode())))


def test_leaderboard_lists_every_live_company_and_ranks_only_those_with_enough_data(client, api_data) -> None:
    # WHEN
    doc = _json(client.http.get("/v1/leaderboard?window=30d"))
    # THEN
    by_slug = {e["company"]["slug"]: e for e in doc["companies"]}
    assert set(by_slug) == {"acme-air", "bolt-bank"}
    assert by_slug["acme-air"]["rank"] == 1 and by_slug["acme-air"]["verdict"] != "insufficient_data"
    assert by_slug["bolt-bank"]["rank"] is None and by_slug["bolt-bank"]["verdict"] == "insufficient_data"
    assert doc["companies"][0]["company"]["slug"] == "acme-air"  # ranked before unranked
    meta = doc["meta"]
    assert meta["window"] == "30d" and meta["methodology_version"] and meta["generated_at"]
    assert {"company": "acme-air", "source": "simulation", "observed_until": api_data.now.isoformat()} in meta["coverage"]
    ordinary = by_slug["acme-air"]["stats"]["all"]["tiers"]["ordinary"]
    expected = sum(1 for c in api_data.complaints["acme-air"] if c.tier == "ordinary")
    assert ordinary["complaints"] == expected


def test_leaderboard_csv_is_long_with_the_promised_columns_first_and_matches_json(client, api_data) -> None:
    # WHEN
    response = client.http.get("/v1/leaderboard", headers={"Accept": "text/csv"})
    rows = _csv(response)
    doc = _json(client.http.get("/v1/leaderboard"))
    # THEN the header starts with the promised columns, in order
    header = response.body.decode().splitlines()[0].split(",")
    assert header[: len(PROMISED)] == PROMISED
    # one row per company × platform × tier, company-level ratio/verdict repeated on each
    expected = {
        (e["company"]["slug"], p, t) for e in doc["companies"] for p, s in e["stats"].items() for t in s["tiers"]
    }
    assert {(r["company"], r["platform"], r["tier"]) for r in rows} == expected and len(rows) == len(expected)
    acme_all = [r for r in rows if r["company"] == "acme-air" and r["platform"] == "all"]
    comparison = doc["companies"][0]["stats"]["all"]["comparison"]
    assert {r["verdict"] for r in acme_all} == {comparison["verdict"]}
    assert {float(r["ratio"]) for r in acme_all} == {comparison["ratio"]}  # repr round-trips exactly
    # undefined values are empty cells, never "None" or "nan"
    assert not any(v in ("None", "nan", "inf") for r in rows for v in r.values())
    bolt_ratio_ci = {r["ratio_ci_low"] for r in rows if r["company"] == "bolt-bank"}
    assert bolt_ratio_ci == {""}


def test_median_and_interval_match_lifelines_on_an_explicit_range(client, api_data) -> None:
    from lifelines import KaplanMeierFitter
    from lifelines.utils import median_survival_times

    # GIVEN acme-air's x complaints, censored at the horizon
    since, until = api_data.start - timedelta(days=1), api_data.now + timedelta(seconds=1)
    complaints = [c for c in api_data.complaints["acme-air"] if c.platform == "x" and c.tier == "ordinary"]
    durations = [
        ((c.first_reply.created_at if c.first_reply else api_data.now) - c.created_at).total_seconds() / 60
        for c in complaints
    ]
    observed = [c.first_reply is not None for c in complaints]
    kmf = KaplanMeierFitter().fit(durations, observed)
    low, high = median_survival_times(kmf.confidence_interval_).iloc[0]
    # WHEN
    query = f"?since={since.isoformat().replace('+00:00', 'Z')}&until={until.isoformat().replace('+00:00', 'Z')}"
    doc = _json(client.http.get(f"/v1/companies/acme-air{query}&platform=x"))
    # THEN
    tier = doc["stats"]["x"]["tiers"]["ordinary"]
    assert tier["complaints"] == len(complaints)
    assert tier["median_minutes"] == pytest.approx(kmf.median_survival_time_, abs=1e-6)
    assert tier["median_ci_low_minutes"] == pytest.approx(low, abs=1e-6)
    assert tier["median_ci_high_minutes"] == pytest.approx(high, abs=1e-6)
    assert doc["meta"]["window"].startswith(since.isoformat())


def test_company_page_has_curves_breakdowns_trend_and_linked_high_profile_examples(client, api_data) -> None:
    # WHEN
    doc = _json(client.http.get("/v1/companies/bolt-bank?window=7d"))
    # THEN
    assert set(doc["stats"]) >= {"all", "x"}
    tier = doc["stats"]["all"]["tiers"]["ordinary"]
    curve = tier["curve"]
    assert curve and all(0 <= p["waiting_share"] <= 1 for p in curve)
    assert [p["waiting_share"] for p in curve] == sorted((p["waiting_share"] for p in curve), reverse=True)
    assert doc["breakdowns"]["audience_bands"] and len(doc["breakdowns"]["by_weekday"]) >= 1
    assert set(doc["weekly_trend"]) >= {"ordinary"}
    famous = [e for e in doc["examples"] if e["complainant_handle"] == "famous_person"]
    assert famous and famous[0]["complaint_url"] == "https://x.com/famous_person/status/9002"
    assert "jane_private" not in json.dumps(doc)


def test_a_retired_or_unknown_company(client, api_data) -> None:
    assert client.http.get("/v1/companies/no-such-co").status_code == 404
    assert _json(client.http.get("/v1/companies/no-such-co"))["error"]["parameter"] == "slug"
    assert client.http.get("/v1/companies/no-such-co/complaints").status_code == 404
    assert client.http.get("/v1/companies/no-such-co/badge.svg").status_code == 404


def test_complaints_pages_cover_everything_once_and_never_expose_private_complainants(client, api_data) -> None:
    # WHEN every page is followed
    seen, cursor, pages = [], None, 0
    while True:
        response = client.http.get("/v1/companies/bolt-bank/complaints?limit=4" + (f"&cursor={cursor}" if cursor else ""))
        doc = _json(response)
        seen.extend(doc["complaints"])
        pages += 1
        cursor = doc["next_cursor"]
        if cursor is None:
            break
        assert response.headers["X-Next-Cursor"] == cursor
    # THEN
    assert pages > 1 and len(seen) == len(api_data.complaints["bolt-bank"])
    assert len({(c["created_at"], c["complainant"], c["platform"]) for c in seen}) == len(seen)
    text = json.dumps(seen)
    assert "jane_private" not in text and "9001" not in text.replace("90019", "")
    private = [c for c in seen if c["tier"] != "high_profile"]
    assert all(c["complaint_id"] is None and c["complaint_url"] is None and c["complainant_handle"] is None
               for c in private)
    assert all(c["complainant"].startswith("anon-") for c in seen)
    famous = next(c for c in seen if c["tier"] == "high_profile" and c["complaint_id"] == "9002")
    assert famous["complaint_url"].endswith("/9002") and famous["reply_url"].endswith("/90029")
    assert famous["reply_minutes"] == pytest.approx(9.0)


def test_pseudonyms_are_stable_and_depend_on_the_salt(client, api_data, monkeypatch) -> None:
    first = _json(client.http.get("/v1/companies/bolt-bank/complaints?tier=ordinary&platform=x"))["complaints"]
    again = _json(client.http.get("/v1/companies/bolt-bank/complaints?tier=ordinary&platform=x"))["complaints"]
    monkeypatch.setenv("FAIR_REPLY_PSEUDONYM_SALT", "another-salt")
    other = _json(client.http.get("/v1/companies/bolt-bank/complaints?tier=ordinary&platform=x"))["complaints"]
    assert [c["complainant"] for c in first] == [c["complainant"] for c in again]
    assert {c["complainant"] for c in first}.isdisjoint({c["complainant"] for c in other})


def test_complaints_csv_has_a_header_and_filters_apply(client, api_data) -> None:
    response = client.http.get("/v1/companies/bolt-bank/complaints?format=csv&answered=false&limit=1000")
    rows = _csv(response)
    assert response.body.decode().splitlines()[0].split(",") == list(COMPLAINT_CSV_COLUMNS)
    expected = [c for c in api_data.complaints["bolt-bank"] if c.first_reply is None]
    assert len(rows) == len(expected) and all(r["answered"] == "false" and r["reply_minutes"] == "" for r in rows)
    assert "attachment" in response.headers["Content-Disposition"]


@pytest.mark.parametrize(
    ("path", "parameter"),
    [
        ("/v1/leaderboard?window=1y", "window"),
        ("/v1/leaderboard?platform=myspace", "platform"),
        ("/v1/leaderboard?sort=popularity", "sort"),
        ("/v1/leaderboard?since=yesterday", "since"),
        ("/v1/leaderboard?since=2025-02-01&until=2025-01-01", "since"),
        ("/v1/leaderboard?until=1066-10-14", "until"),
        ("/v1/leaderboard?format=xml", "format"),
        ("/v1/companies/acme-air?window=2w", "window"),
        ("/v1/companies/acme-air/complaints?tier=vip", "tier"),
        ("/v1/companies/acme-air/complaints?limit=0", "limit"),
        ("/v1/companies/acme-air/complaints?limit=1001", "limit"),
        ("/v1/companies/acme-air/complaints?limit=ten", "limit"),
        ("/v1/companies/acme-air/complaints?answered=maybe", "answered"),
        ("/v1/companies/acme-air/complaints?cursor=not-a-cursor", "cursor"),
        ("/v1/companies/acme-air/complaints?cursor=%%%", "cursor"),
    ],
)
def test_bad_input_is_a_400_naming_the_parameter(client, api_data, path, parameter) -> None:
    response = client.http.get(path)
    assert response.status_code == 400
    assert _json(response)["error"]["parameter"] == parameter


def test_a_cursor_from_other_filters_is_refused(client, api_data) -> None:
    cursor = _json(client.http.get("/v1/companies/acme-air/complaints?limit=2"))["next_cursor"]
    response = client.http.get(f"/v1/companies/acme-air/complaints?limit=2&tier=ordinary&cursor={cursor}")
    assert response.status_code == 400 and _json(response)["error"]["parameter"] == "cursor"


@pytest.mark.parametrize(
    "path",
    ["/v1/leaderboard", "/v1/companies?format=csv", "/v1/companies/acme-air", "/v1/companies/acme-air/badge.svg",
     "/v1/companies/acme-air/complaints", "/v1/methodology", "/v1/openapi.json"],
)
def test_every_get_is_cacheable_with_etag_and_304_and_open_to_any_origin(client, api_data, path) -> None:
    first = client.http.get(path)
    assert first.status_code == 200
    assert first.headers["Access-Control-Allow-Origin"] == "*"
    assert first.headers["Cache-Control"].startswith("public, max-age=")
    second = client.http.get(path, headers={"If-None-Match": first.headers["ETag"]})
    assert second.status_code == 304 and second.body == b""
    assert client.http.get(path, headers={"If-None-Match": 'W/"other"'}).status_code == 200


def test_badge_is_svg_with_both_medians_and_the_verdict(client, api_data) -> None:
    response = client.http.get("/v1/companies/acme-air/badge.svg")
    assert response.headers["Content-Type"] == "image/svg+xml"
    svg = response.body.decode()
    doc = _json(client.http.get("/v1/companies/acme-air"))
    from chalicelib.api.badge import VERDICT_TEXT, duration_text

    tiers = doc["stats"]["all"]["tiers"]
    assert duration_text(tiers["ordinary"]) in svg and duration_text(tiers["high_profile"]) in svg
    assert VERDICT_TEXT[doc["verdict"]][0] in svg and svg.startswith("<svg")
