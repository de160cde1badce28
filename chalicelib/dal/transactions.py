"""TransactWrite with one process-wide connection, and reading why a transaction was cancelled."""

from __future__ import annotations

from pynamodb.connection import Connection
from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

from chalicelib.config import get_settings
from chalicelib.shared.caches import process_cache


@process_cache
def _connection() -> Connection:
    return Connection(region=get_settings().region)


def transact_write() -> TransactWrite:
    return TransactWrite(connection=_connection())


def transaction_connection() -> Connection:
    """The process-wide connection for low-level ``transact_write_items`` calls."""
    return _connection()


def failed_conditions(exc: TransactWriteError) -> list[bool]:
    """Per submitted item: did its condition fail? (pynamodb's submit order, see failed_tables)."""
    reasons = exc.cancellation_reasons or []
    return [bool(r and r.code == "ConditionalCheckFailed") for r in reasons]


def failed_tables(tx: TransactWrite, exc: TransactWriteError) -> set[str]:
    """Names of the tables whose item's condition failed.

    pynamodb submits condition checks, then deletes, puts and updates, whatever order they were
    added in, so positions in the cancellation reasons must be read in that order.
    """
    submitted = [
        *tx._condition_check_items,
        *tx._delete_items,
        *tx._put_items,
        *tx._update_items,
    ]
    return {
        item["TableName"]
        for item, failed in zip(submitted, failed_conditions(exc), strict=False)
        if failed
    }
