"""WebSocket authentication entry point (the handlers import it from here).

The implementation lives with the tickets it redeems; this module keeps the agreed import path.
"""

from __future__ import annotations

from chalicelib.auth.tickets import principal_from_ws_token

__all__ = ["principal_from_ws_token"]
