"""The one place an email address is normalised (login, user creation, throttling keys)."""

from __future__ import annotations


def normalize_email(value: str) -> str:
    """Strip surrounding whitespace and lower-case, so ``A@X.io `` and ``a@x.io`` are one user."""
    return value.strip().lower()
