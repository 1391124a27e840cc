"""Link tokens: only a genuine, unexpired token of the right purpose yields its subscription id."""

from __future__ import annotations

import os
import stat
from datetime import timedelta

import boto3
import pytest
from hypothesis import given
from hypothesis import strategies as st
from moto import mock_aws

from chalicelib.config import Settings
from chalicelib.errors import ConfigError
from chalicelib.notify import keys
from chalicelib.notify.errors import ExpiredToken, InvalidToken, TokenError, WrongPurpose
from chalicelib.notify.tokens import CONFIRM, UNSUBSCRIBE, make_token, verify_token

from .conftest import KEY, NOW

LATER = NOW + timedelta(days=1)


def test_genuine_token_yields_its_subscription() -> None:
    # GIVEN a confirm token for sub "abc123"
    token = make_token(KEY, CONFIRM, "abc123", LATER)
    # WHEN it is verified before expiry THEN the id comes back
    assert verify_token(KEY, token, CONFIRM, NOW) == "abc123"


@pytest.mark.parametrize("part", [0, 1])
def test_any_changed_character_is_rejected(part: int) -> None:
    # GIVEN a genuine token
    token = make_token(KEY, CONFIRM, "abc123", LATER)
    pieces = token.split(".")
    # WHEN one character of the payload or the signature is changed
    for i in range(len(pieces[part])):
        changed = list(pieces)
        ch = changed[part][i]
        changed[part] = changed[part][:i] + ("A" if ch != "A" else "B") + changed[part][i + 1:]
        # THEN it no longer verifies
        with pytest.raises(TokenError):
            verify_token(KEY, ".".join(changed), CONFIRM, NOW)


def test_payload_of_one_token_with_signature_of_another_is_rejected() -> None:
    a = make_token(KEY, CONFIRM, "victim", LATER).split(".")
    b = make_token(KEY, CONFIRM, "attacker", LATER).split(".")
    with pytest.raises(InvalidToken):
        verify_token(KEY, f"{a[0]}.{b[1]}", CONFIRM, NOW)


def test_token_signed_with_another_key_is_rejected() -> None:
    token = make_token(b"another-key-0123456789abcdef", CONFIRM, "abc123", LATER)
    with pytest.raises(InvalidToken):
        verify_token(KEY, token, CONFIRM, NOW)


def test_expired_token_is_rejected_at_and_after_expiry() -> None:
    token = make_token(KEY, CONFIRM, "abc123", LATER)
    assert verify_token(KEY, token, CONFIRM, LATER - timedelta(seconds=1)) == "abc123"
    for when in (LATER, LATER + timedelta(days=30)):
        with pytest.raises(ExpiredToken):
            verify_token(KEY, token, CONFIRM, when)


def test_token_is_single_purpose() -> None:
    confirm = make_token(KEY, CONFIRM, "abc123", LATER)
    unsubscribe = make_token(KEY, UNSUBSCRIBE, "abc123", LATER)
    with pytest.raises(WrongPurpose):
        verify_token(KEY, confirm, UNSUBSCRIBE, NOW)
    with pytest.raises(WrongPurpose):
        verify_token(KEY, unsubscribe, CONFIRM, NOW)


@given(st.text(max_size=200))
def test_arbitrary_strings_never_verify(junk: str) -> None:
    with pytest.raises(TokenError):
        verify_token(KEY, junk, CONFIRM, NOW)


def test_make_token_refuses_unknown_purpose_and_unsafe_ids() -> None:
    with pytest.raises(ValueError):
        make_token(KEY, "delete", "abc", LATER)
    with pytest.raises(ValueError):
        make_token(KEY, CONFIRM, "a:b", LATER)


# -- keys ------------------------------------------------------------------------------------------------------


def test_local_key_is_generated_once_private_and_stable(tmp_path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    # WHEN no key is configured
    first = keys.signing_key(settings, env={})
    # THEN a random key is written once with mode 0600 and reused
    path = tmp_path / "data" / keys.KEY_FILE
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert keys.signing_key(settings, env={}) == first
    assert len(first) == 32
    assert keys.signing_key(Settings(data_dir=tmp_path / "other"), env={}) != first


def test_environment_key_wins_and_short_keys_are_refused(tmp_path) -> None:
    settings = Settings(data_dir=tmp_path)
    assert keys.signing_key(settings, env={keys.ENV_KEY: "x" * 40}) == b"x" * 40
    assert not (tmp_path / keys.KEY_FILE).exists()
    with pytest.raises(ConfigError):
        keys.signing_key(settings, env={keys.ENV_KEY: "short"})


def test_key_is_read_from_ssm_when_a_prefix_is_configured(tmp_path) -> None:
    keys.clear_cache()
    with mock_aws():
        ssm = boto3.client("ssm", region_name="us-east-1")
        ssm.put_parameter(Name="/fair-reply/prod/signing-key", Value="s" * 48, Type="SecureString")
        key = keys.signing_key(Settings(data_dir=tmp_path), env={keys.ENV_SSM_PREFIX: "/fair-reply/prod/"},
                               ssm_client=ssm)
        assert key == b"s" * 48
        with pytest.raises(ConfigError):
            keys.signing_key(Settings(data_dir=tmp_path), env={keys.ENV_SSM_PREFIX: "/missing/"}, ssm_client=ssm)
    keys.clear_cache()
    assert not (tmp_path / keys.KEY_FILE).exists()
