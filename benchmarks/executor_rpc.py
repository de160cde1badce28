"""RPC overhead of the executor: ``Execute`` of a trivial call vs a bare grpcio echo server.

All servers run as their own processes on 127.0.0.1, get the same request and the same
metadata (the bridge token) and answer with the same RPC shape (server streaming). The
executor runs ``crypto.hash`` (the cheapest module: the benchmark is about the RPC path) on
a short text in an isolated worker process. The bare grpcio baseline has two methods:

- ``echo-shape``: Execute's protocol with nothing behind it: a ``started`` event, then the
  text echoed as the terminal ``result`` (two messages, like every Execute call). This is
  the baseline of the target: what AION adds over grpcio for the same contract (auth,
  validation, isolation in a worker process, deadlines).
- ``echo-1msg``: one message only; printed for context, the cost of the contract's second
  message included.

Printed for concurrency 1 and 16: requests/s, p50, p99 of each and the ratios (target:
executor >= 0.7x of echo-shape). Rounds alternate between servers and medians are
reported (the machine may be shared). Bounded: a fixed number of requests per round and a
time cap.

    .venv/bin/python benchmarks/executor_rpc.py [--requests 6000] [--rounds 5] [--seconds 40]
"""

from __future__ import annotations

import argparse
import os
import secrets
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent import futures
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import grpc  # noqa: E402

from chalicelib.executor_proto import executor_pb2 as pb  # noqa: E402

ECHO_SHAPE_METHOD = "/bench.Echo/Execute"
ECHO_ONE_METHOD = "/bench.Echo/EchoOne"
MODULE = "crypto.hash"  # the cheapest module: the benchmark measures the RPC path
PAYLOAD = "The quick brown fox jumps over the lazy dog. " * 2


def serve_echo(port: int) -> None:
    """The baselines: bare grpcio, same request and response types."""
    started = pb.ExecuteEvent(started=pb.Started(module=MODULE, module_version="1"))

    def echo_shape(request: pb.ExecuteRequest, context: grpc.ServicerContext):  # type: ignore[no-untyped-def]
        yield started
        yield pb.ExecuteEvent(result=pb.Result(json=request.text))

    def echo_one(request: pb.ExecuteRequest, context: grpc.ServicerContext):  # type: ignore[no-untyped-def]
        yield pb.ExecuteEvent(result=pb.Result(json=request.text))

    handler = grpc.method_handlers_generic_handler(
        "bench.Echo",
        {
            name: grpc.unary_stream_rpc_method_handler(
                method,
                request_deserializer=pb.ExecuteRequest.FromString,
                response_serializer=pb.ExecuteEvent.SerializeToString,
            )
            for name, method in (("Execute", echo_shape), ("EchoOne", echo_one))
        },
    )
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=32))
    server.add_generic_rpc_handlers((handler,))
    server.add_insecure_port(f"127.0.0.1:{port}")
    server.start()
    print("echo serving", flush=True)
    server.wait_for_termination()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_ready(channel: grpc.Channel, seconds: float = 60.0) -> None:
    grpc.channel_ready_future(channel).result(timeout=seconds)


