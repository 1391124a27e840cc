"""The `make run` path: subscribe, confirm from the written .eml, let a complaint breach, get exactly one digest."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from chalicelib import runtime
from chalicelib.notify.alerts import scheduled_alerts
from chalicelib.notify.keys import signing_key
from chalicelib.notify.senders import OutboxSender, sender_from_env
from chalicelib.notify.subscriptions import confirm, request_subscription, unsubscribe

from .conftest import NOW, complaint, parse, text_part, token_from


def test_subscribe_confirm_breach_one_digest_through_the_outbox(store, registry, monkeypatch) -> None:
    # GIVEN the local defaults: no key configured, no mail settings (outbox), the process's store and registry
    monkeypatch.delenv("FAIR_REPLY_SIGNING_KEY", raising=False)
    monkeypatch.delenv("FAIR_REPLY_MAIL", raising=False)
    runtime.override(store=store, registry=registry)
    settings = runtime.settings()
    sender = sender_from_env(settings)
    assert isinstance(sender, OutboxSender)
    outbox = Path(settings.data_dir) / "outbox"
    key = signing_key(settings)

    # WHEN a reader subscribes
    request_subscription(store, registry, {"email": "reader@example.org", "company": "acme-air", "sla_minutes": 30},
                         ip="127.0.0.1", now=NOW, sender=sender, base_url=settings.public_base_url, key=key)
    [confirmation_file] = outbox.glob("*.eml")
    confirmation = parse(confirmation_file.read_bytes())
    # AND opens the link in the written file
    assert confirm(store, key, token_from(confirmation, "/v1/subscriptions/confirm"), NOW).state == "confirmed"
    # AND a complaint goes unanswered past the 30-minute SLA
    store.put_complaints([complaint("c1", created_at=NOW + timedelta(minutes=1))])
    before = scheduled_alerts(NOW + timedelta(minutes=30))
    results = [scheduled_alerts(NOW + timedelta(minutes=m)) for m in (32, 40, 60, 120)]

    # THEN exactly one digest was written, after the breach, and it unsubscribes
    assert before.sent == 0
    assert [r.sent for r in results] == [1, 0, 0, 0]
    digests = [parse(f.read_bytes()) for f in outbox.glob("*.eml") if f != confirmation_file]
    assert len(digests) == 1
    [digest] = digests
    assert digest["To"] == "reader@example.org"
    assert "waiting 31 min" in text_part(digest)
    unsubscribe_token = str(digest["List-Unsubscribe"]).strip("<>").split("token=")[1]
    assert unsubscribe(store, key, unsubscribe_token, NOW + timedelta(hours=3)).state == "unsubscribed"
    store.put_complaints([complaint("c2", created_at=NOW + timedelta(hours=3))])
    assert scheduled_alerts(NOW + timedelta(hours=5)).sent == 0
