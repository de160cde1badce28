"""``python -m moto.server`` with DynamoDB made atomic the way the real service is.

The dev stack starts moto through this module (``python -m devstack.moto_server -H .. -p ..``),
served by ``devstack.moto_http`` (keep-alive connections, no request log unless
``--request-log``) instead of ``moto.server.main``.

Two things of moto's DynamoDB (pinned moto==5.2.5) differ from AWS in ways our code relies on:

- A conditional write checks its condition, then writes, with no lock: two threads of the
  threaded server can both pass ``attribute_not_exists`` or ``status = queued``. Real DynamoDB
  serialises writes per item. Here every DynamoDB request runs under one process-wide lock,
  which is stronger (requests are serialised per table, not per item) and simple to trust.
- ``TransactWriteItems`` deep-copies every table it touches to be able to roll back. That costs
  milliseconds that grow with the tables and, without the lock, reads tables other threads are
  changing (500s). Here a transaction snapshots only the items it writes and restores just those.

Like the real service, and unlike moto, a write never half-applies: an UpdateItem that fails
midway (an item pushed over DynamoDB's 400 KB, measured as DynamoDB measures it) changes
nothing and answers ValidationException. With ``--state-dir`` the state survives restarts
(``devstack.persistence``), and S3 POST forms are checked against their signed policy
(``devstack.s3_post_policy``).

Only the dev stack's moto process imports this; Lambda code never does.
"""

from __future__ import annotations

import argparse
import copy
import json
import logging
import os
import sys
import threading
from pathlib import Path
from typing import Any

