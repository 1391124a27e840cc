"""Which live sources a deployment polls, built from the environment.

Polling is opt-in: ``FAIR_REPLY_SOURCES`` lists the platforms to poll (``mastodon,bluesky`` or ``all``); unset
means none, so ``make run`` on a laptop without network or credentials starts, serves the sample data, and
makes no outbound request. X additionally needs a bearer token, because without one every request would
be refused and the status page would fill with errors nobody can act on.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from chalicelib.domain.models import PLATFORMS
from chalicelib.errors import ConfigError
from chalicelib.sources.base import Source, logger

SOURCES_ENV = "FAIR_REPLY_SOURCES"


def enabled_names(env: Mapping[str, str] | None = None) -> tuple[str, ...]:
    """Platforms named by ``FAIR_REPLY_SOURCES`` (``all`` = every platform), in PLATFORMS order."""
    env = os.environ if env is None else env
    raw = (env.get(SOURCES_ENV) or "").strip().lower()
    if not raw or raw == "none":
        return ()
    if raw == "all":
        return PLATFORMS
    names = {n.strip() for n in raw.split(",") if n.strip()}
    unknown = sorted(names - set(PLATFORMS))
    if unknown:
        raise ConfigError(f"{SOURCES_ENV}: unknown source(s) {unknown}; use 'all' or some of {', '.join(PLATFORMS)}")
    return tuple(p for p in PLATFORMS if p in names)


def build_sources(env: Mapping[str, str] | None = None) -> dict[str, Source]:
    """The configured sources by platform name, sharing one HTTP session; raise ConfigError on a bad list."""
    env = os.environ if env is None else env
    names = enabled_names(env)
    if not names:
        return {}
    from chalicelib.sources.credentials import X_BEARER_TOKEN, get_secret
    from chalicelib.sources.http import build_session

    session = build_session()
    sources: dict[str, Source] = {}
    for name in names:
        base_url = env.get(f"FAIR_REPLY_{name.upper()}_BASE_URL") or None
        if name == "x":
            token = get_secret(X_BEARER_TOKEN, env=env)
            if not token:
                logger.warning("x source disabled: no bearer token", extra={"source": "x", "secret": X_BEARER_TOKEN})
                continue
            from chalicelib.sources.x import XSource

            sources[name] = XSource(token, session=session, base_url=base_url)
        elif name == "mastodon":
            from chalicelib.sources.mastodon import MastodonSource

            sources[name] = MastodonSource(session=session, base_url=base_url)
        elif name == "bluesky":
            from chalicelib.sources.bluesky import BlueskySource

            sources[name] = BlueskySource(session=session, base_url=base_url)
        elif name == "reddit":
            from chalicelib.sources.reddit import RedditSource

            sources[name] = RedditSource(session=session, base_url=base_url)
    return sources
