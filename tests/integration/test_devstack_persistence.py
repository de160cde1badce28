"""The moto child's kept state (``devstack.persistence``): what a client saw acknowledged survives
a SIGKILL, compaction keeps everything, a torn last record is the only loss, and a state the
child cannot read stops it with a message instead of starting empty."""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

from devstack.moto_backend import MotoServer, create_queue_with_dlq

REGION = "us-east-1"


class Child:
    """A moto child on a fixed port over one state directory, restartable."""

    def __init__(self, state: Path) -> None:
        self.state = state
        self.server: MotoServer | None = None
        self.port: int | None = None

    def start(self) -> Child:
        self.server = MotoServer(port=self.port, state_dir=self.state)
        self.server.start(dict(os.environ))
        self.port = self.server.port
        return self

    def kill(self) -> None:
        assert self.server is not None
        assert self.server.proc is not None
        os.kill(self.server.proc.pid, signal.SIGKILL)
        self.server.proc.wait(10)

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()

    def client(self, service: str) -> Any:
        assert self.server is not None
        session = boto3.session.Session(
            aws_access_key_id="devstack", aws_secret_access_key="devstack", region_name=REGION
        )
        return session.client(
            service, endpoint_url=self.server.url, config=Config(retries={"max_attempts": 2})
        )


@pytest.fixture
def child(tmp_path: Path) -> Iterator[Child]:
    running = Child(tmp_path / "moto").start()
    yield running
    running.stop()


def _table(dynamodb: Any, name: str = "kept") -> None:
    dynamodb.create_table(
        TableName=name,
        KeySchema=[
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "N"},
            {"AttributeName": "status", "AttributeType": "S"},
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "by-status",
                "KeySchema": [{"AttributeName": "status", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    dynamodb.update_time_to_live(
        TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires"}
    )


def _write_everything(child: Child) -> dict[str, Any]:
    dynamodb, sqs, s3 = child.client("dynamodb"), child.client("sqs"), child.client("s3")
    _table(dynamodb)
    for n in range(20):
        dynamodb.put_item(
            TableName="kept",
            Item={
                "pk": {"S": "p"},
                "sk": {"N": str(n)},
                "status": {"S": "done" if n % 2 else "queued"},
                "doc": {"M": {"tags": {"SS": ["a", "b"]}, "raw": {"B": bytes([n, 255])}}},
                "text": {"S": "中文 é " * n},
            },
        )
    dynamodb.delete_item(TableName="kept", Key={"pk": {"S": "p"}, "sk": {"N": "3"}})
    dynamodb.update_item(
        TableName="kept",
        Key={"pk": {"S": "p"}, "sk": {"N": "4"}},
        UpdateExpression="SET #s = :s ADD hits :one",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":s": {"S": "done"}, ":one": {"N": "1"}},
    )
    dynamodb.transact_write_items(
        TransactItems=[
            {"Put": {"TableName": "kept", "Item": {"pk": {"S": "t"}, "sk": {"N": "1"}}}},
            {"Delete": {"TableName": "kept", "Key": {"pk": {"S": "p"}, "sk": {"N": "5"}}}},
        ]
    )
    queue_url, _, dlq_url = create_queue_with_dlq(sqs, "kept-q", max_receive_count=2)
    for n in range(5):
        sqs.send_message(
            QueueUrl=queue_url,
            MessageBody=f'{{"n": {n}}}',
            MessageAttributes={"kind": {"DataType": "String", "StringValue": "task"}},
        )
    received = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=2)["Messages"]
    sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=received[0]["ReceiptHandle"])
    s3.create_bucket(Bucket="kept-files")
    s3.put_object(Bucket="kept-files", Key="a/1.txt", Body=b"one", ContentType="text/plain")
    s3.put_object(Bucket="kept-files", Key="a/2.bin", Body=os.urandom(300_000))
    s3.put_object_tagging(
        Bucket="kept-files", Key="a/1.txt", Tagging={"TagSet": [{"Key": "k", "Value": "v"}]}
    )
    s3.copy_object(Bucket="kept-files", Key="b/copy.txt", CopySource="kept-files/a/1.txt")
    s3.put_object(Bucket="kept-files", Key="gone", Body=b"x")
    s3.delete_object(Bucket="kept-files", Key="gone")
    return {"queue_url": queue_url, "dlq_url": dlq_url}


def _read_everything(child: Child, queue_url: str) -> dict[str, Any]:
    dynamodb, sqs, s3 = child.client("dynamodb"), child.client("sqs"), child.client("s3")
    items = dynamodb.query(
        TableName="kept",
        KeyConditionExpression="pk = :p",
        ExpressionAttributeValues={":p": {"S": "p"}},
    )["Items"]
    done = dynamodb.query(
        TableName="kept",
        IndexName="by-status",
        KeyConditionExpression="#s = :d",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":d": {"S": "done"}},
    )["Items"]
    messages = []
    for _ in range(5):
        got = sqs.receive_message(
            QueueUrl=queue_url,
            MaxNumberOfMessages=10,
            MessageAttributeNames=["All"],
            AttributeNames=["All"],
        ).get("Messages", [])
        if not got:
            break
        messages += got
    objects = {
        o["Key"]: s3.get_object(Bucket="kept-files", Key=o["Key"])["Body"].read()
        for o in s3.list_objects_v2(Bucket="kept-files").get("Contents", [])
    }
    return {
        "items": sorted(items, key=lambda i: int(i["sk"]["N"])),
        "done": sorted(int(i["sk"]["N"]) for i in done),
        "transaction": dynamodb.get_item(
            TableName="kept", Key={"pk": {"S": "t"}, "sk": {"N": "1"}}
        ).get("Item"),
        "ttl": dynamodb.describe_time_to_live(TableName="kept")["TimeToLiveDescription"],
        "bodies": sorted(m["Body"] for m in messages),
        "message_attributes": {m["MessageAttributes"]["kind"]["StringValue"] for m in messages},
        "objects": objects,
        "content_type": s3.head_object(Bucket="kept-files", Key="a/1.txt")["ContentType"],
        "tags": s3.get_object_tagging(Bucket="kept-files", Key="a/1.txt")["TagSet"],
    }


