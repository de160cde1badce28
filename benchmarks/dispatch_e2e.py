"""Tasks through the whole dev stack vs the same modules called directly over gRPC.

Starts ``python -m devstack`` on a free port (moto server, REST + WebSocket emulator, SQS and
schedule drivers, executor process). ``--clients`` threads each open a WebSocket, subscribe to
their own project and run tasks one after the other (``--tasks`` in total): the latency of a
task is from sending ``POST /tasks`` to receiving its ``completed`` event on the socket.

The workload (``dispatch_workload.py``) rotates over four catalogue modules (text.summarize,
text.extract, text.sentiment, data.csv_profile) with inline inputs of 90-200 KB, each 20-60 ms
of real work over gRPC (text.stats and data.json_query stay at a few ms even at the API's
256 KB body cap, so they are left out). A queue-based platform adds a fixed cost per task (on
AWS the SQS -> Lambda hop alone is 10-20 ms), so a ratio against a module that does nothing
(text.stats on 900 bytes: ~1 ms) measures only that fixed cost; that cost is still printed on
its own line ("platform overhead": one client, trivial input, ms added over the floor).
Each task is plain language routed by the real router; the run checks that every completed
task ran the module intended for it (its ``routed`` event) and counts mismatches.

Counted, not estimated:
- management posts per event (the emulator's counter / events the clients received);
- DynamoDB and SQS requests per task (the dev stack counts every botocore call in its process:
  the app's, and its own SQS polling), over the timed run.
The floor: the same modules, inputs, params and concurrency called directly over gRPC on an
executor process of our own, in the same run. Prints p50/p99, tasks/s and the ratio
dispatch/floor.

    .venv/bin/python benchmarks/dispatch_e2e.py [--tasks 200] [--clients 10] [--seconds 300]
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402
from dispatch_workload import TRIVIAL, Item, workload  # noqa: E402
from websockets.sync.client import connect  # noqa: E402


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def run_timed(threads: list[threading.Thread]) -> float:
    """Start the threads together, wait for all; the wall seconds they took."""
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started


# ---------------------------------------------------------------------------- processes


def _clean_env() -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AION_", "AWS_", "MOTO_")) or k == "AION_DEV_SQS_POLLERS"
    }
    env["PYTHONUNBUFFERED"] = "1"
    return env


def start_devstack(
    workdir: Path, extra_env: dict[str, str] | None = None
) -> tuple[subprocess.Popen[bytes], dict[str, Any]]:
    ready = workdir / "ready.json"
    env = _clean_env()
    env.update(
        {
            "AION_PORT": "0",
            "AION_DEV_READY_FILE": str(ready),
            "AION_DEV_STATE_DIR": str(workdir / "state"),  # never the checkout's .aion-dev
            "AION_ADMIN_PASSWORD": "Bench-" + secrets.token_hex(8),
            "MOTO_RECORDER_FILEPATH": str(workdir / "moto_recording"),
            **(extra_env or {}),
        }
    )
    log = (workdir / "devstack.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "devstack"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
    )
    deadline = time.monotonic() + 180
    while not ready.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the dev stack did not start; see {workdir / 'devstack.log'}")
        time.sleep(0.2)
    time.sleep(0.1)
    return proc, json.loads(ready.read_text())


def start_executor(token: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = _clean_env()
    env.update(
        {
            "AION_EXECUTOR_PORT": str(port),
            "AION_EXECUTOR_HOST": "127.0.0.1",
            "AION_BRIDGE_TOKEN": token,
            "AION_FILES_BUCKET": "aion-bench-files",
        }
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "executor_container"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return proc, f"127.0.0.1:{port}"


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(45)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


# ---------------------------------------------------------------------------- the stack run


@dataclass(frozen=True)
class Routed:
    """What the router decided for a workload item (``POST /router/explain``)."""

    item: Item
    module: str
    params: dict[str, Any]


@dataclass
class Run:
    latencies: list[float] = field(default_factory=list)
    by_module: dict[str, list[float]] = field(default_factory=dict)
    mismatches: list[str] = field(default_factory=list)
    wall: float = 0.0


class Client:
    """One user session: a project, a subscribed WebSocket, tasks run one after the other."""

    def __init__(self, info: dict[str, Any], token: str) -> None:
        self.api = info["api_url"]
        self.headers = {"Authorization": f"Bearer {token}"}
        self.http = requests.Session()
        name = f"bench {secrets.token_hex(3)}"
        reply = self.http.post(
            f"{self.api}/projects", json={"name": name}, headers=self.headers, timeout=30
        )
        reply.raise_for_status()
        self.project_id = reply.json()["id"]
        self._socket = connect(f"{info['ws_url']}?token={token}", open_timeout=30)
        self.ws = self._socket.__enter__()
        self.ws.send(json.dumps({"action": "subscribe", "projectId": self.project_id}))
        assert json.loads(self.ws.recv(timeout=30))["type"] == "subscribed"
        self.events = 0

    def run_task(self, item: Item) -> tuple[float, str]:
        """(seconds from POST to the completed event, the module its routed event names)."""
        started = time.perf_counter()
        reply = self.http.post(
            f"{self.api}/tasks",
            json={
                "projectId": self.project_id,
                "instruction": item.instruction,
                "input": item.input,
            },
            headers=self.headers,
            timeout=30,
        )
        reply.raise_for_status()
        task_id = reply.json()["id"]
        module = ""
        while True:
            event = json.loads(self.ws.recv(timeout=60))
            if event.get("type") != "telemetry":
                continue
            self.events += 1
            if event["taskId"] != task_id:
                continue
            if event["kind"] == "routed":
                module = (event.get("data") or {}).get("module") or ""
            if event["kind"] != "status":
                continue
            if event["status"] == "completed":
                return time.perf_counter() - started, module
            if event["status"] in ("failed", "canceled", "needs_review"):
                raise RuntimeError(f"task ended {event['status']}: {event['message']}")

    def close(self) -> None:
        self._socket.__exit__(None, None, None)


ERRORS: list[str] = []


def run_clients(clients: list[Client], items: list[Item], total: int, seconds: float) -> Run:
    """``total`` tasks over the clients, task n with ``items[n % len(items)]``."""
    run = Run()
    lock = threading.Lock()
    remaining = iter(range(total))
    stop_at = time.perf_counter() + seconds

    def work(client: Client) -> None:
        while time.perf_counter() < stop_at:
            with lock:
                n = next(remaining, None)
            if n is None:
                return
            item = items[n % len(items)]
            try:
                took, module = client.run_task(item)
            except Exception as exc:  # counted and printed: the run goes on
                with lock:
                    ERRORS.append(f"{type(exc).__name__}: {exc}"[:200])
                continue
            with lock:
                run.latencies.append(took)
                run.by_module.setdefault(item.module, []).append(took)
                if module != item.module:
                    run.mismatches.append(f"{item.module} ran as {module or '?'}")

    run.wall = run_timed([threading.Thread(target=work, args=(c,)) for c in clients])
    return run


def explain(info: dict[str, Any], token: str, items: list[Item]) -> list[Routed]:
    """The real router's decision for each item, as the dispatcher will take it."""
    routed = []
    for item in items:
        reply = requests.post(
            f"{info['api_url']}/router/explain",
            json={"instruction": item.instruction, "input": item.input},
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )
        reply.raise_for_status()
        decision = reply.json()
        routed.append(Routed(item, decision["module"], decision.get("params") or {}))
    return routed


