"""``python -m moto.server`` with DynamoDB made atomic the way the real service is.

The dev stack starts moto through this module (``python -m devstack.moto_server -H .. -p ..``).
Two things of moto's DynamoDB (pinned moto==5.2.5) differ from AWS in ways our code relies on:

- A conditional write checks its condition, then writes, with no lock: two threads of the
  threaded server can both pass ``attribute_not_exists`` or ``status = queued``. Real DynamoDB
  serialises writes per item. Here every DynamoDB request runs under one process-wide lock,
  which is stronger (requests are serialised per table, not per item) and simple to trust.
- ``TransactWriteItems`` deep-copies every table it touches to be able to roll back. That costs
  milliseconds that grow with the tables and, without the lock, reads tables other threads are
  changing (500s). Here a transaction snapshots only the items it writes and restores just those.

Only the dev stack's moto process imports this; Lambda code never does.
"""

from __future__ import annotations

import copy
import sys
import threading
from typing import Any

_LOCK = threading.RLock()
_installed = False


def _item_key(table: Any, key: dict[str, Any]) -> tuple[Any, Any] | None:
    """moto's (hash, range) DynamoType key of ``key``; None when the key is malformed."""
    from moto.dynamodb.models.dynamo_type import DynamoType

    try:
        hash_value = DynamoType(key[table.hash_key_attr])
        range_value = (
            DynamoType(key[table.range_key_attr]) if table.range_key_attr is not None else None
        )
    except (KeyError, TypeError):
        return None
    return hash_value, range_value


class _ItemSnapshots:
    """Copies of the items a transaction is about to write, to put them back on failure."""

    def __init__(self) -> None:
        self._saved: dict[tuple[str, Any, Any], tuple[Any, Any]] = {}

    def save(self, backend: Any, table_name: str, key: dict[str, Any]) -> None:
        table = backend.tables.get(table_name)
        if table is None:
            return
        ident = _item_key(table, key)
        if ident is None or (table_name, *ident) in self._saved:
            return
        hash_value, range_value = ident
        if table.range_key_attr is not None:
            current = table.items.get(hash_value, {}).get(range_value)
        else:
            current = table.items.get(hash_value)
        # update_item changes the stored Item in place, so keep a copy, not a reference.
        self._saved[(table_name, hash_value, range_value)] = (table, copy.deepcopy(current))

    def restore(self) -> None:
        for (_, hash_value, range_value), (table, item) in self._saved.items():
            if table.range_key_attr is not None:
                if item is None:
                    table.items.get(hash_value, {}).pop(range_value, None)
                else:
                    table.items[hash_value][range_value] = item
            elif item is None:
                table.items.pop(hash_value, None)
            else:
                table.items[hash_value] = item


def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
    """moto 5.2.5's ``DynamoDBBackend.transact_write_items`` with per-item rollback.

    Same checks, order and errors as moto's; only the backup differs (items, not tables).
    """
    from moto.dynamodb.exceptions import (
        ConditionalCheckFailed,
        MockValidationException,
        MultipleTransactionsException,
        TooManyTransactionsException,
        TransactionCanceledException,
        TransactWriteSingleOpException,
    )

    if len(transact_items) > 100:
        raise TooManyTransactionsException()
    snapshots = _ItemSnapshots()
    target_items: set[tuple[str, str]] = set()

    def check_unicity(table_name: str, key: dict[str, Any]) -> None:
        item = (str(table_name), str(dict(sorted(key.items()))))
        if item in target_items:
            raise MultipleTransactionsException()
        target_items.add(item)

    errors: list[tuple[Any, Any, Any]] = []
    for item in transact_items:
        original_item: dict[str, Any] | None = None
        if len(list(item.keys())) > 1:
            raise TransactWriteSingleOpException
        try:
            op_type, op = next(iter(item.items()))
            if op_type not in {"ConditionCheck", "Put", "Delete", "Update"}:
                raise ValueError("Unsupported transaction operation")
            table_name = op["TableName"]
            condition_expression = op.get("ConditionExpression")
            names = op.get("ExpressionAttributeNames")
            values = op.get("ExpressionAttributeValues")
            on_failure = op.get("ReturnValuesOnConditionCheckFailure")
            if op_type == "Put":
                attrs = op["Item"]
                table = self.get_table(table_name)
                key = {table.hash_key_attr: attrs[table.hash_key_attr]}
                if table.range_key_attr is not None:
                    key[table.range_key_attr] = attrs[table.range_key_attr]
            else:
                key = op["Key"]
            check_unicity(table_name, key)
            current = self.get_item(table_name, key)
            if condition_expression is not None:
                condition_op = _filter_expression(condition_expression, names, values)
                if not condition_op.expr(current):
                    if on_failure == "ALL_OLD" and current:
                        original_item = current.to_json()["Attributes"]
                    raise ConditionalCheckFailed(item=original_item)
            if op_type != "ConditionCheck":
                snapshots.save(self, table_name, key)
            if op_type == "Put":
                self.put_item(
                    table_name,
                    op["Item"],
                    condition_expression=condition_expression,
                    expression_attribute_names=names,
                    expression_attribute_values=values,
                )
            elif op_type == "Delete":
                self.delete_item(
                    table_name,
                    key,
                    condition_expression=condition_expression,
                    expression_attribute_names=names,
                    expression_attribute_values=values,
                )
            elif op_type == "Update":
                self.update_item(
                    table_name,
                    key,
                    update_expression=op["UpdateExpression"],
                    condition_expression=condition_expression,
                    expression_attribute_names=names,
                    expression_attribute_values=values,
                )
            errors.append((None, None, None))
        except (MultipleTransactionsException, MockValidationException):
            snapshots.restore()
            raise
        except ConditionalCheckFailed as exc:
            errors.append(("ConditionalCheckFailed", str(exc.message), original_item))
        except Exception as exc:  # moto reports any failure as a cancellation
            errors.append((type(exc).__name__, str(exc), original_item))
    if any(code is not None for code, _, _ in errors):
        snapshots.restore()
        raise TransactionCanceledException(errors)


def _filter_expression(expression: str, names: Any, values: Any) -> Any:
    from moto.dynamodb.comparisons import get_filter_expression

    return get_filter_expression(expression, names, values)


def install() -> None:
    """Patch moto's DynamoDB in this process (idempotent)."""
    global _installed
    if _installed:
        return
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.responses import DynamoHandler

    original_call_action = DynamoHandler.call_action

    def call_action(self: Any) -> Any:
        # One DynamoDB request at a time: conditions and writes cannot interleave.
        with _LOCK:
            return original_call_action(self)

    DynamoHandler.call_action = call_action  # type: ignore[method-assign]
    DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]
    _installed = True


def main(argv: list[str] | None = None) -> None:
    install()
    from moto.server import main as moto_main

    moto_main(argv if argv is not None else sys.argv[1:])


if __name__ == "__main__":
    main()
