"""The alerts run: the right breaches, one digest per subscriber, never twice, retried after a failure."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from chalicelib.domain.models import Tier
from chalicelib.domain.privacy import pseudonym
from chalicelib.notify.alerts import find_breaches, run_alerts
from chalicelib.notify.keys import pseudonym_salt

from .conftest import BASE_URL, KEY, NOW, RecordingSender, add_sub, complaint, html_part, text_part

SLA = timedelta(minutes=60)  # acme-air's SLA in the test registry


def run(store, registry, sender, now=NOW, **kw):
    return run_alerts(store, registry, now=now, sender=sender, key=KEY, base_url=BASE_URL, **kw)


def test_only_unanswered_live_complaints_past_the_sla_are_breaches(store) -> None:
    # GIVEN complaints on both sides of the SLA, answered, deleted, another company's and too old
    store.put_complaints([
        complaint("late", created_at=NOW - SLA - timedelta(seconds=1)),
        complaint("exactly", created_at=NOW - SLA),  # waiting exactly the SLA: not past it
        complaint("fresh", created_at=NOW - timedelta(minutes=5)),
        complaint("answered", created_at=NOW - 3 * SLA, replied_after=timedelta(minutes=90)),
        complaint("deleted", created_at=NOW - 3 * SLA, deleted=True),
        complaint("other", created_at=NOW - 3 * SLA, company="bolt-bank"),
        complaint("ancient", created_at=NOW - SLA - timedelta(days=31)),
    ])
    # WHEN breaches are looked up
    found = find_breaches(store, "acme-air", 60, NOW)
    # THEN only the late one qualifies
    assert [c.post_id for c in found] == ["late"]


def test_one_digest_per_subscriber_and_rerun_never_repeats_a_breach(store, registry, sender) -> None:
    store.put_complaints([complaint(f"c{i}", created_at=NOW - SLA - timedelta(minutes=i + 1)) for i in range(3)])
    add_sub(store, "a@example.org")
    add_sub(store, "b@example.org")
    first = run(store, registry, sender)
    assert (first.sent, first.breaches) == (2, 6)
    assert sorted(str(m["To"]) for m in sender.sent) == ["a@example.org", "b@example.org"]
    # WHEN the job runs again, now and later, with nothing new
    for later in (NOW, NOW + timedelta(minutes=10), NOW + timedelta(hours=5)):
        again = run(store, registry, sender, now=later)
        assert (again.sent, again.breaches) == (0, 0)
    assert len(sender.sent) == 2
    # AND a new breach is reported alone
    store.put_complaints([complaint("new", created_at=NOW + timedelta(minutes=1))])
    third = run(store, registry, sender, now=NOW + timedelta(minutes=62))
    assert (third.sent, third.breaches) == (2, 2)
    assert all("1 complaint " in str(m["Subject"]) for m in sender.sent[2:])


def test_failed_send_is_retried_next_run_and_then_not_again(store, registry) -> None:
    store.put_complaints([complaint("c1", created_at=NOW - 2 * SLA)])
    sub = add_sub(store)
    sender = RecordingSender()
    sender.fail_next = 1
    failed = run(store, registry, sender)
    assert (failed.sent, failed.failed) == (0, 1)
    assert not store.was_alerted(sub.sub_id, "x", "c1")
    retried = run(store, registry, sender, now=NOW + timedelta(minutes=15))
    assert (retried.sent, retried.breaches) == (1, 1)
    assert run(store, registry, sender, now=NOW + timedelta(minutes=30)).sent == 0
    assert len(sender.sent) == 1


def test_duplicate_invocation_of_the_same_slot_sends_once(store, registry, sender) -> None:
    store.put_complaints([complaint("c1", created_at=NOW - 2 * SLA)])
    add_sub(store)
    assert run(store, registry, sender).sent == 1
    assert run(store, registry, sender).sent == 0
    assert len(sender.sent) == 1


def test_daily_digest_goes_out_at_most_once_per_utc_day(store, registry, sender) -> None:
    add_sub(store, digest="daily")
    store.put_complaints([complaint("c1", created_at=NOW - 2 * SLA)])
    assert run(store, registry, sender).sent == 1
    # a new breach the same day waits for tomorrow
    store.put_complaints([complaint("c2", created_at=NOW - SLA + timedelta(minutes=1))])
    assert run(store, registry, sender, now=NOW + timedelta(hours=2)).sent == 0
    assert run(store, registry, sender, now=NOW + timedelta(hours=11, minutes=59)).sent == 0
    tomorrow = run(store, registry, sender, now=NOW + timedelta(hours=12))
    assert (tomorrow.sent, tomorrow.breaches) == (1, 1)
    assert len(sender.sent) == 2


def test_immediate_digest_is_sent_on_every_run_with_news(store, registry, sender) -> None:
    add_sub(store)
    for i in range(3):
        store.put_complaints([complaint(f"c{i}", created_at=NOW + timedelta(minutes=10 * i) - 2 * SLA)])
        assert run(store, registry, sender, now=NOW + timedelta(minutes=10 * i)).sent == 1
    assert len(sender.sent) == 3


def test_daily_cap_stops_mail_but_keeps_breaches_for_later(store, registry, sender) -> None:
    sub = add_sub(store)
    for i in range(3):
        store.put_complaints([complaint(f"c{i}", created_at=NOW + timedelta(minutes=10 * i) - 2 * SLA)])
        run(store, registry, sender, now=NOW + timedelta(minutes=10 * i), max_per_address_per_day=2)
    assert len(sender.sent) == 2
    assert not store.was_alerted(sub.sub_id, "x", "c2")
    next_day = run(store, registry, sender, now=NOW + timedelta(days=1, minutes=1), max_per_address_per_day=2)
    assert (next_day.sent, next_day.breaches) == (1, 1)


def test_suppressed_unconfirmed_and_tier_filtered_subscribers_get_nothing(store, registry, sender) -> None:
    store.put_complaints([complaint("c1", created_at=NOW - 2 * SLA, tier=Tier.ORDINARY)])
    add_sub(store, "bounced@example.org")
    store.suppress_email("Bounced@example.org", "bounce:General")
    store.put_subscription(replace(add_sub(store, "pending@example.org"), status="pending"))
    add_sub(store, "vip-only@example.org", tiers=["high_profile"])
    result = run(store, registry, sender)
    assert (result.sent, result.suppressed) == (0, 1)
    assert sender.sent == []


def test_subscription_sla_overrides_the_company_sla(store, registry, sender) -> None:
    store.put_complaints([complaint("c1", created_at=NOW - timedelta(minutes=20))])
    add_sub(store, "strict@example.org", sla=15)
    add_sub(store, "default@example.org")
    assert run(store, registry, sender).sent == 1
    assert str(sender.sent[0]["To"]) == "strict@example.org"


def test_company_without_sla_uses_only_subscription_sla(store, registry, sender) -> None:
    store.put_complaints([complaint("b1", created_at=NOW - timedelta(hours=3), company="bolt-bank")])
    add_sub(store, "a@example.org", company="bolt-bank", sla=120, sub_id="a")
    add_sub(store, "b@example.org", company="bolt-bank", sub_id="b")  # impossible via the API; skipped
    assert run(store, registry, sender).sent == 1


# -- the digest itself ------------------------------------------------------------------------------------------


def test_digest_has_unsubscribe_headers_both_parts_and_links(store, registry, sender) -> None:
    store.put_complaints([complaint("c1", created_at=NOW - timedelta(minutes=95))])
    add_sub(store)
    run(store, registry, sender)
    [msg] = sender.sent
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    unsubscribe = str(msg["List-Unsubscribe"])
    assert unsubscribe.startswith(f"<{BASE_URL}/v1/subscriptions/unsubscribe?token=") and unsubscribe.endswith(">")
    assert msg["Message-ID"] and msg["Date"]
    text, html = text_part(msg), html_part(msg)
    assert "waiting 95 min" in text
    assert f"{BASE_URL}/v1/companies/acme-air" in text and f"{BASE_URL}/" in text
    assert "Acme Air" in html and "<table>" in html


def test_ordinary_complainants_are_pseudonymous_and_unlinked_for_the_public(store, registry, sender) -> None:
    store.put_complaints([
        complaint("o1", created_at=NOW - 2 * SLA, tier=Tier.ORDINARY, author_id="111", handle="jane_doe"),
        complaint("n1", created_at=NOW - 2 * SLA, tier=Tier.NOTABLE, author_id="222", handle="local_chef"),
        complaint("h1", created_at=NOW - 2 * SLA, tier=Tier.HIGH_PROFILE, author_id="333", handle="FamousPerson"),
    ])
    add_sub(store, "reader@example.org")
    run(store, registry, sender)
    [msg] = sender.sent
    body = text_part(msg) + html_part(msg)
    salt = pseudonym_salt(KEY)
    for private_id, handle, post in (("111", "jane_doe", "o1"), ("222", "local_chef", "n1")):
        assert pseudonym(salt, "x", private_id) in body
        assert handle not in body
        assert f"/status/{post}" not in body
    assert "@FamousPerson" in body and "/status/h1" in body


def test_company_domain_addresses_get_every_post_link_but_still_pseudonyms(store, registry, sender) -> None:
    store.put_complaints([complaint("o1", created_at=NOW - 2 * SLA, tier=Tier.ORDINARY, handle="jane_doe")])
    add_sub(store, "agent@ACME.example", sub_id="insider")
    add_sub(store, "agent@notacme.example", sub_id="outsider")
    run(store, registry, sender)
    by_to = {str(m["To"]).lower(): text_part(m) + html_part(m) for m in sender.sent}
    assert "/status/o1" in by_to["agent@acme.example"]
    assert "/status/o1" not in by_to["agent@notacme.example"]
    assert all("jane_doe" not in body for body in by_to.values())


def test_long_backlog_is_split_across_digests_without_loss(store, registry, sender) -> None:
    from chalicelib.notify import alerts

    store.put_complaints([complaint(f"c{i:03}", created_at=NOW - 2 * SLA - timedelta(minutes=i)) for i in range(60)])
    add_sub(store)
    first = run(store, registry, sender)
    assert first.breaches == alerts.MAX_LINES
    assert "and 10 more" in text_part(sender.sent[0])
    second = run(store, registry, sender, now=NOW + timedelta(minutes=1))
    assert second.breaches == 10


@pytest.mark.parametrize("evil", ['<script>alert(1)</script>', 'Acme "Air" & <b>Co</b>'])
def test_everything_in_the_html_part_is_escaped(store, registry, sender, evil) -> None:
    registry = {**registry, "acme-air": replace(registry["acme-air"], name=evil)}
    store.put_complaints([complaint("h1", created_at=NOW - 2 * SLA, tier=Tier.HIGH_PROFILE, handle=evil)])
    add_sub(store)
    run(store, registry, sender)
    html = html_part(sender.sent[0])
    assert evil not in html
    assert "&lt;" in html
