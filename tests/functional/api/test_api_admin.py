"""Admin routes: add, change and retire companies; validation names the field; loopback only locally."""

from __future__ import annotations

import json

import pytest

NEW = {"name": "Nimbus Rail", "sector": "rail", "sla_minutes": 90, "handles": {"x": ["NimbusRailHelp"]}}


def _put(client, slug: str, body: object):
    return client.http.put(f"/v1/admin/companies/{slug}", headers={"Content-Type": "application/json"},
                           body=json.dumps(body))


def test_an_added_company_is_listed_and_served_before_any_aggregate_run(client, api_data) -> None:
    # WHEN
    response = _put(client, "nimbus-rail", NEW)
    # THEN
    assert response.status_code == 201 and json.loads(response.body)["created"] is True
    listed = {e["company"]["slug"] for e in json.loads(client.http.get("/v1/leaderboard").body)["companies"]}
    assert "nimbus-rail" in listed
    page = json.loads(client.http.get("/v1/companies/nimbus-rail").body)
    assert page["company"]["name"] == "Nimbus Rail" and page["verdict"] == "insufficient_data"
    # a second PUT changes it
    changed = _put(client, "nimbus-rail", {**NEW, "name": "Nimbus Railways"})
    assert changed.status_code == 200 and json.loads(changed.body)["company"]["name"] == "Nimbus Railways"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**NEW, "name": ""}, "name"),
        ({**NEW, "sla_minutes": -5}, "sla_minutes"),
        ({**NEW, "handles": {"myspace": ["x"]}}, "handles.myspace"),
        ({**NEW, "colour": "blue"}, "colour"),
        ({**NEW, "handles": {"x": ["AcmeAirHelp"]}}, "handles.x"),  # already acme-air's
        (["not", "an", "object"], "body"),
    ],
)
def test_validation_errors_name_the_field(client, api_data, body, field) -> None:
    response = _put(client, "nimbus-rail", body)
    assert response.status_code == 400
    assert json.loads(response.body)["error"]["parameter"] == field


def test_retiring_keeps_history_queryable_but_leaves_the_leaderboard(client, api_data) -> None:
    # WHEN
    response = client.http.delete("/v1/admin/companies/acme-air")
    # THEN
    assert response.status_code == 200 and json.loads(response.body)["company"]["retired"] is True
    board = {e["company"]["slug"] for e in json.loads(client.http.get("/v1/leaderboard").body)["companies"]}
    assert "acme-air" not in board
    page = json.loads(client.http.get("/v1/companies/acme-air").body)
    assert page["company"]["retired"] is True and page["stats"]["all"]["tiers"]["ordinary"]["complaints"] > 0
    listed = json.loads(client.http.get("/v1/companies").body)["companies"]
    assert any(e["company"]["slug"] == "acme-air" and e["company"]["retired"] for e in listed)
    assert client.http.delete("/v1/admin/companies/no-such-co").status_code == 404


def test_admin_refuses_non_loopback_callers_locally_and_trusts_iam_on_aws() -> None:
    from chalicelib.api.admin import check_caller
    from chalicelib.api.errors import Forbidden

    check_caller({"identity": {"sourceIp": "127.0.0.1"}}, env={})
    check_caller({"identity": {"sourceIp": "::1"}}, env={})
    for context in ({"identity": {"sourceIp": "203.0.113.9"}}, {}, None):
        with pytest.raises(Forbidden):
            check_caller(context, env={})
    check_caller({"identity": {"sourceIp": "203.0.113.9"}}, env={"AWS_LAMBDA_FUNCTION_NAME": "fair-reply-dev"})


def test_admin_routes_use_the_iam_authorizer() -> None:
    from chalice import IAMAuthorizer

    from app import app

    entries = app.routes["/v1/admin/companies/{slug}"]
    assert set(entries) == {"PUT", "DELETE"}
    assert all(isinstance(e.authorizer, IAMAuthorizer) for e in entries.values())
