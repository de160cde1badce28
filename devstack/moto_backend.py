"""moto server as a child process, and the AWS resources the app expects inside it.

A separate process (not ``ThreadedMotoServer``) so moto's work runs on another core than the
handlers. It runs through ``devstack.moto_server``, which makes DynamoDB requests atomic like
the real service (and transactions cheap) before starting moto's own server. Tables come from
``chalicelib.dal.registry`` (called in the dev stack process, after the environment points
botocore at moto); queues and bucket are created here.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devstack import aws_calls, procs
from devstack.env import FAKE_ACCESS_KEY, FAKE_SECRET_KEY

log = logging.getLogger("devstack.moto")

PROJECT_DIR = Path(__file__).resolve().parent.parent

# Lambda's guidance: visibility timeout >= 6x the function timeout. Failed deliveries come back
# sooner through the driver's back-off; this only bounds a handler that never returns.
QUEUE_VISIBILITY_TIMEOUT_S = 360
MAX_RECEIVE_COUNT = 5


class MotoServer:
    """``python -m moto.server`` on a free 127.0.0.1 port, stopped by its PID."""

    def __init__(self, *, port: int | None = None, log_path: str | None = None) -> None:
        self.port = port or procs.free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._log_path = log_path
        self.proc: subprocess.Popen | None = None

    def start(self, env: dict[str, str], timeout_s: float = 30.0) -> None:
        out = open(self._log_path, "ab") if self._log_path else subprocess.DEVNULL  # noqa: SIM115
        argv = [
            sys.executable,
            "-m",
            "devstack.moto_server",
            "-H",
            "127.0.0.1",
            "-p",
            str(self.port),
        ]
        if self._log_path:
            argv.append("--request-log")  # the log file is there to read requests
        # The child imports devstack.moto_server from this checkout, whatever its cwd.
        path = os.pathsep.join(p for p in (str(PROJECT_DIR), env.get("PYTHONPATH", "")) if p)
        self.proc = procs.spawn(argv, env={**env, "PYTHONPATH": path}, stdout=out, stderr=out)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"moto server exited with {self.proc.returncode}")
            try:
                with urllib.request.urlopen(f"{self.url}/moto-api/data.json", timeout=1):  # noqa: S310
                    log.info("moto server ready at %s (pid %d)", self.url, self.proc.pid)
                    return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"moto server did not answer within {timeout_s:.0f} s")

    def stop(self) -> None:
        if self.proc is not None:
            # Its state is throwaway; on SIGTERM it waits for idle keep-alive threads, so be brief.
            procs.stop(self.proc, grace_s=1, name="moto server", quiet=True)


@dataclass(frozen=True)
class Resources:
    queue_url: str
    queue_arn: str
    dlq_url: str
    bucket: str


def create_queue_with_dlq(
    sqs: Any, name: str, *, max_receive_count: int = MAX_RECEIVE_COUNT
) -> tuple[str, str, str]:
    """The queue and its ``<name>-dlq`` with a redrive policy; returns (url, arn, dlq_url)."""
    dlq_url = sqs.create_queue(
        QueueName=f"{name}-dlq", Attributes={"MessageRetentionPeriod": str(14 * 86400)}
    )["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    redrive = {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(max_receive_count)}
    url = sqs.create_queue(
        QueueName=name,
        Attributes={
            "VisibilityTimeout": str(QUEUE_VISIBILITY_TIMEOUT_S),
            "RedrivePolicy": json.dumps(redrive),
        },
    )["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    return url, arn, dlq_url


def create_bucket(s3: Any, bucket: str, *, cors_origins: list[str]) -> None:
    """The files bucket, with CORS so the console can POST uploads and GET downloads."""
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_cors(
        Bucket=bucket,
        CORSConfiguration={
            "CORSRules": [
                {
                    "AllowedOrigins": cors_origins,
                    "AllowedMethods": ["GET", "HEAD", "POST", "PUT"],
                    "AllowedHeaders": ["*"],
                    "ExposeHeaders": ["ETag"],
                    "MaxAgeSeconds": 3000,
                }
            ]
        },
    )


def provision(
    *, endpoint_url: str, region: str, queue_name: str, bucket: str, cors_origins: list[str]
) -> Resources:
    """Queues and bucket, created with clients pointed explicitly at ``endpoint_url``."""
    import boto3

    session = boto3.session.Session(
        aws_access_key_id=FAKE_ACCESS_KEY,
        aws_secret_access_key=FAKE_SECRET_KEY,
        region_name=region,
    )
    sqs = session.client("sqs", endpoint_url=endpoint_url)
    url, arn, dlq_url = create_queue_with_dlq(sqs, queue_name)
    create_bucket(
        session.client("s3", endpoint_url=endpoint_url), bucket, cors_origins=cors_origins
    )
    return Resources(queue_url=url, queue_arn=arn, dlq_url=dlq_url, bucket=bucket)


def create_tables() -> list[str]:
    """Every table of the registry (botocore must already point at moto via the environment).

    Same per-model step as ``registry.create_all_tables`` but in parallel: each model's first
    call builds its own botocore client (most of the time), and those clients stay cached on
    the models, so the app's first requests do not pay for them again.
    """
    from chalicelib.dal.registry import ALL_MODELS

    def create(model: Any) -> str:
        with aws_calls.internal():
            if not model.exists():
                model.create_table(wait=True)
        return model.Meta.table_name

    with ThreadPoolExecutor(max_workers=8, thread_name_prefix="tables") as pool:
        return list(pool.map(create, ALL_MODELS))
