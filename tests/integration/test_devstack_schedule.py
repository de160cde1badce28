"""The schedule driver: rate expressions, EventBridge event shape, bounded start/stop."""

from __future__ import annotations

import time

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
    count = len(recorder.of("tick"))
    time.sleep(0.5)
    assert len(recorder.of("tick")) == count  # stopped means stopped
    event = events[0]
    assert event["detail-type"] == "Scheduled Event"
    assert event["source"] == "aws.events"
    assert event["resources"][0].endswith(":rule/tick")


def test_without_override_the_first_run_waits_one_interval() -> None:
    recorder = Recorder()
    driver = ScheduleDriver(make_app(recorder), Invoker(region=REGION), region=REGION)
    (schedule,) = driver.start()
    assert schedule.interval_s == 60
    time.sleep(0.3)
    driver.stop(timeout_s=5)
    assert recorder.of("tick") == []
