"""The ``Authorization: Bearer <credential>`` header, and the 401 a refused credential gets.

Shared by every kind of credential (``tokens``, ``api_keys``, ``accounts``); ``bearer`` picks
the kind and authenticates.
"""

from __future__ import annotations

from chalicelib.errors import Unauthorized

BEARER_CHALLENGE = {"WWW-Authenticate": 'Bearer error="invalid_token"'}


def rejected(message: str, *, code: str | None = None) -> Unauthorized:
    """A 401 for a presented credential, with the Bearer challenge."""
    return Unauthorized(message, code=code, headers=dict(BEARER_CHALLENGE))


def bearer_credential(authorization_header: str | None) -> str:
    """The credential of an ``Authorization: Bearer <credential>`` header; 401 otherwise."""
    if not authorization_header or not authorization_header.strip():
        raise rejected("Authentication required: send Authorization: Bearer <token>.")
    scheme, _, credential = authorization_header.strip().partition(" ")
    credential = credential.strip()
    if scheme.lower() != "bearer" or not credential:
        raise rejected("The Authorization header must be 'Bearer <token>'.")
    return credential
