"""Single-use WebSocket tickets, and turning a WebSocket ``token`` parameter into a Principal.

Browsers cannot set headers on a WebSocket handshake, so the token travels in the query string
where proxies may log it. A ticket limits that exposure: it lives 60 seconds and redeems once
(a conditional delete, so two concurrent redemptions cannot both succeed). Whichever the
token, the socket gets the user's current role, and a disabled user's token or ticket opens
nothing (``chalicelib.auth.accounts``); the role stored with a ticket is only a record.
"""

from __future__ import annotations

import secrets
import time
from datetime import UTC, datetime

from pynamodb.exceptions import DeleteError

from chalicelib.auth.accounts import current_principal
from chalicelib.auth.digest import sha256_hex
from chalicelib.auth.principal import VIA_ACCESS_TOKEN, VIA_WS_TICKET, Principal
from chalicelib.auth.tokens import decode_access_token, looks_like_jwt
from chalicelib.config import get_settings
from chalicelib.dal.auth_models import WsTicket
from chalicelib.errors import Unauthorized

TICKET_PREFIX = "wst_"
_MAX_TICKET_CHARS = 128
_INVALID_TICKET = "The WebSocket ticket is invalid, expired or already used."


def _epoch(now: float | None) -> int:
    return int(time.time() if now is None else now)


def _as_datetime(epoch: int) -> datetime:
    return datetime.fromtimestamp(epoch, tz=UTC)


def issue_ws_ticket(principal: Principal, *, now: float | None = None) -> tuple[str, int]:
    """A fresh ticket for ``principal``; returns ``(ticket, expires_in_seconds)``."""
    ttl = get_settings().auth.ws_ticket_ttl_s
    ticket = TICKET_PREFIX + secrets.token_urlsafe(32)
    WsTicket(
        sha256_hex(ticket),
        user_id=principal.user_id,
        role=principal.role,
        expires_at=_as_datetime(_epoch(now) + ttl),
    ).save(condition=WsTicket.ticket_hash.does_not_exist())
    return ticket, ttl


def redeem_ws_ticket(ticket: str, *, now: float | None = None) -> Principal:
    """The ticket's principal; the ticket is consumed. Raises Unauthorized otherwise."""
    if not ticket.startswith(TICKET_PREFIX) or len(ticket) > _MAX_TICKET_CHARS:
        raise Unauthorized(_INVALID_TICKET)
    ticket_hash = sha256_hex(ticket)
    # Delete only if it exists and has not expired; ALL_OLD hands back what was deleted.
    condition = WsTicket.ticket_hash.exists() & (WsTicket.expires_at > _as_datetime(_epoch(now)))
    try:
        response = WsTicket._get_connection().delete_item(
            ticket_hash, condition=condition, return_values="ALL_OLD"
        )
    except DeleteError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            raise Unauthorized(_INVALID_TICKET) from None
        raise
    item = WsTicket.from_raw_data(response["Attributes"])
    return current_principal(item.user_id, token_id=f"ticket:{ticket_hash[:16]}", via=VIA_WS_TICKET)


def principal_from_ws_token(token: str | None, *, now: float | None = None) -> Principal:
    """The WebSocket ``token`` parameter: an access token (JWT) or a ws ticket."""
    if not token:
        raise Unauthorized("A token is required to open the WebSocket.")
    if looks_like_jwt(token):
        claimed = decode_access_token(token)
        return current_principal(claimed.user_id, token_id=claimed.token_id, via=VIA_ACCESS_TOKEN)
    if token.startswith(TICKET_PREFIX):
        return redeem_ws_ticket(token, now=now)
    raise Unauthorized("The WebSocket token is neither an access token nor a ticket.")
