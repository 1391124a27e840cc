"""Tests behind the claims of SECURITY.md that no other test proves on its own.

* No public output — JSON and CSV of every /v1 route, the HTML pages, the badge, the alert e-mail — names or
  links an ordinary or notable complainant (handle, post id, post URL, or the company's reply URL, which
  is addressed to them); high-profile complainants are named, so the check cannot pass vacuously.
* A poll through every failure the X client knows never logs the bearer token or any post text.
* Nothing secret is tracked by git, and the local data directory is ignored.
"""

from __future__ import annotations

import io
import json
import logging
import re
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest
import requests
import responses

from chalicelib.domain.models import Complaint, Reply, ReplyKind, Tier
from tests.conftest import REPO_ROOT

SALT = "hardening-test-salt"
NOW = datetime.now(UTC).replace(microsecond=0)


def _reply(post_id: str, at: datetime) -> Reply:
    return Reply(platform="x", post_id=f"{post_id}7", complaint_post_id=post_id, company="acme-air",
                 author_handle="AcmeAirHelp", created_at=at, kind=ReplyKind.SUBSTANTIVE,
                 url=f"https://x.com/AcmeAirHelp/status/{post_id}7")


def _complaint(post_id: str, handle: str, tier: Tier, followers: int, *, answered: bool) -> Complaint:
    made = NOW - timedelta(hours=3)
    reply = _reply(post_id, made + timedelta(minutes=95)) if answered else None
    return Complaint(platform="x", post_id=post_id, company="acme-air", author_id=f"id-{handle}",
                     author_handle=handle, created_at=made, tier=tier, followers=followers,
                     url=f"https://x.com/{handle}/status/{post_id}", text=f"my flight was cancelled, says {handle}",
                     first_reply=reply, first_substantive_reply=reply, source="x")


HAND_MADE = [
    _complaint("86753090001", "priv_ordinary_waiting", Tier.ORDINARY, 40, answered=False),
    _complaint("86753090002", "priv_ordinary_answered", Tier.ORDINARY, 12, answered=True),
    _complaint("86753090003", "priv_notable_waiting", Tier.NOTABLE, 4_000, answered=False),
    _complaint("86753090004", "priv_notable_answered", Tier.NOTABLE, 9_000, answered=True),
    _complaint("86753090005", "pub_celebrity", Tier.HIGH_PROFILE, 2_000_000, answered=True),
]


@pytest.fixture
def published(isolated_env, monkeypatch: pytest.MonkeyPatch) -> list[Complaint]:
    """acme-air with simulated traffic plus hand-made complaints of every tier, aggregated."""
    from chalicelib import runtime
    from chalicelib.api import queries
    from chalicelib.domain.simulation import generate_sample_complaints
    from chalicelib.jobs.aggregate import AggregateOptions, run_aggregate

    monkeypatch.setenv("FAIR_REPLY_PSEUDONYM_SALT", SALT)
    monkeypatch.setattr(queries, "options", lambda: AggregateOptions(replicates=20))
    store, registry = runtime.store(), runtime.registry()
    simulated = generate_sample_complaints("acme-air", "x", 150, NOW - timedelta(days=6), NOW, seed=7)
    store.put_complaints([*simulated, *HAND_MADE])
    store.set_horizon("acme-air", "x", NOW)
    store.set_horizon("acme-air", "simulation", NOW)
    run_aggregate(store, registry, NOW, AggregateOptions(replicates=20, min_sample=5))
    return [*simulated, *HAND_MADE]


