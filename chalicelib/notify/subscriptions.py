"""Subscribing (double opt-in), confirming and unsubscribing.

Anyone may ask for alerts to any address, so the flow is built so that asking reveals nothing and costs the
address owner at most one e-mail they can ignore:

* the answer to a request is the same constant :data:`ACCEPTED` whether the address is new, pending,
  already confirmed or suppressed (no enumeration);
* nothing but a confirmation e-mail is sent before the link in it is opened;
* a request for an address that is already confirmed does not change its settings: it creates a new
  pending subscription and sends a "confirm your new settings" e-mail; confirming it replaces the old one;
* requests are limited per IP and per address, and all mail to one address is capped per day.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from chalicelib.domain.models import TIERS, Company, Subscription, utc
from chalicelib.domain.records import Record, record, replace, set_field
from chalicelib.logs import get_logger
from chalicelib.notify import render, tokens
from chalicelib.notify.errors import RateLimitedError, UnknownSubscription, ValidationError
from chalicelib.registry import MAX_SLA_MINUTES
from chalicelib.store.base import Store, normalise_email

if TYPE_CHECKING:  # the confirm and unsubscribe links load this module: they need neither mail nor SMTP
    from email.message import EmailMessage

    from chalicelib.notify.senders import Sender

PENDING, CONFIRMED, UNSUBSCRIBED, SUPPRESSED = "pending", "confirmed", "unsubscribed", "suppressed"
DIGESTS = ("immediate", "daily")
FIELDS = frozenset({"email", "company", "sla_minutes", "tiers", "digest"})
MAX_EMAIL_CHARS = 254

# Event kinds in the store's rate-limit log; the alerts job shares MAIL_EVENT for the daily cap.
SUBSCRIBE_IP_EVENT = "subscribe-ip"
SUBSCRIBE_ADDRESS_EVENT = "subscribe-address"
MAIL_EVENT = "mail"

_LOCAL = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
EMAIL_RE = re.compile(rf"^{_LOCAL}@{_LABEL}(?:\.{_LABEL})+$")


_ACCEPTED_MESSAGE = ("If this address can receive alerts, a confirmation e-mail is on its way. Nothing else will be "
                     "sent until the link in it is opened.")


# a record (see chalicelib.domain.records): confirm and unsubscribe links on a cold Lambda import this module
@record
class Limits(Record):
    """Abuse limits and link lifetimes; defaults suit a public instance."""

    per_address_per_hour: int = 5
    per_ip_per_hour: int = 20
    emails_per_address_per_day: int = 10
    confirm_ttl: timedelta = timedelta(days=7)
    # Unsubscribe links live in old e-mails people open months later; they still expire, but late.
    unsubscribe_ttl: timedelta = timedelta(days=365)

    def __init__(
        self, per_address_per_hour: int = 5, per_ip_per_hour: int = 20, emails_per_address_per_day: int = 10,
        confirm_ttl: timedelta = timedelta(days=7), unsubscribe_ttl: timedelta = timedelta(days=365),
    ) -> None:
        set_field(self, "per_address_per_hour", per_address_per_hour)
        set_field(self, "per_ip_per_hour", per_ip_per_hour)
        set_field(self, "emails_per_address_per_day", emails_per_address_per_day)
        set_field(self, "confirm_ttl", confirm_ttl)
        set_field(self, "unsubscribe_ttl", unsubscribe_ttl)



DEFAULT_LIMITS = Limits()


@record
class SubscriptionOutcome(Record):
    """What the API answers to every accepted request, whatever the address's state (no enumeration)."""

    status_code: int = 202
    message: str = _ACCEPTED_MESSAGE

    def __init__(self, status_code: int = 202, message: str = _ACCEPTED_MESSAGE) -> None:
        set_field(self, "status_code", status_code)
        set_field(self, "message", message)

    def body(self) -> dict[str, str]:
        return {"status": "accepted", "message": self.message}



ACCEPTED = SubscriptionOutcome()


@record
class SubscriptionRequest(Record):
    """A validated request."""

    email: str
    company: str
    sla_minutes: int | None
    tiers: tuple[str, ...]
    digest: str

    def __init__(self, email: str, company: str, sla_minutes: int | None, tiers: tuple[str, ...], digest: str) -> None:
        set_field(self, "email", email)
        set_field(self, "company", company)
        set_field(self, "sla_minutes", sla_minutes)
        set_field(self, "tiers", tiers)
        set_field(self, "digest", digest)



