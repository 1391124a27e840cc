"""Credentials for the sources: the environment first, then an SSM SecureString, fetched on first use.

Looked up lazily (and boto3 imported lazily) so that importing a source costs no AWS call and local runs
need no AWS at all. Values are cached per process for warm Lambdas and are never logged.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from chalicelib.sources.base import logger

_CACHE: dict[str, str | None] = {}

X_BEARER_TOKEN = "FAIR_REPLY_X_BEARER_TOKEN"
REDDIT_CLIENT_ID = "FAIR_REPLY_REDDIT_CLIENT_ID"
REDDIT_CLIENT_SECRET = "FAIR_REPLY_REDDIT_CLIENT_SECRET"


def get_secret(name: str, *, env: Mapping[str, str] | None = None, ssm_client: Any = None) -> str | None:
    """The secret called ``name`` (e.g. ``FAIR_REPLY_X_BEARER_TOKEN``), or None when it is not configured.

    Order: the environment variable ``name``; else the SSM parameter named by ``<name>_SSM_PARAMETER``
    (read with decryption). A missing parameter yields None; other AWS errors propagate, because a
    silently missing token would look like "no complaints" rather than a broken deployment.
    """
    env = os.environ if env is None else env
    value = env.get(name)
    if value:
        return value
    parameter = env.get(f"{name}_SSM_PARAMETER")
    if not parameter:
        return None
    if parameter in _CACHE:
        return _CACHE[parameter]
    if ssm_client is None:
        import boto3  # lazy: only deployments that keep secrets in SSM pay for the import

        ssm_client = boto3.client("ssm")
    try:
        response = ssm_client.get_parameter(Name=parameter, WithDecryption=True)
    except ssm_client.exceptions.ParameterNotFound:
        logger.warning("secret parameter not found", extra={"secret": name, "parameter": parameter})
        secret = None
    else:
        secret = response["Parameter"]["Value"] or None
    _CACHE[parameter] = secret
    return secret


def clear_cache() -> None:
    """Forget cached secrets (tests, and rotating a token without a cold start)."""
    _CACHE.clear()
