"""Transports: SES v2 (moto), a real SMTP conversation on 127.0.0.1, and the .eml outbox."""

from __future__ import annotations

import socketserver
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import boto3
import pytest
from moto import mock_aws
from moto.ses.models import ses_backends

from chalicelib.config import Settings
from chalicelib.domain.models import Subscription
from chalicelib.errors import ConfigError
from chalicelib.notify import render
from chalicelib.notify.alerts import run_alerts
from chalicelib.notify.errors import SendFailed
from chalicelib.notify.senders import OutboxSender, SesSender, SmtpSender, sender_from_env
from chalicelib.notify.subscriptions import request_subscription

from .conftest import BASE_URL, KEY, NOW, add_sub, complaint, parse, text_part

FROM = "Fair Reply <alerts@fairreply.example>"


# -- SES (moto) ---------------------------------------------------------------------------------------------------


@pytest.fixture
def ses() -> Iterator[object]:
    with mock_aws():
        client = boto3.client("sesv2", region_name="us-east-1")
        client.create_email_identity(EmailIdentity="fairreply.example")
        yield client


def test_digest_through_ses_reaches_the_subscriber_with_headers_and_body(ses, store, registry) -> None:
    # GIVEN a breach and a confirmed subscriber
    store.put_complaints([complaint("c1", created_at=NOW - timedelta(hours=2))])
    add_sub(store, "reader@example.org")
    # WHEN the alerts run sends through SES
    result = run_alerts(store, registry, now=NOW, sender=SesSender(ses), key=KEY, base_url=BASE_URL, from_addr=FROM)
    # THEN SES received one raw message for the subscriber, with our headers and body intact
    assert result.sent == 1
    [sent] = ses_backends["123456789012"]["us-east-1"].sent_messages
    assert "reader@example.org" in sent.destinations
    assert sent.source == FROM
    message = parse(sent.raw_data.encode())
    assert message["To"] == "reader@example.org"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert str(message["List-Unsubscribe"]).startswith(f"<{BASE_URL}/v1/subscriptions/unsubscribe?token=")
    assert "waiting 2 h 0 min" in text_part(message)


def test_ses_rejection_becomes_send_failed(ses, registry) -> None:
    # GIVEN a From address whose identity is not verified, which SES rejects
    sub = Subscription("s1", "reader@example.org", "acme-air", None, (), "immediate", "pending", NOW)
    msg = render.confirmation_email(sub=sub, company=registry["acme-air"], link="https://x.example/c", now=NOW,
                                    from_addr="Someone <someone@unverified.example>")
    # WHEN it is sent THEN the failure is the package's own
    with pytest.raises(SendFailed):
        SesSender(ses).send(msg)


# -- SMTP (a real conversation with a tiny local server) ---------------------------------------------------------


class _SmtpHandler(socketserver.StreamRequestHandler):
    """Just enough SMTP for smtplib: EHLO, MAIL, RCPT, DATA (dot-unstuffed), RSET, NOOP, QUIT."""

    def reply(self, line: str) -> None:
        self.wfile.write(line.encode() + b"\r\n")

    def handle(self) -> None:
        server: _SmtpServer = self.server  # type: ignore[assignment]
        self.reply("220 test ESMTP")
        envelope: dict[str, object] = {"rcpt": []}
        while line := self.rfile.readline():
            verb = line.decode().strip().split(" ")[0].upper()
            if verb in ("EHLO", "HELO"):
                self.reply("250 test")
            elif verb == "MAIL":
                envelope = {"from": line.decode().split(":", 1)[1].strip(), "rcpt": []}
                self.reply("250 OK")
            elif verb == "RCPT":
                envelope["rcpt"].append(line.decode().split(":", 1)[1].strip())  # type: ignore[union-attr]
                self.reply("250 OK" if not server.reject else "550 no such user")
            elif verb == "DATA":
                self.reply("354 go ahead")
                data = bytearray()
                while (chunk := self.rfile.readline()) not in (b".\r\n", b""):
                    data += chunk[1:] if chunk.startswith(b"..") else chunk
                server.received.append({**envelope, "data": bytes(data)})
                self.reply("250 queued")
            elif verb == "QUIT":
                self.reply("221 bye")
                return
            else:
                self.reply("250 OK")


