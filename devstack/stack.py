"""The whole dev stack, started in dependency order and stopped in reverse.

lock the state directory -> bind the port -> moto server (loads the kept state) -> environment
(kept secrets) -> queues, bucket, tables (only what is missing) -> executor -> import the app ->
admin -> HTTP server -> SQS and schedule drivers -> ``stack.json``. Everything it starts it
stops, children by PID; the moto child is restarted with its state if it dies.
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
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devstack import aws_calls, logs, procs
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
from devstack.state import StateDir, default_state_dir, write_private

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
    state_dir: Path | None = None  # None: AION_DEV_STATE_DIR or <project>/.aion-dev
    moto_port: int | None = None  # None: AION_PORT + 1 when free, else any free port
    log_mode: str = "quiet"  # devstack.logs: quiet | info | debug


def choose_moto_port(wanted: int | None, stack_port: int) -> int:
    """A port that stays the same across restarts when it can (exported AWS_ENDPOINT_URL lines
    keep working): the one asked for, else the stack's port + 1 if free, else any free one."""
    if wanted:
        return wanted
    if 0 < stack_port < 65535 and procs.port_free(stack_port + 1):
        return stack_port + 1
    return procs.free_port()


def llm_route(env: dict[str, str]) -> dict[str, str | None]:
    """Which LLM route the app will see (same precedence as ``chalicelib.llm.config``)."""
    bedrock = (env.get("AION_BEDROCK_MODEL_ID") or "").strip()
    endpoint = (env.get("AION_LLM_ENDPOINT") or "").strip()
    model = (env.get("AION_LLM_MODEL") or "").strip() or None
    if bedrock:
        return {"provider": "bedrock", "endpoint": None, "model": bedrock}
    if endpoint:
        return {"provider": "openai_compatible", "endpoint": endpoint, "model": model}
    return {"provider": None, "endpoint": None, "model": None}


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


