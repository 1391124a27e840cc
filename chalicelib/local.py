"""The embedded local stack behind ``make run``: the Chalice routes on 127.0.0.1 plus a scheduler.

The scheduler calls the very job functions the Lambda schedules call, on the same cadence, so what runs
on a laptop is what runs on AWS, minus API Gateway and EventBridge.

chalice's local server stamps every event with ``sourceIp`` 127.0.0.1, whoever connects. The admin routes
(loopback callers only) and the per-IP subscription limit read that field, so :class:`LocalServer` puts the
real TCP peer there instead. Headers such as ``X-Forwarded-For`` are never consulted: no proxy is part of the
local setup, and any caller can write them.
"""

from __future__ import annotations

import functools
import signal
import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from chalicelib.logs import get_logger


@dataclass(frozen=True, slots=True)
class ScheduledJob:
    """A job and how often it runs; ``run(now)`` receives the scheduled time, as a Lambda schedule does."""

    name: str
    every_seconds: float
    run: Callable[[datetime], Any]


class LocalScheduler:
    """Runs each job once at start and then every ``every_seconds``, in one background thread.

    A failing job is logged and retried at its next slot; it never stops the scheduler or the other jobs.
    """

    def __init__(
        self,
        jobs: Sequence[ScheduledJob],
        *,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._jobs = list(jobs)
        self._clock = clock
        self._wall_clock = wall_clock
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.runs: dict[str, int] = {job.name: 0 for job in jobs}
        self.failures: dict[str, int] = {job.name: 0 for job in jobs}

    def run_pending(self, due: dict[str, float]) -> float:
        """Run every job whose time has come; return seconds until the next one is due."""
        now = self._clock()
        for job in self._jobs:
            if self._stop.is_set():
                break
            if due.get(job.name, now) <= now:
                self._run_one(job)
                due[job.name] = now + job.every_seconds
        return max(0.0, min(due.values()) - self._clock()) if due else 1.0

    def _run_one(self, job: ScheduledJob) -> None:
        logger = get_logger()
        try:
            job.run(self._wall_clock())
            self.runs[job.name] += 1
        except Exception:  # a job failure must not stop the scheduler
            self.failures[job.name] += 1
            logger.exception("scheduled job failed", extra={"job": job.name})

    def _loop(self) -> None:
        due: dict[str, float] = {}
        while not self._stop.is_set():
            wait = self.run_pending(due)
            self._stop.wait(min(wait, 1.0))

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="fair-reply-scheduler", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)


class LocalServerHookError(RuntimeError):
    """chalice's local server changed shape, so the caller's real address can no longer reach the event.

    Raised at server start: serving with every caller reported as 127.0.0.1 would silently open the
    admin routes to the network and merge every caller into one rate-limit bucket.
    """


PROBE_PEER = "192.0.2.1"  # documentation range: an address no real peer of the start-up probe can have


