"""Tasks through the whole dev stack vs the same module called directly over gRPC.

Starts ``python -m devstack`` on a free port (moto server, REST + WebSocket emulator, SQS and
schedule drivers, executor process). ``--clients`` threads each open a WebSocket, subscribe to
their own project and run tasks one after the other (``--tasks`` in total): the latency of a
task is from sending ``POST /tasks`` to receiving its ``completed`` event on the socket.
Counted, not estimated:
- management posts per event (the emulator's counter / events the clients received);
- DynamoDB and SQS requests per task (moto's request recorder, over a separate smaller run,
  so recording does not slow the timed run).
The floor: the same module, input and concurrency called directly over gRPC on an executor
process of our own, in the same run. Prints p50/p99, tasks/s and the ratio dispatch/floor,
and the same for one client alone (the path's own latency, without saturating moto).

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
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402
from websockets.sync.client import connect  # noqa: E402

INSTRUCTION = "Count the words in this text"
TEXT = "The quick brown fox jumps over the lazy dog. " * 20
MODULE = "text.stats"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


# ---------------------------------------------------------------------------- processes


def _clean_env() -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AION_", "AWS_", "MOTO_")) or k == "AION_DEV_SQS_POLLERS"
    }
    env["PYTHONUNBUFFERED"] = "1"
    return env


def start_devstack(workdir: Path) -> tuple[subprocess.Popen[bytes], dict[str, Any]]:
    ready = workdir / "ready.json"
    env = _clean_env()
    env.update(
        {
            "AION_PORT": "0",
            "AION_DEV_READY_FILE": str(ready),
            "AION_ADMIN_PASSWORD": "Bench-" + secrets.token_hex(8),
            "MOTO_RECORDER_FILEPATH": str(workdir / "moto_recording"),
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


class Client:
    """One user session: a project, a subscribed WebSocket, tasks run one after the other."""

    def __init__(self, info: dict[str, Any], token: str) -> None:
        self.api = info["api_url"]
        self.headers = {"Authorization": f"Bearer {token}"}
        name = f"bench {secrets.token_hex(3)}"
        reply = requests.post(
            f"{self.api}/projects", json={"name": name}, headers=self.headers, timeout=30
        )
        reply.raise_for_status()
        self.project_id = reply.json()["id"]
        self._socket = connect(f"{info['ws_url']}?token={token}", open_timeout=30)
        self.ws = self._socket.__enter__()
        self.ws.send(json.dumps({"action": "subscribe", "projectId": self.project_id}))
        assert json.loads(self.ws.recv(timeout=30))["type"] == "subscribed"
        self.events = 0

    def run_task(self) -> float:
        started = time.perf_counter()
        reply = requests.post(
            f"{self.api}/tasks",
            json={"projectId": self.project_id, "instruction": INSTRUCTION, "input": TEXT},
            headers=self.headers,
            timeout=30,
        )
        reply.raise_for_status()
        task_id = reply.json()["id"]
        while True:
            event = json.loads(self.ws.recv(timeout=60))
            if event.get("type") != "telemetry":
                continue
            self.events += 1
            if event["taskId"] != task_id or event["kind"] != "status":
                continue
            if event["status"] == "completed":
                return time.perf_counter() - started
            if event["status"] in ("failed", "canceled", "needs_review"):
                raise RuntimeError(f"task ended {event['status']}: {event['message']}")

    def close(self) -> None:
        self._socket.__exit__(None, None, None)


ERRORS: list[str] = []


def run_clients(clients: list[Client], total: int, seconds: float) -> tuple[list[float], float]:
    latencies: list[float] = []
    lock = threading.Lock()
    remaining = iter(range(total))
    stop_at = time.perf_counter() + seconds

    def work(client: Client) -> None:
        while time.perf_counter() < stop_at:
            with lock:
                if next(remaining, None) is None:
                    return
            try:
                took = client.run_task()
            except Exception as exc:  # counted and printed: the run goes on
                with lock:
                    ERRORS.append(f"{type(exc).__name__}: {exc}"[:200])
                continue
            with lock:
                latencies.append(took)

    threads = [threading.Thread(target=work, args=(c,)) for c in clients]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies, time.perf_counter() - started


def ws_posts(info: dict[str, Any]) -> int:
    status = requests.get(info["status_url"], timeout=10).json()
    return int(status["websocket"]["counters"].get("mgmt_post", 0))


def count_requests(info: dict[str, Any], clients: list[Client], tasks: int) -> dict[str, float]:
    moto = info["moto_url"]
    for action in ("reset-recording", "start-recording"):
        requests.post(f"{moto}/moto-api/recorder/{action}", timeout=10).raise_for_status()
    run_clients(clients, tasks, 120)
    time.sleep(1.5)  # let the SQS pollers' deletes land
    requests.post(f"{moto}/moto-api/recorder/stop-recording", timeout=10).raise_for_status()
    recording = requests.get(f"{moto}/moto-api/recorder/download-recording", timeout=30).text
    rows = [json.loads(line) for line in recording.splitlines() if line.strip()]
    dynamo: dict[str, int] = {}
    sqs = 0
    for row in rows:
        headers = {k.lower(): v for k, v in (row.get("headers") or {}).items()}
        target = headers.get("x-amz-target", "")
        if target.startswith("DynamoDB_"):
            op = target.split(".", 1)[1]
            dynamo[op] = dynamo.get(op, 0) + 1
        elif "sqs" in target.lower() or "Action=" in str(row.get("body", ""))[:200]:
            sqs += 1
    result: dict[str, float] = {f"dynamodb:{k}": v / tasks for k, v in sorted(dynamo.items())}
    result["dynamodb"] = sum(dynamo.values()) / tasks
    result["sqs"] = sqs / tasks
    return result


# ---------------------------------------------------------------------------- the floor


def grpc_floor(target: str, token: str, total: int, concurrency: int) -> tuple[list[float], float]:
    os.environ["AION_EXECUTOR_TARGET"] = target
    os.environ["AION_BRIDGE_TOKEN"] = token
    from chalicelib.executor_client import get_executor_client

    client = get_executor_client()
    deadline = time.monotonic() + 60
    while not client.health(timeout_s=1.0):
        if time.monotonic() > deadline:
            raise RuntimeError("the floor executor did not become healthy")
        time.sleep(0.2)

    def one() -> float:
        started = time.perf_counter()
        for event in client.execute(
            task_id="tsk_floor", attempt=1, module=MODULE, input_text=TEXT, params={}, timeout_s=30
        ):
            if event.kind == "result":
                break
            if event.kind == "error":
                raise RuntimeError(event.message)
        return time.perf_counter() - started

    for _ in range(20):
        one()
    latencies: list[float] = []
    lock = threading.Lock()
    remaining = iter(range(total))

    def work() -> None:
        while True:
            with lock:
                if next(remaining, None) is None:
                    return
            took = one()
            with lock:
                latencies.append(took)

    threads = [threading.Thread(target=work) for _ in range(concurrency)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies, time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=200)
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--count-tasks", type=int, default=20)
    parser.add_argument("--solo-tasks", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=300)
    args = parser.parse_args()
    total = max(1, min(args.tasks, 2000))
    concurrency = max(1, min(args.clients, 50))

    with tempfile.TemporaryDirectory(prefix="aion-bench-") as tmp:
        workdir = Path(tmp)
        stack, info = start_devstack(workdir)
        token = "bench-" + secrets.token_hex(16)
        executor, target = start_executor(token)
        try:
            login = requests.post(
                f"{info['api_url']}/auth/login",
                json={"email": info["admin_email"], "password": info["admin_password"]},
                timeout=30,
            )
            login.raise_for_status()
            access = login.json()["accessToken"]
            clients = [Client(info, access) for _ in range(concurrency)]
            for client in clients:  # warm up every path once
                client.run_task()
            # Uncontended: one client, so the path's own latency shows apart from saturation.
            solo, _ = run_clients(clients[:1], max(1, min(args.solo_tasks, 200)), 120)
            events_before = sum(c.events for c in clients)
            posts_before = ws_posts(info)
            latencies, wall = run_clients(clients, total, args.seconds)
            posts = ws_posts(info) - posts_before
            events = sum(c.events for c in clients) - events_before
            counts = count_requests(info, clients, max(1, min(args.count_tasks, 200)))
            for client in clients:
                client.close()
            floor, floor_wall = grpc_floor(target, token, len(latencies), concurrency)
            solo_floor, _ = grpc_floor(target, token, len(solo), 1)
        finally:
            stop(executor)
            stop(stack)

    p50, p99 = percentile(latencies, 0.5), percentile(latencies, 0.99)
    f50, f99 = percentile(floor, 0.5), percentile(floor, 0.99)
    print(f"{len(latencies)} tasks ({MODULE}), {concurrency} concurrent clients, dev stack")
    print(
        f"  POST -> completed on WS: p50 {p50 * 1000:7.1f} ms  p99 {p99 * 1000:7.1f} ms  "
        f"mean {statistics.fmean(latencies) * 1000:7.1f} ms"
    )
    print(f"  throughput: {len(latencies) / wall:6.1f} tasks/s; failed requests: {len(ERRORS)}")
    for error in sorted(set(ERRORS))[:5]:
        print(f"    {error}")
    print(
        f"  events per task (received): {events / max(1, len(latencies)):.1f}; "
        f"management posts per event: {posts / max(1, events):.2f}"
    )
    detail = ", ".join(f"{k.split(':')[1]} {v:.1f}" for k, v in counts.items() if ":" in k)
    print(f"  DynamoDB requests per task: {counts['dynamodb']:.1f} ({detail})")
    print(f"  SQS requests per task: {counts['sqs']:.1f}")
    print(f"floor: {MODULE} directly over gRPC, same input and concurrency, {len(floor)} calls")
    print(
        f"  p50 {f50 * 1000:7.2f} ms  p99 {f99 * 1000:7.2f} ms  "
        f"throughput {len(floor) / floor_wall:7.1f} calls/s"
    )
    s50, sf50 = percentile(solo, 0.5), percentile(solo_floor, 0.5)
    print(
        f"uncontended (1 client, {len(solo)} tasks): p50 {s50 * 1000:7.1f} ms vs gRPC "
        f"{sf50 * 1000:6.2f} ms ({s50 / sf50:.0f}x)"
    )
    ratio = p50 / f50
    print(
        f"ratio dispatch/floor (p50, {concurrency} clients): {ratio:.1f}x (target <= 3x) -> "
        f"{'OK' if ratio <= 3 else 'ABOVE TARGET'}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
