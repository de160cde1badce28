"""The schedule driver: rate expressions, EventBridge event shape, bounded start/stop."""

from __future__ import annotations

import threading

import pytest
from chalice import Cron, Rate

from devstack.lambda_runtime import Invoker
from devstack.schedule_driver import ScheduleDriver, rate_seconds
from tests.integration.devstack_support import REGION, Recorder, make_app


@pytest.mark.parametrize(
    ("expression", "seconds"),
    [
        (Rate(1, unit=Rate.MINUTES), 60),
        (Rate(5, unit=Rate.MINUTES), 300),
        (Rate(2, unit=Rate.HOURS), 7200),
        ("rate(1 day)", 86400),
        (Cron(0, 10, "*", "*", "?", "*"), None),
        ("cron(0 10 * * ? *)", None),
    ],
)
def test_rate_seconds(expression: object, seconds: int | None) -> None:
    assert rate_seconds(expression) == seconds


def test_schedules_run_at_their_interval_and_stop() -> None:
    recorder = Recorder()
    app = make_app(recorder)
    driver = ScheduleDriver(app, Invoker(region=REGION), region=REGION, interval_override_s=0.2)
    (schedule,) = driver.start()
    assert schedule.name == "tick"
    try:
        events = recorder.wait_for("tick", 2, timeout_s=10)
    finally:
        driver.stop(timeout_s=5)
    # Stopped means stopped: no schedule thread is left to run the handler again.
    assert not [t for t in threading.enumerate() if t.name == "schedule-tick" and t.is_alive()]
    event = events[0]
    assert event["detail-type"] == "Scheduled Event"
    assert event["source"] == "aws.events"
    assert event["resources"][0].endswith(":rule/tick")


class _WaitRecorder(threading.Event):
    """A stop event that records how long the schedule thread asked to wait."""

    def __init__(self) -> None:
        super().__init__()
        self.timeouts: list[float | None] = []
        self.waiting = threading.Event()

    def wait(self, timeout: float | None = None) -> bool:
        self.timeouts.append(timeout)
        self.waiting.set()
        return super().wait(timeout)


def test_without_override_the_first_run_waits_one_interval() -> None:
    recorder = Recorder()
    driver = ScheduleDriver(make_app(recorder), Invoker(region=REGION), region=REGION)
    driver._stop = stop = _WaitRecorder()
    (schedule,) = driver.start()
    assert schedule.interval_s == 60
    assert stop.waiting.wait(10)  # the schedule thread is waiting for its first run
    driver.stop(timeout_s=5)
    (first_wait,) = stop.timeouts
    assert first_wait is not None
    assert 50 < first_wait <= 60  # one interval (60 s) from start; stopped before running
    assert recorder.of("tick") == []
