"""The SQS event-source driver against a real moto server (child process) and a tiny app."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from devstack.lambda_runtime import Invoker
from devstack.moto_backend import MotoServer, create_queue_with_dlq
from devstack.sqs_driver import SqsDriver, backoff_seconds, failed_message_ids
from tests.integration.devstack_support import REGION, Recorder, make_app


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    server = MotoServer()
    server.start(dict(os.environ))
    yield server.url
    server.stop()


@pytest.fixture
def sqs(moto_url: str) -> Any:
    return boto3.session.Session().client("sqs", endpoint_url=moto_url, region_name=REGION)


_queues = iter(range(1000))


def _driver(sqs: Any, behaviour: Any, recorder: Recorder) -> tuple[SqsDriver, str, str]:
    name = f"devstack-q{next(_queues)}"
    url, _, dlq_url = create_queue_with_dlq(sqs, name, max_receive_count=2)
    app = make_app(recorder, queue_name=name, sqs_behaviour=behaviour)
    driver = SqsDriver(app, Invoker(region=REGION), sqs, region=REGION, wait_s=1)
    return driver, url, dlq_url


def _counts(sqs: Any, url: str) -> tuple[int, int]:
    attrs = sqs.get_queue_attributes(
        QueueUrl=url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attrs["ApproximateNumberOfMessages"]), int(
        attrs["ApproximateNumberOfMessagesNotVisible"]
    )


def test_a_batch_is_delivered_as_an_sqs_event_and_deleted(sqs: Any) -> None:
    recorder = Recorder()
    driver, url, _ = _driver(sqs, None, recorder)
    for n in range(3):
        sqs.send_message(
            QueueUrl=url,
            MessageBody=f'{{"n": {n}}}',
            MessageAttributes={"kind": {"DataType": "String", "StringValue": "test"}},
        )
    (source,) = driver.sources()
    delivered = 0
    for _ in range(5):
        delivered += driver.poll_once(source)
        if delivered == 3:
            break
    assert delivered == 3
    records = [r for batch in recorder.of("sqs") for r in batch]
    assert sorted(r["body"] for r in records) == ['{"n": 0}', '{"n": 1}', '{"n": 2}']
    record = records[0]
    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"].endswith(":" + url.rsplit("/", 1)[-1])
    assert record["awsRegion"] == REGION
    assert record["attributes"]["ApproximateReceiveCount"] == "1"
    assert record["messageAttributes"]["kind"]["stringValue"] == "test"
    assert record["receiptHandle"]
    assert _counts(sqs, url) == (0, 0)


def test_partial_batch_failure_retries_only_the_failed_item(sqs: Any) -> None:
    def behaviour(records: list[dict]) -> dict:
        failed = [r["messageId"] for r in records if r["body"] == "bad"]
        return {"batchItemFailures": [{"itemIdentifier": i} for i in failed]}

    recorder = Recorder()
    driver, url, _ = _driver(sqs, behaviour, recorder)
    sqs.send_message_batch(
        QueueUrl=url,
        Entries=[{"Id": "1", "MessageBody": "good"}, {"Id": "2", "MessageBody": "bad"}],
    )
    (source,) = driver.sources()
    deadline = time.monotonic() + 5
    while driver.counters["received"] < 2 and time.monotonic() < deadline:
        driver.poll_once(source)
    assert driver.counters["deleted"] == 1
    assert driver.counters["retried"] == 1
    assert sum(_counts(sqs, url)) == 1  # the bad one stays queued, back after its back-off
    deadline = time.monotonic() + 10
    while driver.counters["received"] < 3 and time.monotonic() < deadline:
        driver.poll_once(source)
    bodies = [r["body"] for batch in recorder.of("sqs") for r in batch]
    assert bodies.count("bad") == 2
    assert bodies.count("good") == 1


def test_a_raising_handler_ends_in_the_dlq_after_max_receives(sqs: Any) -> None:
    def behaviour(records: list[dict]) -> None:
        raise RuntimeError("poison")

    recorder = Recorder()
    driver, url, dlq_url = _driver(sqs, behaviour, recorder)
    sqs.send_message(QueueUrl=url, MessageBody="poison")
    (source,) = driver.sources()
    deadline = time.monotonic() + 20
    while _counts(sqs, dlq_url)[0] == 0 and time.monotonic() < deadline:
        driver.poll_once(source)
    assert _counts(sqs, dlq_url) == (1, 0)
    assert _counts(sqs, url) == (0, 0)
    receive_counts = [
        r["attributes"]["ApproximateReceiveCount"] for b in recorder.of("sqs") for r in b
    ]
    assert receive_counts == ["1", "2"]  # maxReceiveCount=2, then redriven


def test_started_pollers_deliver_and_stop_promptly(sqs: Any) -> None:
    recorder = Recorder()
    driver, url, _ = _driver(sqs, None, recorder)
    driver.start()
    try:
        sqs.send_message(QueueUrl=url, MessageBody="live")
        recorder.wait_for("sqs", 1, timeout_s=10)
    finally:
        driver.stop(timeout_s=5)
    assert all(not t.is_alive() for t in driver._threads)  # stopped within stop's timeout


def test_a_missing_queue_is_not_driven(sqs: Any) -> None:
    app = make_app(Recorder(), queue_name="devstack-no-such-queue")
    assert SqsDriver(app, Invoker(region=REGION), sqs, region=REGION).sources() == []


def test_failed_message_ids() -> None:
    ids = ["a", "b", "c"]
    assert failed_message_ids(None, ids) == []
    assert failed_message_ids({"batchItemFailures": []}, ids) == []
    assert failed_message_ids({"batchItemFailures": [{"itemIdentifier": "b"}]}, ids) == ["b"]
    # An unknown or empty identifier fails the whole batch, as Lambda does.
    assert failed_message_ids({"batchItemFailures": [{"itemIdentifier": "zz"}]}, ids) == ids
    assert failed_message_ids({"batchItemFailures": [{"itemIdentifier": ""}]}, ids) == ids


def test_backoff_grows_exponentially_with_jitter_and_a_cap() -> None:
    for count in range(1, 12):
        delay = backoff_seconds(count, base=1.0, cap=60)
        ceiling = min(60, 2 ** (count - 1))
        assert max(1, round(ceiling / 2)) <= delay <= ceiling
    assert backoff_seconds(30, base=1.0, cap=60) <= 60