class _SmtpServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _SmtpHandler)
        self.received: list[dict[str, object]] = []
        self.reject = False


@pytest.fixture
def smtp_server() -> Iterator[_SmtpServer]:
    server = _SmtpServer()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_confirmation_through_smtp_arrives_parsable(smtp_server, store, registry) -> None:
    host, port = smtp_server.server_address
    sender = SmtpSender(host, port, timeout=5)
    request_subscription(store, registry, {"email": "reader@example.org", "company": "acme-air"}, ip=None, now=NOW,
                         sender=sender, base_url=BASE_URL, key=KEY, from_addr=FROM)
    [got] = smtp_server.received
    assert got["rcpt"] == ["<reader@example.org>"]
    assert got["from"] == "<alerts@fairreply.example>"
    message = parse(got["data"])  # type: ignore[arg-type]
    assert message["To"] == "reader@example.org"
    assert f"{BASE_URL}/v1/subscriptions/confirm?token=" in text_part(message)


def test_smtp_refusal_and_unreachable_server_become_send_failed(smtp_server, store, registry) -> None:
    smtp_server.reject = True
    host, port = smtp_server.server_address
    payload = {"email": "reader@example.org", "company": "acme-air"}
    with pytest.raises(SendFailed):
        request_subscription(store, registry, payload, ip=None, now=NOW, sender=SmtpSender(host, port, timeout=5),
                             base_url=BASE_URL, key=KEY)
    closed = socketserver.TCPServer(("127.0.0.1", 0), socketserver.BaseRequestHandler)
    dead_port = closed.server_address[1]
    closed.server_close()
    with pytest.raises(SendFailed):
        request_subscription(store, registry, payload, ip=None, now=NOW + timedelta(minutes=1),
                             sender=SmtpSender("127.0.0.1", dead_port, timeout=2), base_url=BASE_URL, key=KEY)


# -- outbox and configuration -------------------------------------------------------------------------------------


def test_outbox_writes_one_parsable_eml_per_message(tmp_path: Path, store, registry) -> None:
    outbox = tmp_path / "outbox"
    for i in range(2):
        request_subscription(store, registry, {"email": f"r{i}@example.org", "company": "acme-air"}, ip=None,
                             now=NOW, sender=OutboxSender(outbox), base_url=BASE_URL, key=KEY)
    files = sorted(outbox.glob("*.eml"))
    assert len(files) == 2
    assert all(f.name.startswith("20240506T120000Z-") for f in files)
    assert sorted(parse(f.read_bytes())["To"] for f in files) == ["r0@example.org", "r1@example.org"]
    assert not list(outbox.glob(".*"))  # no temporary files left behind


def test_sender_from_env_picks_the_transport(tmp_path: Path) -> None:
    local = Settings(data_dir=tmp_path)
    assert isinstance(sender_from_env(local, env={}), OutboxSender)
    assert sender_from_env(local, env={}).directory == tmp_path / "outbox"  # type: ignore[union-attr]
    assert isinstance(sender_from_env(Settings(store="dynamodb"), env={}), SesSender)
    smtp = sender_from_env(local, env={"FAIR_REPLY_MAIL": "smtp", "FAIR_REPLY_SMTP_HOST": "mail.local",
                                       "FAIR_REPLY_SMTP_PORT": "2525"})
    assert isinstance(smtp, SmtpSender) and (smtp.host, smtp.port) == ("mail.local", 2525)
    with pytest.raises(ConfigError):
        sender_from_env(local, env={"FAIR_REPLY_MAIL": "pigeon"})
    with pytest.raises(ConfigError):
        sender_from_env(local, env={"FAIR_REPLY_MAIL": "smtp", "FAIR_REPLY_SMTP_PORT": "twenty"})
