from __future__ import annotations

import email
import json
import re
from pathlib import Path
from urllib.parse import urlparse


def _outbox(isolated_env: Path) -> list[email.message.Message]:
    folder = isolated_env / "data" / "outbox"
    return [email.message_from_bytes(p.read_bytes()) for p in sorted(folder.glob("*.eml"))] if folder.exists() else []


def _link(message: email.message.Message, path: str) -> str:
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            text = part.get_payload(decode=True).decode()
            match = re.search(r"https?://\S+" + re.escape(path) + r"\?token=[\w\-.=%]+", text)
            if match:
                url = urlparse(match.group(0))
                return f"{url.path}?{url.query}"
    raise AssertionError(f"no {path} link in the e-mail")


def test_subscribe_confirm_and_unsubscribe_through_the_routes(client, isolated_env) -> None:
    # GIVEN a subscription request for a known company
    response = client.http.post(
        "/v1/subscriptions", headers={"Content-Type": "application/json"},
        body=json.dumps({"email": "reader@example.org", "company": "acme-air", "digest": "immediate"}),
    )
    assert response.status_code == 202
    # THEN exactly one confirmation e-mail is written to the outbox, and opening its link confirms
    [confirmation] = _outbox(isolated_env)
    assert confirmation["To"] == "reader@example.org"
    confirmed = client.http.get(_link(confirmation, "/v1/subscriptions/confirm"))
    assert confirmed.status_code == 200
    # AND the same request for the same address answers identically (no enumeration)
    again = client.http.post(
        "/v1/subscriptions", headers={"Content-Type": "application/json"},
        body=json.dumps({"email": "reader@example.org", "company": "acme-air", "digest": "immediate"}),
    )
    assert again.status_code == 202 and again.body == response.body


def test_invalid_subscription_fields_are_400_naming_the_field(client) -> None:
    for payload, field in [
        ({"email": "not-an-address", "company": "acme-air", "digest": "daily"}, "email"),
        ({"email": "a@example.org", "company": "nope", "digest": "daily"}, "company"),
        ({"email": "a@example.org", "company": "acme-air", "digest": "daily", "sla_minutes": 0}, "sla_minutes"),
    ]:
        response = client.http.post("/v1/subscriptions", headers={"Content-Type": "application/json"},
                                    body=json.dumps(payload))
        assert response.status_code == 400
        assert json.loads(response.body)["error"]["parameter"] == field
    broken = client.http.post("/v1/subscriptions", headers={"Content-Type": "application/json"}, body="{")
    assert broken.status_code == 400


def test_a_tampered_token_is_rejected(client) -> None:
    assert client.http.get("/v1/subscriptions/confirm?token=abc.def").status_code == 400
    assert client.http.get("/v1/subscriptions/confirm").status_code == 400
    assert client.http.get("/v1/subscriptions/unsubscribe?token=x").status_code == 200  # only a prompt page
    posted = client.http.post("/v1/subscriptions/unsubscribe?token=abc.def",
                              headers={"Content-Type": "application/x-www-form-urlencoded"},
                              body="List-Unsubscribe=One-Click")
    assert posted.status_code == 400
