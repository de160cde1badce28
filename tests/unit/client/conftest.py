"""Client tests: no AION_* setting leaks in from the machine; the login file lives in tmp."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.unit.client.fakes import FakeApi, SocketServer, TaskLog, hold_open


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    for name in (
        "AION_URL",
        "AION_API_KEY",
        "AION_PROJECT",
        "AION_WS_URL",
        "AION_EMAIL",
        "AION_PASSWORD",
        "AION_DEBUG",
    ):
        monkeypatch.delenv(name, raising=False)
    config = tmp_path / "config"
    monkeypatch.setenv("AION_CONFIG_DIR", str(config))
    return config


@pytest.fixture
def api() -> FakeApi:
    return FakeApi()


@pytest.fixture
def sleeps() -> list[float]:
    """What the client would have slept (the tests' clients record instead of sleeping)."""
    return []


@pytest.fixture
def quiet_socket() -> Iterator[SocketServer]:
    """A WebSocket endpoint that accepts and never speaks (the log carries the events)."""
    server = SocketServer(hold_open)
    yield server
    server.close()


def completed_stats_log() -> TaskLog:
    return TaskLog.of(
        [
            ("status", "queued", "Task queued"),
            ("routed", "running", "Routed to executor: text.stats."),
            ("status", "running", "Running text.stats on the executor (attempt 1)."),
            ("progress", "running", "counting"),
            ("status", "completed", "Completed in 25 ms."),
        ],
        result={"characters": 5, "words": 3, "lines": 1, "topWords": ["a", "b"]},
    )
