"""The bridge token guarding ``/internal/*`` (``X-Bridge-Token`` header)."""

from __future__ import annotations

import hmac

from chalicelib.secrets import get_bridge_token


def verify_bridge_token(value: str | None) -> bool:
    """Constant-time comparison with the configured token; missing or empty never matches."""
    if not value:
        return False
    return hmac.compare_digest(value.encode("utf-8"), get_bridge_token().encode("utf-8"))
