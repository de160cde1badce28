"""Fan-out of one telemetry event to N subscribed connections: parallel vs serial.

The management API is a loopback aiohttp server on 127.0.0.1 that answers
``POST /@connections/{id}`` after a fixed latency (default 15 ms, about what API Gateway's
management API takes from a Lambda in the same region). Subscriptions live in in-process moto
DynamoDB. Both rounds post the same bytes to the same connections through the same boto3 client:
- parallel: ``fanout.publish(event)`` (one Query per topic, then the bounded thread pool);
- serial: the same Query, then one post after the other (the baseline).
Prints times, posts counted by the server, and the ratio serial/parallel (target >= 5x).

    .venv/bin/python benchmarks/fanout.py [--connections 500] [--latency-ms 15] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# Fake credentials and isolated table names before chalicelib reads its settings.
os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "AION_TABLE_PREFIX": "aion-bench-",
    }
)
os.environ.pop("AWS_ENDPOINT_URL", None)

from aiohttp import web  # noqa: E402


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ManagementServer:
    """Loopback management API in its own process (so it does not share our GIL): a fixed
    latency per post; ``GET /count`` says how many posts it received."""

    def __init__(self, latency_ms: float) -> None:
        self.latency_ms = latency_ms
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> str:
        self.proc = subprocess.Popen(
            [
                sys.executable,
                __file__,
                "--serve",
                str(self.port),
                "--latency-ms",
                str(self.latency_ms),
            ]
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return self.url
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("the management server did not start")

    def posts(self) -> int:
        with urllib.request.urlopen(f"{self.url}/count", timeout=5) as reply:  # noqa: S310
            return int(reply.read())

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


def serve(port: int, latency_ms: float) -> None:
    posts = 0

    async def post(request: web.Request) -> web.Response:
        nonlocal posts
        await request.read()
        await asyncio.sleep(latency_ms / 1000)
        posts += 1
        return web.Response(status=200)

    async def count(request: web.Request) -> web.Response:
        return web.Response(text=str(posts))

    app = web.Application()
    app.router.add_post("/@connections/{connection_id}", post)
    app.router.add_get("/count", count)
    web.run_app(app, host="127.0.0.1", port=port, access_log=None, print=None, backlog=1024)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connections", type=int, default=500)
    parser.add_argument("--latency-ms", type=float, default=15.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--serve", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.latency_ms)
        return 0
    connections = max(1, min(args.connections, 5000))
    rounds = max(1, min(args.rounds, 10))

    server = ManagementServer(args.latency_ms)
    os.environ["AION_WS_MANAGEMENT_ENDPOINT"] = server.start()

    from moto import mock_aws

    with mock_aws():
        from chalicelib.clock import now_epoch, now_iso
        from chalicelib.dal.realtime_models import Subscription, task_topic
        from chalicelib.dal.registry import create_all_tables
        from chalicelib.logic import connections as ws_connections
        from chalicelib.logic import fanout
        from chalicelib.models.tasks import TelemetryEvent

        create_all_tables()
        topic = task_topic("tsk_bench")
        ids = [f"conn-{i:05d}" for i in range(connections)]
        with Subscription.batch_write() as batch:
            for cid in ids:
                batch.save(
                    Subscription(
                        topic,
                        cid,
                        user_id="usr_bench",
                        created_at=now_epoch(),
                        expires_at=timedelta(hours=2),
                    )
                )
        event = TelemetryEvent(
            task_id="tsk_bench",
            project_id="prj_bench",
            seq=2,
            kind="progress",
            status="running",
            message="halfway",
            actor="executor",
            progress=0.5,
            at=now_iso(),
        )
        client = ws_connections.management_client()
        payload = fanout.encode_message(event.to_wire())

        def serial() -> int:
            found = fanout.subscribers([topic, "project#prj_bench"])
            return sum(fanout._post(client, cid, payload) == "sent" for cid in found)

        def parallel() -> int:
            return fanout.publish(event).sent

        parallel()  # warm the pool and the connection pool
        parallel_times, serial_times = [], []
        for _ in range(rounds):
            before = server.posts()
            started = time.perf_counter()
            sent = parallel()
            parallel_times.append(time.perf_counter() - started)
            assert sent == connections == server.posts() - before, (sent, server.posts() - before)
            before = server.posts()
            started = time.perf_counter()
            sent = serial()
            serial_times.append(time.perf_counter() - started)
            assert sent == connections == server.posts() - before
    ws_connections.reset_management_client()  # close idle keep-alive sockets before the server
    server.stop()

    p, s = statistics.median(parallel_times), statistics.median(serial_times)
    print(f"fan-out of one event to {connections} connections, {args.latency_ms:.0f} ms per post")
    print(f"  parallel ({ws_connections.FANOUT_WORKERS} workers, one client): {p * 1000:8.1f} ms")
    print(f"  serial (same client):                 {s * 1000:8.1f} ms")
    print(f"  posts per event (counted by the server): {connections} (1 per connection)")
    ratio = s / p
    print(
        f"  ratio serial/parallel: {ratio:.1f}x (target >= 5x) -> {'OK' if ratio >= 5 else 'BELOW'}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
