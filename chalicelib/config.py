"""Settings read from the environment once, into a frozen value.

Every knob an operator can turn is here, with its default, so that README and ``.chalice/config.json``
can be checked against one list. Secrets are not read here: they are fetched on first use (environment
or SSM) by the code that needs them, and never logged.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from chalicelib.domain.records import Record, record, set_field
from chalicelib.errors import ConfigError

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@record
class Settings(Record):
    """A record (see :mod:`chalicelib.domain.records`): this module is on every request's path."""

    store: str = "sqlite"
    data_dir: Path = PROJECT_ROOT / "data"
    companies_path: Path = PROJECT_ROOT / "companies.toml"
    table_name: str = "fair-reply"
    stage: str = "local"
    notable_followers: int = 1_000
    high_profile_followers: int = 100_000
    min_sample: int = 30
    log_level: str = "INFO"
    public_base_url: str = "http://127.0.0.1:8000"
    all_window_minutes: int = 60  # the scheduled aggregate recomputes the all-time window this often (0: every run)

    def __init__(
        self, store: str = "sqlite", data_dir: Path = PROJECT_ROOT / "data",
        companies_path: Path = PROJECT_ROOT / "companies.toml", table_name: str = "fair-reply", stage: str = "local",
        notable_followers: int = 1_000, high_profile_followers: int = 100_000, min_sample: int = 30,
        log_level: str = "INFO", public_base_url: str = "http://127.0.0.1:8000", all_window_minutes: int = 60,
    ) -> None:
        set_field(self, "store", store)
        set_field(self, "data_dir", data_dir)
        set_field(self, "companies_path", companies_path)
        set_field(self, "table_name", table_name)
        set_field(self, "stage", stage)
        set_field(self, "notable_followers", notable_followers)
        set_field(self, "high_profile_followers", high_profile_followers)
        set_field(self, "min_sample", min_sample)
        set_field(self, "log_level", log_level)
        set_field(self, "public_base_url", public_base_url)
        set_field(self, "all_window_minutes", all_window_minutes)

    @property
    def sqlite_path(self) -> Path:
        return self.data_dir / "fair-reply.sqlite3"



def _int(env: Mapping[str, str], name: str, default: int, minimum: int = 0) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name}={raw!r}: must be a whole number") from exc
    if value < minimum:
        raise ConfigError(f"{name}={raw!r}: must be at least {minimum}")
    return value


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Build :class:`Settings` from ``env`` (default ``os.environ``); raise ConfigError on bad values."""
    env = os.environ if env is None else env
    store = env.get("FAIR_REPLY_STORE", "sqlite").strip().lower()
    if store not in ("sqlite", "dynamodb"):
        raise ConfigError(f"FAIR_REPLY_STORE={store!r}: must be 'sqlite' or 'dynamodb'")
    notable = _int(env, "FAIR_REPLY_NOTABLE_FOLLOWERS", 1_000, minimum=1)
    high = _int(env, "FAIR_REPLY_HIGH_PROFILE_FOLLOWERS", 100_000, minimum=1)
    if high <= notable:
        raise ConfigError("FAIR_REPLY_HIGH_PROFILE_FOLLOWERS must be greater than FAIR_REPLY_NOTABLE_FOLLOWERS")
    return Settings(
        store=store,
        data_dir=Path(env.get("FAIR_REPLY_DATA_DIR") or PROJECT_ROOT / "data"),
        companies_path=Path(env.get("FAIR_REPLY_COMPANIES") or PROJECT_ROOT / "companies.toml"),
        table_name=env.get("FAIR_REPLY_TABLE", "fair-reply"),
        stage=env.get("FAIR_REPLY_STAGE", "local"),
        notable_followers=notable,
        high_profile_followers=high,
        min_sample=_int(env, "FAIR_REPLY_MIN_SAMPLE", 30, minimum=1),
        log_level=env.get("FAIR_REPLY_LOG_LEVEL", "INFO").upper(),
        public_base_url=env.get("FAIR_REPLY_PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/"),
        all_window_minutes=_int(env, "FAIR_REPLY_ALL_WINDOW_MINUTES", 60),
    )
