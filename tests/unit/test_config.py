from __future__ import annotations

import pytest

from chalicelib.config import load_settings
from chalicelib.errors import ConfigError


def test_defaults_are_local_sqlite() -> None:
    settings = load_settings({})
    assert settings.store == "sqlite"
    assert settings.sqlite_path.name.endswith(".sqlite3")
    assert (settings.notable_followers, settings.high_profile_followers, settings.min_sample) == (1000, 100000, 30)


def test_environment_overrides(tmp_path) -> None:
    settings = load_settings(
        {"FAIR_REPLY_DATA_DIR": str(tmp_path), "FAIR_REPLY_STORE": "DynamoDB", "FAIR_REPLY_MIN_SAMPLE": "50"}
    )
    assert settings.data_dir == tmp_path and settings.store == "dynamodb" and settings.min_sample == 50


@pytest.mark.parametrize(
    ("env", "name"),
    [
        ({"FAIR_REPLY_STORE": "postgres"}, "FAIR_REPLY_STORE"),
        ({"FAIR_REPLY_MIN_SAMPLE": "many"}, "FAIR_REPLY_MIN_SAMPLE"),
        ({"FAIR_REPLY_MIN_SAMPLE": "0"}, "FAIR_REPLY_MIN_SAMPLE"),
        ({"FAIR_REPLY_NOTABLE_FOLLOWERS": "5000", "FAIR_REPLY_HIGH_PROFILE_FOLLOWERS": "100"}, "HIGH_PROFILE"),
    ],
)
def test_bad_values_name_the_variable(env: dict[str, str], name: str) -> None:
    with pytest.raises(ConfigError, match=name):
        load_settings(env)
