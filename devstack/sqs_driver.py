"""An SQS event source mapping: poll a queue, invoke the app's ``@app.on_sqs_message`` handler.

As Lambda's poller does: long-poll up to ``batch_size`` (max 10) messages, deliver them as one
``aws:sqs`` event, delete them when the handler returns. When it raises, every message of the
batch goes back to the queue; when it returns ``{"batchItemFailures": [{"itemIdentifier": id}]}``
only those do (an unknown or empty identifier fails the whole batch, as in Lambda). A failed
message becomes visible again after an exponential back-off with jitter (instead of the queue's
long visibility timeout, so local retries are quick); the queue's redrive policy moves it to the
DLQ after ``maxReceiveCount`` receives. ``pollers`` threads per queue give Lambda-like
concurrency; each stops within about one ``wait_s`` of ``stop()``.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

from devstack import aws_calls
from devstack.backoff import ErrorBackoff
from devstack.lambda_runtime import ACCOUNT_ID, Invoker

log = logging.getLogger("devstack.sqs")

MAX_BACKOFF_S = 60


def backoff_seconds(receive_count: int, *, base: float = 1.0, cap: float = MAX_BACKOFF_S) -> int:
    """Exponential back-off with full jitter, in whole seconds (SQS's unit), at least 1."""
    ceiling = min(cap, base * 2 ** max(0, receive_count - 1))
    return max(1, round(random.uniform(ceiling / 2, ceiling)))  # noqa: S311 (jitter, not crypto)


def to_lambda_record(message: dict[str, Any], queue_arn: str, region: str) -> dict[str, Any]:
    """One SQS ``ReceiveMessage`` entry in the shape Lambda hands to the function."""
    attributes = {
        key: message.get("Attributes", {}).get(key)
        for key in (
            "ApproximateReceiveCount",
            "SentTimestamp",
            "SenderId",
            "ApproximateFirstReceiveTimestamp",
        )
        if key in message.get("Attributes", {})
    }
    for key in ("MessageGroupId", "MessageDeduplicationId", "SequenceNumber"):
        if key in message.get("Attributes", {}):
            attributes[key] = message["Attributes"][key]
    message_attributes = {
        name: {
            "stringValue": value.get("StringValue"),
            "binaryValue": value.get("BinaryValue"),
            "stringListValues": value.get("StringListValues", []),
            "binaryListValues": value.get("BinaryListValues", []),
            "dataType": value.get("DataType"),
        }
        for name, value in message.get("MessageAttributes", {}).items()
    }
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": attributes,
        "messageAttributes": message_attributes,
        "md5OfBody": message.get("MD5OfBody"),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }


def failed_message_ids(result: Any, message_ids: list[str]) -> list[str]:
    """The ids to retry, from a handler's return value (partial batch response)."""
    if not isinstance(result, dict) or "batchItemFailures" not in result:
        return []
    failures = result.get("batchItemFailures") or []
    ids = [f.get("itemIdentifier") if isinstance(f, dict) else None for f in failures]
    if any(not i or i not in message_ids for i in ids):
        log.warning("invalid batchItemFailures %r: retrying the whole batch", failures)
        return list(message_ids)
    return [i for i in ids if i]


@dataclass(frozen=True)
class SqsSource:
    name: str  # the handler's function name
    handler: Any
    queue_url: str
    queue_arn: str
    batch_size: int


