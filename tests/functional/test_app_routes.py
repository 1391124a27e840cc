from __future__ import annotations

import json


def test_index_page_lists_companies_and_is_self_contained(client) -> None:
    response = client.http.get("/")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    body = response.body.decode()
    assert "Acme Air" in body and "Bolt Bank" in body
    assert "http://" not in body.replace("http://127.0.0.1", "") and "https://" not in body


def test_health_reports_ok_with_store_and_registry(client) -> None:
    response = client.http.get("/health")
    assert response.status_code == 200
    report = json.loads(response.body)
    assert report["status"] == "ok" and report["companies"] == 2 and report["store"] == "sqlite"
    assert response.headers["Cache-Control"] == "no-store"


def test_health_is_503_and_names_the_problem_when_the_registry_is_broken(client, isolated_env, monkeypatch) -> None:
    from chalicelib import runtime

    bad = isolated_env / "broken.toml"
    bad.write_text('[companies.x]\nname = ""\n')
    monkeypatch.setenv("FAIR_REPLY_COMPANIES", str(bad))
    runtime.reset()
    response = client.http.get("/health")
    assert response.status_code == 503
    assert "'name'" in json.loads(response.body)["registry_error"]
