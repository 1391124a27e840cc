"""The secret that signs confirm and unsubscribe links.

Order: ``FAIR_REPLY_SIGNING_KEY`` in the environment; else the SSM SecureString
``{FAIR_REPLY_SSM_PREFIX}signing-key`` when a prefix is configured (deployments); else, for local runs, a
random key generated once into ``<data_dir>/signing.key`` (mode 0600) so that ``make run`` needs no setup and
links stay valid across restarts. The key is never logged.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chalicelib.errors import ConfigError

if TYPE_CHECKING:
    from chalicelib.config import Settings

ENV_KEY = "FAIR_REPLY_SIGNING_KEY"
ENV_SSM_PREFIX = "FAIR_REPLY_SSM_PREFIX"
KEY_FILE = "signing.key"
MIN_KEY_BYTES = 16

_LOCK = threading.Lock()
_SSM_CACHE: dict[str, bytes] = {}


def signing_key(settings: Settings, *, env: Mapping[str, str] | None = None, ssm_client: Any = None) -> bytes:
    """The HMAC key for link tokens; raises ConfigError when a configured key is unusable."""
    env = os.environ if env is None else env
    configured = env.get(ENV_KEY)
    if configured:
        key = configured.encode("utf-8")
        if len(key) < MIN_KEY_BYTES:
            raise ConfigError(f"{ENV_KEY}: must be at least {MIN_KEY_BYTES} characters")
        return key
    prefix = env.get(ENV_SSM_PREFIX)
    if prefix:
        return _from_ssm(f"{prefix}signing-key", ssm_client)
    return local_key(Path(settings.data_dir))


def _from_ssm(name: str, ssm_client: Any) -> bytes:
    with _LOCK:
        if name in _SSM_CACHE:
            return _SSM_CACHE[name]
    if ssm_client is None:
        import boto3  # lazy: local runs and most cold starts never need it

        ssm_client = boto3.client("ssm")
    try:
        value = ssm_client.get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"]
    except ssm_client.exceptions.ParameterNotFound as exc:
        raise ConfigError(f"SSM parameter {name!r} (the link signing key) does not exist") from exc
    key = value.encode("utf-8")
    if len(key) < MIN_KEY_BYTES:
        raise ConfigError(f"SSM parameter {name!r}: the signing key must be at least {MIN_KEY_BYTES} characters")
    with _LOCK:
        _SSM_CACHE[name] = key
    return key


def local_key(data_dir: Path) -> bytes:
    """Read ``signing.key`` from ``data_dir``, creating it once; concurrent first runs agree on one key.

    The key is written to a private temporary file and hard-linked into place, which fails if another
    process won the race; the loser then reads the winner's key. Either way no reader sees a partial file.
    """
    path = data_dir / KEY_FILE
    if not path.exists():
        import secrets  # only to create the key: reading it (every cold start) needs no random source

        data_dir.mkdir(parents=True, exist_ok=True)
        tmp = data_dir / f".{KEY_FILE}.{secrets.token_hex(8)}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w", encoding="ascii") as handle:
                handle.write(secrets.token_hex(32) + "\n")
            try:
                os.link(tmp, path)
            except FileExistsError:
                pass
        finally:
            tmp.unlink(missing_ok=True)
    text = path.read_text(encoding="ascii").strip()
    try:
        key = bytes.fromhex(text)
    except ValueError as exc:
        raise ConfigError(f"{path}: not a hex signing key; delete it to generate a new one") from exc
    if len(key) < MIN_KEY_BYTES:
        raise ConfigError(f"{path}: signing key too short; delete it to generate a new one")
    return key


def clear_cache() -> None:
    """Forget keys read from SSM (tests, and rotation without a cold start)."""
    with _LOCK:
        _SSM_CACHE.clear()


def pseudonym_salt(key: bytes) -> bytes:
    """The salt for :func:`chalicelib.domain.privacy.pseudonym`, derived from the signing key.

    Derived rather than configured separately so that pages and e-mails agree on pseudonyms with one
    secret to manage; the derivation label keeps the salt useless for forging link tokens.
    """
    import hmac

    return hmac.digest(key, b"fair-reply pseudonym salt v1", "sha256")
