"""TransactWrite with one process-wide connection, and reading why a transaction was cancelled."""

from __future__ import annotations

from functools import lru_cache

from pynamodb.connection import Connection
from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

from chalicelib.config import get_settings


@lru_cache(maxsize=1)
def _connection() -> Connection:
    return Connection(region=get_settings().region)


def transact_write() -> TransactWrite:
    return TransactWrite(connection=_connection())


def failed_conditions(exc: TransactWriteError) -> list[bool]:
    """Per item of the transaction: did its condition fail? (order as the items were added)."""
    reasons = exc.cancellation_reasons or []
    return [bool(r and r.code == "ConditionalCheckFailed") for r in reasons]
