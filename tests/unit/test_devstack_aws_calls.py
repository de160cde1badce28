"""The dev stack's AWS call counter sees every botocore client's calls."""

from __future__ import annotations

import boto3
from moto import mock_aws

from devstack import aws_calls


def test_calls_are_counted_by_service_and_operation() -> None:
    aws_calls.install()
    aws_calls.install()  # idempotent: still one count per call
    before = aws_calls.snapshot()
    before_internal = aws_calls.snapshot(internal=True)
    with mock_aws():
        sqs = boto3.client("sqs", region_name="us-east-1")
        url = sqs.create_queue(QueueName="counted")["QueueUrl"]
        for _ in range(3):
            sqs.send_message(QueueUrl=url, MessageBody="x")
        with aws_calls.internal():  # the dev stack's own calls are not the app's
            sqs.receive_message(QueueUrl=url)
            sqs.send_message(QueueUrl=url, MessageBody="internal")
    after = aws_calls.snapshot()
    after_internal = aws_calls.snapshot(internal=True)

    def delta(operation: str) -> int:
        return after["sqs"].get(operation, 0) - before.get("sqs", {}).get(operation, 0)

    assert delta("SendMessage") == 3
    assert delta("CreateQueue") == 1
    assert delta("ReceiveMessage") == 0
    # ...and counted apart: they load moto too.
    internal = {
        op: n - before_internal.get("sqs", {}).get(op, 0) for op, n in after_internal["sqs"].items()
    }
    assert internal["ReceiveMessage"] == 1
    assert internal["SendMessage"] == 1
