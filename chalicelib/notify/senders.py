"""Ways to hand a finished message to the world: SES v2 on AWS, SMTP, or ``.eml`` files in an outbox folder.

Each sender raises :class:`SendFailed` when the message was not accepted, and nothing else, so the alerts
job treats every transport alike: not accepted means "try again next run".
"""

from __future__ import annotations

import os
import smtplib
import ssl
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import getaddresses, parsedate_to_datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from chalicelib.errors import ConfigError
from chalicelib.notify.errors import SendFailed
from chalicelib.notify.render import DEFAULT_FROM, WIRE_POLICY

if TYPE_CHECKING:
    from chalicelib.config import Settings

MAIL_MODES = ("ses", "smtp", "outbox")


class Sender(Protocol):
    def send(self, message: EmailMessage) -> None:
        """Hand ``message`` over for delivery; raise SendFailed if it was not accepted."""


def recipients(message: EmailMessage) -> list[str]:
    return [addr for _, addr in getaddresses(message.get_all("To", []) + message.get_all("Cc", [])) if addr]


class SesSender:
    """Sends the raw MIME message through SES v2, so the headers we build (List-Unsubscribe…) go out unchanged."""

    def __init__(self, client: Any = None, *, configuration_set: str | None = None) -> None:
        self._client = client
        self._configuration_set = configuration_set

    @property
    def client(self) -> Any:
        if self._client is None:
            import boto3  # lazy: local runs never import it

            self._client = boto3.client("sesv2")
        return self._client

    def send(self, message: EmailMessage) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        request: dict[str, Any] = {
            "FromEmailAddress": str(message["From"]),
            "Destination": {"ToAddresses": recipients(message)},
            "Content": {"Raw": {"Data": message.as_bytes(policy=WIRE_POLICY)}},
        }
        if self._configuration_set:
            request["ConfigurationSetName"] = self._configuration_set
        try:
            self.client.send_email(**request)
        except (ClientError, BotoCoreError) as exc:
            raise SendFailed(f"SES did not accept the message: {exc}") from exc


class SmtpSender:
    """Plain SMTP, for a local debugging server or any relay; TLS and login are optional."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        starttls: bool = False,
        use_ssl: bool = False,
        username: str | None = None,
        password: str | None = None,
        timeout: float = 10.0,
    ) -> None:
        self.host, self.port = host, port
        self._starttls, self._ssl = starttls, use_ssl
        self._username, self._password = username, password
        self._timeout = timeout

    def send(self, message: EmailMessage) -> None:
        try:
            if self._ssl:
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(self.host, self.port, timeout=self._timeout,
                                                      context=ssl.create_default_context())
            else:
                smtp = smtplib.SMTP(self.host, self.port, timeout=self._timeout)
            with smtp:
                if self._starttls and not self._ssl:
                    smtp.starttls(context=ssl.create_default_context())
                if self._username:
                    smtp.login(self._username, self._password or "")
                smtp.send_message(message)
        except (smtplib.SMTPException, OSError) as exc:
            raise SendFailed(f"SMTP {self.host}:{self.port} did not accept the message: {exc}") from exc


class OutboxSender:
    """Writes each message as ``<timestamp>-<uuid>.eml`` into a folder: ``make run`` needs no mail server."""

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)

    def send(self, message: EmailMessage) -> None:
        try:
            sent_at = parsedate_to_datetime(str(message["Date"])).astimezone(UTC)
        except (TypeError, ValueError):
            sent_at = datetime.now(UTC)
        name = f"{sent_at:%Y%m%dT%H%M%S}Z-{uuid.uuid4().hex}.eml"
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            tmp = self.directory / f".{name}.tmp"
            tmp.write_bytes(message.as_bytes(policy=WIRE_POLICY))
            os.replace(tmp, self.directory / name)  # readers never see a half-written file
        except OSError as exc:
            raise SendFailed(f"cannot write to outbox {self.directory}: {exc}") from exc


def mail_from(env: Mapping[str, str] | None = None) -> str:
    env = os.environ if env is None else env
    return env.get("FAIR_REPLY_MAIL_FROM") or DEFAULT_FROM


def _flag(env: Mapping[str, str], name: str) -> bool:
    return env.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def sender_from_env(settings: Settings, env: Mapping[str, str] | None = None) -> Sender:
    """The sender the environment asks for: ``FAIR_REPLY_MAIL`` = ses | smtp | outbox.

    Defaults to SES when the store is DynamoDB (a deployment) and to the outbox folder otherwise, so
    ``make run`` writes confirmation e-mails to ``<data_dir>/outbox/`` for the user to open.
    """
    env = os.environ if env is None else env
    mode = (env.get("FAIR_REPLY_MAIL") or ("ses" if settings.store == "dynamodb" else "outbox")).strip().lower()
    if mode == "ses":
        return SesSender(configuration_set=env.get("FAIR_REPLY_SES_CONFIGURATION_SET") or None)
    if mode == "smtp":
        raw_port = env.get("FAIR_REPLY_SMTP_PORT") or "1025"
        try:
            port = int(raw_port)
        except ValueError as exc:
            raise ConfigError(f"FAIR_REPLY_SMTP_PORT={raw_port!r}: must be a port number") from exc
        return SmtpSender(
            env.get("FAIR_REPLY_SMTP_HOST") or "127.0.0.1",
            port,
            starttls=_flag(env, "FAIR_REPLY_SMTP_STARTTLS"),
            use_ssl=_flag(env, "FAIR_REPLY_SMTP_SSL"),
            username=env.get("FAIR_REPLY_SMTP_USER") or None,
            password=env.get("FAIR_REPLY_SMTP_PASSWORD") or None,
        )
    if mode == "outbox":
        return OutboxSender(Path(settings.data_dir) / "outbox")
    raise ConfigError(f"FAIR_REPLY_MAIL={mode!r}: must be one of {', '.join(MAIL_MODES)}")