from chalicelib.dal.item_size import ITEM_LIMIT_BYTES, item_size

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

    Same checks, order and errors as moto's; only the backup differs (items, not tables), and
    each condition is evaluated once instead of twice, on the tree the request's validation
    parsed (``_remembering_parser``).
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
            # The condition held just above and nothing can run in between (``_LOCK``): the
            # write itself does not parse and evaluate it a second time.
            if op_type == "Put":
                self.put_item(
                    table_name,
                    op["Item"],
                    condition_expression=None,  # checked above, under the lock
                    expression_attribute_names=names,
                    expression_attribute_values=values,
                )
            elif op_type == "Delete":
                self.delete_item(
                    table_name,
                    key,
                    condition_expression=None,  # checked above, under the lock
                    expression_attribute_names=names,
                    expression_attribute_values=values,
                )
            elif op_type == "Update":
                self.update_item(
                    table_name,
                    key,
                    update_expression=op["UpdateExpression"],
                    condition_expression=None,  # checked above, under the lock
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


class _QueryScope(threading.local):
    """The table and hash key of the base-table Query running on this thread, if any."""

    table: Any = None
    hash_key: Any = None


_query_scope = _QueryScope()


def _scoped_query(original: Any) -> Any:
    """moto's ``Table.query`` that reads only the queried partition on the base table.

    moto's base-table Query sorts every item of the table (``all_items``) and keeps those with
    the queried hash key, so each Query costs O(table) - the subscriptions and activity tables
    only grow while the dev stack runs. With the scope set, ``all_items`` yields just that
    partition, in the same order, so the result is identical. Index queries are unchanged.
    """

    def query(self: Any, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
        # moto's backend passes index_name as the 8th positional argument (after hash_key).
        index_name = kwargs.get("index_name") or (args[6] if len(args) > 6 else None)
        if index_name or hash_key is None:
            return original(self, hash_key, *args, **kwargs)
        _query_scope.table, _query_scope.hash_key = self, hash_key
        try:
            return original(self, hash_key, *args, **kwargs)
        finally:
            _query_scope.table = _query_scope.hash_key = None

    return query


def _scoped_all_items(original: Any) -> Any:
    def all_items(self: Any) -> list[Any]:
        if _query_scope.table is not self:
            return original(self)
        partition = self.items.get(_query_scope.hash_key)
        if partition is None:
            return []
        if self.range_key_attr:
            return sorted(partition.values(), key=lambda item: item.range_key)
        return [partition]

    return all_items


# Distinct update expressions kept parsed; the app writes a few shapes (pynamodb numbers its
# attribute references (:v0, #n0), so the text repeats while the values change).
PARSED_UPDATES_MAX = 1024


def _cached_update_parsing(original_make: Any) -> Any:
    """``UpdateExpressionParser.make`` that parses each expression text once.

    Every UpdateItem and transactional Update parses its expression twice (the request is
    validated, then applied). The tree depends on the text alone; its users only read it or
    deep-copy it before resolving names and values (``Validator``), so one tree can serve
    every request. An invalid expression raises as before and is not remembered.
    """
    parsed: dict[str, Any] = {}

    def make(cls: Any, expression_str: str) -> Any:
        tree = parsed.get(expression_str)
        if tree is None:
            tree = original_make(expression_str)
            if len(parsed) >= PARSED_UPDATES_MAX:
                parsed.clear()
            parsed[expression_str] = tree
        return tree

    return classmethod(make)


class _TransactionParses(threading.local):
    """Condition trees parsed while validating the transaction running on this thread."""

    ops: dict[tuple[str, str, str], Any] | None = None


_parses = _TransactionParses()


def _condition_key(expression: str, names: Any, values: Any) -> tuple[str, str, str]:
    # moto's validation passes {} where the backend passes None: the same parse either way.
    return (
        expression,
        json.dumps(names or {}, sort_keys=True),
        json.dumps(values or {}, sort_keys=True),
    )


def _remembering_parser(original_create: Any) -> Any:
    """moto's ``create_condition_expression_parser`` for its request handlers, whose parse
    results are kept while a ``TransactWriteItems`` request is validated.

    The handler parses every condition to validate the request, then the backend parses it
    again to evaluate it (~0.3 ms each). The tree is a pure function of the expression, names
    and values, and evaluating it changes nothing, so the backend takes the validated one.
    """

    def create(expression: Any, names: Any, values: Any) -> Any:
        parser = original_create(expression, names, values)
        ops = _parses.ops
        if ops is None or expression is None:
            return parser
        parse = parser.parse

        def parse_and_remember() -> Any:
            op = parse()
            ops[_condition_key(expression, names, values)] = op
            return op

        parser.parse = parse_and_remember
        return parser

    return create


def _sharing_condition_parses(original: Any) -> Any:
    def transact_write_items(self: Any) -> Any:
        _parses.ops = {}
        try:
            return original(self)
        finally:
            _parses.ops = None

    return transact_write_items


def _filter_expression(expression: str, names: Any, values: Any) -> Any:
    ops = _parses.ops
    if ops is not None:
        op = ops.get(_condition_key(expression, names, values))
        if op is not None:
            return op
    from moto.dynamodb.comparisons import get_filter_expression

    return get_filter_expression(expression, names, values)


# DynamoDB's item limit, measured as DynamoDB measures it: the project's one measure.
MAX_ITEM_BYTES = ITEM_LIMIT_BYTES


def _all_or_nothing(original: Any, *, update: bool) -> Any:
    """``put_item``/``update_item`` that either fully apply or change nothing.

    moto applies an UpdateItem's actions to the stored item one by one and creates a missing
    item before the first one, so a failure midway (an item grown past the limit, a type
    error) leaves a half-updated or key-only item. Here the item is copied first and put back
    on any failure; the size is checked on the result, as DynamoDB does.
    """
    from moto.dynamodb.exceptions import ItemSizeTooLarge, ItemSizeToUpdateTooLarge

    def checked_put(self: Any, table_name: str, item_attrs: Any, *args: Any, **kwargs: Any) -> Any:
        # A put replaces the whole item: its size is known before anything is written.
        if isinstance(item_attrs, dict) and item_size(item_attrs) > MAX_ITEM_BYTES:
            raise ItemSizeTooLarge()
        return original(self, table_name, item_attrs, *args, **kwargs)

    def restoring_update(self: Any, table_name: str, key: Any, *args: Any, **kwargs: Any) -> Any:
        snapshots = _ItemSnapshots()
        if isinstance(key, dict):
            snapshots.save(self, table_name, key)
        try:
            item = original(self, table_name, key, *args, **kwargs)
        except Exception:
            snapshots.restore()
            raise
        if item is not None and item_size(item.attrs) > MAX_ITEM_BYTES:
            snapshots.restore()
            raise ItemSizeToUpdateTooLarge()
        return item

    return restoring_update if update else checked_put


def install() -> None:
    """Patch moto's DynamoDB in this process (idempotent)."""
    global _installed
    if _installed:
        return
    from moto.dynamodb import responses
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.dynamo_type import LimitedSizeDict
    from moto.dynamodb.models.table import Table

    # The module starts with "# type: ignore", so mypy sees none of its names.
    from moto.dynamodb.parsing.expressions import UpdateExpressionParser  # type: ignore[attr-defined]
    from moto.dynamodb.responses import DynamoHandler

    original_call_action = DynamoHandler.call_action

    def call_action(self: Any) -> Any:
        # One DynamoDB request at a time: conditions and writes cannot interleave.
        with _LOCK:
            return original_call_action(self)

    DynamoHandler.call_action = call_action  # type: ignore[method-assign]
    DynamoHandler.transact_write_items = _sharing_condition_parses(  # type: ignore[method-assign]
        DynamoHandler.transact_write_items
    )
    responses.create_condition_expression_parser = _remembering_parser(
        responses.create_condition_expression_parser
    )
    DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]
    Table.query = _scoped_query(Table.query)  # type: ignore[method-assign]
    Table.all_items = _scoped_all_items(Table.all_items)  # type: ignore[method-assign]
    UpdateExpressionParser.make = _cached_update_parsing(UpdateExpressionParser.make)
    # moto's own limit (405,000 of its own size units, checked per top-level attribute, each
    # time O(item)) is replaced by DynamoDB's, checked once on the written item.
    LimitedSizeDict.__setitem__ = dict.__setitem__  # type: ignore[method-assign]
    DynamoDBBackend.put_item = _all_or_nothing(DynamoDBBackend.put_item, update=False)  # type: ignore[method-assign]
    DynamoDBBackend.update_item = _all_or_nothing(DynamoDBBackend.update_item, update=True)  # type: ignore[method-assign]
    _installed = True


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="moto for the dev stack")
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, required=True)
    parser.add_argument(
        "--request-log", action="store_true", help="log one line per request (off: CPU per call)"
    )
    parser.add_argument(
        "--state-dir", type=Path, help="keep the state here across restarts (journal + snapshot)"
    )
    args = parser.parse_args(argv if argv is not None else sys.argv[1:])
    # The dev stack prefixes each line with [moto] and filters by level.
    logging.basicConfig(
        level=logging.INFO, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    log = logging.getLogger("devstack.moto_server")
    install()
    from devstack import s3_post_policy
    from devstack.moto_http import serve

    s3_post_policy.install()
    wrap = None
    if args.state_dir is not None:
        from devstack import persistence

        journal = persistence.Journal(
            args.state_dir,
            ddb_lock=_LOCK,
            compact_bytes=int(
                os.environ.get("AION_DEV_COMPACT_BYTES") or persistence.COMPACT_BYTES
            ),
            fsync=os.environ.get("AION_DEV_FSYNC", "").strip() in ("1", "true"),
        )
        persistence.install_hooks(journal)
        try:
            report = journal.load()
        except persistence.StateError as exc:
            log.error("cannot load the dev stack state: %s", exc)
            sys.exit(3)
        log.info(
            "state loaded from %s in %.2f s (%d snapshot + %d journal records)",
            args.state_dir,
            report.seconds,
            report.snapshot_records,
            report.journal_records,
        )

        def wrap(app: Any) -> Any:
            return persistence.PersistingApp(app, journal)

    serve(args.host, args.port, request_log=args.request_log, wrap_app=wrap)


if __name__ == "__main__":
    main()
