"""SHA-256 digests for storing bearer secrets (refresh tokens, tickets) and throttle keys."""

from __future__ import annotations

import hashlib


def sha256_hex(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()