def ws_posts(info: dict[str, Any]) -> int:
    status = requests.get(info["status_url"], timeout=10).json()
    return int(status["websocket"]["counters"].get("mgmt_post", 0))


def aws_calls(info: dict[str, Any]) -> dict[str, int]:
    """``service:operation -> calls`` so far: the app's and the dev stack's own (SQS polling)."""
    status = requests.get(info["status_url"], timeout=10).json()
    counts: dict[str, int] = {}
    for section in ("awsCalls", "devstackAwsCalls"):
        for service, operations in status.get(section, {}).items():
            for operation, n in operations.items():
                key = f"{service}:{operation}"
                counts[key] = counts.get(key, 0) + n
    return counts


def per_task(before: dict[str, int], after: dict[str, int], tasks: int) -> dict[str, float]:
    """DynamoDB calls per task by operation, their total, and all SQS calls per task."""
    delta = {k: after[k] - before.get(k, 0) for k in after if after[k] != before.get(k, 0)}
    dynamo = {k.split(":", 1)[1]: v for k, v in delta.items() if k.startswith("dynamodb:")}
    result: dict[str, float] = {f"dynamodb:{k}": v / tasks for k, v in sorted(dynamo.items())}
    result["dynamodb"] = sum(dynamo.values()) / tasks
    result["sqs"] = sum(v for k, v in delta.items() if k.startswith("sqs:")) / tasks
    return result


