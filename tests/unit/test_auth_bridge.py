"""The bridge token: constant-time compare, never matches when missing."""

from __future__ import annotations

import hmac

import pytest

from chalicelib.auth import bridge
from chalicelib.secrets import SecretConfigError

TOKEN = "test-bridge-token-0123456789abcdef"


def test_right_token_matches() -> None:
    assert bridge.verify_bridge_token(TOKEN)


def test_wrong_missing_or_partial_tokens_do_not_match() -> None:
    for value in (None, "", TOKEN[:-1], TOKEN + "x", TOKEN.upper(), " " + TOKEN):
        assert not bridge.verify_bridge_token(value)


def test_comparison_is_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(bridge.hmac, "compare_digest", spy)
    assert not bridge.verify_bridge_token("guess")
    assert calls == [(b"guess", TOKEN.encode())]


def test_unconfigured_token_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AION_BRIDGE_TOKEN")
    with pytest.raises(SecretConfigError, match="AION_BRIDGE_TOKEN_ARN"):
        bridge.verify_bridge_token("anything")
    monkeypatch.setenv("AION_BRIDGE_TOKEN", "short")
    with pytest.raises(SecretConfigError, match="at least 16"):
        bridge.verify_bridge_token("short")
