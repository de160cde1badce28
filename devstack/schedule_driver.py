"""EventBridge schedules: invoke each ``@app.schedule`` handler at its rate.

``rate(N unit)`` schedules run every N units, the first time one interval after start (as a new
EventBridge rule does). ``cron(...)`` schedules are not driven here (logged at start).
``interval_override_s`` runs every schedule at that interval instead (tests, demos).
"""

from __future__ import annotations

import logging
import re
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from devstack.backoff import ErrorBackoff
from devstack.lambda_runtime import ACCOUNT_ID, Invoker

log = logging.getLogger("devstack.schedule")

_RATE = re.compile(r"^rate\((\d+)\s+(minute|minutes|hour|hours|day|days)\)$")
_UNIT_S = {"minute": 60, "hour": 3600, "day": 86400}


def rate_seconds(expression: Any) -> float | None:
    """Seconds between runs of a schedule expression; None for cron expressions."""
    text = expression.to_string() if hasattr(expression, "to_string") else str(expression)
    match = _RATE.match(text.strip())
    if match is None:
        return None
    return int(match.group(1)) * _UNIT_S[match.group(2).rstrip("s")]


def scheduled_event(rule_name: str, region: str) -> dict[str, Any]:
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": ACCOUNT_ID,
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [f"arn:aws:events:{region}:{ACCOUNT_ID}:rule/{rule_name}"],
        "detail": {},
    }


@dataclass(frozen=True)
class Schedule:
    name: str
    handler: Any
    interval_s: float


class ScheduleDriver:
    def __init__(
        self,
        app: Any,
        invoker: Invoker,
        *,
        region: str,
        interval_override_s: float | None = None,
    ) -> None:
        self.app = app
        self.invoker = invoker
        self.region = region
        self.interval_override_s = interval_override_s
        self.counters: Counter[str] = Counter()
        self._errors: dict[str, ErrorBackoff] = {}
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def schedules(self) -> list[Schedule]:
        from chalice.app import ScheduledEventConfig

        found = []
        for config in self.app.event_sources:
            if not isinstance(config, ScheduledEventConfig):
                continue
            interval = rate_seconds(config.schedule_expression)
            if interval is None:
                log.warning("%s: cron schedules are not driven by the dev stack", config.name)
                continue
            interval = self.interval_override_s or interval
            found.append(Schedule(config.name, self.app.handler_map[config.name], interval))
        return found

    def start(self) -> list[Schedule]:
        schedules = self.schedules()
        for schedule in schedules:
            thread = threading.Thread(
                target=self._run, args=(schedule,), name=f"schedule-{schedule.name}", daemon=True
            )
            thread.start()
            self._threads.append(thread)
            log.info("running %s every %.0f s", schedule.name, schedule.interval_s)
        return schedules

    def stop(self, timeout_s: float = 5.0) -> None:
        self._stop.set()
        deadline = time.monotonic() + timeout_s
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    def run_now(self, schedule: Schedule) -> Any:
        self.counters[schedule.name] += 1
        event = scheduled_event(schedule.name, self.region)
        return self.invoker.invoke(schedule.name, schedule.handler, event)

    def _run(self, schedule: Schedule) -> None:
        # A schedule that keeps failing is logged once (then now and then) and runs less often.
        errors = self._errors.setdefault(
            schedule.name,
            ErrorBackoff(f"scheduled {schedule.name}", log, base_s=schedule.interval_s),
        )
        next_at = time.monotonic() + schedule.interval_s
        while not self._stop.wait(max(0.0, next_at - time.monotonic())):
            next_at += schedule.interval_s  # fixed rate, no drift, no catch-up bursts
            next_at = max(next_at, time.monotonic())
            try:
                self.run_now(schedule)
            except Exception as exc:
                self.counters[f"{schedule.name}_errors"] += 1
                next_at = max(next_at, time.monotonic() + errors.failed(exc))
            else:
                if errors.failures:
                    errors.succeeded()