def ensure_admin(email: str, password: str, *, reset_password: bool) -> str | None:
    """The admin, with the project's own logic. Returns what happened to the password:
    ``set`` (created or reset to ``password``), ``unchanged`` (``password`` still signs in) or
    ``changed`` (someone changed it since it was stored); None if users are not there yet."""
    try:
        from chalicelib.auth.emails import normalize_email
        from chalicelib.auth.passwords import verify_password
        from chalicelib.dal.models import User, UserEmail
        from chalicelib.logic.users import ensure_admin as project_ensure_admin
    except ImportError as exc:
        log.warning("no admin created: the users logic is unavailable (%s)", exc)
        return None
    if reset_password:
        project_ensure_admin(email, password=password)
        return "set"
    try:
        claim = UserEmail.get(normalize_email(email))
    except UserEmail.DoesNotExist:
        project_ensure_admin(email, password=password)  # the tables were emptied by hand
        return "set"
    user = User.get(claim.user_id)
    if user.role != "admin":
        project_ensure_admin(email, password=None)
    return "unchanged" if verify_password(user.password_hash, password) else "changed"


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
        self.state = StateDir(
            options.state_dir or default_state_dir(options.project_dir, options.base_env)
        )
        # Called (from a supervisor thread) when the stack cannot go on; __main__ sets it.
        self.on_fatal: Any = None

    async def start(self) -> dict[str, Any]:
        """Start everything; returns what clients need (URLs, admin credentials, PIDs)."""
        started = time.monotonic()
        await asyncio.to_thread(self._start_blocking_parts)
        return await self._start_server(started)

    def _start_blocking_parts(self) -> None:
        opts = self.options
        quiet = opts.log_mode == "quiet"
        state = self.state
        fresh = state.is_new
        state.acquire()  # StateInUse: another dev stack runs on this directory
        try:
            self._sock = bind(opts.port)
        except OSError as exc:
            raise PortInUse(opts.port) from exc
        port = int(self._sock.getsockname()[1])
        urls = stack_env.StackUrls("127.0.0.1", port)
        base = opts.base_env

        self.moto = MotoServer(
            port=choose_moto_port(opts.moto_port, port),
            log_path=opts.moto_log,
            state_dir=state.moto,
            quiet=quiet,
        )
        self.moto.start(
            {
                **base,
                "AWS_ACCESS_KEY_ID": stack_env.FAKE_ACCESS_KEY,
                "AWS_SECRET_ACCESS_KEY": stack_env.FAKE_SECRET_KEY,
            }
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
            secrets=state.secrets(),
            app_log_level=logs.app_log_level(opts.log_mode),
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
            self.executor = ExecutorSupervisor(
                executor_env, port=executor_port, grace_s=grace, quiet=quiet
            )
            self.executor.start()

        tables = create_tables()
        log.info("%d tables, queue %s (+ DLQ), bucket %s", len(tables), queue_name, bucket)
        if self.executor is not None:
            self.executor.wait_ready()

        self.invoker = Invoker(
            region=region, function_settings=load_function_settings(opts.project_dir)
        )
        app = load_app(opts.app_ref, opts.project_dir)
        if app is not None:
            make_thread_safe(app)
            point_websocket_api_at(app, urls.ws_management)
            logs.adopt_app_logger(opts.log_mode)

        admin_email = stack_env.setting(base, "AION_ADMIN_EMAIL")
        explicit = (base.get("AION_ADMIN_PASSWORD") or "").strip() or None
        admin = state.admin(admin_email, explicit, stack_env.generate_password)
        password_status = ensure_admin(
            admin.email, admin.password, reset_password=explicit is not None or admin.first_start
        )

        self._app = app
        self._region = region
        self.info = {
            "base_url": urls.base + "/",
            "api_url": urls.api,
            "ws_url": urls.ws,
            "docs_url": urls.api + "/docs",
            "ws_management_url": urls.ws_management,
            "status_url": urls.base + "/_devstack/status",
            "port": port,
            "pid": os.getpid(),
            "moto_url": self.moto.url,
            "region": region,
            "table_prefix": app_env["AION_TABLE_PREFIX"],
            "files_bucket": bucket,
            "queue_url": resources.queue_url,
            "dlq_url": resources.dlq_url,
            "executor_target": target,
            "state_dir": str(state.path),
            "state_fresh": fresh,
            "admin_email": admin.email,
            "admin_password": admin.password if password_status else None,
            # generated | from_env | unchanged | changed (since stored) | None (no admin)
            "admin_password_status": (
                None
                if password_status is None
                else "from_env"
                if explicit is not None
                else "generated"
                if admin.first_start
                else password_status
            ),
            "admin_file": str(state.admin_file),
            "llm": llm_route(app_env),
            "log_mode": opts.log_mode,
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
        assert self.moto is not None
        self.moto.supervise(self._fatal)
        # What `make admin` and others look for; no password in it (admin.json has that).
        public = {k: v for k, v in self.info.items() if k != "admin_password"}
        self.state.write_stack(public)
        if opts.ready_file is not None:
            write_private(opts.ready_file, json.dumps(self.info))
        return self.info

    def _fatal(self, message: str) -> None:
        log.critical("%s", message)
        if self.on_fatal is not None:
            self.on_fatal(message)

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
                "pid": self.moto.pid if self.moto else None,
                "restarts": self.moto.restarts if self.moto else 0,
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
        steps: list[tuple[str, Callable[[], object]]] = [
            (
                "schedule driver",
                lambda: self.schedule_driver.stop() if self.schedule_driver else None,
            ),
            ("SQS driver", lambda: self.sqs_driver.stop() if self.sqs_driver else None),
        ]
        for name, step in steps:
            await _quietly(name, asyncio.to_thread(step))
        if self._runner is not None:
            await _quietly("HTTP server", self._runner.cleanup())
        steps = [
            ("executor", lambda: self.executor.stop() if self.executor else None),
            ("moto server", lambda: self.moto.stop() if self.moto else None),
            ("Lambda pool", lambda: self.invoker.shutdown() if self.invoker else None),
        ]
        for name, step in steps:
            await _quietly(name, asyncio.to_thread(step))
        self.state.release()


async def _quietly(name: str, awaitable: Any) -> None:
    started = time.monotonic()
    try:
        await awaitable
        log.debug("stopped the %s in %.2f s", name, time.monotonic() - started)
    except Exception:
        log.exception("stopping the %s failed", name)
