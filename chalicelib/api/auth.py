"""Login, token refresh, logout and WebSocket tickets.

Logic imports are deferred (inside handlers) for the cold start: see ``chalicelib.api``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.api.rest import AUTH_NONE, ApiBlueprint, ApiResponse, Call, M, link

if TYPE_CHECKING:
    from chalicelib.models.auth import TicketOut, TokenOut

bp = ApiBlueprint(__name__)

# A session's refresh token goes on to a refresh (rotation) or a logout (OpenAPI links).
_ISSUED = {"refreshToken": "$response.body#/refreshToken"}
SESSION_LINKS = (link("refreshTokens", body=_ISSUED), link("logout", body=_ISSUED))


@bp.endpoint(
    "POST",
    "/auth/login",
    name="login",
    summary="Exchange email and password for tokens",
    description=(
        "Failed attempts back off per account and source address (5 free), and per account "
        "from anywhere past a high ceiling (429 with Retry-After). A disabled account is 403 "
        "`account_disabled`, said only when the password is right."
    ),
    tags=("auth",),
    auth=AUTH_NONE,
    body=M("auth:LoginRequest"),
    response=M("auth:TokenOut"),
    errors=(401, 403, 429),
    links=SESSION_LINKS,
)
def login(call: Call) -> TokenOut:
    from chalicelib.logic import auth  # deferred: cold start (see chalicelib.api)

    return auth.login(call.body.email, call.body.password, source_ip=call.request.source_ip)


@bp.endpoint(
    "POST",
    "/auth/refresh",
    name="refreshTokens",
    summary="Rotate a refresh token",
    tags=("auth",),
    auth=AUTH_NONE,
    body=M("auth:RefreshRequest"),
    response=M("auth:TokenOut"),
    errors=(401,),
    links=SESSION_LINKS,
)
def refresh(call: Call) -> TokenOut:
    from chalicelib.logic import auth  # deferred: cold start (see chalicelib.api)

    return auth.refresh(call.body.refresh_token)


@bp.endpoint(
    "POST",
    "/auth/logout",
    name="logout",
    summary="Revoke a refresh token (and its family)",
    tags=("auth",),
    auth=AUTH_NONE,
    body=M("auth:RefreshRequest"),
    status=204,
)
def logout(call: Call) -> ApiResponse:
    from chalicelib.logic import auth  # deferred: cold start (see chalicelib.api)

    auth.logout(call.body.refresh_token)
    return ApiResponse(status=204)


@bp.endpoint(
    "POST",
    "/auth/ws-ticket",
    name="createWsTicket",
    summary="A single-use, 60-second ticket for the WebSocket token parameter",
    description="An access token or an API key may ask for one.",
    tags=("auth",),
    response=M("auth:TicketOut"),
)
def ws_ticket(call: Call) -> TicketOut:
    from chalicelib.logic import auth  # deferred: cold start (see chalicelib.api)

    return auth.ws_ticket(call.user)
