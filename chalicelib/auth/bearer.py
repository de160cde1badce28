"""``Authorization: Bearer <credential>``: an access token (JWT) or an API key (``aion_...``).

Either way the request acts with its user's *current* role, read from the user record at each
request (``chalicelib.auth.accounts``): a role a token claims is never trusted, so a demoted
admin's unexpired token carries no admin rights and a disabled user's token stops working.
Imports are deferred to the branch that needs them: PyJWT only for tokens.
"""

from __future__ import annotations

from chalicelib.auth.principal import Principal
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


def authenticate_bearer(authorization_header: str | None) -> Principal:
    """The caller of a request, with the user's current role. Raises Unauthorized."""
    credential = bearer_credential(authorization_header)
    from chalicelib.auth.api_keys import authenticate_api_key, looks_like_api_key

    if looks_like_api_key(credential):
        return authenticate_api_key(credential)
    from chalicelib.auth.accounts import current_principal
    from chalicelib.auth.principal import VIA_ACCESS_TOKEN
    from chalicelib.auth.tokens import decode_access_token

    claimed = decode_access_token(credential)
    return current_principal(claimed.user_id, token_id=claimed.token_id, via=VIA_ACCESS_TOKEN)
