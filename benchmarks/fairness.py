"""Two tenants on one dev stack: B's trivial tasks while A floods long and hostile tasks,
against B's same tasks alone, in the same run.

Starts ``python -m devstack`` on a free port (the executor with the tests' instrumented modules
too, for ``test.sleep``). Two people, each with a project:

- tenant B runs ``--trivial`` tasks one after the other: ``text.stats`` on 900 bytes (the
  workload's TRIVIAL item, routed by the real router); a task's latency is from sending
  ``POST /tasks`` to its ``completed`` event on B's WebSocket;
- tenant A floods, all at once, ``--long`` tasks that run for ``LONG_SECONDS`` (``test.sleep``,
  a module the cost model cannot bound: the long lane, like the LLM route) and ``--hostile``
  tasks of the issue's hostile inputs at the API's size limit (``text.extract`` on 255 KB of
  ``"1- "``, ``text.sentiment`` on 136 KB without a sentence break), pinned to their modules.

Phases, in this order: B alone, B during A's flood (measured once A has a task running; the run
checks that A's flood was still at work when B finished), A's flood canceled, B alone again.
The baseline is both alone phases together. Prints p50/p90/max of each phase, the ratio of
B's p50 with the flood to B's p50 alone, and why A's tasks waited (``waiting.code``).
``--no-caps`` turns fair dispatch off (caps 0) to show what the executor lanes alone give.

    .venv/bin/python benchmarks/fairness.py [--trivial 10] [--long 6] [--hostile 24] [--no-caps]
"""

from __future__ import annotations

import argparse
import secrets
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import requests
from dispatch_e2e import Client, ms, percentile, start_devstack, stop
from dispatch_workload import TRIVIAL

LONG_SECONDS = 40
HOSTILE_INPUTS = (
    ("text.extract", "Extract the phone numbers", "1- " * 85_000),  # 255,000 B
    ("text.sentiment", "How positive is this review", "good " * 27_200),  # 136,000 B
)
TERMINAL = {"completed", "failed", "canceled", "needs_review"}


class Person:
    """A member the admin created, signed in."""

    def __init__(self, info: dict[str, Any], admin: str, name: str) -> None:
        self.api = info["api_url"]
        email = f"{name}-{secrets.token_hex(4)}@aion.local"
        password = "Bench-" + secrets.token_hex(8)
        created = requests.post(
            f"{self.api}/users",
            json={"email": email, "name": name, "password": password},
            headers={"Authorization": f"Bearer {admin}"},
            timeout=30,
        )
        created.raise_for_status()
        login = requests.post(
            f"{self.api}/auth/login", json={"email": email, "password": password}, timeout=30
        )
        login.raise_for_status()
        self.token = login.json()["accessToken"]
        self.headers = {"Authorization": f"Bearer {self.token}"}

    def call(self, method: str, path: str, body: Any = None) -> Any:
        reply = requests.request(
            method, self.api + path, json=body, headers=self.headers, timeout=30
        )
        reply.raise_for_status()
        return reply.json() if reply.text else None


def flood(a: Person, project_id: str, long: int, hostile: int) -> list[str]:
    """A's tasks, sent at once: the long ones first, then the hostile ones in turn."""
    bodies = [
        {
            "projectId": project_id,
            "instruction": "sleep for a long while",
            "module": "test.sleep",
            "params": {"seconds": LONG_SECONDS, "steps": LONG_SECONDS},
        }
        for _ in range(long)
    ]
    for n in range(hostile):
        module, instruction, text = HOSTILE_INPUTS[n % len(HOSTILE_INPUTS)]
        bodies.append(
            {"projectId": project_id, "instruction": instruction, "module": module, "input": text}
        )
    return [a.call("POST", "/tasks", body)["id"] for body in bodies]


def statuses(a: Person, task_ids: list[str]) -> list[dict[str, Any]]:
    return [a.call("GET", f"/tasks/{task_id}") for task_id in task_ids]


def wait_until(check: Any, timeout_s: float, what: str) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(0.2)


def run_trivial(b: Client, count: int) -> list[float]:
    latencies = []
    for _ in range(count):
        took, module = b.run_task(TRIVIAL)
        if module != TRIVIAL.module:
            raise RuntimeError(f"the trivial task ran as {module}")
        latencies.append(took)
    return latencies


