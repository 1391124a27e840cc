"""Fake platforms behind one real socket that fails a seeded share of requests at random.

Each fake (a :class:`tests.e2e.fake_platform.FakeMastodon`, or any object with the same ``respond(url)``:
recorded-shape payloads) is mounted under its own path prefix (``/a``, ``/b``), so one server can stand in
for two companies on two instances. A fake may also say how its platform announces a rate limit
(``reset_headers(now, rng)``); otherwise the Mastodon form below is used. When
``faulty`` is on, every request first draws from a seeded RNG and, with probability ``rate``, gets one of:

* ``500`` / ``503``  — a server error (the client's urllib3 Retry may retry it);
* ``timeout``        — the handler stalls past the client's read timeout before answering;
* ``truncated``      — a 200 whose JSON is cut in half (honest Content-Length: invalid JSON);
* ``cut``            — a 200 that announces the full length and closes the connection half-way;
* ``429``            — a rate limit with a reset header, Mastodon's ISO ``X-RateLimit-Reset`` or a
  ``Retry-After`` delay, relative to the simulated run time ``now``.

Kinds are dealt from shuffled decks of all six, so every kind recurs however few faults a run needs.

The draws are made under a lock in arrival order; the poll job sends its requests one at a time, so a seed
fixes the fault sequence.
"""

from __future__ import annotations

import contextlib
import random
import threading
import time
from collections import Counter
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.e2e.fake_platform import DOMAIN, FakeMastodon

FAULTS = ("500", "503", "timeout", "truncated", "cut", "429")


class FaultyPlatform:
    """Serves ``fakes[prefix]`` under ``/<prefix>``; with ``faulty`` on, fails ``rate`` of requests at random."""

    def __init__(
        self, fakes: dict[str, FakeMastodon | Any], *, seed: int, rate: float = 0.3, stall_seconds: float = 0.5
    ) -> None:
        self.fakes = fakes
        self.rate = rate
        self.stall_seconds = stall_seconds
        self.faulty = True
        self.now: datetime | None = None  # the simulated run time, for 429 reset headers
        self.injected: Counter[str] = Counter()
        self.served = 0
        self._rng = random.Random(seed)
        self._deck: list[str] = []
        self._lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body are written separately: no 40 ms delayed-ACK wait

            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                outer.handle(self)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def base_url(self, prefix: str) -> str:
        return f"{self.url}/{prefix}"

    def _draw(self) -> str | None:
        with self._lock:
            self.served += 1
            if not self.faulty or self._rng.random() >= self.rate:
                return None
            if not self._deck:  # shuffled decks: every kind recurs, in a random order
                self._deck = self._rng.sample(FAULTS, len(FAULTS))
            fault = self._deck.pop()
            self.injected[fault] += 1
            return fault

    def handle(self, request: BaseHTTPRequestHandler) -> None:
        prefix, _, rest = request.path.lstrip("/").partition("/")
        fake = self.fakes.get(prefix)
        fault = self._draw()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            if fake is None:
                self._send(request, 404, {}, b'{"error": "Record not found"}')
            elif fault in ("500", "503"):
                self._send(request, int(fault), {}, b'{"error": "Something went wrong on our end"}')
            elif fault == "429":
                self._send(request, 429, self._reset_headers(fake), b'{"error": "Too many requests"}')
            else:
                if fault == "timeout":
                    time.sleep(self.stall_seconds)  # the client has given up (and maybe retried) by now
                status, headers, body = fake.respond(f"http://{DOMAIN}/{rest}")
                if fault == "truncated":
                    self._send(request, status, headers, body[: len(body) // 2])
                elif fault == "cut":
                    self._send(request, status, headers, body[: len(body) // 2], length=len(body))
                    request.close_connection = True
                else:
                    self._send(request, status, headers, body)

    def _reset_headers(self, fake: Any) -> dict[str, str]:
        now = self.now
        own = getattr(fake, "reset_headers", None)
        if own is not None:
            return own(now, self._rng)
        if now is not None and self._rng.random() < 0.5:
            # Mastodon's own form: an ISO 8601 instant with the window's remaining calls.
            return {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": (now + timedelta(minutes=2)).isoformat()}
        return {"Retry-After": "90"}

    @staticmethod
    def _send(
        request: BaseHTTPRequestHandler, status: int, headers: dict[str, str], body: bytes, length: int | None = None
    ) -> None:
        request.send_response(status)
        request.send_header("Content-Type", "application/json")
        for k, v in headers.items():
            if k.lower() != "content-type":
                request.send_header(k, v)
        request.send_header("Content-Length", str(len(body) if length is None else length))
        request.end_headers()
        request.wfile.write(body)
        request.wfile.flush()

    def __enter__(self) -> FaultyPlatform:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)
