"""Secrets from Secrets Manager (cloud path): rotation format, caching, failures."""

from __future__ import annotations

import json
from collections.abc import Iterator

import boto3
import pytest
from aws_lambda_powertools.utilities import parameters
from moto import mock_aws

from chalicelib import secrets as aion_secrets
from chalicelib.auth import tokens
from chalicelib.auth.bridge import verify_bridge_token
from chalicelib.errors import ServiceUnavailable

K1 = "k1-secret-0123456789abcdef0123456789abcdef"
K2 = "k2-secret-0123456789abcdef0123456789abcdef"


@pytest.fixture
def secretsmanager(monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    with mock_aws():
        # Drops Powertools' cached providers (and their boto3 clients and values).
        parameters.clear_caches()
        monkeypatch.delenv("AION_JWT_SECRET")
        monkeypatch.delenv("AION_BRIDGE_TOKEN")
        yield boto3.client("secretsmanager", region_name="us-east-1")
        parameters.clear_caches()


def test_jwt_keys_and_bridge_token_from_secrets_manager(
    secretsmanager: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    sm = secretsmanager
    jwt_arn = sm.create_secret(  # type: ignore[attr-defined]
        Name="aion/jwt", SecretString=json.dumps({"current": "k1", "keys": {"k1": K1}})
    )["ARN"]
    bridge_arn = sm.create_secret(  # type: ignore[attr-defined]
        Name="aion/bridge", SecretString="bridge-token-from-secrets-manager"
    )["ARN"]
    monkeypatch.setenv("AION_JWT_SECRET_ARN", jwt_arn)
    monkeypatch.setenv("AION_BRIDGE_TOKEN_ARN", bridge_arn)
    keys = aion_secrets.get_jwt_keys()
    assert keys.current_kid == "k1"
    assert keys.current_key == K1
    assert verify_bridge_token("bridge-token-from-secrets-manager")
    assert not verify_bridge_token("test-bridge-token-0123456789abcdef")

    old_token, _ = tokens.issue_access_token("usr_1", "member")
    # Rotate in Secrets Manager: add k2 and make it current.
    sm.put_secret_value(  # type: ignore[attr-defined]
        SecretId=jwt_arn, SecretString=json.dumps({"current": "k2", "keys": {"k1": K1, "k2": K2}})
    )
    # Cached for max_age: still k1 until the cache expires.
    assert aion_secrets.get_jwt_keys().current_kid == "k1"
    parameters.clear_caches()
    assert aion_secrets.get_jwt_keys().current_kid == "k2"
    new_token, _ = tokens.issue_access_token("usr_2", "member")
    assert tokens.decode_access_token(old_token).user_id == "usr_1"
    assert tokens.decode_access_token(new_token).user_id == "usr_2"


def test_plain_string_secret_gets_the_default_kid(
    secretsmanager: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    arn = secretsmanager.create_secret(Name="aion/jwt-plain", SecretString=K1)["ARN"]  # type: ignore[attr-defined]
    monkeypatch.setenv("AION_JWT_SECRET_ARN", arn)
    keys = aion_secrets.get_jwt_keys()
    assert (keys.current_kid, keys.current_key) == ("default", K1)


def test_unreachable_secret_is_503_without_details(
    secretsmanager: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = "arn:aws:secretsmanager:us-east-1:123456789012:secret:aion/missing-AbCdEf"
    monkeypatch.setenv("AION_JWT_SECRET_ARN", missing)
    with pytest.raises(ServiceUnavailable) as info:
        aion_secrets.get_jwt_keys()
    assert info.value.status == 503
    assert "aion/missing" not in info.value.message
