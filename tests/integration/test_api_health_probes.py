"""Liveness and readiness for every state of each dependency (issue 16, point 6).

``GET /health`` answers 200 whatever it finds (``degraded`` when something is down);
``GET /health/ready`` answers 503 ``not_ready`` while DynamoDB or the dispatch queue is down,
and 200 when only the executor is (tasks wait in the queue for it).
"""

from __future__ import annotations

import itertools
from unittest.mock import create_autospec

import pytest

from chalicelib import executor_client
from chalicelib.config import get_settings
from chalicelib.executor_client import ExecutorClient
from tests.integration.conftest import ApiClient

DYNAMODB = ("up", "down")
EXECUTOR = ("unconfigured", "up", "down")
QUEUE = ("up", "down", "unconfigured")


def _set_state(
    monkeypatch: pytest.MonkeyPatch, api: ApiClient, dynamodb: str, executor: str, queue: str
) -> None:
    from pynamodb.connection import TableConnection
    from pynamodb.exceptions import TableError

    from chalicelib.aws_clients import reset_clients

    real_describe = TableConnection.describe_table

    def describe(self: TableConnection) -> object:
        if dynamodb == "down":
            raise TableError("Unable to describe table: could not connect to the endpoint")
        return real_describe(self)

    monkeypatch.setattr(TableConnection, "describe_table", describe)
    monkeypatch.setenv("AION_EXECUTOR_TARGET", "" if executor == "unconfigured" else "exec:50051")
    client = create_autospec(ExecutorClient, instance=True)
    client.health.return_value = executor == "up"
    monkeypatch.setattr(executor_client, "get_executor_client", lambda: client)
    urls = {"up": api.queue_url, "down": api.queue_url + "-deleted", "unconfigured": ""}
    monkeypatch.setenv("AION_DISPATCH_QUEUE_URL", urls[queue])
    get_settings.cache_clear()
    reset_clients()


@pytest.mark.parametrize("dynamodb", DYNAMODB)
def test_liveness_and_readiness_in_every_dependency_state(
    api: ApiClient, monkeypatch: pytest.MonkeyPatch, dynamodb: str
) -> None:
    for executor, queue in itertools.product(EXECUTOR, QUEUE):
        state = (dynamodb, executor, queue)
        _set_state(monkeypatch, api, dynamodb, executor, queue)
        expected = {
            "dynamodb": "ok" if dynamodb == "up" else "error",
            "executor": {"up": "ok", "down": "error", "unconfigured": "unconfigured"}[executor],
            "queue": {"up": "ok", "down": "error", "unconfigured": "unconfigured"}[queue],
        }
        degraded = "error" in expected.values()

        live = api.get("/health")
        assert live.status == 200, state
        assert live.body["checks"] == expected, state
        assert live.body["status"] == ("degraded" if degraded else "ok"), state

        ready = api.get("/health/ready")
        core_down = [n for n in ("dynamodb", "queue") if expected[n] != "ok"]
        if core_down:
            assert ready.status == 503, state
            assert ready.error_code == "not_ready", state
            assert ready.body["error"]["details"]["checks"] == expected, state
            for name in core_down:
                assert name in ready.body["error"]["message"], state
        else:
            # The executor down alone leaves the API ready: tasks queue until it is back.
            assert ready.status == 200, state
            assert ready.body["checks"] == expected, state
