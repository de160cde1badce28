"""The dev stack's moto server: conditional writes and transactions are atomic under concurrency.

Runs the very child process the dev stack starts (``devstack.moto_server``) and hammers one
table from many threads with retries off, so a race would show as two winners, a lost update or
a 500 rather than being retried away.
"""

from __future__ import annotations

import os
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from devstack.moto_backend import MotoServer

REGION = "us-east-1"
THREADS = 12


@pytest.fixture(scope="module")
def dynamodb() -> Iterator[Any]:
    server = MotoServer()
    server.start(dict(os.environ))
    client = boto3.session.Session().client(
        "dynamodb",
        endpoint_url=server.url,
        region_name=REGION,
        aws_access_key_id="devstack",
        aws_secret_access_key="devstack",  # moto ignores it
        config=Config(retries={"total_max_attempts": 1}, max_pool_connections=THREADS * 2),
    )
    for name in ("race-items", "race-log"):
        client.create_table(
            TableName=name,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
    yield client
    server.stop()


def _race(work: Callable[[int], str]) -> Counter[str]:
    """Run ``work(i)`` on THREADS threads released at once; count what each returned."""
    barrier = threading.Barrier(THREADS)

    def one(i: int) -> str:
        barrier.wait(timeout=10)
        return work(i)

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        return Counter(pool.map(one, range(THREADS)))


def _code(exc: ClientError) -> str:
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
    return f"{exc.response['Error']['Code']}/{status}"


def test_conditional_puts_have_exactly_one_winner(dynamodb: Any) -> None:
    for round_ in range(10):
        key = f"put-{round_}"

        def put(i: int, key: str = key) -> str:
            try:
                dynamodb.put_item(
                    TableName="race-items",
                    Item={"pk": {"S": key}, "owner": {"N": str(i)}},
                    ConditionExpression="attribute_not_exists(pk)",
                )
                return "won"
            except ClientError as exc:
                return _code(exc)

        outcome = _race(put)
        assert outcome == Counter({"won": 1, "ConditionalCheckFailedException/400": THREADS - 1})


def test_conditional_updates_have_exactly_one_winner(dynamodb: Any) -> None:
    for round_ in range(10):
        key = f"task-{round_}"
        dynamodb.put_item(
            TableName="race-items", Item={"pk": {"S": key}, "status": {"S": "queued"}}
        )

        def claim(i: int, key: str = key) -> str:
            try:
                dynamodb.update_item(
                    TableName="race-items",
                    Key={"pk": {"S": key}},
                    UpdateExpression="SET #s = :running, #o = :me ADD #n :one",
                    ConditionExpression="#s = :queued",
                    ExpressionAttributeNames={"#s": "status", "#o": "owner", "#n": "n"},
                    ExpressionAttributeValues={
                        ":running": {"S": "running"},
                        ":queued": {"S": "queued"},
                        ":me": {"N": str(i)},
                        ":one": {"N": "1"},
                    },
                )
                return "won"
            except ClientError as exc:
                return _code(exc)

        outcome = _race(claim)
        assert outcome == Counter({"won": 1, "ConditionalCheckFailedException/400": THREADS - 1})
        item = dynamodb.get_item(TableName="race-items", Key={"pk": {"S": key}})["Item"]
        assert item["n"] == {"N": "1"}  # the losers changed nothing


def test_transactions_have_exactly_one_winner_and_roll_back_only_their_items(
    dynamodb: Any,
) -> None:
    counter = {"pk": {"S": "seq-counter"}}
    dynamodb.put_item(TableName="race-items", Item={**counter, "last": {"N": "0"}})
    for expected in range(10):

        def append(i: int, expected: int = expected) -> str:
            # Reserve seq expected+1 and write its log item in one transaction.
            try:
                dynamodb.transact_write_items(
                    TransactItems=[
                        {
                            "Update": {
                                "TableName": "race-items",
                                "Key": counter,
                                "UpdateExpression": "SET #l = :next",
                                "ConditionExpression": "#l = :expected",
                                "ExpressionAttributeNames": {"#l": "last"},
                                "ExpressionAttributeValues": {
                                    ":next": {"N": str(expected + 1)},
                                    ":expected": {"N": str(expected)},
                                },
                            }
                        },
                        {
                            "Put": {
                                "TableName": "race-log",
                                "Item": {
                                    "pk": {"S": f"seq-{expected + 1}-by-{i}"},
                                    "writer": {"N": str(i)},
                                },
                            }
                        },
                    ]
                )
                return "won"
            except ClientError as exc:
                return _code(exc)

        outcome = _race(append)
        assert outcome == Counter({"won": 1, "TransactionCanceledException/400": THREADS - 1})

    last = dynamodb.get_item(TableName="race-items", Key=counter)["Item"]["last"]
    assert last == {"N": "10"}
    # The losers' puts were rolled back: exactly one log item per seq.
    logged = dynamodb.scan(TableName="race-log")["Items"]
    assert sorted(item["pk"]["S"].split("-by-")[0] for item in logged) == sorted(
        f"seq-{n}" for n in range(1, 11)
    )


def test_a_cancelled_transaction_restores_updated_and_new_items(dynamodb: Any) -> None:
    dynamodb.put_item(TableName="race-items", Item={"pk": {"S": "keep"}, "value": {"S": "before"}})
    dynamodb.put_item(TableName="race-items", Item={"pk": {"S": "bystander"}})
    with pytest.raises(ClientError) as caught:
        dynamodb.transact_write_items(
            TransactItems=[
                {
                    "Update": {
                        "TableName": "race-items",
                        "Key": {"pk": {"S": "keep"}},
                        "UpdateExpression": "SET #v = :after",
                        "ExpressionAttributeNames": {"#v": "value"},
                        "ExpressionAttributeValues": {":after": {"S": "after"}},
                    }
                },
                {"Put": {"TableName": "race-items", "Item": {"pk": {"S": "new-one"}}}},
                {
                    "ConditionCheck": {
                        "TableName": "race-items",
                        "Key": {"pk": {"S": "missing"}},
                        "ConditionExpression": "attribute_exists(pk)",
                    }
                },
            ]
        )
    assert _code(caught.value) == "TransactionCanceledException/400"
    item = dynamodb.get_item(TableName="race-items", Key={"pk": {"S": "keep"}})["Item"]
    assert item["value"] == {"S": "before"}
    assert "Item" not in dynamodb.get_item(TableName="race-items", Key={"pk": {"S": "new-one"}})
    # Other items of the same table are untouched by the rollback.
    assert "Item" in dynamodb.get_item(TableName="race-items", Key={"pk": {"S": "bystander"}})


def test_a_cancelled_transaction_never_undoes_other_writers(dynamodb: Any) -> None:
    """moto's own rollback restores whole-table copies, erasing writes made meanwhile."""
    table = "race-big"
    dynamodb.create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    # A table big enough that copying it takes a while (the race window of moto's rollback).
    for start in range(0, 2000, 25):
        dynamodb.batch_write_item(
            RequestItems={
                table: [
                    {"PutRequest": {"Item": {"pk": {"S": f"seed-{n}"}, "pad": {"S": "x" * 200}}}}
                    for n in range(start, start + 25)
                ]
            }
        )

    def work(i: int) -> str:
        outcomes = []
        for n in range(8):
            try:
                if i % 2:
                    dynamodb.put_item(TableName=table, Item={"pk": {"S": f"put-{i}-{n}"}})
                    outcomes.append("put")
                else:
                    dynamodb.transact_write_items(
                        TransactItems=[
                            {"Put": {"TableName": table, "Item": {"pk": {"S": f"tx-{i}-{n}"}}}},
                            {
                                "ConditionCheck": {
                                    "TableName": table,
                                    "Key": {"pk": {"S": "missing"}},
                                    "ConditionExpression": "attribute_exists(pk)",
                                }
                            },
                        ]
                    )
                    outcomes.append("tx-applied")
            except ClientError as exc:
                outcomes.append(_code(exc))
        return ",".join(sorted(set(outcomes)))

    outcome = _race(work)
    assert outcome == Counter(
        {"put": THREADS // 2, "TransactionCanceledException/400": THREADS // 2}
    )
    keys = {
        item["pk"]["S"]
        for page in dynamodb.get_paginator("scan").paginate(TableName=table)
        for item in page["Items"]
    }
    assert {f"put-{i}-{n}" for i in range(1, THREADS, 2) for n in range(8)} <= keys
    assert not any(key.startswith("tx-") for key in keys)
    assert len(keys) == 2000 + (THREADS // 2) * 8
