"""Double opt-in: validation, rate limits, no enumeration, idempotent confirm, unsubscribe."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from chalicelib.notify import subscriptions as subs
from chalicelib.notify.errors import RateLimitedError, UnknownSubscription, ValidationError, WrongPurpose
from chalicelib.notify.subscriptions import ACCEPTED, Limits, confirm, request_subscription, unsubscribe
from chalicelib.notify.tokens import CONFIRM, make_token

from .conftest import BASE_URL, KEY, NOW, RecordingSender, text_part, token_from

CONFIRM_PATH = "/v1/subscriptions/confirm"


def subscribe(store, registry, sender, payload: dict[str, Any], *, ip: str = "192.0.2.1", now=NOW, **kw: Any):
    return request_subscription(store, registry, payload, ip=ip, now=now, sender=sender, base_url=BASE_URL,
                                key=KEY, **kw)


# -- validation -------------------------------------------------------------------------------------------------

VALID = {"email": "reader@example.org", "company": "acme-air"}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"email": "not-an-address"}, "email"),
        ({"email": "a@b"}, "email"),
        ({"email": "reader@example.org\r\nBcc: victim@example.org"}, "email"),
        ({"email": "Reader <reader@example.org>"}, "email"),
        ({"email": "x" * 250 + "@example.org"}, "email"),
        ({"email": 42}, "email"),
        ({"company": "nope"}, "company"),
        ({"company": "old-co"}, "company"),  # retired
        ({"sla_minutes": 0}, "sla_minutes"),
        ({"sla_minutes": 30 * 24 * 60 + 1}, "sla_minutes"),
        ({"sla_minutes": "60"}, "sla_minutes"),
        ({"sla_minutes": True}, "sla_minutes"),
        ({"company": "bolt-bank"}, "sla_minutes"),  # no SLA of its own, none given
        ({"tiers": ["vip"]}, "tiers"),
        ({"tiers": "ordinary"}, "tiers"),
        ({"digest": "weekly"}, "digest"),
        ({"extra": 1}, "extra"),
    ],
)
def test_each_invalid_field_is_named_and_nothing_is_sent(store, registry, sender, change, field) -> None:
    with pytest.raises(ValidationError) as err:
        subscribe(store, registry, sender, {**VALID, **change})
    assert err.value.field == field
    assert sender.sent == []
    assert store.list_subscriptions() == []


def test_sla_bounds_are_inclusive_and_valid_request_is_stored_pending(store, registry, sender) -> None:
    for i, sla in enumerate((1, 30 * 24 * 60)):
        outcome = subscribe(store, registry, sender, {"email": f"r{i}@Example.ORG ", "company": "bolt-bank",
                                                      "sla_minutes": sla, "tiers": ["ordinary", "notable"],
                                                      "digest": "daily"})
        assert outcome == ACCEPTED
        sub = store.find_subscription(f"r{i}@example.org", "bolt-bank")
        assert (sub.status, sub.sla_minutes, sub.tiers, sub.digest) == ("pending", sla, ("notable", "ordinary"), "daily")
        assert sub.email == f"r{i}@example.org"  # trimmed, domain lowercased


def test_body_must_be_an_object(store, registry, sender) -> None:
    with pytest.raises(ValidationError) as err:
        subscribe(store, registry, sender, ["reader@example.org"])  # type: ignore[arg-type]
    assert err.value.field == "body"


# -- double opt-in and enumeration --------------------------------------------------------------------------------


def test_request_sends_only_a_confirmation_with_a_working_link(store, registry, sender) -> None:
    subscribe(store, registry, sender, VALID)
    [message] = sender.sent
    assert str(message["To"]) == "reader@example.org"
    assert "Confirm" in str(message["Subject"])
    assert message["List-Unsubscribe"] is None  # not a list mail yet
    sub_id = store.find_subscription("reader@example.org", "acme-air").sub_id
    token = token_from(message, CONFIRM_PATH)
    result = confirm(store, KEY, token, NOW + timedelta(minutes=5))
    assert result.state == "confirmed"
    assert store.get_subscription(sub_id).status == "confirmed"


def test_outcome_is_identical_for_new_pending_confirmed_and_suppressed_addresses(store, registry, sender) -> None:
    # GIVEN one confirmed, one pending and one suppressed address
    subscribe(store, registry, sender, {**VALID, "email": "confirmed@example.org"})
    confirm(store, KEY, token_from(sender.sent[-1], CONFIRM_PATH), NOW)
    subscribe(store, registry, sender, {**VALID, "email": "pending@example.org"})
    store.suppress_email("suppressed@example.org", "bounce:General")
    # WHEN each, and a brand-new one, asks again
    outcomes = [subscribe(store, registry, sender, {**VALID, "email": f"{who}@example.org"}, now=NOW + timedelta(1))
                for who in ("new", "pending", "confirmed", "suppressed")]
    # THEN the answers cannot be told apart
    assert len({(o.status_code, tuple(o.body().items())) for o in outcomes}) == 1
    assert outcomes[0].status_code == 202


def test_suppressed_address_is_never_mailed(store, registry, sender) -> None:
    store.suppress_email("gone@example.org", "bounce:General")
    subscribe(store, registry, sender, {**VALID, "email": "gone@example.org"})
    assert sender.sent == []


def test_double_subscription_while_pending_resends_for_the_same_subscription(store, registry, sender) -> None:
    subscribe(store, registry, sender, VALID)
    subscribe(store, registry, sender, {**VALID, "digest": "daily"}, now=NOW + timedelta(minutes=1))
    [sub] = store.list_subscriptions()
    assert (sub.status, sub.digest) == ("pending", "daily")
    assert len(sender.sent) == 2
    # both links confirm the one subscription
    first, second = (token_from(m, CONFIRM_PATH) for m in sender.sent)
    assert confirm(store, KEY, first, NOW).state == "confirmed"
    assert confirm(store, KEY, second, NOW).state == "already_confirmed"


def test_request_for_a_confirmed_address_does_not_change_it_until_confirmed(store, registry, sender) -> None:
    # GIVEN a confirmed immediate subscription
    subscribe(store, registry, sender, VALID)
    confirm(store, KEY, token_from(sender.sent[-1], CONFIRM_PATH), NOW)
    original = store.find_subscription("reader@example.org", "acme-air")
    # WHEN someone asks to switch it to daily
    subscribe(store, registry, sender, {**VALID, "digest": "daily"}, now=NOW + timedelta(hours=1))
    # THEN the confirmed one is untouched and the mail asks to confirm the *new* settings
    assert store.get_subscription(original.sub_id).status == "confirmed"
    notice = sender.sent[-1]
    assert "already receives" in text_part(notice)
    # AND confirming replaces the old subscription
    confirm(store, KEY, token_from(notice, CONFIRM_PATH), NOW + timedelta(hours=2))
    live = store.list_subscriptions(status="confirmed")
    assert [s.digest for s in live] == ["daily"]
    assert store.get_subscription(original.sub_id).status == "unsubscribed"


# -- confirm replay and unsubscribe ------------------------------------------------------------------------------


def test_confirm_replay_is_idempotent_and_sends_nothing(store, registry, sender) -> None:
    subscribe(store, registry, sender, VALID)
    token = token_from(sender.sent[-1], CONFIRM_PATH)
    first = confirm(store, KEY, token, NOW + timedelta(minutes=1))
    second = confirm(store, KEY, token, NOW + timedelta(minutes=2))
    assert (first.state, second.state) == ("confirmed", "already_confirmed")
    assert second.subscription.confirmed_at == first.subscription.confirmed_at
    assert len(sender.sent) == 1


def test_expired_confirm_link_does_not_confirm(store, registry, sender) -> None:
    subscribe(store, registry, sender, VALID, limits=Limits(confirm_ttl=timedelta(hours=1)))
    token = token_from(sender.sent[-1], CONFIRM_PATH)
    with pytest.raises(Exception, match="expired"):
        confirm(store, KEY, token, NOW + timedelta(hours=1))
    assert store.list_subscriptions()[0].status == "pending"


def test_unsubscribe_link_cannot_confirm_and_confirm_link_cannot_unsubscribe(store, registry, sender) -> None:
    subscribe(store, registry, sender, VALID)
    sub = store.list_subscriptions()[0]
    confirm_token = token_from(sender.sent[-1], CONFIRM_PATH)
    with pytest.raises(WrongPurpose):
        unsubscribe(store, KEY, confirm_token, NOW)
    link = subs.unsubscribe_link(KEY, sub, BASE_URL, NOW)
    with pytest.raises(WrongPurpose):
        confirm(store, KEY, link.split("token=")[1], NOW)
    assert store.get_subscription(sub.sub_id).status == "pending"


def test_unsubscribe_stops_the_subscription_and_an_old_confirm_link_cannot_revive_it(store, registry, sender) -> None:
    subscribe(store, registry, sender, VALID)
    confirm_token = token_from(sender.sent[-1], CONFIRM_PATH)
    confirm(store, KEY, confirm_token, NOW)
    sub = store.list_subscriptions()[0]
    token = subs.unsubscribe_link(KEY, sub, BASE_URL, NOW).split("token=")[1]
    assert unsubscribe(store, KEY, token, NOW).state == "unsubscribed"
    assert unsubscribe(store, KEY, token, NOW).state == "already_unsubscribed"
    assert store.list_subscriptions(status="confirmed") == []
    assert confirm(store, KEY, confirm_token, NOW).state == "inactive"
    assert store.get_subscription(sub.sub_id).status == "unsubscribed"


def test_token_for_a_deleted_subscription_is_unknown(store) -> None:
    token = make_token(KEY, CONFIRM, "nosuchsub", NOW + timedelta(days=1))
    with pytest.raises(UnknownSubscription):
        confirm(store, KEY, token, NOW)


# -- abuse limits -----------------------------------------------------------------------------------------------


def test_per_address_limit_counts_across_ips_and_resets_after_an_hour(store, registry, sender) -> None:
    limits = Limits(per_address_per_hour=3, per_ip_per_hour=100)
    for i in range(3):
        subscribe(store, registry, sender, VALID, ip=f"198.51.100.{i}", now=NOW + timedelta(minutes=i), limits=limits)
    with pytest.raises(RateLimitedError) as err:
        subscribe(store, registry, sender, VALID, ip="198.51.100.9", now=NOW + timedelta(minutes=5), limits=limits)
    assert err.value.scope == "address"
    # case and spacing do not dodge the limit
    with pytest.raises(RateLimitedError):
        subscribe(store, registry, sender, {**VALID, "email": " Reader@EXAMPLE.org"}, now=NOW + timedelta(minutes=6),
                  limits=limits)
    assert len(sender.sent) == 3
    subscribe(store, registry, sender, VALID, now=NOW + timedelta(minutes=70), limits=limits)
    assert len(sender.sent) == 4


def test_per_ip_limit_counts_invalid_requests_too(store, registry, sender) -> None:
    limits = Limits(per_ip_per_hour=2)
    with pytest.raises(ValidationError):
        subscribe(store, registry, sender, {"email": "junk"}, limits=limits)
    subscribe(store, registry, sender, {**VALID, "email": "a@example.org"}, limits=limits)
    with pytest.raises(RateLimitedError) as err:
        subscribe(store, registry, sender, {**VALID, "email": "b@example.org"}, limits=limits)
    assert err.value.scope == "ip"
    subscribe(store, registry, sender, {**VALID, "email": "b@example.org"}, ip="203.0.113.7", limits=limits)


def test_daily_mail_cap_applies_to_confirmation_mails(store, registry) -> None:
    sender = RecordingSender()
    limits = Limits(per_address_per_hour=100, emails_per_address_per_day=2)
    for i in range(4):
        assert subscribe(store, registry, sender, VALID, now=NOW + timedelta(minutes=i), limits=limits) == ACCEPTED
    assert len(sender.sent) == 2
    subscribe(store, registry, sender, VALID, now=NOW + timedelta(days=1, minutes=1), limits=limits)
    assert len(sender.sent) == 3
