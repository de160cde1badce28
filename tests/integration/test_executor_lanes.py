"""The executor's lanes, against a real executor with two workers and one kept for short calls:
long calls (``test.sleep``, a module the cost model cannot bound) take one worker at a time,
and a short call (``text.stats`` on a small input) never waits behind them (issue 16, 1b).

Asserted by the order of events, not by durations."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from chalicelib.executor_client import ExecutorClient, ExecutorError
from chalicelib.shared import cost
from executor_container.server import RunningExecutor
from tests.integration.executor_support import (
    TOKEN,
    in_process_executor,
)


@pytest.fixture(scope="module")
def executor() -> Iterator[RunningExecutor]:
    with in_process_executor(workers=2, short_reserved=1) as running:
        yield running


@dataclass
class Timeline:
    """Events of every call in the order they happened (one lock, one list)."""

    entries: list[tuple[str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, call: str, what: str) -> None:
        with self.lock:
            self.entries.append((call, what))

    def index(self, call: str, what: str) -> int:
        return self.entries.index((call, what))


def _run(client: ExecutorClient, timeline: Timeline, name: str, module: str, **kw: object) -> None:
    try:
        for event in client.execute(task_id=name, attempt=1, module=module, timeout_s=60, **kw):  # type: ignore[arg-type]
            if event.kind in ("started", "result", "error"):
                timeline.add(name, event.kind)
    except ExecutorError as exc:
        timeline.add(name, f"refused {exc.code} retryable={exc.retryable}")


def test_cost_model_puts_unbounded_modules_in_the_long_lane() -> None:
    assert cost.lane("text.stats", 1_000) == cost.SHORT
    assert cost.lane("text.extract", 256 * 1024) == cost.SHORT  # the API's largest inline input
    assert cost.lane("text.sentiment", 4 * cost.MB) == cost.LONG  # a large file
    assert cost.lane("test.sleep", 0) == cost.LONG  # nothing bounds a module the model lacks
    assert cost.lane("llm.generate", 10) == cost.LONG


def test_short_call_is_never_stuck_behind_long_ones(executor: RunningExecutor) -> None:
    assert (executor.pool.long_places, executor.pool.short_reserved) == (1, 1)
    client = ExecutorClient(f"127.0.0.1:{executor.port}", TOKEN)
    timeline = Timeline()
    longs = [
        threading.Thread(
            target=_run,
            args=(client, timeline, f"long-{n}", "test.sleep"),
            kwargs={"params": {"seconds": 1.5, "steps": 1}},
        )
        for n in range(3)
    ]
    try:
        for thread in longs:
            thread.start()
        deadline = time.monotonic() + 30
        # One long call runs, and the third was already refused: the lane is full.
        while not (
            any(what == "started" for _, what in timeline.entries)
            and any(what.startswith("refused") for _, what in timeline.entries)
        ):
            assert time.monotonic() < deadline, "no long call started"
            time.sleep(0.01)
        _run(client, timeline, "short", "text.stats", input_text="a few words. two sentences.")
        for thread in longs:
            thread.join(60)
    finally:
        client.close()
    entries = timeline.entries
    assert ("short", "result") in entries, entries
    # One long call runs, one waits for its place; a third is refused at once (retryable),
    # so waiting long calls never hold every thread that hands calls to workers.
    refused = [c for c, what in entries if what == "refused busy retryable=True"]
    assert len(refused) == 1, entries
    ran = [f"long-{n}" for n in range(3) if f"long-{n}" not in refused]
    first_long_done = min(timeline.index(name, "result") for name in ran)
    # The short call ran on the reserved worker while the long lane's only place was taken.
    assert timeline.index("short", "result") < first_long_done, entries
