"""Auth tunables, read from the environment once per process.

Production defaults follow OWASP: argon2id with 19 MiB, 2 passes, 1 lane; 15-minute access
tokens. Tests lower the argon2 cost through the same variables (tests/conftest.py) so the
code path is identical and only the price changes.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache

# OWASP Password Storage Cheat Sheet, argon2id minimum configuration.
OWASP_ARGON2_MEMORY_KIB = 19 * 1024
OWASP_ARGON2_TIME_COST = 2
OWASP_ARGON2_PARALLELISM = 1


def _int(name: str, default: int, *, minimum: int = 1) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise RuntimeError(f"{name} must be an integer") from exc
    if value < minimum:
        raise RuntimeError(f"{name} must be at least {minimum}")
    return value


def _str(name: str, default: str) -> str:
    return os.environ.get(name, "").strip() or default


@dataclass(frozen=True)
class AuthSettings:
    jwt_issuer: str
    jwt_audience: str
    access_token_ttl_s: int
    # Clock skew tolerated between Lambdas when checking exp/iat.
    jwt_leeway_s: int
    refresh_token_ttl_s: int  # idle lifetime of one refresh token
    refresh_family_ttl_s: int  # absolute lifetime of a login session (a token family)
    ws_ticket_ttl_s: int
    argon2_memory_kib: int
    argon2_time_cost: int
    argon2_parallelism: int
    login_free_failures: int  # attempts per account and source before backoff starts
    login_account_free_failures: int  # per account from anywhere: the ceiling
    login_backoff_base_s: int
    login_backoff_max_s: int
    login_failure_window_s: int  # quiet time after which the failure count starts over
    secrets_max_age_s: int  # how long a secret fetched from Secrets Manager is reused


@lru_cache(maxsize=1)
def get_auth_settings() -> AuthSettings:
    return AuthSettings(
        jwt_issuer=_str("AION_JWT_ISSUER", "aion"),
        jwt_audience=_str("AION_JWT_AUDIENCE", "aion-api"),
        access_token_ttl_s=_int("AION_ACCESS_TOKEN_TTL_SECONDS", 15 * 60),
        jwt_leeway_s=_int("AION_JWT_LEEWAY_SECONDS", 10, minimum=0),
        refresh_token_ttl_s=_int("AION_REFRESH_TOKEN_TTL_SECONDS", 7 * 24 * 3600),
        refresh_family_ttl_s=_int("AION_REFRESH_FAMILY_TTL_SECONDS", 30 * 24 * 3600),
        ws_ticket_ttl_s=_int("AION_WS_TICKET_TTL_SECONDS", 60),
        argon2_memory_kib=_int("AION_ARGON2_MEMORY_KIB", OWASP_ARGON2_MEMORY_KIB, minimum=8),
        argon2_time_cost=_int("AION_ARGON2_TIME_COST", OWASP_ARGON2_TIME_COST),
        argon2_parallelism=_int("AION_ARGON2_PARALLELISM", OWASP_ARGON2_PARALLELISM),
        login_free_failures=_int("AION_LOGIN_FREE_FAILURES", 5),
        login_account_free_failures=_int("AION_LOGIN_ACCOUNT_FREE_FAILURES", 100),
        login_backoff_base_s=_int("AION_LOGIN_BACKOFF_BASE_SECONDS", 5),
        login_backoff_max_s=_int("AION_LOGIN_BACKOFF_MAX_SECONDS", 15 * 60),
        login_failure_window_s=_int("AION_LOGIN_FAILURE_WINDOW_SECONDS", 24 * 3600),
        secrets_max_age_s=_int("AION_SECRETS_MAX_AGE_SECONDS", 300, minimum=0),
    )