# ---------------------------------------------------------------------------- the floor


class Floor:
    """The executor called directly: the modules' own time, nothing of the platform."""

    def __init__(self, target: str, token: str) -> None:
        os.environ["AION_EXECUTOR_TARGET"] = target
        os.environ["AION_BRIDGE_TOKEN"] = token
        from chalicelib.executor_client import get_executor_client

        self.client = get_executor_client()
        deadline = time.monotonic() + 60
        while not self.client.health(timeout_s=1.0):
            if time.monotonic() > deadline:
                raise RuntimeError("the floor executor did not become healthy")
            time.sleep(0.2)

    def one(self, routed: Routed) -> float:
        started = time.perf_counter()
        for event in self.client.execute(
            task_id="tsk_floor",
            attempt=1,
            module=routed.module,
            input_text=routed.item.input,
            params=routed.params,
            timeout_s=60,
        ):
            if event.kind == "result":
                break
            if event.kind == "error":
                raise RuntimeError(event.message)
        return time.perf_counter() - started

    def run(self, routed: list[Routed], total: int, concurrency: int) -> Run:
        """Like ``run_clients``: call n takes ``routed[n % len(routed)]``."""
        run = Run()
        lock = threading.Lock()
        remaining = iter(range(total))

        def work() -> None:
            while True:
                with lock:
                    n = next(remaining, None)
                if n is None:
                    return
                one = routed[n % len(routed)]
                took = self.one(one)
                with lock:
                    run.latencies.append(took)
                    run.by_module.setdefault(one.item.module, []).append(took)

        run.wall = run_timed([threading.Thread(target=work) for _ in range(concurrency)])
        return run


# ---------------------------------------------------------------------------- report


def ms(seconds: float) -> str:
    return f"{seconds * 1000:7.1f} ms"


