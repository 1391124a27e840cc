from __future__ import annotations

import boto3
import pytest
from moto import mock_aws

from chalicelib.sources import credentials as secrets


@pytest.fixture(autouse=True)
def _fresh_cache():
    secrets.clear_cache()
    yield
    secrets.clear_cache()


def test_environment_wins_over_ssm():
    env = {"FAIR_REPLY_X_BEARER_TOKEN": "from-env", "FAIR_REPLY_X_BEARER_TOKEN_SSM_PARAMETER": "/p"}
    assert secrets.get_secret("FAIR_REPLY_X_BEARER_TOKEN", env=env, ssm_client=object()) == "from-env"


def test_unconfigured_secret_is_none():
    assert secrets.get_secret("FAIR_REPLY_X_BEARER_TOKEN", env={}) is None


@mock_aws
def test_ssm_parameter_is_read_with_decryption_and_missing_ones_are_none():
    client = boto3.client("ssm", region_name="eu-west-1")
    client.put_parameter(Name="/fair-reply/x", Value="from-ssm", Type="SecureString")
    env = {"FAIR_REPLY_X_BEARER_TOKEN_SSM_PARAMETER": "/fair-reply/x"}
    assert secrets.get_secret("FAIR_REPLY_X_BEARER_TOKEN", env=env, ssm_client=client) == "from-ssm"
    env = {"FAIR_REPLY_REDDIT_CLIENT_ID_SSM_PARAMETER": "/fair-reply/none"}
    assert secrets.get_secret("FAIR_REPLY_REDDIT_CLIENT_ID", env=env, ssm_client=client) is None
