"""Ending every session of a user: their refresh token families, then their open WebSockets.

Called after a password or role change (``chalicelib.logic.users``), so whatever was opened
with the old password or role stops at once (access tokens age out within minutes).
"""

from __future__ import annotations

from chalicelib.auth import refresh as refresh_tokens


def revoke_user_sessions(user_id: str) -> int:
    """End every session of a user; returns the revoked session count.

    Refresh tokens first, then the user's open WebSockets (they would otherwise keep
    receiving events with the old role for up to 2 h).
    """
    from chalicelib.logic import telemetry  # deferred: ~12 ms that only this path needs

    revoked = refresh_tokens.revoke_user_sessions(user_id)
    telemetry.close_user_connections(user_id)
    return revoked
