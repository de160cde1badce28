"""``python -m executor_container`` as a real child process: S3 inputs, reflection listing,
the container health check, startup without a token, and the SIGTERM drain."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import boto3
import grpc
import pytest
from moto.server import ThreadedMotoServer

from chalicelib.executor_client import ExecEvent, ExecutorClient, ExecutorError, ExecutorUnavailable
from tests.integration.executor_support import (
    FILES_BUCKET,
    ROOT,
    TOKEN,
    serving,
    spawn_executor,
    stop,
)


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture(scope="module")
def s3_executor(moto_endpoint: str) -> Iterator[int]:
    proc, port = spawn_executor(AWS_ENDPOINT_URL=moto_endpoint, AION_EXECUTOR_REFLECTION="1")
    try:
        yield port
    finally:
        stop(proc)


def test_s3_input_is_streamed_from_the_files_bucket(moto_endpoint: str, s3_executor: int) -> None:
    s3 = boto3.client("s3", endpoint_url=moto_endpoint)
    s3.create_bucket(Bucket=FILES_BUCKET)
    body = os.urandom(3 * 1024 * 1024 + 17)
    s3.put_object(Bucket=FILES_BUCKET, Key="tasks/t-1/blob.bin", Body=body)
    client = ExecutorClient(f"127.0.0.1:{s3_executor}", TOKEN)
    try:
        events = list(
            client.execute(
                task_id="t-1",
                attempt=1,
                module="crypto.hash",
                input_ref=(FILES_BUCKET, "tasks/t-1/blob.bin"),
                params={"algorithm": "sha512"},
                timeout_s=20,
            )
        )
        assert events[-1].result == {
            "algorithm": "sha512",
            "hexdigest": hashlib.sha512(body).hexdigest(),
            "bytes": len(body),
        }
        with pytest.raises(ExecutorError) as info:
            list(
                client.execute(
                    task_id="t-1",
                    attempt=1,
                    module="crypto.hash",
                    input_ref=(FILES_BUCKET, "tasks/missing"),
                    timeout_s=20,
                )
            )
        assert info.value.code == "input_not_found"
    finally:
        client.close()


def test_reflection_lists_the_services(s3_executor: int) -> None:
    from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
        ProtoReflectionDescriptorDatabase,
    )

    with grpc.insecure_channel(f"127.0.0.1:{s3_executor}") as channel:
        services = set(ProtoReflectionDescriptorDatabase(channel).get_services())
        assert {"aion.executor.v1.Executor", "grpc.health.v1.Health"} <= services


def test_container_healthcheck_command(s3_executor: int) -> None:
    command = [sys.executable, "-m", "executor_container.healthcheck", "--target"]
    ok = subprocess.run([*command, f"127.0.0.1:{s3_executor}"], cwd=ROOT, timeout=30)
    assert ok.returncode == 0
    down = subprocess.run([*command, "127.0.0.1:1", "--timeout", "0.3"], cwd=ROOT, timeout=30)
    assert down.returncode == 1


def test_refuses_to_start_without_a_bridge_token() -> None:
    env = {**os.environ, "AION_BRIDGE_TOKEN": "", "AION_EXECUTOR_PORT": "0"}
    result = subprocess.run(
        [sys.executable, "-m", "executor_container"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "AION_BRIDGE_TOKEN is not set" in result.stderr


def test_sigterm_drains_in_flight_calls_then_exits_zero() -> None:
    proc, port = spawn_executor(AION_EXECUTOR_GRACE_SECONDS="10")
    client = ExecutorClient(f"127.0.0.1:{port}", TOKEN)
    events: list[ExecEvent] = []
    started = threading.Event()

    def in_flight() -> None:
        for event in client.execute(
            task_id="t-drain",
            attempt=1,
            module="test.sleep",
            params={"seconds": 2.0, "steps": 4},
            timeout_s=20,
        ):
            events.append(event)
            started.set()

    worker = threading.Thread(target=in_flight)
    try:
        worker.start()
        assert started.wait(20)
        proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 5
        while serving(port, 0.5) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not serving(port, 0.5)  # health says NOT_SERVING while draining
        with pytest.raises(ExecutorUnavailable):  # new calls are refused
            list(client.execute(task_id="t-new", attempt=1, module="text.stats", timeout_s=5))
        worker.join(20)
        assert events[-1].kind == "result"  # the in-flight call finished
        assert proc.wait(timeout=20) == 0
    finally:
        client.close()
        stop(proc)
