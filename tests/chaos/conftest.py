"""Chaos rounds deliver messages on threads against in-process moto.

moto's DynamoDB is not thread-safe: ``TransactWriteItems`` deep-copies a table while another
thread's write changes it (``RuntimeError: dictionary changed size during iteration``), and a
condition can pass on two threads at once. DynamoDB serialises writes per item; the dev stack
runs every DynamoDB request under one lock (``devstack.moto_server``). These tests do the same,
so a failure they see is the product's, not the emulator's.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest


@pytest.fixture(autouse=True)
def dynamodb_one_request_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    from moto.dynamodb.responses import DynamoHandler

    lock = threading.RLock()
    original = DynamoHandler.call_action

    def call_action(self: Any) -> Any:
        with lock:
            return original(self)

    monkeypatch.setattr(DynamoHandler, "call_action", call_action)
