"""SES feedback via SNS: permanent bounces and complaints suppress addresses; nothing else does."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from chalicelib.notify.alerts import run_alerts
from chalicelib.notify.bounces import handle_sns_notification
from chalicelib.notify.subscriptions import request_subscription

from .conftest import BASE_URL, KEY, NOW, add_sub, complaint

RECORDED = Path(__file__).resolve().parents[2] / "fixtures" / "recorded"


def load(name: str) -> dict:
    return json.loads((RECORDED / name).read_text(encoding="utf-8"))


def test_permanent_bounce_suppresses_the_bounced_recipient_only(store) -> None:
    envelope = load("ses_bounce_notification.json")
    assert handle_sns_notification(store, envelope, NOW) == ["jane@example.com"]
    assert store.is_suppressed("Jane@Example.com")
    # other addresses the mail went to did not bounce
    assert not store.is_suppressed("mary@example.com")


def test_complaint_suppresses_the_complainant(store) -> None:
    assert handle_sns_notification(store, load("ses_complaint_notification.json"), NOW) == ["richard@example.com"]
    assert store.is_suppressed("richard@example.com")


def test_bare_event_publishing_message_is_accepted_too(store) -> None:
    # Lambda subscriptions hand over the inner message; event publishing names the field eventType
    inner = json.loads(load("ses_bounce_notification.json")["Message"])
    inner["eventType"] = inner.pop("notificationType")
    assert handle_sns_notification(store, inner, NOW) == ["jane@example.com"]


def test_transient_bounce_delivery_and_subscription_confirmation_change_nothing(store) -> None:
    envelope = load("ses_bounce_notification.json")
    inner = json.loads(envelope["Message"])
    inner["bounce"]["bounceType"] = "Transient"
    assert handle_sns_notification(store, {**envelope, "Message": json.dumps(inner)}, NOW) == []
    delivery = {**inner, "notificationType": "Delivery"}
    assert handle_sns_notification(store, {**envelope, "Message": json.dumps(delivery)}, NOW) == []
    assert handle_sns_notification(store, {**envelope, "Type": "SubscriptionConfirmation"}, NOW) == []
    assert not store.is_suppressed("jane@example.com")


def test_redelivered_notification_is_harmless(store) -> None:
    envelope = load("ses_bounce_notification.json")
    handle_sns_notification(store, envelope, NOW)
    handle_sns_notification(store, envelope, NOW + timedelta(minutes=1))
    assert store.is_suppressed("jane@example.com")


def test_bounced_subscriber_gets_no_more_digests_or_confirmations(store, registry, sender) -> None:
    # GIVEN a confirmed subscriber whose address then bounces
    add_sub(store, "jane@example.com")
    store.put_complaints([complaint("c1", created_at=NOW - timedelta(hours=2))])
    handle_sns_notification(store, load("ses_bounce_notification.json"), NOW)
    # WHEN alerts run and someone re-subscribes the address
    result = run_alerts(store, registry, now=NOW, sender=sender, key=KEY, base_url=BASE_URL)
    request_subscription(store, registry, {"email": "jane@example.com", "company": "acme-air"}, ip=None, now=NOW,
                         sender=sender, base_url=BASE_URL, key=KEY)
    # THEN nothing is sent to it
    assert (result.sent, result.suppressed) == (0, 1)
    assert sender.sent == []
