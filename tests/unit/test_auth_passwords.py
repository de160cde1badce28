"""Password hashing: argon2id, OWASP defaults, rehash on parameter change, dummy verify."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from chalicelib.auth import passwords
from chalicelib.config import (
    OWASP_ARGON2_MEMORY_KIB,
    OWASP_ARGON2_PARALLELISM,
    OWASP_ARGON2_TIME_COST,
    get_settings,
)

# Settings read afresh in each test (some change the environment).
pytestmark = pytest.mark.usefixtures("reset_caches")


def test_hash_is_argon2id_and_verifies() -> None:
    hashed = passwords.hash_password("correct horse battery staple")
    assert hashed.startswith("$argon2id$")
    assert "correct horse" not in hashed
    assert passwords.verify_password(hashed, "correct horse battery staple")
    assert not passwords.verify_password(hashed, "correct horse battery stapler")


def test_same_password_gets_a_fresh_salt() -> None:
    assert passwords.hash_password("pw-1234567") != passwords.hash_password("pw-1234567")


def test_garbage_hash_does_not_verify_or_raise() -> None:
    assert not passwords.verify_password("not-a-hash", "whatever")
    assert not passwords.verify_password("$argon2id$v=19$m=1,t=1,p=1$xx$yy", "whatever")
    assert passwords.needs_rehash("not-a-hash")


def test_missing_user_verifies_against_dummy_hash(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    real = passwords.PasswordHasher.verify

    def spy(self: passwords.PasswordHasher, hash: str, password: str) -> bool:
        calls.append(hash)
        return real(self, hash, password)

    monkeypatch.setattr(passwords.PasswordHasher, "verify", spy)
    assert passwords.verify_password(None, "anything") is False
    # Real argon2 work happened, with the same parameters as a real user's hash.
    assert len(calls) == 1
    assert calls[0].startswith("$argon2id$v=19$m=64,t=1,p=1$")


def test_needs_rehash_when_parameters_change(
    monkeypatch: pytest.MonkeyPatch, reset_caches: Callable[[], None]
) -> None:
    old = passwords.hash_password("pw-1234567")
    assert not passwords.needs_rehash(old)
    monkeypatch.setenv("AION_ARGON2_TIME_COST", "2")
    reset_caches()
    assert passwords.needs_rehash(old)
    # The old hash still verifies, so login can upgrade it.
    assert passwords.verify_password(old, "pw-1234567")
    assert not passwords.needs_rehash(passwords.hash_password("pw-1234567"))


def test_production_defaults_are_owasp(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AION_ARGON2_MEMORY_KIB", "AION_ARGON2_TIME_COST", "AION_ARGON2_PARALLELISM"):
        monkeypatch.delenv(name, raising=False)
    settings = get_settings().auth
    assert settings.argon2_memory_kib == OWASP_ARGON2_MEMORY_KIB == 19456
    assert settings.argon2_time_cost == OWASP_ARGON2_TIME_COST == 2
    assert settings.argon2_parallelism == OWASP_ARGON2_PARALLELISM == 1
    assert passwords.hash_password("pw-1234567").startswith("$argon2id$v=19$m=19456,t=2,p=1$")


def test_bad_setting_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AION_ARGON2_TIME_COST", "zero")
    with pytest.raises(RuntimeError, match="AION_ARGON2_TIME_COST='zero': Input should be a valid"):
        get_settings()
