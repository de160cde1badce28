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
import threading
import time
import urllib.request
from collections.abc import Callable
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
# Answered by the moto child itself (devstack.moto_http), cheap whatever the state's size.
READY_PATH = "/_devstack/ready"
# A moto child that dies more often than this within the window is not restarted again.
MAX_RESTARTS = 3
RESTART_WINDOW_S = 60.0


class MotoServer:
    """``python -m devstack.moto_server`` on a 127.0.0.1 port, stopped by its PID.

    With ``state_dir`` the child keeps its state there (``devstack.persistence``) and a
    restart on the same port finds it again. ``supervise`` restarts a child that died.
    """

    def __init__(
        self,
        *,
        port: int | None = None,
        log_path: str | None = None,
        state_dir: Path | None = None,
        quiet: bool = True,
    ) -> None:
        self.port = port or procs.free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.state_dir = state_dir
        self._log_path = log_path
        self._quiet = quiet
        self._env: dict[str, str] = {}
        self.proc: subprocess.Popen | None = None
        self.restarts = 0
        self._stop = threading.Event()
        self._supervisor: threading.Thread | None = None
        self._lock = threading.Lock()

    @property
    def pid(self) -> int | None:
        with self._lock:
            return self.proc.pid if self.proc and self.proc.poll() is None else None

    def start(self, env: dict[str, str], timeout_s: float = 60.0) -> None:
        self._env = dict(env)
        self._spawn_and_wait(timeout_s)

    def _spawn_and_wait(self, timeout_s: float) -> None:
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
        if self.state_dir is not None:
            argv += ["--state-dir", str(self.state_dir)]
        # The child imports devstack.moto_server from this checkout, whatever its cwd.
        path = os.pathsep.join(p for p in (str(PROJECT_DIR), self._env.get("PYTHONPATH", "")) if p)
        env = {**self._env, "PYTHONPATH": path}
        if self._log_path:
            out = open(self._log_path, "ab")  # noqa: SIM115 (the child owns it from here)
            proc = procs.spawn(argv, env=env, stdout=out, stderr=out)
        else:
            proc = procs.spawn(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            assert proc.stdout is not None
            procs.pump_lines(proc.stdout, "[moto]", quiet=self._quiet)
        with self._lock:
            self.proc = proc
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"moto server exited with {proc.returncode} (see [moto] above)")
            try:
                with urllib.request.urlopen(f"{self.url}{READY_PATH}", timeout=5):  # noqa: S310
                    log.info("moto server ready at %s (pid %d)", self.url, proc.pid)
                    return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"moto server did not answer within {timeout_s:.0f} s")

    def supervise(self, on_fatal: Callable[[str], None]) -> None:
        """Restart the child (same port, same state) whenever it dies; ``on_fatal`` when it
        keeps dying (more than ``MAX_RESTARTS`` within ``RESTART_WINDOW_S``) or cannot start."""
        self._supervisor = threading.Thread(
            target=self._supervise, args=(on_fatal,), name="moto-supervisor", daemon=True
        )
        self._supervisor.start()

    def _supervise(self, on_fatal: Callable[[str], None]) -> None:
        recent: list[float] = []
        while not self._stop.is_set():
            with self._lock:
                proc = self.proc
            if proc is None:
                return
            while proc.poll() is None and not self._stop.wait(0.2):
                pass
            if self._stop.is_set():
                return
            now = time.monotonic()
            recent = [t for t in recent if now - t < RESTART_WINDOW_S] + [now]
            where = f"its state from {self.state_dir}" if self.state_dir else "no saved state"
            if len(recent) > MAX_RESTARTS:
                on_fatal(
                    f"the moto server died {len(recent)} times within "
                    f"{RESTART_WINDOW_S:.0f} s (last exit code {proc.returncode}): stopping"
                )
                return
            log.error(
                "the moto server (pid %d) exited with %s: restarting it on %s with %s",
                proc.pid,
                proc.returncode,
                self.url,
                where,
            )
            try:
                started = time.monotonic()
                self._spawn_and_wait(timeout_s=60.0)
            except RuntimeError as exc:
                on_fatal(f"the moto server could not be restarted: {exc}")
                return
            self.restarts += 1
            log.warning(
                "the moto server is back (pid %s) after %.1f s",
                self.pid,
                time.monotonic() - started,
            )

    def stop(self) -> None:
        self._stop.set()
        if self._supervisor is not None and self._supervisor is not threading.current_thread():
            self._supervisor.join(5)
        with self._lock:
            proc = self.proc
        if proc is not None:
            # Everything acknowledged is in the journal already; on SIGTERM it waits for idle
            # keep-alive threads, so be brief.
            procs.stop(proc, grace_s=1, name="moto server", quiet=True)


@dataclass(frozen=True)
class Resources:
    queue_url: str
    queue_arn: str
    dlq_url: str
    bucket: str


def _ensure_queue(sqs: Any, name: str, attributes: dict[str, str]) -> str:
    """The queue's URL, created if missing, its attributes set only where they differ (a
    kept state already has it: no call that changes nothing is journaled again)."""
    try:
        url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
    except sqs.exceptions.QueueDoesNotExist:
        return sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    current = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    differing = {k: v for k, v in attributes.items() if not _same_attribute(current.get(k), v)}
    if differing:
        sqs.set_queue_attributes(QueueUrl=url, Attributes=differing)
    return url


def _same_attribute(current: str | None, wanted: str) -> bool:
    """Equal, or the same JSON document (RedrivePolicy comes back with other spacing/types)."""
    if current == wanted:
        return True
    try:
        have, want = json.loads(current or "null"), json.loads(wanted)
    except ValueError:
        return False
    if isinstance(have, dict) and isinstance(want, dict):
        return {k: str(v) for k, v in have.items()} == {k: str(v) for k, v in want.items()}
    return have == want


def create_queue_with_dlq(
    sqs: Any, name: str, *, max_receive_count: int = MAX_RECEIVE_COUNT
) -> tuple[str, str, str]:
    """The queue and its ``<name>-dlq`` with a redrive policy; returns (url, arn, dlq_url)."""
    dlq_url = _ensure_queue(sqs, f"{name}-dlq", {"MessageRetentionPeriod": str(14 * 86400)})
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    redrive = {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(max_receive_count)}
    url = _ensure_queue(
        sqs,
        name,
        {
            "VisibilityTimeout": str(QUEUE_VISIBILITY_TIMEOUT_S),
            "RedrivePolicy": json.dumps(redrive),
        },
    )
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    return url, arn, dlq_url


def create_bucket(s3: Any, bucket: str, *, cors_origins: list[str]) -> None:
    """The files bucket, with CORS so the console can POST uploads and GET downloads (each
    only when missing or different, as for queues)."""
    from botocore.exceptions import ClientError

    try:
        s3.head_bucket(Bucket=bucket)
    except ClientError:
        s3.create_bucket(Bucket=bucket)
    rules = [
        {
            "AllowedOrigins": cors_origins,
            "AllowedMethods": ["GET", "HEAD", "POST", "PUT"],
            "AllowedHeaders": ["*"],
            "ExposeHeaders": ["ETag"],
            "MaxAgeSeconds": 3000,
        }
    ]
    try:
        current = s3.get_bucket_cors(Bucket=bucket)["CORSRules"]
    except ClientError:
        current = None
    if current is None or [{k: r.get(k) for k in rules[0]} for r in current] != rules:
        s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": rules})


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
