"""The whole dev stack, started in dependency order and stopped in reverse.

bind the port -> moto server -> environment -> queues, bucket, tables -> executor -> import the
app -> admin -> HTTP server -> SQS and schedule drivers. Everything it starts it stops, children
by PID.
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
import json
import logging
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devstack import aws_calls, procs
from devstack import env as stack_env
from devstack.executor_proc import ExecutorSupervisor, executor_available
from devstack.lambda_runtime import (
    Invoker,
    load_function_settings,
    make_thread_safe,
    point_websocket_api_at,
)
from devstack.moto_backend import MotoServer, create_tables, provision
from devstack.schedule_driver import ScheduleDriver
from devstack.server import Gateways, bind, build_web_app, serve
from devstack.sqs_driver import SqsDriver

log = logging.getLogger("devstack")

PROJECT_DIR = Path(__file__).resolve().parent.parent


@dataclass
class StackOptions:
    port: int = 8000
    app_ref: str = "app:app"
    project_dir: Path = PROJECT_DIR
    start_executor: bool = True
    schedule_interval_s: float | None = None
    ready_file: Path | None = None
    sqs_pollers: int = 4
    moto_log: str | None = None
    base_env: dict[str, str] = field(default_factory=lambda: dict(os.environ))


def write_private_atomically(path: Path, text: str) -> None:
    """Readers polling for ``path`` see all of it or nothing; only we can read it (password)."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(text)
    os.replace(tmp, path)


class PortInUse(Exception):
    def __init__(self, port: int) -> None:
        super().__init__(f"port {port} is in use")
        self.port = port


def load_app(app_ref: str, project_dir: Path) -> Any | None:
    """Import ``module:attribute`` from the project; None (logged) while it does not exist."""
    module_name, _, attr = app_ref.partition(":")
    if str(project_dir) not in sys.path:
        sys.path.insert(0, str(project_dir))
    if importlib.util.find_spec(module_name) is None:
        log.warning("%s.py not found: /api and /ws answer 503 until it exists", module_name)
        return None
    return getattr(importlib.import_module(module_name), attr or "app")


def ensure_admin(email: str, password: str) -> bool:
    """Create (or re-password) the admin with the project's own logic; False if it is missing."""
    try:
        from chalicelib.logic.users import ensure_admin as project_ensure_admin
    except ImportError as exc:
        log.warning("no admin created: chalicelib.logic.users.ensure_admin unavailable (%s)", exc)
        return False
    project_ensure_admin(email, password=password)
    return True