def report(
    routed: list[Routed],
    module_floor: Run,
    stack: Run,
    floor: Run,
    concurrency: int,
    posts: int,
    events: int,
    counts: dict[str, float],
    solo: Run,
    solo_floor: Run,
) -> None:
    print("workload: tasks rotate over these modules, inline input, routed by the real router")
    for one in routed:
        took = statistics.median(module_floor.by_module.get(one.item.module) or [0.0])
        print(
            f"  {one.item.module:17s} {len(one.item.input.encode()):7,d} B  "
            f"floor (1 call at a time) p50 {ms(took)}  router -> {one.module}"
        )
    p50, p99 = percentile(stack.latencies, 0.5), percentile(stack.latencies, 0.99)
    print(f"{len(stack.latencies)} tasks, {concurrency} concurrent clients, dev stack")
    print(
        f"  POST -> completed on WS: p50 {ms(p50)}  p99 {ms(p99)}  "
        f"mean {ms(statistics.fmean(stack.latencies))}"
    )
    print(
        f"  throughput: {len(stack.latencies) / stack.wall:6.1f} tasks/s; failed tasks: "
        f"{len(ERRORS)}; ran another module than intended: {len(stack.mismatches)}"
    )
    for error in sorted(set(ERRORS + stack.mismatches))[:5]:
        print(f"    {error}")
    print(
        f"  events per task (received): {events / max(1, len(stack.latencies)):.1f}; "
        f"management posts per event: {posts / max(1, events):.2f}"
    )
    detail = ", ".join(f"{k.split(':')[1]} {v:.1f}" for k, v in counts.items() if ":" in k)
    print(f"  DynamoDB requests per task: {counts['dynamodb']:.1f} ({detail})")
    print(f"  SQS requests per task: {counts['sqs']:.1f}")
    f50, f99 = percentile(floor.latencies, 0.5), percentile(floor.latencies, 0.99)
    print(
        "floor: the same modules, inputs, params and concurrency over gRPC, "
        f"{len(floor.latencies)} calls"
    )
    print(
        f"  p50 {ms(f50)}  p99 {ms(f99)}  "
        f"throughput {len(floor.latencies) / floor.wall:6.1f} calls/s"
    )
    s50, sf50 = percentile(solo.latencies, 0.5), percentile(solo_floor.latencies, 0.5)
    print(
        f"platform overhead ({TRIVIAL.module} on {len(TRIVIAL.input)} B, 1 client, "
        f"{len(solo.latencies)} tasks): p50 {ms(s50)} vs gRPC {ms(sf50)} -> "
        f"+{(s50 - sf50) * 1000:.1f} ms per task"
    )
    ratio = p50 / f50
    print(
        f"ratio dispatch/floor (p50, {concurrency} clients, workload above): {ratio:.2f}x "
        f"(target <= 3x) -> {'OK' if ratio <= 3 else 'ABOVE TARGET'}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=200)
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--solo-tasks", type=int, default=30)
    parser.add_argument("--seconds", type=float, default=300)
    args = parser.parse_args()
    total = max(1, min(args.tasks, 2000))
    concurrency = max(1, min(args.clients, 50))
    items = workload()

    with tempfile.TemporaryDirectory(prefix="aion-bench-") as tmp:
        workdir = Path(tmp)
        stack, info = start_devstack(workdir)
        token = "bench-" + secrets.token_hex(16)
        executor: subprocess.Popen[bytes] | None = None
        try:
            executor, target = start_executor(token)
            try:
                login = requests.post(
                    f"{info['api_url']}/auth/login",
                    json={"email": info["admin_email"], "password": info["admin_password"]},
                    timeout=30,
                )
                login.raise_for_status()
                access = login.json()["accessToken"]
                routed = explain(info, access, items)
                clients = [Client(info, access) for _ in range(concurrency)]
                for client in clients:  # warm up every path once
                    for item in (*items, TRIVIAL):
                        client.run_task(item)
                # The platform's own cost: one client, a module that does next to nothing.
                solo = run_clients(clients[:1], [TRIVIAL], max(1, min(args.solo_tasks, 200)), 120)
                events_before = sum(c.events for c in clients)
                posts_before = ws_posts(info)
                calls_before = aws_calls(info)
                timed = run_clients(clients, items, total, args.seconds)
                time.sleep(0.5)  # the last batch's SQS delete lands after its completed event
                counts = per_task(calls_before, aws_calls(info), max(1, len(timed.latencies)))
                posts = ws_posts(info) - posts_before
                events = sum(c.events for c in clients) - events_before
                for client in clients:
                    client.close()
            finally:
                stop(stack)  # before the floor: it gets the machine the stack had
            # The floor runs alone, as the stack did (its executor idled meanwhile).
            floor = Floor(target, token)
            for one in routed:
                floor.one(one)
            trivial = Routed(TRIVIAL, TRIVIAL.module, {})
            module_floor = floor.run(routed, 5 * len(routed), 1)
            floor_run = floor.run(routed, len(timed.latencies), concurrency)
            solo_floor = floor.run([trivial], len(solo.latencies), 1)
        finally:
            stop(stack)  # no-op once stopped; here when the stack part raised
            if executor is not None:
                stop(executor)

    report(
        routed,
        module_floor,
        timed,
        floor_run,
        concurrency,
        posts,
        events,
        counts,
        solo,
        solo_floor,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