def test_everything_acknowledged_survives_a_sigkill(child: Child) -> None:
    urls = _write_everything(child)
    # What a fresh reader sees now, without consuming the queue: items and objects.
    child.kill()
    child.start()
    after = _read_everything(child, urls["queue_url"])
    assert [int(i["sk"]["N"]) for i in after["items"]] == [n for n in range(20) if n not in (3, 5)]
    item_4 = next(i for i in after["items"] if i["sk"]["N"] == "4")
    assert item_4["hits"] == {"N": "1"}
    assert item_4["doc"]["M"]["raw"] == {"B": bytes([4, 255])}
    assert item_4["text"]["S"] == "中文 é " * 4
    assert after["done"] == sorted({n for n in range(20) if n % 2} - {3, 5} | {4})
    assert after["transaction"] is not None
    assert after["ttl"] == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expires"}
    # 5 sent, 1 deleted; the one received but not deleted is visible again after the restart.
    assert len(after["bodies"]) == 4
    assert after["message_attributes"] == {"task"}
    assert set(after["objects"]) == {"a/1.txt", "a/2.bin", "b/copy.txt"}
    assert after["objects"]["a/1.txt"] == b"one"
    assert after["objects"]["b/copy.txt"] == b"one"
    assert len(after["objects"]["a/2.bin"]) == 300_000
    assert after["content_type"] == "text/plain"
    assert after["tags"] == [{"Key": "k", "Value": "v"}]


def test_receive_counts_and_dead_letters_are_kept(child: Child) -> None:
    sqs = child.client("sqs")
    queue_url, _, dlq_url = create_queue_with_dlq(sqs, "redrive", max_receive_count=2)
    sqs.send_message(QueueUrl=queue_url, MessageBody="poison")
    for _ in range(2):  # received twice, never deleted: the next receive moves it to the DLQ
        got = sqs.receive_message(QueueUrl=queue_url, VisibilityTimeout=0)["Messages"]
        assert got[0]["Body"] == "poison"
    assert sqs.receive_message(QueueUrl=queue_url).get("Messages", []) == []
    child.kill()
    child.start()
    sqs = child.client("sqs")
    assert sqs.receive_message(QueueUrl=queue_url).get("Messages", []) == []
    dead = sqs.receive_message(QueueUrl=dlq_url, AttributeNames=["All"])["Messages"]
    assert [m["Body"] for m in dead] == ["poison"]


def test_compaction_keeps_everything_and_restarts_from_the_snapshot(child: Child) -> None:
    urls = _write_everything(child)
    before = _read_everything(child, urls["queue_url"])
    child.stop()
    # A restart with a journal over half the threshold compacts; force it with a tiny one.
    state = child.state
    assert list(state.glob("journal-*.jsonl"))
    journal_bytes = sum(p.stat().st_size for p in state.glob("journal-*.jsonl"))
    assert journal_bytes > 0
    child.start()
    child.stop()
    blobs_before = {p.name for p in (state / "blobs").iterdir()}
    os.environ["AION_DEV_COMPACT_BYTES"] = "1"
    try:
        child.start()  # loads, then compacts in the background
        deadline = time.monotonic() + 30
        while not list(state.glob("snapshot-*.jsonl")) and time.monotonic() < deadline:
            time.sleep(0.05)
        child.stop()
    finally:
        del os.environ["AION_DEV_COMPACT_BYTES"]
    snapshots = sorted(state.glob("snapshot-*.jsonl"))
    assert len(snapshots) == 1
    journals = sorted(state.glob("journal-*.jsonl"))
    assert [p.name.split("-")[1] for p in journals] == [snapshots[0].name.split("-")[1]]
    # Unreferenced bytes (the deleted "gone" object) are collected; the kept ones stay.
    assert {p.name for p in (state / "blobs").iterdir()} < blobs_before
    child.start()
    after = _read_everything(child, urls["queue_url"])
    # The received (not deleted) messages came back in both reads: compare everything else.
    for key in ("items", "done", "transaction", "ttl", "objects", "content_type", "tags"):
        assert after[key] == before[key], key


def test_a_torn_last_record_is_dropped_and_a_corrupt_state_refuses_to_start(
    child: Child,
) -> None:
    dynamodb = child.client("dynamodb")
    _table(dynamodb, "torn")
    dynamodb.put_item(TableName="torn", Item={"pk": {"S": "a"}, "sk": {"N": "1"}})
    child.kill()
    journal = sorted(child.state.glob("journal-*.jsonl"))[-1]
    with journal.open("ab") as out:
        out.write(b'{"t":"ddb","a":"123456789012","r":"us-east-1","tb":"torn","k":{"pk"')
    child.start()
    dynamodb = child.client("dynamodb")
    assert dynamodb.get_item(TableName="torn", Key={"pk": {"S": "a"}, "sk": {"N": "1"}})["Item"]
    dynamodb.put_item(TableName="torn", Item={"pk": {"S": "b"}, "sk": {"N": "2"}})
    child.kill()
    assert all(json.loads(line) for line in journal.read_bytes().splitlines())

    lines = journal.read_bytes().splitlines(keepends=True)
    journal.write_bytes(b"".join([*lines[:2], b"not json\n", *lines[2:]]))
    with pytest.raises(RuntimeError, match="moto server exited with 3"):
        child.start()