def measure(
    call: Callable[[], None], *, requests: int, concurrency: int, seconds: float
) -> dict[str, float]:
    for _ in range(min(50, requests)):  # warm up
        call()
    latencies: list[float] = []
    lock = threading.Lock()
    counter = iter(range(requests))
    stop_at = time.perf_counter() + seconds

    def loop() -> None:
        own: list[float] = []
        while time.perf_counter() < stop_at:
            with lock:
                if next(counter, None) is None:
                    break
            start = time.perf_counter()
            call()
            own.append(time.perf_counter() - start)
        with lock:
            latencies.extend(own)

    began = time.perf_counter()
    threads = [threading.Thread(target=loop) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    latencies.sort()
    return {
        "rps": len(latencies) / elapsed,
        "p50": statistics.median(latencies) * 1000,
        "p99": latencies[int(len(latencies) * 0.99) - 1] * 1000,
        "n": len(latencies),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=6000, help="per server and concurrency")
    parser.add_argument("--seconds", type=float, default=40.0, help="time cap per server")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--multi-threaded-client",
        dest="single_threaded",
        action="store_false",
        help="read streams on gRPC's channel thread instead of the caller's",
    )
    parser.add_argument("--serve-echo", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_echo:
        serve_echo(args.serve_echo)
        return 0

    token = secrets.token_urlsafe(24)
    echo_port, exec_port = free_port(), free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "AION_BRIDGE_TOKEN": token,
        "AION_EXECUTOR_PORT": str(exec_port),
        "AION_EXECUTOR_HOST": "127.0.0.1",
    }
    procs = [
        subprocess.Popen(
            [sys.executable, __file__, "--serve-echo", str(echo_port)], env=env, cwd=ROOT
        ),
        subprocess.Popen([sys.executable, "-m", "executor_container"], env=env, cwd=ROOT),
    ]
    try:
        # The same client options for both, as chalicelib.executor_client uses them.
        options = [("SingleThreadedUnaryStream", 1)] if args.single_threaded else []
        echo_channel = grpc.insecure_channel(f"127.0.0.1:{echo_port}", options)
        exec_channel = grpc.insecure_channel(f"127.0.0.1:{exec_port}", options)
        wait_ready(echo_channel)
        wait_ready(exec_channel)
        echo_shape, echo_one = (
            echo_channel.unary_stream(
                method,
                request_serializer=pb.ExecuteRequest.SerializeToString,
                response_deserializer=pb.ExecuteEvent.FromString,
            )
            for method in (ECHO_SHAPE_METHOD, ECHO_ONE_METHOD)
        )
        execute = exec_channel.unary_stream(
            "/aion.executor.v1.Executor/Execute",
            request_serializer=pb.ExecuteRequest.SerializeToString,
            response_deserializer=pb.ExecuteEvent.FromString,
        )
        request = pb.ExecuteRequest(task_id="bench", attempt=1, module=MODULE, text=PAYLOAD)
        metadata = (("x-bridge-token", token),)

        def call_echo_shape() -> None:
            for _ in echo_shape(request, timeout=10, metadata=metadata):
                pass

        def call_echo_one() -> None:
            for _ in echo_one(request, timeout=10, metadata=metadata):
                pass

        def call_executor() -> None:
            events = list(execute(request, timeout=10, metadata=metadata))
            if not events[-1].HasField("result"):
                raise RuntimeError(f"executor failed: {events[-1]}")

        wait_executor = time.monotonic() + 30
        while time.monotonic() < wait_executor:  # the channel is up before the pool is warm
            try:
                call_executor()
                break
            except grpc.RpcError:
                time.sleep(0.2)
        print(f"payload {len(PAYLOAD)} bytes, module {MODULE}, cpus {os.cpu_count()}")
        print(f"rounds {args.rounds} (alternating, medians reported: the machine may be shared)")
        print(f"{'concurrency':>11} {'server':>10} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7}")
        ratios = []
        calls = (
            ("echo-shape", call_echo_shape),
            ("echo-1msg", call_echo_one),
            ("executor", call_executor),
        )
        for concurrency in (1, 16):
            rounds: dict[str, list[dict[str, float]]] = {name: [] for name, _ in calls}
            for _ in range(args.rounds):
                for name, call in calls:
                    rounds[name].append(
                        measure(
                            call,
                            requests=args.requests // args.rounds,
                            concurrency=concurrency,
                            seconds=args.seconds / args.rounds,
                        )
                    )
            medians = {
                name: {k: statistics.median(r[k] for r in runs) for k in ("rps", "p50", "p99")}
                for name, runs in rounds.items()
            }
            for name, r in medians.items():
                row = f"{r['rps']:>8.0f} {r['p50']:>7.2f} {r['p99']:>7.2f}"
                print(f"{concurrency:>11} {name:>10} {row}")
            executor = medians["executor"]
            for baseline in ("echo-shape", "echo-1msg"):
                ratio = executor["rps"] / medians[baseline]["rps"]
                latency_ratio = medians[baseline]["p50"] / executor["p50"]
                if baseline == "echo-shape":
                    ratios.append(ratio)
                print(
                    f"{concurrency:>11} ratio executor/{baseline}: throughput {ratio:.2f}x, "
                    f"p50 latency {latency_ratio:.2f}x"
                )
        worst = min(ratios)
        verdict = "meets" if worst >= 0.7 else "misses"
        print(f"worst ratio to echo-shape {worst:.2f}x {verdict} the 0.7x target")
        return 0
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()


if __name__ == "__main__":
    raise SystemExit(main())
