"""Object ids: random, URL-safe, prefixed by kind so a stray id is recognisable in logs."""

from __future__ import annotations

import secrets


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(10)}"
