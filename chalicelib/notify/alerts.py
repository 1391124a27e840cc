"""The alerts run: SLA breaches → one digest e-mail per confirmed subscription.

Delivery guarantee, per (subscription, complaint): a breach is marked alerted only *after* its digest
was accepted by the mail transport, so a failed send is simply found again and retried next run, and a
re-run never repeats a marked breach. The one gap is a crash between the transport accepting a digest
and the marks landing (milliseconds, one subscriber): that digest may be sent again next run. We chose
this at-least-once edge over at-most-once because the store offers no "unmark", so claiming breaches
before sending would lose them whenever a send fails — and losing an alert is worse than repeating one.
Duplicate invocations of the same scheduled slot (EventBridge delivers at least once) are stopped by a
put-if-absent claim per subscription and slot.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING

from chalicelib.domain.models import Category, Company, Complaint, Subscription, utc
from chalicelib.logs import get_logger
from chalicelib.notify import render
from chalicelib.notify.errors import SendFailed
from chalicelib.notify.keys import pseudonym_salt
from chalicelib.notify.subscriptions import CONFIRMED, DEFAULT_LIMITS, Limits, deliver, unsubscribe_link
from chalicelib.store.base import MAX_PAGE, Store

if TYPE_CHECKING:
    from chalicelib.notify.senders import Sender

DIGEST_EVENT = "digest"
SLOT_PLATFORM = "_slot"  # mark_alerted key space for per-slot claims; no real platform starts with "_"
LOOKBACK = timedelta(days=30)
MAX_LINES = 50


@dataclass(frozen=True, slots=True)
class AlertsResult:
    """What one run did: digests ``sent``, ``breaches`` reported in them, sends ``failed`` (retried next run),
    subscriptions skipped because the address is ``suppressed`` or over its daily ``capped`` limit."""

    sent: int = 0
    breaches: int = 0
    failed: int = 0
    suppressed: int = 0
    capped: int = 0


def find_breaches(store: Store, company: str, sla_minutes: int, now: datetime,
                  lookback: timedelta = LOOKBACK) -> list[Complaint]:
    """Unanswered, undeleted complaints waiting longer than ``sla_minutes`` (made within ``lookback`` of that).

    The lookback bounds the read: a complaint older than it was reported to every subscriber of the time,
    and a new subscriber is not sent months of backlog.
    """
    until = utc(now) - timedelta(minutes=sla_minutes)
    found: list[Complaint] = []
    cursor = None
    while True:
        page = store.list_complaints(company, since=until - lookback, until=until, answered=False,
                                     category=Category.COMPLAINT, limit=MAX_PAGE, cursor=cursor)
        found.extend(c for c in page.items if not c.deleted)
        if page.next_cursor is None:
            return found
        cursor = page.next_cursor


def _daily_digest_sent(store: Store, sub: Subscription, now: datetime) -> bool:
    """Daily digests go out at most once per UTC calendar day (a fixed boundary keeps the hour from drifting)."""
    midnight = datetime.combine(now.date(), time(0), tzinfo=now.tzinfo)
    return store.count_events(DIGEST_EVENT, sub.sub_id, midnight) > 0


def run_alerts(
    store: Store,
    registry: Mapping[str, Company],
    *,
    now: datetime,
    sender: Sender,
    key: bytes,
    base_url: str,
    from_addr: str = render.DEFAULT_FROM,
    max_per_address_per_day: int | None = None,
    limits: Limits = DEFAULT_LIMITS,
    lookback: timedelta = LOOKBACK,
) -> AlertsResult:
    """Send each confirmed subscription whose company has new SLA breaches one digest; see the module doc."""
    now = utc(now)
    cap = limits.emails_per_address_per_day if max_per_address_per_day is None else max_per_address_per_day
    salt = pseudonym_salt(key)
    slot = now.isoformat()
    logger = get_logger()
    breaches_by: dict[tuple[str, int], list[Complaint]] = {}
    sent = reported = failed = suppressed = capped = 0

    for sub in store.list_subscriptions(status=CONFIRMED):
        company = registry.get(sub.company)
        sla = sub.sla_minutes or (company.sla_minutes if company else None)
        if company is None or company.retired or sla is None:
            continue
        if store.is_suppressed(sub.email):
            suppressed += 1
            continue
        if sub.digest == "daily" and _daily_digest_sent(store, sub, now):
            continue
        if (company.slug, sla) not in breaches_by:
            breaches_by[(company.slug, sla)] = find_breaches(store, company.slug, sla, now, lookback)
        due = [c for c in breaches_by[(company.slug, sla)]
               if (not sub.tiers or str(c.tier) in sub.tiers) and not store.was_alerted(sub.sub_id, c.platform, c.post_id)]
        if not due:
            continue
        if not store.mark_alerted(sub.sub_id, SLOT_PLATFORM, slot, now):
            continue  # another invocation of this very slot has this subscriber
        shown = due[:MAX_LINES]
        message = render.digest_email(
            sub=sub, company=company,
            lines=render.digest_lines(shown, subscriber_email=sub.email, company=company, salt=salt, now=now),
            sla_minutes=sla, base_url=base_url, unsubscribe_link=unsubscribe_link(key, sub, base_url, now, limits),
            from_addr=from_addr, now=now, more=len(due) - len(shown),
        )
        try:
            delivered = deliver(store, sender, message, sub.email, now, cap)
        except SendFailed:
            failed += 1
            logger.warning("digest not sent; retried next run", extra={"company": company.slug})
            continue
        if not delivered:
            capped += 1
            continue
        store.record_event(DIGEST_EVENT, sub.sub_id, now)
        for c in shown:
            store.mark_alerted(sub.sub_id, c.platform, c.post_id, now)
        sent += 1
        reported += len(shown)

    result = AlertsResult(sent=sent, breaches=reported, failed=failed, suppressed=suppressed, capped=capped)
    logger.info("alerts run finished", extra={"job": "alerts", "sent": sent, "breaches": reported, "failed": failed})
    return result


def scheduled_alerts(now: datetime) -> AlertsResult:
    """The schedule's entry point (``chalicelib.notify.alerts:scheduled_alerts``): wires the process's
    store, registry, sender and key, so ``app.py``, ``make run`` and the CLI run the same thing."""
    from chalicelib import runtime
    from chalicelib.notify.keys import signing_key
    from chalicelib.notify.senders import mail_from, sender_from_env

    settings = runtime.settings()
    return run_alerts(
        runtime.store(), runtime.registry(), now=now, sender=sender_from_env(settings), key=signing_key(settings),
        base_url=settings.public_base_url, from_addr=mail_from(),
    )
