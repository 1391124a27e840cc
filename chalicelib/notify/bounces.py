"""SES feedback (bounces and complaints, delivered through SNS) → suppressed addresses.

Accepts the SNS envelope (``{"Type": "Notification", "Message": "<json>"}``) or the bare SES notification
(what a Lambda subscribed to the topic receives as ``event.message``, parsed). Field names follow the SES
documentation: ``notificationType`` (or ``eventType`` with event publishing), ``bounce.bounceType`` and
``bounce.bouncedRecipients[].emailAddress``, ``complaint.complainedRecipients[].emailAddress``.

Only a Lambda subscription is supported: an HTTP endpoint would need SNS signature verification first,
because anyone could otherwise suppress any address.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parseaddr
from typing import Any

from chalicelib.domain.models import utc
from chalicelib.logs import get_logger
from chalicelib.store.base import Store


def _ses_notification(message: Mapping[str, Any]) -> Mapping[str, Any] | None:
    if message.get("Type") == "Notification":
        try:
            inner = json.loads(message.get("Message") or "")
        except (TypeError, ValueError) as exc:
            raise ValueError("SNS notification whose Message is not JSON") from exc
        return inner if isinstance(inner, Mapping) else None
    if "Type" in message:  # SubscriptionConfirmation / UnsubscribeConfirmation: not feedback
        return None
    return message


def _addresses(entries: Any) -> list[str]:
    found = []
    for entry in entries if isinstance(entries, list) else []:
        raw = entry.get("emailAddress") if isinstance(entry, Mapping) else None
        address = parseaddr(raw)[1] if isinstance(raw, str) else ""
        if "@" in address:
            found.append(address)
    return found


def handle_sns_notification(store: Store, message: Mapping[str, Any], now: datetime) -> list[str]:
    """Suppress the recipients of a permanent bounce or a complaint; return the addresses suppressed.

    Transient bounces (mailbox full, greylisting) and deliveries change nothing. Re-delivery of the same
    notification is harmless: suppression is idempotent.
    """
    ses = _ses_notification(message)
    if ses is None:
        return []
    kind = ses.get("notificationType") or ses.get("eventType")
    if kind == "Bounce":
        bounce = ses.get("bounce") or {}
        if bounce.get("bounceType") != "Permanent":
            return []
        reason = f"bounce:{bounce.get('bounceSubType', 'General')}"
        addresses = _addresses(bounce.get("bouncedRecipients"))
    elif kind == "Complaint":
        complaint = ses.get("complaint") or {}
        reason = f"complaint:{complaint.get('complaintFeedbackType', 'unspecified')}"
        addresses = _addresses(complaint.get("complainedRecipients"))
    else:
        return []
    for address in addresses:
        store.suppress_email(address, reason, at=utc(now))
    if addresses:
        get_logger().info("addresses suppressed", extra={"kind": kind, "count": len(addresses)})
    return addresses


def handle_sns_event(event: Any) -> list[str]:
    """The Lambda entry point: an SNS event whose message is an SES notification (JSON text)."""

    from chalicelib import runtime

    try:
        message = json.loads(getattr(event, "message", "") or "{}")
    except ValueError:
        get_logger().warning("SNS message is not JSON; ignored", extra={"job": "bounces"})
        return []
    return handle_sns_notification(runtime.store(), message, datetime.now(UTC))