class SqsDriver:
    """Drives every SQS event source of the app whose queue exists."""

    def __init__(
        self,
        app: Any,
        invoker: Invoker,
        sqs_client: Any,
        *,
        region: str,
        pollers: int = 2,
        wait_s: int = 1,
        backoff_base_s: float = 1.0,
    ) -> None:
        self.app = app
        self.invoker = invoker
        self.sqs = sqs_client
        self.region = region
        self.pollers = pollers
        self.wait_s = wait_s
        self.backoff_base_s = backoff_base_s
        self.counters: Counter[str] = Counter()
        self.errors = ErrorBackoff("SQS polling", log)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()

    def sources(self) -> list[SqsSource]:
        from chalice.app import SQSEventConfig

        found = []
        for config in self.app.event_sources:
            if not isinstance(config, SQSEventConfig):
                continue
            queue_name = config.queue or str(config.queue_arn).rsplit(":", 1)[-1]
            try:
                with aws_calls.internal():
                    url = self.sqs.get_queue_url(QueueName=queue_name)["QueueUrl"]
            except self.sqs.exceptions.QueueDoesNotExist:
                log.error(
                    "queue %s of handler %s does not exist: not driven", queue_name, config.name
                )
                continue
            arn = f"arn:aws:sqs:{self.region}:{ACCOUNT_ID}:{queue_name}"
            found.append(
                SqsSource(
                    name=config.name,
                    handler=self.app.handler_map[config.name],
                    queue_url=url,
                    queue_arn=arn,
                    batch_size=max(1, min(10, config.batch_size)),
                )
            )
        return found

    def start(self) -> list[SqsSource]:
        sources = self.sources()
        for source in sources:
            for n in range(self.pollers):
                thread = threading.Thread(
                    target=self._poll, args=(source,), name=f"sqs-{source.name}-{n}", daemon=True
                )
                thread.start()
                self._threads.append(thread)
            log.info("driving %s from %s (%d pollers)", source.name, source.queue_url, self.pollers)
        return sources

    def stop(self, timeout_s: float = 5.0) -> None:
        self._stop.set()
        deadline = time.monotonic() + timeout_s
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        alive = [t.name for t in self._threads if t.is_alive()]
        if alive:
            log.warning("SQS pollers still busy in a handler at shutdown: %s", alive)

    def _count(self, key: str, n: int = 1) -> None:
        with self._lock:
            self.counters[key] += n

    def _poll(self, source: SqsSource) -> None:
        while not self._stop.is_set():
            try:
                self.poll_once(source)
            except Exception as exc:
                if self._stop.is_set():
                    return  # shutting down: moto may already be gone
                self._count("poll_errors")
                self._stop.wait(self.errors.failed(exc))
            else:
                if self.errors.failures:
                    self.errors.succeeded()

    def poll_once(self, source: SqsSource) -> int:
        """One receive + invoke + settle cycle; returns how many messages were delivered."""
        with aws_calls.internal():
            response = self.sqs.receive_message(
                QueueUrl=source.queue_url,
                MaxNumberOfMessages=source.batch_size,
                WaitTimeSeconds=self.wait_s,
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
            )
        messages = response.get("Messages", [])
        if not messages:
            return 0
        self._count("received", len(messages))
        event = {"Records": [to_lambda_record(m, source.queue_arn, self.region) for m in messages]}
        ids = [m["MessageId"] for m in messages]
        try:
            result = self.invoker.invoke(source.name, source.handler, event)
            failed = set(failed_message_ids(result, ids))
        except Exception:
            log.exception(
                "%s raised: the batch of %d goes back to the queue", source.name, len(ids)
            )
            failed = set(ids)
        with aws_calls.internal():
            self._settle(source, messages, failed)
        return len(messages)

    def _settle(self, source: SqsSource, messages: list[dict], failed: set[str]) -> None:
        done = [m for m in messages if m["MessageId"] not in failed]
        if done:
            self.sqs.delete_message_batch(
                QueueUrl=source.queue_url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)
                ],
            )
            self._count("deleted", len(done))
        retry = [m for m in messages if m["MessageId"] in failed]
        if retry:
            entries = []
            for i, m in enumerate(retry):
                count = int(m.get("Attributes", {}).get("ApproximateReceiveCount", "1"))
                delay = backoff_seconds(count, base=self.backoff_base_s)
                entries.append(
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": delay}
                )
            self.sqs.change_message_visibility_batch(QueueUrl=source.queue_url, Entries=entries)
            self._count("retried", len(retry))
