"""``Authorization: Bearer <credential>``: an access token (JWT) or an API key (``aion_...``).

Either way the request acts with its user's *current* role, read from the user record at each
request (``chalicelib.auth.accounts``): a role a token claims is never trusted, so a demoted
admin's unexpired token carries no admin rights and a disabled user's token stops working.
"""

from __future__ import annotations

from chalicelib.auth.accounts import current_principal
from chalicelib.auth.api_keys import authenticate_api_key, looks_like_api_key
from chalicelib.auth.credentials import bearer_credential
from chalicelib.auth.principal import VIA_ACCESS_TOKEN, Principal


def authenticate_bearer(authorization_header: str | None) -> Principal:
    """The caller of a request, with the user's current role. Raises Unauthorized."""
    credential = bearer_credential(authorization_header)
    if looks_like_api_key(credential):
        return authenticate_api_key(credential)
    from chalicelib.auth.tokens import decode_access_token  # deferred: PyJWT for tokens only

    claimed = decode_access_token(credential)
    return current_principal(claimed.user_id, token_id=claimed.token_id, via=VIA_ACCESS_TOKEN)