@record
class LinkResult(Record):
    """The result of opening a confirm or unsubscribe link; ``state`` picks the page to show."""

    state: str  # confirmed | already_confirmed | inactive | unsubscribed | already_unsubscribed
    subscription: Subscription
    company: Company | None = None

    def __init__(self, state: str, subscription: Subscription, company: Company | None = None) -> None:
        set_field(self, "state", state)
        set_field(self, "subscription", subscription)
        set_field(self, "company", company)



# -- validation -------------------------------------------------------------------------------------------------


def normalise_address(raw: str) -> str:
    """Trim and lowercase the domain (case-insensitive by RFC 5321); the local part is kept as typed."""
    local, _, domain = raw.strip().rpartition("@")
    return f"{local}@{domain.lower()}"


def validate_request(payload: Any, registry: Mapping[str, Company]) -> SubscriptionRequest:
    """Check every field; raise ValidationError naming the first bad one."""
    if not isinstance(payload, Mapping):
        raise ValidationError("body", "must be a JSON object")
    unknown = sorted(set(payload) - FIELDS)
    if unknown:
        raise ValidationError(unknown[0], "unknown field")

    raw_email = payload.get("email")
    if not isinstance(raw_email, str) or not raw_email.strip():
        raise ValidationError("email", "required, an e-mail address")
    from email.utils import parseaddr

    email = normalise_address(raw_email)
    if len(email) > MAX_EMAIL_CHARS or not EMAIL_RE.match(email) or parseaddr(email)[1] != email:
        raise ValidationError("email", "not a valid e-mail address")

    slug = payload.get("company")
    if not isinstance(slug, str) or not slug:
        raise ValidationError("company", "required, a company slug")
    company = registry.get(slug)
    if company is None or company.retired:
        raise ValidationError("company", f"unknown company {slug!r}")

    sla = payload.get("sla_minutes")
    if sla is not None and (isinstance(sla, bool) or not isinstance(sla, int) or not 1 <= sla <= MAX_SLA_MINUTES):
        raise ValidationError("sla_minutes", f"must be a whole number of minutes from 1 to {MAX_SLA_MINUTES}")
    if sla is None and company.sla_minutes is None:
        raise ValidationError("sla_minutes", f"required: {company.name} publishes no SLA of its own")

    tiers = payload.get("tiers", [])
    if tiers is None:
        tiers = []
    if not isinstance(tiers, list) or not all(isinstance(t, str) and t in TIERS for t in tiers):
        raise ValidationError("tiers", f"must be a list of tiers from: {', '.join(TIERS)}")

    digest = payload.get("digest", "immediate")
    if digest not in DIGESTS:
        raise ValidationError("digest", "must be 'immediate' or 'daily'")
    return SubscriptionRequest(email, slug, sla, tuple(sorted(set(tiers))), digest)


# -- rate limits and capped delivery ----------------------------------------------------------------------------


def _limit(store: Store, kind: str, key: str, limit: int, now: datetime, scope: str) -> None:
    """Count this request against ``limit`` per hour; refused requests count too, so hammering never pays."""
    recent = store.count_events(kind, key, now - timedelta(hours=1))
    store.record_event(kind, key, now)
    if recent >= limit:
        raise RateLimitedError(scope, retry_after=3600)


def deliver(store: Store, sender: Sender, message: EmailMessage, address: str, now: datetime, daily_cap: int) -> bool:
    """Send unless ``address`` already got ``daily_cap`` e-mails in the last 24 h; True if sent.

    Raises SendFailed (nothing is counted then, so a retry is not penalised).
    """
    key = normalise_email(address)
    if store.count_events(MAIL_EVENT, key, now - timedelta(days=1)) >= daily_cap:
        get_logger().info("daily e-mail cap reached; not sending", extra={"kind": "cap"})
        return False
    sender.send(message)
    store.record_event(MAIL_EVENT, key, now)
    return True


# -- the three operations ---------------------------------------------------------------------------------------