class _Capture(logging.Handler):
    """Every record with every attribute (message, extra keys, exception text) as one string."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.stream = io.StringIO()

    def emit(self, record: logging.LogRecord) -> None:
        fields = {k: v for k, v in vars(record).items() if k not in ("exc_info",)}
        if record.exc_info:
            fields["traceback"] = logging.Formatter().formatException(record.exc_info)
        self.stream.write(record.getMessage() + " " + json.dumps(fields, default=str) + "\n")


@pytest.fixture
def captured_logs() -> Iterator[_Capture]:
    handler = _Capture()
    loggers = [logging.getLogger(), logging.getLogger("fair-reply"), logging.getLogger("urllib3")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.addHandler(handler)
        lg.setLevel(logging.DEBUG)
    yield handler
    for lg, level in zip(loggers, levels, strict=True):
        lg.removeHandler(handler)
        lg.setLevel(level)


def _get(client, path: str) -> tuple[str, dict[str, str]]:
    response = client.http.get(path)
    assert response.status_code == 200, (path, response.status_code, response.body[:300])
    body = response.body.decode("utf-8") if isinstance(response.body, bytes) else str(response.body)
    return body, response.headers


def _all_complaint_pages(client, fmt: str) -> Iterator[str]:
    cursor = None
    while True:
        query = f"?limit=50&format={fmt}" + (f"&cursor={cursor}" if cursor else "")
        body, headers = _get(client, "/v1/companies/acme-air/complaints" + query)
        yield body
        cursor = headers.get("X-Next-Cursor") or headers.get("x-next-cursor")
        if not cursor:
            return


def _email_texts(messages: list[EmailMessage]) -> list[str]:
    """Decoded text of every part: transfer encodings (base64, quoted-printable) would hide a leak."""
    return [str(part.get_content()) for m in messages for part in m.walk() if part.get_content_maintype() == "text"]


def _digest_emails() -> list[EmailMessage]:
    from chalicelib import runtime
    from chalicelib.domain.models import Subscription
    from chalicelib.notify.alerts import run_alerts
    from chalicelib.notify.keys import signing_key

    store, settings = runtime.store(), runtime.settings()
    store.put_subscription(Subscription(sub_id="reader", email="reader@example.org", company="acme-air",
                                        sla_minutes=None, tiers=(), digest="immediate", status="confirmed",
                                        created_at=NOW - timedelta(days=1), confirmed_at=NOW - timedelta(days=1)))
    sent: list[EmailMessage] = []

    class Collect:
        def send(self, message: EmailMessage) -> None:
            sent.append(message)

    result = run_alerts(store, runtime.registry(), now=NOW, sender=Collect(), key=signing_key(settings),
                        base_url=settings.public_base_url)
    assert result.sent == 1
    return sent


def _mentions(text: str, needle: str) -> bool:
    return re.search(rf"(?<![\w/]){re.escape(needle)}(?![\w])", text) is not None


def test_no_public_output_names_or_links_a_private_complainant(
    client, published: list[Complaint], captured_logs: _Capture
) -> None:
    # GIVEN every kind of public output for a company with ordinary, notable and high-profile complainants
    outputs: dict[str, str] = {}
    for path in ("/v1/leaderboard", "/v1/leaderboard?format=csv", "/v1/companies", "/v1/companies?format=csv",
                 "/v1/companies/acme-air", "/v1/companies/acme-air?format=csv", "/v1/companies/acme-air?window=all",
                 "/v1/companies/acme-air/badge.svg", "/", "/companies/acme-air", "/companies/acme-air?window=all"):
        outputs[path] = _get(client, path)[0]
    for fmt in ("json", "csv"):
        for n, page in enumerate(_all_complaint_pages(client, fmt)):
            outputs[f"complaints.{fmt}#{n}"] = page
    for n, text in enumerate(_email_texts(_digest_emails())):
        outputs[f"email#{n}"] = text
    everything = "\n".join(outputs.values())

    # THEN no private complainant's handle, post id, post URL or reply URL appears anywhere
    private = [c for c in published if c.tier != Tier.HIGH_PROFILE]
    for c in private:
        needles = [c.author_handle, *(u for u in (c.url, c.first_reply.url if c.first_reply else None) if u)]
        if c in HAND_MADE:
            needles += [c.post_id, c.text]
        for needle in needles:
            leaks = [name for name, text in outputs.items() if _mentions(text, needle)]
            assert not leaks, f"{needle!r} ({c.tier}) appears in {leaks}"
    # AND the private hand-made complainants are there, by pseudonym, in the evidence and the e-mail
    from chalicelib.domain.privacy import pseudonym
    from chalicelib.notify.keys import pseudonym_salt, signing_key

    evidence = "".join(text for name, text in outputs.items() if name.startswith("complaints."))
    for c in HAND_MADE[:4]:
        assert evidence.count(pseudonym(SALT.encode(), "x", c.author_id)) == 2  # once in JSON, once in CSV
    from chalicelib import runtime

    email_salt = pseudonym_salt(signing_key(runtime.settings()))
    waiting = [c for c in HAND_MADE[:4] if c.first_reply is None]
    assert all(pseudonym(email_salt, "x", c.author_id) in everything for c in waiting)
    # AND the check is not vacuous: the public figure is named and linked
    celebrity = HAND_MADE[-1]
    assert _mentions(everything, celebrity.author_handle) and celebrity.url in everything
    assert celebrity.first_reply.url in everything
    # AND neither the secrets behind pseudonyms and links nor what anyone wrote reached the logs
    logged = captured_logs.stream.getvalue()
    assert "alerts run finished" in logged
    key = signing_key(runtime.settings())
    for secret in (key.hex(), key.decode("latin-1"), SALT, email_salt.hex()):
        assert secret not in logged and secret not in everything
    assert not any(c.text in logged for c in HAND_MADE)


@responses.activate
def test_poll_logs_never_contain_the_bearer_token_or_post_text(tmp_path: Path, captured_logs: _Capture) -> None:
    # GIVEN the X source with a bearer token, answering a real page and then every failure it handles
    from chalicelib.jobs.poll import run_poll
    from chalicelib.registry import parse_registry
    from chalicelib.sources.http import build_session, default_retry
    from chalicelib.sources.x import SEARCH_PATH, XSource, parse_x_page
    from chalicelib.store.sqlite import SQLiteStore
    from tests.unit.sources.conftest import shared_fixture

    token = "AAAAAAAAAAAAAAAAAAAAA-hardening-secret-bearer-token-0123456789"
    base = "https://api.x.test"
    page = shared_fixture("x/user_tweets_timeline_reply_chain_trimmed.json")
    texts = [p.text for p in parse_x_page(page).posts if len(p.text) >= 20]
    assert texts
    registry = parse_registry({"companies": {"philly": {"name": "Philly", "handles": {"x": ["PhillyNEFL"]}}}})
    store = SQLiteStore(tmp_path / "logs.sqlite3")
    session = build_session(retries=default_retry(total=1, backoff_factor=0, backoff_jitter=0))
    failures = [
        {"status": 401, "json": {"title": "Unauthorized", "detail": "Unauthorized"}},
        {"status": 429, "headers": {"x-rate-limit-reset": "1", "x-rate-limit-remaining": "0"}},
        {"status": 503, "body": "<html>over capacity</html>"},
        {"status": 200, "body": '{"data": [{"id": "1", "text": "' + texts[0][:10]},
        {"body": requests.exceptions.ConnectionError("connection reset")},
    ]
    # WHEN one run reads the page and later runs meet each failure
    responses.get(base + SEARCH_PATH, json=page)
    for n, failure in enumerate([None, *failures]):
        if failure is not None:
            responses.replace(responses.GET, base + SEARCH_PATH, **failure)
        now = datetime(2026, 8, 3, 12, tzinfo=UTC) + timedelta(minutes=20 * n)
        result = run_poll(store, registry, {"x": XSource(token, session=session, base_url=base)}, now=now)
        assert result.units[0].error or n == 0
    store.close()
    # THEN the logs tell what happened, but never the token nor what anyone wrote
    logged = captured_logs.stream.getvalue()
    assert "poll unit finished" in logged and "rate limited" in logged
    assert token not in logged and token[-20:] not in logged
    for text in texts:
        assert text not in logged
    # AND the token was really sent, so it could have leaked
    assert all(call.request.headers["Authorization"] == f"Bearer {token}" for call in responses.calls)


def test_nothing_secret_is_tracked_and_local_data_is_ignored() -> None:
    # GIVEN the files git tracks (read-only: ls-files and check-ignore change nothing)
    try:
        tracked = subprocess.run(["git", "ls-files"], cwd=REPO_ROOT, capture_output=True, text=True, check=True)
    except (FileNotFoundError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    files = tracked.stdout.splitlines()
    # THEN no key file, database, environment file or private key is among them
    forbidden = re.compile(r"(^|/)(signing\.key|\.env|.*\.sqlite3?|.*\.pem|.*\.key|id_rsa.*)$")
    assert [f for f in files if forbidden.search(f)] == []
    # AND no tracked text file holds something shaped like a credential
    credential = re.compile(r"AKIA[0-9A-Z]{16}|-----BEGIN [A-Z ]*PRIVATE KEY-----|xox[bp]-[0-9A-Za-z-]{10,}")
    for name in files:
        path = REPO_ROOT / name
        if path.is_file() and path.stat().st_size < 2_000_000:
            text = path.read_text(encoding="utf-8", errors="ignore")
            assert not credential.search(text), name
    # AND the local data dir (SQLite file, generated signing key, e-mail outbox) is ignored by git
    local = ["data/signing.key", "data/fair-reply.sqlite3", "data/outbox/1.eml"]
    ignored = subprocess.run(["git", "check-ignore", *local], cwd=REPO_ROOT, capture_output=True, text=True)
    assert ignored.stdout.split() == local


def test_runtime_dependencies_are_only_the_three_chosen_ones() -> None:
    # GIVEN requirements.txt, whose every entry ships in every Lambda zip
    lines = (REPO_ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines()
    names = {re.split(r"[<>=!~\[ ;]", line.strip(), maxsplit=1)[0].lower()
             for line in lines if line.strip() and not line.lstrip().startswith("#")}
    # THEN the attack surface shipped to production is Powertools, requests and boto3, nothing else
    assert names == {"aws-lambda-powertools", "requests", "boto3"}


def test_private_rows_carry_no_exact_times_that_would_find_the_reply(published, client) -> None:
    # GIVEN the evidence list with private and public complainants
    body = json.loads(client.http.get("/v1/companies/acme-air/complaints?limit=1000&window=all").body)
    rows = {row["complainant"]: row for row in body["complaints"]}
    from chalicelib.domain.privacy import pseudonym

    for c in HAND_MADE:
        row = rows[pseudonym(SALT.encode(), "x", c.author_id)]
        made = datetime.fromisoformat(row["created_at"])
        if c.tier == Tier.HIGH_PROFILE:
            # THEN a public figure's row keeps exact times (it links the posts anyway)
            assert made == c.created_at and row["first_reply_at"] == c.first_reply.created_at.isoformat()
        else:
            # AND a private row gives only the hour, whole minutes to the reply, and never the reply's own time
            assert made == c.created_at.replace(minute=0, second=0) and row["first_reply_at"] is None
            if c.first_reply is not None:
                assert row["reply_minutes"] == 95
