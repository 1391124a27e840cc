"""Every e-mail and every small HTML page of the subscription flow, built with the standard ``email`` package.

Pure: callers pass the time, the URLs and the salt, so tests can pin the output. Everything that came from
outside (company names, handles, URLs) is HTML-escaped, and a post link is shown only when the privacy rules
allow it (:func:`digest_lines`).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from datetime import datetime
from html import escape
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

from chalicelib.domain.models import Company, Complaint, Subscription, utc
from chalicelib.domain.privacy import is_public_tier, pseudonym
from chalicelib.domain.records import Record, record, set_field

if TYPE_CHECKING:
    from email.message import EmailMessage
    from email.policy import EmailPolicy

DEFAULT_FROM = "Fair Reply <alerts@fairreply.invalid>"
ONE_CLICK = "List-Unsubscribe=One-Click"


@functools.cache
def wire_policy() -> EmailPolicy:
    """The policy messages are written with; built on first use, as the ``email`` package costs the HTML pages'
    cold start several milliseconds.

    RFC 5322 allows 998-character lines; the default 78 would fold a long, space-free List-Unsubscribe URL into
    RFC 2047 encoded words, which mail clients do not read as a URL.
    """
    from email import policy as email_policy

    return email_policy.SMTP.clone(max_line_length=998)


def __getattr__(name: str) -> Any:
    if name == "WIRE_POLICY":  # the module constant it was: ``from chalicelib.notify.render import WIRE_POLICY``
        return wire_policy()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@record
class DigestLine(Record):
    """One breach as a reader may see it: ``who`` is a handle only for high-profile complainants."""

    platform: str
    tier: str
    minutes_waiting: int
    who: str
    post_url: str | None

    def __init__(self, platform: str, tier: str, minutes_waiting: int, who: str, post_url: str | None) -> None:
        set_field(self, "platform", platform)
        set_field(self, "tier", tier)
        set_field(self, "minutes_waiting", minutes_waiting)
        set_field(self, "who", who)
        set_field(self, "post_url", post_url)


# -- links ------------------------------------------------------------------------------------------------------


def confirm_url(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}/v1/subscriptions/confirm?token={quote(token, safe='')}"


def unsubscribe_url(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}/v1/subscriptions/unsubscribe?token={quote(token, safe='')}"


def company_url(base_url: str, slug: str) -> str:
    return f"{base_url.rstrip('/')}/v1/companies/{quote(slug, safe='')}"


def leaderboard_url(base_url: str) -> str:
    return f"{base_url.rstrip('/')}/"


def _safe_link(url: str | None) -> str | None:
    """Only absolute http(s) links go into an e-mail; anything else (``javascript:``, relative) is dropped."""
    if not url:
        return None
    parts = urlsplit(url)
    return url if parts.scheme in ("http", "https") and parts.netloc else None


# -- privacy ----------------------------------------------------------------------------------------------------


def email_domain(email: str) -> str:
    return email.rpartition("@")[2].strip().lower()


def is_company_address(email: str, company: Company) -> bool:
    """A confirmed address at one of the company's own domains (its agents), which may see every post link."""
    return email_domain(email) in company.email_domains


