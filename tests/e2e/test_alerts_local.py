"""Issue "SLA breach emails", done means: with the local stack, subscribe, confirm from the written e-mail,
let a complaint breach, and receive exactly one digest."""

from __future__ import annotations

import email
import json
import os
import re
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import Message
from pathlib import Path

import pytest

from chalicelib.domain.models import Account, Post, PostKind
from tests.e2e.test_local_stack import ROOT, free_port, get, run_jobs, wait_for

ADDRESS = "agent@acme.example"


@pytest.fixture
def stack(isolated_env: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    from chalicelib import runtime

    registry = isolated_env / "alerts.toml"
    registry.write_text(
        '[companies.acme]\nname = "Acme"\nsla_minutes = 60\nemail_domains = ["acme.example"]\n'
        '[companies.acme.handles]\nx = ["AcmeHelp"]\n',
        encoding="utf-8",
    )
    port = free_port()
    monkeypatch.setenv("FAIR_REPLY_COMPANIES", str(registry))
    monkeypatch.setenv("FAIR_REPLY_PUBLIC_URL", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("FAIR_REPLY_LOG_FORMAT", "json")
    monkeypatch.delenv("FAIR_REPLY_MAIL", raising=False)
    runtime.reset()
    log = (isolated_env / "stack.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "chalicelib", "run", "--port", str(port), "--no-sample-data"],
        cwd=ROOT, env=dict(os.environ), stdout=log, stderr=subprocess.STDOUT,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_for(lambda: get(f"{base}/health")[0] == 200)
        yield base
    finally:
        process.terminate()
        process.wait(20)
        log.close()


def outbox(isolated_env: Path) -> list[Message]:
    folder = isolated_env / "data" / "outbox"
    return [email.message_from_bytes(p.read_bytes()) for p in sorted(folder.glob("*.eml"))]


def text_of(message: Message) -> str:
    return "".join(
        part.get_payload(decode=True).decode() for part in message.walk() if part.get_content_type() == "text/plain"
    )


def test_subscribe_confirm_breach_and_exactly_one_digest(stack: str, isolated_env: Path) -> None:
    from chalicelib import runtime
    from chalicelib.jobs.ingest import Ingestor

    # GIVEN a subscription made through the running stack's public route
    request = urllib.request.Request(
        f"{stack}/v1/subscriptions", method="POST", headers={"Content-Type": "application/json"},
        data=json.dumps({"email": ADDRESS, "company": "acme", "digest": "immediate"}).encode(),
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 202
    # WHEN the user opens the confirmation link from the written e-mail
    [confirmation] = outbox(isolated_env)
    link = re.search(r"http://127\.0\.0\.1:\d+/v1/subscriptions/confirm\?token=\S+", text_of(confirmation)).group(0)
    with urllib.request.urlopen(link, timeout=10) as response:
        assert response.status == 200
    # AND a customer's complaint to @AcmeHelp goes unanswered for two hours (past the 60-minute SLA)
    now = datetime.now(UTC).replace(microsecond=0)
    customer = Account("x", "c-1", "unhappy_customer", followers=12)
    complaint = Post("x", "9001", customer, now - timedelta(hours=2), "@AcmeHelp my refund never came",
                     PostKind.POST, "9001", mentions=("AcmeHelp",), url="https://x.com/unhappy_customer/status/9001")
    Ingestor(runtime.store(), runtime.registry()).ingest([complaint])
    # THEN the alerts job (as the scheduler runs it) sends exactly one digest, and a re-run sends nothing more
    run_jobs(now, ("alerts",))
    run_jobs(now + timedelta(minutes=15), ("alerts",))
    digests = [m for m in outbox(isolated_env) if m is not confirmation and "confirm" not in m["Subject"].lower()]
    assert len(digests) == 1, [m["Subject"] for m in outbox(isolated_env)]
    digest = digests[0]
    assert digest["To"] == ADDRESS
    assert digest["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "/v1/subscriptions/unsubscribe?token=" in digest["List-Unsubscribe"]
    body = text_of(digest)
    # the company's own domain gets the direct link to the unanswered post; the complainant is a pseudonym
    assert "https://x.com/unhappy_customer/status/9001" in body
    assert "anon-" in body
