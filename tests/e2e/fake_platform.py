"""A fake Mastodon instance serving recorded-shape payloads, for the poll tests and the end-to-end test.

Every status and account it serves is a copy of a real recorded body from ``../shared/fixtures/mastodon``
(``status_reply_localhost.json`` for the company's replies, the mention status of
``notifications_mentions_localhost.json`` for customers' complaints, the ``account_statuses_localhost.json``
author for customers) with only ids, times, text, mentions and follower counts changed — the fields a real
instance varies between posts. Contexts follow ``status_context.json``'s ``{ancestors, descendants}`` shape.

It implements the endpoints :class:`~chalicelib.sources.mastodon.MastodonSource` reads, with Mastodon's
``min_id`` paging (the ``limit`` statuses just above ``min_id``, newest first), and lets a test script
failures per endpoint: ``fake.script("statuses", [None, (500, b"..."), ...])`` — ``None`` serves normally.
"""

from __future__ import annotations

import copy
import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.unit.sources.conftest import shared_fixture

DOMAIN = "localhost"
COMPANY_HANDLE = "admin@localhost"
TAG = "acmefail"

Scripted = tuple[int, bytes] | None


def _iso(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def _snowflake(when: datetime, seq: int) -> str:
    return str((int(when.timestamp() * 1000) << 16) | (seq & 0xFFFF))


@dataclass(frozen=True)
class Thread:
    complaint_id: str
    reply_id: str | None


class FakeMastodon:
    """The instance's data plus a request router shared by ``responses`` callbacks and a real HTTP server."""

    def __init__(self) -> None:
        reply = shared_fixture("mastodon/status_reply_localhost.json")
        mention = shared_fixture("mastodon/notifications_mentions_localhost.json")[0]["status"]
        self._reply_template = reply
        self._complaint_template = mention
        self._customer_template = shared_fixture("mastodon/account_statuses_localhost.json")[0]["account"]
        self.company_account = copy.deepcopy(reply["account"])
        self.replies: dict[str, dict[str, Any]] = {}  # company timeline
        self.complaints: dict[str, dict[str, Any]] = {}  # #acmefail timeline
        self.contexts: dict[str, dict[str, Any]] = {}
        self.requests: list[str] = []
        self.urls: list[str] = []
        self._scripts: dict[str, list[Scripted]] = {}
        self._seq = 0
        self._lock = threading.Lock()

    # -- data --------------------------------------------------------------------------------------

    def _customer(self, n: int, followers: int) -> dict[str, Any]:
        account = copy.deepcopy(self._customer_template)
        account.update(id=str(900_000 + n), username=f"customer{n}", acct=f"customer{n}",
                       url=f"http://localhost:3000/@customer{n}", followers_count=followers)
        return account

    def add_thread(
        self, n: int, at: datetime, *, followers: int = 10, reply_after: timedelta | None = timedelta(minutes=30),
        text: str = "my parcel never arrived and nobody answers",
    ) -> Thread:
        """A customer's complaint mentioning the company (tagged #acmefail), and the company's reply if any."""
        self._seq += 1
        customer = self._customer(n, followers)
        complaint = copy.deepcopy(self._complaint_template)
        complaint.update(
            id=_snowflake(at, self._seq), created_at=_iso(at), account=customer,
            url=f"http://localhost:3000/@customer{n}/{n}",
            content=f'<p><span class="h-card"><a href="http://localhost:3000/@admin" class="u-url mention">'
                    f"@<span>admin</span></a></span> {text} #{TAG}</p>",
            mentions=[{"id": self.company_account["id"], "username": "admin",
                       "url": "http://localhost:3000/@admin", "acct": "admin"}],
            tags=[{"name": TAG, "url": f"http://localhost:3000/tags/{TAG}"}],
        )
        self.complaints[complaint["id"]] = complaint
        if reply_after is None:
            return Thread(complaint["id"], None)
        when = at + reply_after
        self._seq += 1
        reply = copy.deepcopy(self._reply_template)
        reply.update(
            id=_snowflake(when, self._seq), created_at=_iso(when), in_reply_to_id=complaint["id"],
            in_reply_to_account_id=customer["id"], url=f"http://localhost:3000/@admin/r{n}",
            content=f'<p><span class="h-card"><a href="http://localhost:3000/@customer{n}" class="u-url mention">'
                    f"@<span>customer{n}</span></a></span> sorry about that, we have refunded your order</p>",
            mentions=[{"id": customer["id"], "username": customer["username"], "url": customer["url"],
                       "acct": customer["acct"]}],
        )
        self.replies[reply["id"]] = reply
        self.contexts[reply["id"]] = {"ancestors": [complaint], "descendants": []}
        return Thread(complaint["id"], reply["id"])

    def populate(self, now: datetime, threads: int = 12) -> list[Thread]:
        """A day of complaints before ``now``: audiences across all tiers, one in four unanswered."""
        return [
            self.add_thread(
                n, now - timedelta(hours=26 - 2 * n), followers=[5, 300, 4_000, 250_000][n % 4],
                reply_after=None if n % 4 == 3 else timedelta(minutes=7 * (n + 1)),
            )
            for n in range(threads)
        ]

    def script(self, endpoint: str, steps: list[Scripted]) -> None:
        """Override the next calls to ``endpoint`` (lookup, statuses, context, tag), in order."""
        self._scripts[endpoint] = list(steps)

    # -- routing -----------------------------------------------------------------------------------

    def respond(self, url: str) -> tuple[int, dict[str, str], bytes]:
        parts = urlsplit(url)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        endpoint, handler = self._route(parts.path)
        with self._lock:
            self.requests.append(endpoint)
            self.urls.append(url)
            steps = self._scripts.get(endpoint)
            step = steps.pop(0) if steps else None
        if step is not None:
            return step[0], {"Content-Type": "application/json"}, step[1]
        status, body = handler(parts.path, query)
        return status, {"Content-Type": "application/json"}, json.dumps(body).encode()

    def _route(self, path: str) -> tuple[str, Callable[[str, dict[str, str]], tuple[int, Any]]]:
        if path == "/api/v1/accounts/lookup":
            return "lookup", lambda p, q: (200, self.company_account) if q.get("acct") == "admin" else (404, {})
        if re.fullmatch(r"/api/v1/accounts/\d+/statuses", path):
            return "statuses", lambda p, q: (200, self._page(self.replies, q))
        if m := re.fullmatch(r"/api/v1/statuses/(\d+)/context", path):
            return "context", lambda p, q: (200, self.contexts.get(m.group(1), {"ancestors": [], "descendants": []}))
        if path == f"/api/v1/timelines/tag/{TAG}":
            return "tag", lambda p, q: (200, self._page(self.complaints, q))
        return "unknown", lambda p, q: (404, {"error": "Record not found"})

    @staticmethod
    def _page(statuses: dict[str, dict[str, Any]], query: dict[str, str]) -> list[dict[str, Any]]:
        min_id = int(query.get("min_id") or 0)
        limit = int(query.get("limit") or 20)
        newer = sorted((s for i, s in statuses.items() if int(i) > min_id), key=lambda s: int(s["id"]))
        return list(reversed(newer[:limit]))

    # -- transports --------------------------------------------------------------------------------

    def activate(self, rsps: Any, base_url: str) -> None:
        """Serve ``base_url`` through a ``responses.RequestsMock``."""
        rsps.add_callback("GET", re.compile(re.escape(base_url) + r"/.*"), callback=lambda r: self.respond(r.url))

    def serve(self) -> FakeServer:
        return FakeServer(self)


class FakeServer:
    """The fake instance on a real socket (127.0.0.1, ephemeral port), for the end-to-end test."""

    def __init__(self, fake: FakeMastodon) -> None:
        outer = fake

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                status, headers, body = outer.respond(f"http://{DOMAIN}{self.path}")
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> FakeServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


def acme_registry(extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """A registry with one company whose Mastodon account is the fake instance's ``admin``."""
    from chalicelib.registry import parse_registry

    companies = {
        "acme": {"name": "Acme", "handles": {"mastodon": [COMPANY_HANDLE]}, "search": {"mastodon": [f"#{TAG}"]}},
        **(extra or {}),
    }
    return parse_registry({"companies": companies})


def mastodon_source(base_url: str, page_size: int = 2) -> Any:
    """The real source, with small pages (many checkpoints per run) and no retry backoff."""
    from chalicelib.sources.http import build_session, default_retry
    from chalicelib.sources.mastodon import MastodonSource

    session = build_session(retries=default_retry(total=0, backoff_factor=0, backoff_jitter=0))
    return MastodonSource(session=session, base_url=base_url, page_size=page_size)
