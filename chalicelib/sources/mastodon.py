"""Mastodon (any instance, public REST API, no credentials): a company account's statuses and the threads they answer.

Per company handle ``user@instance`` (base URL ``https://instance`` unless ``base_urls``/``base_url`` or
``$FAIR_REPLY_MASTODON_BASE_URL`` override it):

* ``GET /api/v1/accounts/lookup?acct=user`` once, to learn the account id (kept in the cursor);
* ``GET /api/v1/accounts/:id/statuses?min_id=…&exclude_reblogs=true`` — statuses *with* replies;
* ``GET /api/v1/statuses/:id/context`` for each reply to someone else, which brings the complaint it
  answers (and the thread root, so ``thread_id`` is known) with the complainant's ``followers_count``;
* per company search term (``[companies.x.search] mastodon = ["#acmefail", "acme broken"]``):
  ``/api/v1/timelines/tag/:tag`` for hashtags, ``/api/v2/search?type=statuses`` otherwise (many
  instances only serve full-text status search to logged-in users; a refusal is logged and skipped).

Mastodon pages forwards with ``min_id`` (the oldest statuses newer than it), so every stream is read
oldest-first and the cursor can safely move to the newest *processed* status after each page. A first
run starts ``lookback`` ago, using the fact that status ids are Snowflake-like ``(unix ms << 16)``.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime, timedelta
from html.parser import HTMLParser
from typing import Any
from urllib.parse import quote, urlsplit

import requests

from chalicelib.domain.models import Account, Company, Post, PostKind, normalise_handle
from chalicelib.sources.base import (
    Page,
    RequestBudget,
    Skipped,
    dedupe_accounts,
    dedupe_posts,
    dump_cursor,
    load_cursor,
    logger,
    parse_each,
    parse_time,
    require,
    unique_pages,
)
from chalicelib.sources.errors import AuthRejected, BudgetExhausted, UnexpectedPayload
from chalicelib.sources.http import build_session, get_json

NAME = "mastodon"


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag == "p":
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def html_to_text(content: str) -> str:
    """Mastodon serves status text as HTML; classifiers want plain text."""
    parser = _Text()
    parser.feed(content)
    parser.close()
    return "".join(parser.parts).strip()


def full_acct(acct: str, domain: str) -> str:
    """Local accounts are reported without a domain; qualify them so handles compare across instances."""
    acct = acct.lstrip("@")
    return acct if "@" in acct else f"{acct}@{domain}"


def snowflake_at(when: datetime) -> str:
    """The smallest status id created at ``when`` (Mastodon ids are ``unix_ms << 16 | sequence``)."""
    return str(int(when.timestamp() * 1000) << 16)


def parse_account(raw: Any, domain: str) -> Account:
    """A Mastodon Account entity; ``verified`` means a profile link was verified (rel=me), nothing more."""
    fields = raw.get("fields") or []
    followers = raw.get("followers_count")
    return Account(
        platform=NAME,
        account_id=full_acct(str(require(raw, "acct")), domain),
        handle=full_acct(str(require(raw, "acct")), domain),
        display_name=raw.get("display_name") or None,
        followers=int(followers) if followers is not None else None,
        verified=any(isinstance(f, Mapping) and f.get("verified_at") for f in fields),
        url=raw.get("url"),
    )


def parse_status(raw: Any, domain: str, thread_id: str | None = None) -> Post:
    """A Status entity. ``thread_id`` is the root id when a context told us; a top-level status is its own root."""
    post_id = str(require(raw, "id"))
    author = parse_account(require(raw, "account"), domain)
    in_reply_to = raw.get("in_reply_to_id")
    if raw.get("reblog"):
        kind = PostKind.REPOST
    elif in_reply_to:
        kind = PostKind.REPLY
    elif raw.get("quote"):
        kind = PostKind.QUOTE
    else:
        kind = PostKind.POST
    reply_account = raw.get("in_reply_to_account_id")
    return Post(
        platform=NAME,
        post_id=post_id,
        author=author,
        created_at=parse_time(require(raw, "created_at")),
        text=html_to_text(str(raw.get("content") or "")),
        kind=kind,
        thread_id=thread_id or (None if in_reply_to else post_id),
        in_reply_to_post_id=str(in_reply_to) if in_reply_to else None,
        # Account ids are instance-local numbers; we key accounts by full acct, so resolve via mentions.
        in_reply_to_account_id=_reply_acct(raw, reply_account, domain),
        mentions=tuple(full_acct(str(m["acct"]), domain) for m in raw.get("mentions") or []),
        url=raw.get("url") or raw.get("uri"),
        lang=raw.get("language"),
    )


def _reply_acct(raw: Mapping[str, Any], reply_account: Any, domain: str) -> str | None:
    if not reply_account:
        return None
    if str(raw.get("account", {}).get("id")) == str(reply_account):
        return full_acct(str(raw["account"]["acct"]), domain)
    for mention in raw.get("mentions") or []:
        if str(mention.get("id")) == str(reply_account):
            return full_acct(str(mention["acct"]), domain)
    return None


def parse_statuses(items: Any, domain: str, thread_id: str | None = None) -> tuple[list[Post], list[Skipped]]:
    if not isinstance(items, list):
        raise UnexpectedPayload(NAME, "expected a list of statuses")
    return parse_each(NAME, items, lambda raw: parse_status(raw, domain, thread_id))


def parse_context(payload: Any, domain: str) -> tuple[list[Post], list[Skipped]]:
    """``GET /statuses/:id/context``: ancestors and descendants, all stamped with the root id when it is known."""
    if not isinstance(payload, Mapping):
        raise UnexpectedPayload(NAME, "context is not an object")
    ancestors, skipped = parse_statuses(payload.get("ancestors") or [], domain)
    descendants, more = parse_statuses(payload.get("descendants") or [], domain)
    posts = ancestors + descendants
    root = next((p.post_id for p in ancestors if p.in_reply_to_post_id is None), None)
    if root is not None:
        posts = [dataclasses.replace(p, thread_id=root) for p in posts]
    return posts, skipped + more


class MastodonSource:
    """Reads public Mastodon data for every Mastodon handle (and search term) of a company."""

    name = NAME

    def __init__(
        self,
        *,
        session: requests.Session | None = None,
        base_url: str | None = None,
        base_urls: Mapping[str, str] | None = None,
        page_size: int = 40,
        lookback: timedelta = timedelta(days=7),
    ) -> None:
        self.session = session or build_session()
        self.base_url = base_url or os.environ.get("FAIR_REPLY_MASTODON_BASE_URL") or None
        self.base_urls = {normalise_handle(k): v for k, v in (base_urls or {}).items()}
        self.page_size = page_size
        self.lookback = lookback

    def instance(self, handle: str) -> tuple[str, str, str]:
        """(base URL, local username, instance domain) for a handle like ``help@acme.example``."""
        user, _, domain = handle.lstrip("@").partition("@")
        base = self.base_urls.get(normalise_handle(handle)) or self.base_url
        if not domain:
            if not base:
                raise ValueError(f"Mastodon handle {handle!r} needs an instance: use user@instance")
            domain = urlsplit(base).netloc
        return (base or f"https://{domain}").rstrip("/"), user, domain

    def fetch(self, company: Company, cursor: str | None, *, budget: RequestBudget, now: datetime) -> Iterator[Page]:
        return unique_pages(self._fetch(company, cursor, budget=budget, now=now))

    def _fetch(self, company: Company, cursor: str | None, *, budget: RequestBudget, now: datetime) -> Iterator[Page]:
        state = load_cursor(NAME, cursor)
        start = snowflake_at(now - self.lookback)
        handles = company.handles.get(NAME, ())
        try:
            for handle in handles:
                yield from self._account_stream(handle, state, start, budget, now)
            if handles:
                base, _, domain = self.instance(handles[0])
                for term in company.search.get(NAME, ()):
                    yield from self._search_stream(term, base, domain, state, start, budget, now)
        except BudgetExhausted:
            yield Page(next_cursor=dump_cursor(state), done=True, exhausted=True)
            return
        yield Page(next_cursor=dump_cursor(state), done=True)

    def _get(self, url: str, params: Mapping[str, Any] | None, budget: RequestBudget, now: datetime) -> Any:
        return get_json(self.session, url, params, source=NAME, budget=budget, now=now)

    def _account_stream(
        self, handle: str, state: dict[str, Any], start: str, budget: RequestBudget, now: datetime
    ) -> Iterator[Page]:
        base, user, domain = self.instance(handle)
        key = f"account:{normalise_handle(handle)}"
        entry = state.setdefault(key, {})
        own: tuple[Account, ...] = ()
        if not entry.get("id"):
            raw = self._get(f"{base}/api/v1/accounts/lookup", {"acct": user}, budget, now)
            account = parse_account(raw, domain)
            entry["id"] = str(require(raw, "id"))
            own = (account,)
        url = f"{base}/api/v1/accounts/{quote(entry['id'])}/statuses"

        def page(min_id: str) -> Any:
            params = {"min_id": min_id, "limit": self.page_size, "exclude_reblogs": "true"}
            return self._get(url, params, budget, now)

        def expand(post: Post) -> tuple[list[Post], list[Skipped]]:
            if post.kind is not PostKind.REPLY or post.in_reply_to_account_id == post.author.account_id:
                return [], []
            context = self._get(f"{base}/api/v1/statuses/{quote(post.post_id)}/context", None, budget, now)
            return parse_context(context, domain)

        yield from self._forward(key, state, start, page, domain, expand, own)

    def _search_stream(
        self, term: str, base: str, domain: str, state: dict[str, Any], start: str, budget: RequestBudget,
        now: datetime,
    ) -> Iterator[Page]:
        key = f"search:{term.casefold()}"
        state.setdefault(key, {})

        def page(min_id: str) -> Any:
            params: dict[str, Any] = {"min_id": min_id, "limit": self.page_size}
            if term.startswith("#"):
                return self._get(f"{base}/api/v1/timelines/tag/{quote(term[1:])}", params, budget, now)
            params.update(q=term, type="statuses", resolve="false")
            found = self._get(f"{base}/api/v2/search", params, budget, now)
            if not isinstance(found, Mapping):
                raise UnexpectedPayload(NAME, "search result is not an object")
            return found.get("statuses") or []

        try:
            yield from self._forward(key, state, start, page, domain, lambda post: ([], []), ())
        except AuthRejected:
            logger.warning("status search refused by instance; skipped", extra={"source": NAME, "instance": domain})

    def _forward(
        self,
        key: str,
        state: dict[str, Any],
        start: str,
        fetch_page: Callable[[str], Any],
        domain: str,
        expand: Callable[[Post], tuple[list[Post], list[Skipped]]],
        extra_accounts: tuple[Account, ...],
    ) -> Iterator[Page]:
        """Read a ``min_id`` stream oldest-first; each page's cursor is the newest status fully processed."""
        entry = state[key]
        while True:
            raw = fetch_page(entry.get("min_id") or start)
            posts, skipped = parse_statuses(raw, domain)
            posts.sort(key=lambda p: int(p.post_id))
            out: list[Post] = []
            try:
                for post in posts:
                    context, bad = expand(post)
                    out += [post, *context]
                    skipped += bad
                    entry["min_id"] = post.post_id
            except BudgetExhausted:
                if out:
                    yield self._page(out, skipped, extra_accounts, state)
                raise
            if raw and not posts:  # a page of nothing but malformed items: step past it by its raw ids
                before = entry.get("min_id")
                entry["min_id"] = max((str(r["id"]) for r in raw if isinstance(r, Mapping) and r.get("id")),
                                      key=int, default=before)
                if entry["min_id"] == before:
                    return
            if posts or skipped or extra_accounts:
                yield self._page(out, skipped, extra_accounts, state)
            extra_accounts = ()
            if len(raw) < self.page_size:
                return

    @staticmethod
    def _page(posts: list[Post], skipped: list[Skipped], accounts: tuple[Account, ...], state: dict[str, Any]) -> Page:
        unique = dedupe_posts(posts)
        return Page(
            posts=unique,
            accounts=dedupe_accounts([*accounts, *(p.author for p in unique)]),
            next_cursor=dump_cursor(state),
            skipped=tuple(skipped),
        )
