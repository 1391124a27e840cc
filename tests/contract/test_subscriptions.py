"""Subscriptions, sent alerts, suppressed addresses and rate-limit events."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from chalicelib.domain.models import Subscription
from chalicelib.store.base import Store
from contract.builders import T0


def make_sub(sub_id: str, email: str = "Reader@Example.org", company: str = "acme", **kw) -> Subscription:
    fields = {"sla_minutes": 60, "tiers": ("ordinary",), "digest": "daily", "status": "pending", "created_at": T0}
    return Subscription(sub_id=sub_id, email=email, company=company, **{**fields, **kw})


def test_subscription_round_trip_and_status_change(store: Store) -> None:
    sub = make_sub("s1", source_ip="192.0.2.1")
    store.put_subscription(sub)
    assert store.get_subscription("s1") == sub

    confirmed = replace(sub, status="confirmed", confirmed_at=T0 + timedelta(minutes=3))
    store.put_subscription(confirmed)
    assert store.get_subscription("s1") == confirmed
    assert store.get_subscription("nope") is None


def test_find_subscription_ignores_address_case_and_picks_the_newest(store: Store) -> None:
    store.put_subscription(make_sub("old", created_at=T0))
    store.put_subscription(make_sub("new", email="reader@example.org", created_at=T0 + timedelta(days=1)))
    store.put_subscription(make_sub("beta", company="beta"))
    assert store.find_subscription(" READER@example.org", "acme").sub_id == "new"
    assert store.find_subscription("reader@example.org", "beta").sub_id == "beta"
    assert store.find_subscription("someone@example.org", "acme") is None


def test_list_subscriptions_by_company_and_status(store: Store) -> None:
    store.put_subscription(make_sub("a1", status="confirmed"))
    store.put_subscription(make_sub("a2", email="b@example.org", created_at=T0 + timedelta(minutes=1)))
    store.put_subscription(make_sub("b1", company="beta", status="confirmed"))
    assert [s.sub_id for s in store.list_subscriptions()] == ["a1", "a2", "b1"]
    assert [s.sub_id for s in store.list_subscriptions(company="acme")] == ["a1", "a2"]
    assert [s.sub_id for s in store.list_subscriptions(status="confirmed")] == ["a1", "b1"]
    assert [s.sub_id for s in store.list_subscriptions(company="beta", status="pending")] == []


def test_mark_alerted_is_true_only_the_first_time(store: Store) -> None:
    assert not store.was_alerted("s1", "x", "p1")
    assert store.mark_alerted("s1", "x", "p1", T0) is True
    assert store.mark_alerted("s1", "x", "p1", T0 + timedelta(hours=1)) is False
    assert store.was_alerted("s1", "x", "p1")
    assert not store.was_alerted("s1", "mastodon", "p1")
    assert not store.was_alerted("s2", "x", "p1")


def test_suppressed_addresses(store: Store) -> None:
    store.suppress_email("Bounced@Example.org", "bounce", at=T0)
    store.suppress_email("bounced@example.org", "complaint")
    assert store.is_suppressed("bounced@example.ORG")
    assert not store.is_suppressed("fine@example.org")


def test_events_are_counted_since_a_time(store: Store) -> None:
    for minutes in (0, 10, 20, 20):
        store.record_event("subscribe", "192.0.2.1", T0 + timedelta(minutes=minutes))
    store.record_event("subscribe", "192.0.2.2", T0 + timedelta(minutes=20))
    assert store.count_events("subscribe", "192.0.2.1", T0 + timedelta(minutes=10)) == 3
    assert store.count_events("subscribe", "192.0.2.1", T0 + timedelta(minutes=21)) == 0
    assert store.count_events("confirm", "192.0.2.1", T0) == 0
