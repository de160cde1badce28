"""The dev stack's moto child over HTTP: kept-alive connections, S3 framing, exact Query scope."""

from __future__ import annotations

import http.client
import os
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
import urllib3.connection

from devstack.moto_backend import MotoServer

REGION = "us-east-1"


@pytest.fixture(scope="module")
def server() -> Iterator[MotoServer]:
    moto = MotoServer()
    moto.start(dict(os.environ))
    yield moto
    moto.stop()


def _client(server: MotoServer, service: str) -> Any:
    return boto3.session.Session().client(
        service,
        endpoint_url=server.url,
        region_name=REGION,
        aws_access_key_id="devstack",
        aws_secret_access_key="devstack",  # moto ignores it
    )


def test_botocore_reuses_one_connection(
    server: MotoServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    dynamodb = _client(server, "dynamodb")
    dynamodb.list_tables()  # the pool's first connection
    opened = []
    original = urllib3.connection.HTTPConnection._new_conn

    def counted(self: Any) -> Any:
        opened.append(1)
        return original(self)

    monkeypatch.setattr(urllib3.connection.HTTPConnection, "_new_conn", counted)
    for _ in range(20):
        reply = dynamodb.list_tables()
        assert reply["ResponseMetadata"]["HTTPHeaders"].get("connection") != "close"
    assert opened == []


def test_s3_bodies_heads_and_chunked_uploads(server: MotoServer) -> None:
    s3 = _client(server, "s3")
    s3.create_bucket(Bucket="framing")
    body = os.urandom(300_000)
    s3.put_object(Bucket="framing", Key="k", Body=body)  # Expect: 100-continue
    assert s3.head_object(Bucket="framing", Key="k")["ContentLength"] == len(body)
    assert s3.get_object(Bucket="framing", Key="k")["Body"].read() == body
    # A chunked request body has no length to read ahead: served, then the connection closes.
    host, port = server.url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    conn.request("PUT", "/framing/chunked", body=iter([b"abc", b"def"]), encode_chunked=True)
    reply = conn.getresponse()
    reply.read()
    assert reply.status == 200
    assert reply.getheader("Connection") == "close"
    conn.close()
    assert s3.get_object(Bucket="framing", Key="chunked")["Body"].read() == b"abcdef"


def test_base_table_query_reads_only_its_partition_with_the_same_answer(
    server: MotoServer,
) -> None:
    dynamodb = _client(server, "dynamodb")
    dynamodb.create_table(
        TableName="scoped",
        KeySchema=[
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "N"},
            {"AttributeName": "g", "AttributeType": "S"},
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "by-g",
                "KeySchema": [
                    {"AttributeName": "g", "KeyType": "HASH"},
                    {"AttributeName": "sk", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    for p in range(4):
        for s in (5, 1, 3, 10, 2):
            dynamodb.put_item(
                TableName="scoped",
                Item={"pk": {"S": f"p{p}"}, "sk": {"N": str(s)}, "g": {"S": f"g{s % 2}"}},
            )

    def keys(**kwargs: Any) -> list[tuple[str, str]]:
        items = dynamodb.query(TableName="scoped", **kwargs)["Items"]
        return [(i["pk"]["S"], i["sk"]["N"]) for i in items]

    assert keys(
        KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "p2"}}
    ) == [("p2", s) for s in ("1", "2", "3", "5", "10")]
    assert keys(
        KeyConditionExpression="pk = :p AND sk > :s",
        ExpressionAttributeValues={":p": {"S": "p1"}, ":s": {"N": "2"}},
        ScanIndexForward=False,
        Limit=2,
    ) == [("p1", "10"), ("p1", "5")]
    assert (
        keys(KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "none"}})
        == []
    )
    # The index path is moto's own (every partition of the table).
    by_g = keys(
        IndexName="by-g",
        KeyConditionExpression="g = :g",
        ExpressionAttributeValues={":g": {"S": "g1"}},
    )
    assert sorted(by_g) == sorted((f"p{p}", s) for p in range(4) for s in ("1", "3", "5"))


def test_a_repeated_update_expression_applies_each_requests_values(server: MotoServer) -> None:
    dynamodb = _client(server, "dynamodb")
    dynamodb.create_table(
        TableName="updates",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    update = "SET #0 = :0, #1 = list_append(if_not_exists(#1, :e), :1) ADD #2 :2"
    for n in range(1, 4):
        for key in ("a", "b"):
            dynamodb.update_item(
                TableName="updates",
                Key={"pk": {"S": key}},
                UpdateExpression=update,
                ExpressionAttributeNames={"#0": "status", "#1": "log", "#2": "count"},
                ExpressionAttributeValues={
                    ":0": {"S": f"{key}{n}"},
                    ":1": {"L": [{"N": str(n)}]},
                    ":e": {"L": []},
                    ":2": {"N": str(n)},
                },
            )
    item = dynamodb.get_item(TableName="updates", Key={"pk": {"S": "b"}})["Item"]
    assert item["status"] == {"S": "b3"}
    assert item["log"] == {"L": [{"N": "1"}, {"N": "2"}, {"N": "3"}]}
    assert item["count"] == {"N": "6"}
    for _ in range(2):  # an invalid expression is refused every time
        with pytest.raises(dynamodb.exceptions.ClientError, match="ValidationException"):
            dynamodb.update_item(
                TableName="updates",
                Key={"pk": {"S": "a"}},
                UpdateExpression="SET = :0",
                ExpressionAttributeValues={":0": {"S": "x"}},
            )