def digest_lines(
    complaints: Iterable[Complaint], *, subscriber_email: str, company: Company, salt: bytes, now: datetime
) -> list[DigestLine]:
    """Breaches as the subscriber may see them: pseudonyms unless high-profile; links only when allowed."""
    agent = is_company_address(subscriber_email, company)
    lines = []
    for c in complaints:
        public = is_public_tier(c.tier)
        who = f"@{c.author_handle.lstrip('@')}" if public and c.author_handle else pseudonym(salt, c.platform, c.author_id)
        lines.append(
            DigestLine(
                platform=c.platform,
                tier=str(c.tier),
                minutes_waiting=max(0, int((utc(now) - c.created_at).total_seconds() // 60)),
                who=who,
                post_url=_safe_link(c.url) if public or agent else None,
            )
        )
    return lines


# -- messages ---------------------------------------------------------------------------------------------------


def _base_message(*, from_addr: str, to: str, subject: str, now: datetime) -> EmailMessage:
    from email.headerregistry import Address
    from email.message import EmailMessage
    from email.utils import format_datetime, make_msgid, parseaddr

    msg = EmailMessage(policy=wire_policy())
    msg["From"] = from_addr
    msg["To"] = Address(addr_spec=to)
    msg["Subject"] = subject
    msg["Date"] = format_datetime(utc(now))
    domain = parseaddr(from_addr)[1].rpartition("@")[2] or "fairreply.invalid"
    msg["Message-ID"] = make_msgid(domain=domain)
    return msg


def _add_unsubscribe_headers(msg: EmailMessage, url: str) -> None:
    """RFC 2369 + RFC 8058: mail clients show an unsubscribe button that POSTs ``List-Unsubscribe=One-Click``."""
    msg["List-Unsubscribe"] = f"<{url}>"
    msg["List-Unsubscribe-Post"] = ONE_CLICK


def _html(title: str, body: str) -> str:
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title></head>\n"
        '<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 1rem auto; padding: 0 1rem">\n'
        f"{body}\n</body></html>\n"
    )


def _minutes(n: int) -> str:
    if n < 120:
        return f"{n} min"
    if n < 48 * 60:
        return f"{n // 60} h {n % 60} min"
    return f"{n // (24 * 60)} d {n % (24 * 60) // 60} h"


def confirmation_email(
    *,
    sub: Subscription,
    company: Company,
    link: str,
    from_addr: str,
    now: datetime,
    already_subscribed: bool = False,
) -> EmailMessage:
    """The double opt-in e-mail; for an address already subscribed it asks to confirm the new settings instead."""
    sla = f"{sub.sla_minutes} minutes" if sub.sla_minutes else f"the company's own SLA ({company.sla_minutes} minutes)"
    tiers = ", ".join(sub.tiers) if sub.tiers else "all audience tiers"
    if already_subscribed:
        subject = f"Confirm your new Fair Reply alert settings for {company.name}"
        intro = (f"This address already receives Fair Reply alerts about {company.name}. Someone (hopefully you) "
                 "asked to change them to:")
    else:
        subject = f"Confirm your Fair Reply alerts for {company.name}"
        intro = f"Someone (hopefully you) asked to e-mail this address when {company.name} leaves complaints unanswered:"
    settings = [f"SLA: {sla}", f"Tiers: {tiers}", f"Digest: {sub.digest}"]
    outro = "If this was not you, ignore this message: nothing will be sent unless the link is opened."
    msg = _base_message(from_addr=from_addr, to=sub.email, subject=subject, now=now)
    text = "\n".join([intro, "", *[f"  {s}" for s in settings], "", "Confirm:", link, "", outro, ""])
    msg.set_content(text)
    html_items = "".join(f"<li>{escape(s)}</li>" for s in settings)
    msg.add_alternative(
        _html(
            subject,
            f"<p>{escape(intro)}</p><ul>{html_items}</ul>"
            f'<p><a href="{escape(link, quote=True)}">Confirm</a></p><p>{escape(outro)}</p>',
        ),
        subtype="html",
    )
    return msg


def digest_email(
    *,
    sub: Subscription,
    company: Company,
    lines: Sequence[DigestLine],
    sla_minutes: int,
    base_url: str,
    unsubscribe_link: str,
    from_addr: str,
    now: datetime,
    more: int = 0,
) -> EmailMessage:
    """One subscriber's digest of unanswered complaints past the SLA, with one-click unsubscribe headers."""
    n = len(lines) + more
    subject = f"{company.name}: {n} complaint{'s' if n != 1 else ''} unanswered past {_minutes(sla_minutes)}"
    msg = _base_message(from_addr=from_addr, to=sub.email, subject=subject, now=now)
    _add_unsubscribe_headers(msg, unsubscribe_link)
    company_link = company_url(base_url, company.slug)
    board = leaderboard_url(base_url)

    text_rows = [
        f"- {ln.platform} | {ln.tier} | waiting {_minutes(ln.minutes_waiting)} | {ln.who}"
        + (f"\n  {ln.post_url}" if ln.post_url else "")
        for ln in lines
    ]
    more_text = [f"... and {more} more, in the next digest."] if more else []
    text = "\n".join([
        f"{n} complaint(s) to {company.name} have had no reply for longer than {_minutes(sla_minutes)}:",
        "", *text_rows, *more_text, "",
        f"{company.name}'s public replies: {company_link}",
        f"Leaderboard: {board}",
        "", f"Unsubscribe: {unsubscribe_link}", "",
    ])
    msg.set_content(text)

    def cell(ln: DigestLine) -> str:
        who = escape(ln.who)
        if ln.post_url:
            who = f'<a href="{escape(ln.post_url, quote=True)}">{who}</a>'
        return (f"<tr><td>{escape(ln.platform)}</td><td>{escape(ln.tier)}</td>"
                f"<td>{escape(_minutes(ln.minutes_waiting))}</td><td>{who}</td></tr>")

    rows = "".join(cell(ln) for ln in lines)
    more_html = f"<p>… and {more} more, in the next digest.</p>" if more else ""
    body = (
        f"<p>{n} complaint(s) to <strong>{escape(company.name)}</strong> have had no reply for longer than "
        f"{escape(_minutes(sla_minutes))}:</p>"
        "<table><thead><tr><th>Platform</th><th>Tier</th><th>Waiting</th><th>Complainant</th></tr></thead>"
        f"<tbody>{rows}</tbody></table>{more_html}"
        f'<p><a href="{escape(company_link, quote=True)}">{escape(company.name)}\'s public replies</a> · '
        f'<a href="{escape(board, quote=True)}">Leaderboard</a></p>'
        f'<p style="font-size: .85em"><a href="{escape(unsubscribe_link, quote=True)}">Unsubscribe</a></p>'
    )
    msg.add_alternative(_html(subject, body), subtype="html")
    return msg


# -- pages for the confirm / unsubscribe routes -----------------------------------------------------------------


def message_page(title: str, message: str) -> str:
    """A minimal self-contained page (no external resources) for the result of a link."""
    return _html(title, f"<h1>{escape(title)}</h1><p>{escape(message)}</p>")


def unsubscribe_prompt_page(token: str) -> str:
    """The GET page: link scanners that prefetch URLs must not unsubscribe anyone, so it asks for a POST."""
    return _html(
        "Unsubscribe from Fair Reply alerts",
        "<h1>Unsubscribe from Fair Reply alerts?</h1>"
        f'<form method="post" action="?token={escape(quote(token, safe=""), quote=True)}">'
        f'<input type="hidden" name="List-Unsubscribe" value="One-Click">'
        '<button type="submit">Unsubscribe</button></form>',
    )


_RESULT_PAGES = {
    "confirmed": ("Subscription confirmed", "You will receive alerts when complaints go unanswered past the SLA."),
    "already_confirmed": ("Already confirmed", "This subscription was already confirmed; nothing has changed."),
    "inactive": ("Link no longer active", "This subscription was cancelled. Subscribe again to receive alerts."),
    "unsubscribed": ("Unsubscribed", "You will receive no more alerts about this company."),
    "already_unsubscribed": ("Already unsubscribed", "This address receives no alerts about this company."),
    "invalid": ("Link not valid", "This link is damaged, has expired or is not meant for this page. "
                                  "Please subscribe again to get a new one."),
}


def result_page(state: str) -> str:
    """The page for a :class:`~chalicelib.notify.subscriptions.LinkResult` state, or ``invalid`` for a TokenError."""
    title, message = _RESULT_PAGES.get(state, _RESULT_PAGES["invalid"])
    return message_page(title, message)