class DevStack:
    def __init__(self, options: StackOptions) -> None:
        self.options = options
        self.moto: MotoServer | None = None
        self.executor: ExecutorSupervisor | None = None
        self.invoker: Invoker | None = None
        self.sqs_driver: SqsDriver | None = None
        self.schedule_driver: ScheduleDriver | None = None
        self.gateways: Gateways | None = None
        self._runner: Any = None
        self.info: dict[str, Any] = {}

    async def start(self) -> dict[str, Any]:
        """Start everything; returns what clients need (URLs, admin credentials, PIDs)."""
        started = time.monotonic()
        await asyncio.to_thread(self._start_blocking_parts)
        return await self._start_server(started)

    def _start_blocking_parts(self) -> None:
        opts = self.options
        try:
            self._sock = bind(opts.port)
        except OSError as exc:
            raise PortInUse(opts.port) from exc
        port = int(self._sock.getsockname()[1])
        urls = stack_env.StackUrls("127.0.0.1", port)
        base = opts.base_env

        self.moto = MotoServer(log_path=opts.moto_log)
        self.moto.start(
            {**base, "AWS_ACCESS_KEY_ID": "devstack", "AWS_SECRET_ACCESS_KEY": "devstack"}
        )

        external_executor = (base.get("AION_EXECUTOR_TARGET") or "").strip()
        executor_port = procs.free_port()
        target = external_executor or f"127.0.0.1:{executor_port}"
        region = (base.get("AWS_REGION") or base.get("AWS_DEFAULT_REGION") or "us-east-1").strip()
        queue_name = stack_env.setting(base, "AION_DISPATCH_QUEUE_NAME")
        bucket = stack_env.setting(base, "AION_FILES_BUCKET")
        resources = provision(
            endpoint_url=self.moto.url,
            region=region,
            queue_name=queue_name,
            bucket=bucket,
            cors_origins=[urls.base, f"http://localhost:{port}"],
        )
        app_env = stack_env.app_environment(
            base,
            urls=urls,
            moto_url=self.moto.url,
            queue_url=resources.queue_url,
            executor_target=target,
        )
        aws_calls.install()  # before any client of the app exists
        for name in stack_env.DROPPED:
            os.environ.pop(name, None)
        os.environ.update(app_env)
        # The executor boots in its own process while this one creates the tables.
        if external_executor:
            log.info("using the executor at %s (AION_EXECUTOR_TARGET)", external_executor)
        elif not opts.start_executor:
            log.info("executor not started (--no-executor)")
        elif not executor_available():
            log.warning("executor_container has no __main__ yet: executor not started")
        else:
            # A short drain locally: Ctrl-C should not wait the cloud's 25 s.
            grace = float(base.get("AION_EXECUTOR_GRACE_SECONDS") or 5)
            executor_env = {**app_env, "AION_EXECUTOR_GRACE_SECONDS": str(grace)}
            self.executor = ExecutorSupervisor(executor_env, port=executor_port, grace_s=grace)
            self.executor.start()

        tables = create_tables()
        log.info("created %d tables, queue %s (+ DLQ), bucket %s", len(tables), queue_name, bucket)
        if self.executor is not None:
            self.executor.wait_ready()

        self.invoker = Invoker(
            region=region, function_settings=load_function_settings(opts.project_dir)
        )
        app = load_app(opts.app_ref, opts.project_dir)
        if app is not None:
            make_thread_safe(app)
            point_websocket_api_at(app, urls.ws_management)

        admin_email = stack_env.setting(base, "AION_ADMIN_EMAIL")
        admin_password = (
            base.get("AION_ADMIN_PASSWORD") or ""
        ).strip() or stack_env.generate_password()
        admin_created = ensure_admin(admin_email, admin_password)

        self._app = app
        self._region = region
        self.info = {
            "base_url": urls.base + "/",
            "api_url": urls.api,
            "ws_url": urls.ws,
            "ws_management_url": urls.ws_management,
            "status_url": urls.base + "/_devstack/status",
            "port": port,
            "pid": os.getpid(),
            "moto_url": self.moto.url,
            "queue_url": resources.queue_url,
            "dlq_url": resources.dlq_url,
            "executor_target": target,
            "admin_email": admin_email,
            "admin_password": admin_password if admin_created else None,
        }

    async def _start_server(self, started: float) -> dict[str, Any]:
        assert self.invoker is not None
        opts = self.options
        self.gateways = build_web_app(
            self._app,
            self.invoker,
            region=self._region,
            ws_api_id=stack_env.WS_API_ID,
            ws_stage=stack_env.WS_STAGE,
            frontend_dir=opts.project_dir / "frontend",
            status=self.status,
        )
        self._runner = await serve(self.gateways.web_app, self._sock)
        if self._app is not None:
            import boto3

            sqs = boto3.session.Session().client("sqs")
            self.sqs_driver = SqsDriver(
                self._app, self.invoker, sqs, region=self._region, pollers=opts.sqs_pollers
            )
            self.schedule_driver = ScheduleDriver(
                self._app,
                self.invoker,
                region=self._region,
                interval_override_s=opts.schedule_interval_s,
            )
            await asyncio.to_thread(self.sqs_driver.start)
            self.schedule_driver.start()
        self.info["startup_seconds"] = round(time.monotonic() - started, 1)
        if opts.ready_file is not None:
            write_private_atomically(opts.ready_file, json.dumps(self.info))
        return self.info

    def status(self) -> dict[str, Any]:
        ws = self.gateways.ws if self.gateways else None
        return {
            "executor": {
                "target": self.info.get("executor_target"),
                "pid": self.executor.pid if self.executor else None,
                "restarts": self.executor.restarts if self.executor else 0,
            },
            "moto": {
                "url": self.info.get("moto_url"),
                "pid": self.moto.proc.pid if self.moto and self.moto.proc else None,
            },
            "websocket": {
                "connections": len(ws.connections) if ws else 0,
                "counters": dict(ws.counters) if ws else {},
            },
            "sqs": dict(self.sqs_driver.counters) if self.sqs_driver else {},
            "schedules": dict(self.schedule_driver.counters) if self.schedule_driver else {},
            "awsCalls": aws_calls.snapshot(),
            "devstackAwsCalls": aws_calls.snapshot(internal=True),
        }

    async def stop(self) -> None:
        """Stop in reverse order; every step runs even if an earlier one failed."""
        if self.executor is not None:
            self.executor.halt_restarts()  # an executor exiting from now on stays down
        steps = [
            ("schedule driver", lambda: self.schedule_driver and self.schedule_driver.stop()),
            ("SQS driver", lambda: self.sqs_driver and self.sqs_driver.stop()),
        ]
        for name, step in steps:
            await _quietly(name, asyncio.to_thread(step))
        if self._runner is not None:
            await _quietly("HTTP server", self._runner.cleanup())
        for name, step in [
            ("executor", lambda: self.executor and self.executor.stop()),
            ("moto server", lambda: self.moto and self.moto.stop()),
            ("Lambda pool", lambda: self.invoker and self.invoker.shutdown()),
        ]:
            await _quietly(name, asyncio.to_thread(step))


async def _quietly(name: str, awaitable: Any) -> None:
    started = time.monotonic()
    try:
        await awaitable
        log.debug("stopped the %s in %.2f s", name, time.monotonic() - started)
    except Exception:
        log.exception("stopping the %s failed", name)