class PeerAddressEventConverter:
    """chalice's event converter for one connection, with ``sourceIp`` set to that connection's peer."""

    def __init__(self, inner: Any, peer: str) -> None:
        self.inner = inner
        self.peer = peer

    def create_lambda_event(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        event = self.inner.create_lambda_event(*args, **kwargs)
        identity = event.get("requestContext", {}).get("identity") if isinstance(event, dict) else None
        if not isinstance(identity, dict):
            raise LocalServerHookError("chalice's local event has no requestContext.identity to carry the caller")
        identity["sourceIp"] = self.peer
        return event

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


@functools.cache
def peer_address_handler_class() -> type:
    """chalice's request handler, changed only in that every event carries the TCP peer as ``sourceIp``.

    chalice builds a fresh gateway per connection inside the handler's constructor, before handling it;
    ``setup`` runs between the two, when the peer address is known and no request has been read yet.
    """
    from chalice.local import ChaliceRequestHandler

    class PeerAddressRequestHandler(ChaliceRequestHandler):  # type: ignore[misc, valid-type]
        def setup(self) -> None:
            super().setup()
            gateway = getattr(self, "local_gateway", None)
            converter = getattr(gateway, "event_converter", None)
            if not callable(getattr(converter, "create_lambda_event", None)):
                raise LocalServerHookError("chalice's request handler has no local_gateway.event_converter")
            if isinstance(converter, PeerAddressEventConverter):  # a gateway shared across connections
                raise LocalServerHookError("chalice's local gateway is shared between connections")
            gateway.event_converter = PeerAddressEventConverter(converter, self.client_address[0])

    return PeerAddressRequestHandler


def _with_peer_address(http_server: Any, app: Any) -> functools.partial[Any]:
    """The server's handler factory rebuilt on :func:`peer_address_handler_class`, proven on a probe connection."""
    from chalice.local import ChaliceRequestHandler

    factory = getattr(http_server, "RequestHandlerClass", None)
    if not (
        isinstance(factory, functools.partial)
        and isinstance(factory.func, type)
        and issubclass(factory.func, ChaliceRequestHandler)
    ):
        raise LocalServerHookError(f"chalice's local server builds its handlers with {factory!r}")
    handler = functools.partial(peer_address_handler_class(), *factory.args, **factory.keywords)
    _probe(handler, http_server, app)
    return handler


def _probe(handler: functools.partial[Any], http_server: Any, app: Any) -> None:
    """Run the handler on a connection that closes at once, and convert one request of it: no route runs."""
    ours, theirs = socket.socketpair()
    try:
        theirs.close()
        probe = handler(ours, (PROBE_PEER, 0), http_server)
    finally:
        ours.close()
    converter = getattr(getattr(probe, "local_gateway", None), "event_converter", None)
    if not isinstance(converter, PeerAddressEventConverter) or converter.peer != PROBE_PEER:
        raise LocalServerHookError("chalice's request handler did not take the peer-address hook")
    route = next(iter(getattr(app, "routes", None) or {}), None)
    if route is not None:
        event = converter.create_lambda_event(method="GET", path=route, headers={}, body=None)
        if event["requestContext"]["identity"]["sourceIp"] != PROBE_PEER:
            raise LocalServerHookError("chalice's local event does not carry the peer address")


class LocalServer:
    """Chalice's own local dev server, run in a thread so that it can be stopped cleanly.

    Every request's ``requestContext.identity.sourceIp`` is the TCP peer's address (chalice alone says
    127.0.0.1 for everyone); construction raises :class:`LocalServerHookError` if chalice no longer allows that.
    """

    def __init__(self, app: Any, host: str = "127.0.0.1", port: int = 8000, stage: str = "dev") -> None:
        from chalice.config import Config
        from chalice.local import LocalChalice, LocalDevServer, create_local_server

        config = Config.create(chalice_stage=stage, app_name=getattr(app, "app_name", "fair-reply"))
        if isinstance(app, LocalChalice):  # already adapted by an earlier server in this process
            self._server = LocalDevServer(app, config, host, port)
        else:
            self._server = create_local_server(app, config, host, port)
        try:
            self._server.server.RequestHandlerClass = _with_peer_address(self._server.server, app)
        except BaseException:
            self._server.server.server_close()
            raise
        self.host = host
        self.port = self._server.server.server_address[1]
        self._thread: threading.Thread | None = None

    @property
    def request_handler(self) -> functools.partial[Any]:
        """What the HTTP server builds one handler per connection with: ``(socket, (host, port), server)``."""
        return self._server.server.RequestHandlerClass

    @property
    def http_server(self) -> Any:
        """The ``socketserver`` server underneath, which the handler needs as its third argument."""
        return self._server.server

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> None:
        self._server.server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.server.serve_forever, name="fair-reply-http", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server.server_close()
        if self._thread is not None:
            self._thread.join(10)


def wait_for_signal() -> None:
    """Block until Ctrl-C or SIGTERM."""
    stop = threading.Event()

    def _handler(signum: int, frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _handler)
    signal.signal(signal.SIGINT, _handler)
    while not stop.is_set():
        stop.wait(0.5)


def run_local(*, host: str = "127.0.0.1", port: int = 8000, scheduler: bool = True, sample_data: bool = True) -> int:
    """Start the local stack and block until Ctrl-C; data lives in the SQLite file and survives restarts."""
    from chalicelib import runtime

    runtime.registry()  # refuse to start on an invalid registry, before binding anything
    settings = runtime.settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    store = runtime.store()
    if sample_data:
        from chalicelib.sample_data import ensure_sample_data

        ensure_sample_data(store, runtime.registry())
    from app import app

    server = LocalServer(app, host=host, port=port)
    jobs_runner = None
    if scheduler:
        from chalicelib.jobs.schedules import local_jobs

        jobs_runner = LocalScheduler(local_jobs())
    server.start()
    print(f"Fair Reply is running at {server.url}  (data: {settings.data_dir}; Ctrl-C stops)", flush=True)
    if jobs_runner is not None:
        jobs_runner.start()
    try:
        wait_for_signal()
    finally:
        print("stopping…", flush=True)
        if jobs_runner is not None:
            jobs_runner.stop()
        server.stop()
        runtime.reset()
    return 0