def line(name: str, latencies: list[float]) -> str:
    return (
        f"  {name:28s} n={len(latencies):3d}  p50 {ms(percentile(latencies, 0.5))}  "
        f"p90 {ms(percentile(latencies, 0.9))}  max {ms(max(latencies))}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trivial", type=int, default=10, help="B's tasks per phase")
    parser.add_argument("--long", type=int, default=6, help="A's long tasks")
    parser.add_argument("--hostile", type=int, default=24, help="A's hostile tasks")
    parser.add_argument("--no-caps", action="store_true", help="fair dispatch off")
    args = parser.parse_args()
    trivial = max(3, min(args.trivial, 100))
    long, hostile = max(0, min(args.long, 50)), max(0, min(args.hostile, 200))
    env = {"AION_EXECUTOR_EXTRA_MODULES": "tests.integration.executor_test_modules"}
    if args.no_caps:
        caps = ("AION_USER_CONCURRENCY", "AION_PROJECT_CONCURRENCY", "AION_LONG_LANE_SLOTS")
        env.update(dict.fromkeys(caps, "0"))

    with tempfile.TemporaryDirectory(prefix="aion-fair-") as tmp:
        stack, info = start_devstack(Path(tmp), env)
        try:
            login = requests.post(
                f"{info['api_url']}/auth/login",
                json={"email": info["admin_email"], "password": info["admin_password"]},
                timeout=30,
            )
            login.raise_for_status()
            admin = login.json()["accessToken"]
            a, b_person = Person(info, admin, "tenant-a"), Person(info, admin, "tenant-b")
            a_project = a.call("POST", "/projects", {"name": "tenant A"})["id"]
            b = Client(info, b_person.token)
            # Warm every path once: B's task, and each hostile module.
            run_trivial(b, 2)
            warm = flood(a, a_project, 0, len(HOSTILE_INPUTS))
            wait_until(
                lambda: all(t["status"] in TERMINAL for t in statuses(a, warm)), 120, "warm-up"
            )

            alone_before = run_trivial(b, trivial)
            flooded_ids = flood(a, a_project, long, hostile)
            wait_until(
                lambda: any(t["status"] == "running" for t in statuses(a, flooded_ids)),
                120,
                "a task of A's flood to run",
            )
            flooded = run_trivial(b, trivial)
            seen = statuses(a, flooded_ids)
            at_work = [t for t in seen if t["status"] not in TERMINAL]
            reasons = Counter((t.get("waiting") or {}).get("code", "-") for t in at_work)
            for task_id in flooded_ids:
                requests.post(
                    f"{a.api}/tasks/{task_id}/cancel", headers=a.headers, timeout=30
                )  # a 409 for one that ended meanwhile is fine
            wait_until(
                lambda: all(t["status"] in TERMINAL for t in statuses(a, flooded_ids)),
                180,
                "A's flood to end",
            )
            alone_after = run_trivial(b, trivial)
            b.close()
        finally:
            stop(stack)

    alone = alone_before + alone_after
    state = (
        "OFF (--no-caps)" if args.no_caps else "on (defaults; long lane = executor long workers)"
    )
    print(f"fair dispatch: {state}")
    print(
        f"tenant A's flood: {long} x test.sleep {LONG_SECONDS} s (long lane) + {hostile} hostile "
        f"({', '.join(f'{m} {len(t.encode()):,} B' for m, _, t in HOSTILE_INPUTS)})"
    )
    print(f"tenant B: {TRIVIAL.module} on {len(TRIVIAL.input)} B, one at a time, POST -> completed")
    print(line("B alone (before + after)", alone))
    print(line("B during A's flood", flooded))
    print(
        f"  A's flood when B finished: {len(at_work)} of {len(seen)} tasks not finished; "
        f"waiting: {dict(reasons)}"
    )
    if not at_work:
        print("  WARNING: A's flood had ended before B finished: the ratio measures no contention")
    ratio = percentile(flooded, 0.5) / percentile(alone, 0.5)
    print(
        f"ratio B's p50 with A's flood / alone: {ratio:.2f}x "
        f"(mean {statistics.fmean(flooded) / statistics.fmean(alone):.2f}x)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