def request_subscription(
    store: Store,
    registry: Mapping[str, Company],
    payload: Any,
    *,
    ip: str | None,
    now: datetime,
    sender: Sender,
    base_url: str,
    key: bytes,
    from_addr: str = render.DEFAULT_FROM,
    limits: Limits = DEFAULT_LIMITS,
) -> SubscriptionOutcome:
    """Record a pending subscription and send its confirmation e-mail; always :data:`ACCEPTED`.

    Raises ValidationError (400), RateLimitedError (429) or SendFailed (503: the request is stored and
    a repeat resends the e-mail).
    """
    now = utc(now)
    if ip:
        _limit(store, SUBSCRIBE_IP_EVENT, ip, limits.per_ip_per_hour, now, "ip")
    req = validate_request(payload, registry)
    _limit(store, SUBSCRIBE_ADDRESS_EVENT, normalise_email(req.email), limits.per_address_per_hour, now, "address")
    if store.is_suppressed(req.email):
        return ACCEPTED  # bounced or complained before: never mail it again, and say nothing different

    existing = store.find_subscription(req.email, req.company)
    settings = {"email": req.email, "sla_minutes": req.sla_minutes, "tiers": req.tiers, "digest": req.digest,
                "source_ip": ip}
    if existing is not None and existing.status == PENDING:
        sub = replace(existing, **settings)
    else:
        import uuid

        sub = Subscription(sub_id=uuid.uuid4().hex, company=req.company, status=PENDING, created_at=now, **settings)
    store.put_subscription(sub)

    already = _has_confirmed(store, req.email, req.company)
    token = tokens.make_token(key, tokens.CONFIRM, sub.sub_id, now + limits.confirm_ttl)
    message = render.confirmation_email(
        sub=sub, company=registry[req.company], link=render.confirm_url(base_url, token), from_addr=from_addr,
        now=now, already_subscribed=already,
    )
    deliver(store, sender, message, sub.email, now, limits.emails_per_address_per_day)
    return ACCEPTED


def _same_address(store: Store, email: str, company: str, statuses: tuple[str, ...]) -> list[Subscription]:
    norm = normalise_email(email)
    return [s for s in store.list_subscriptions(company=company)
            if s.status in statuses and normalise_email(s.email) == norm]


def _has_confirmed(store: Store, email: str, company: str) -> bool:
    return bool(_same_address(store, email, company, (CONFIRMED,)))


def confirm(store: Store, key: bytes, token: str, now: datetime,
            registry: Mapping[str, Company] | None = None) -> LinkResult:
    """Open a confirm link. Idempotent: a second visit answers ``already_confirmed`` and sends nothing.

    A link for a subscription that was unsubscribed since answers ``inactive`` rather than resurrecting
    it: an old e-mail must not undo an unsubscribe. Confirming replaces the address's earlier confirmed
    subscription to the same company (new settings win).
    """
    now = utc(now)
    sub = _load(store, tokens.verify_token(key, token, tokens.CONFIRM, now))
    company = None if registry is None else registry.get(sub.company)
    if sub.status == CONFIRMED:
        return LinkResult("already_confirmed", sub, company)
    if sub.status != PENDING:
        return LinkResult("inactive", sub, company)
    for old in _same_address(store, sub.email, sub.company, (CONFIRMED,)):
        store.put_subscription(replace(old, status=UNSUBSCRIBED))
    confirmed = replace(sub, status=CONFIRMED, confirmed_at=now)
    store.put_subscription(confirmed)
    return LinkResult("confirmed", confirmed, company)


def unsubscribe(store: Store, key: bytes, token: str, now: datetime,
                registry: Mapping[str, Company] | None = None) -> LinkResult:
    """Open (POST) an unsubscribe link: stops every live subscription of that address to that company.

    All of them, because a digest's link names the subscription it was sent for, which later confirmed
    settings may have replaced; the reader means "stop these e-mails".
    """
    now = utc(now)
    sub = _load(store, tokens.verify_token(key, token, tokens.UNSUBSCRIBE, now))
    company = None if registry is None else registry.get(sub.company)
    live = _same_address(store, sub.email, sub.company, (PENDING, CONFIRMED))
    for s in live:
        store.put_subscription(replace(s, status=UNSUBSCRIBED))
    current = store.get_subscription(sub.sub_id) or sub
    return LinkResult("unsubscribed" if live else "already_unsubscribed", current, company)


def unsubscribe_link(key: bytes, sub: Subscription, base_url: str, now: datetime,
                     limits: Limits = DEFAULT_LIMITS) -> str:
    token = tokens.make_token(key, tokens.UNSUBSCRIBE, sub.sub_id, utc(now) + limits.unsubscribe_ttl)
    return render.unsubscribe_url(base_url, token)


def _load(store: Store, sub_id: str) -> Subscription:
    sub = store.get_subscription(sub_id)
    if sub is None:
        raise UnknownSubscription(sub_id)
    return sub
