"""What the Lambda runtime gives a handler: a context object, a timeout, one request at a time.

The dev stack invokes the handlers of one Chalice app object from a thread pool. Two things make
that safe and faithful:
- Chalice keeps ``app.current_request`` / ``app.lambda_context`` on the app object (one request
  per Lambda sandbox). We make them thread-local exactly like ``chalice local`` does
  (``chalice.local.LocalChalice``), so concurrent REST requests never see each other's request.
- Every invocation gets a fresh context whose ``get_remaining_time_in_millis`` counts down from
  the function's configured timeout (``.chalice/config.json``, Chalice's default 60 s).
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger("devstack.lambda")

DEFAULT_TIMEOUT_S = 60
DEFAULT_MEMORY_MB = 128
ACCOUNT_ID = "123456789012"
# Chalice's name for the function that serves every REST route.
REST_FUNCTION = "api_handler"


@dataclass
class LambdaContext:
    """The attributes and method of the real ``LambdaContext`` that handlers and Powertools use."""

    function_name: str
    memory_limit_in_mb: int
    timeout_s: float
    region: str
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    identity: Any = None
    client_context: Any = None
    _deadline: float = 0.0

    def __post_init__(self) -> None:
        self._deadline = time.monotonic() + self.timeout_s
        self.invoked_function_arn = (
            f"arn:aws:lambda:{self.region}:{ACCOUNT_ID}:function:{self.function_name}"
        )
        self.log_group_name = f"/aws/lambda/{self.function_name}"
        self.log_stream_name = f"devstack/[$LATEST]{uuid.uuid4().hex}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


@dataclass(frozen=True)
class FunctionSettings:
    timeout_s: int = DEFAULT_TIMEOUT_S
    memory_mb: int = DEFAULT_MEMORY_MB


def load_function_settings(project_dir: Path, stage: str = "dev") -> dict[str, FunctionSettings]:
    """Per-function timeout/memory from ``.chalice/config.json`` (function name -> settings).

    Unknown names fall back to the stage, then top-level values (Chalice's own precedence).
    """
    path = project_dir / ".chalice" / "config.json"
    if not path.is_file():
        return {}
    try:
        config = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        log.warning("ignoring unreadable %s: %s", path, exc)
        return {}
    stage_cfg = config.get("stages", {}).get(stage, {})

    def pick(key: str, *layers: dict[str, Any], default: int) -> int:
        for layer in layers:
            if key in layer:
                return int(layer[key])
        return default

    base = FunctionSettings(
        timeout_s=pick("lambda_timeout", stage_cfg, config, default=DEFAULT_TIMEOUT_S),
        memory_mb=pick("lambda_memory_size", stage_cfg, config, default=DEFAULT_MEMORY_MB),
    )
    settings = {"*": base}
    for name, fn_cfg in stage_cfg.get("lambda_functions", {}).items():
        settings[name] = FunctionSettings(
            timeout_s=pick("lambda_timeout", fn_cfg, default=base.timeout_s),
            memory_mb=pick("lambda_memory_size", fn_cfg, default=base.memory_mb),
        )
    return settings


class _ThreadLocalRequestState:
    """Mixin that moves Chalice's per-invocation attributes into thread-local storage."""

    _devstack_local = threading.local()

    @property
    def current_request(self) -> Any:
        return getattr(self._devstack_local, "current_request", None)

    @current_request.setter
    def current_request(self, value: Any) -> None:
        self._devstack_local.current_request = value

    @property
    def lambda_context(self) -> Any:
        return getattr(self._devstack_local, "lambda_context", None)

    @lambda_context.setter
    def lambda_context(self, value: Any) -> None:
        self._devstack_local.lambda_context = value


def make_thread_safe(app: Any) -> None:
    """Give ``app`` thread-local ``current_request``/``lambda_context`` (as ``chalice local``)."""
    cls = type(app)
    if issubclass(cls, _ThreadLocalRequestState):
        return
    app.__dict__.pop("current_request", None)
    app.__dict__.pop("lambda_context", None)
    app.__class__ = type(f"DevStack{cls.__name__}", (_ThreadLocalRequestState, cls), {})


def point_websocket_api_at(app: Any, endpoint_url: str) -> None:
    """Make ``app.websocket_api.send/close/info`` talk to the dev stack's management API.

    Chalice builds the client as ``session.client('apigatewaymanagementapi',
    endpoint_url=self._endpoint)`` and fills ``_endpoint`` only while it is unset (``configure``
    and ``configure_from_api_id`` return early otherwise; every WebSocket handler calls the
    latter with the event's apiId/stage). Presetting it is the one way to get a plain-HTTP
    local endpoint without touching Lambda code. Pinned to chalice==1.34.0 (checked here).
    """
    ws_api = app.websocket_api
    if not hasattr(ws_api, "_endpoint") or not hasattr(ws_api, "_client"):
        raise RuntimeError("this Chalice version's WebsocketAPI has no _endpoint/_client")
    ws_api._endpoint = endpoint_url
    ws_api._client = None  # a client built earlier would still point elsewhere


class Invoker:
    """Runs handlers like Lambda does: one event, a fresh context, in a worker thread."""

    def __init__(
        self,
        *,
        region: str,
        function_settings: dict[str, FunctionSettings] | None = None,
        max_workers: int = 16,
        function_prefix: str = "aion-dev",
    ) -> None:
        self.region = region
        self._settings = function_settings or {}
        self._prefix = function_prefix
        self.pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="lambda")

    def settings_for(self, name: str) -> FunctionSettings:
        return self._settings.get(name) or self._settings.get("*") or FunctionSettings()

    def new_context(self, name: str) -> LambdaContext:
        fn = self.settings_for(name)
        return LambdaContext(
            function_name=f"{self._prefix}-{name}",
            memory_limit_in_mb=fn.memory_mb,
            timeout_s=fn.timeout_s,
            region=self.region,
        )

    def invoke(self, name: str, handler: Callable[[Any, Any], Any], event: Any) -> Any:
        """Call ``handler(event, context)`` in the caller's thread (drivers own their threads)."""
        context = self.new_context(name)
        started = time.monotonic()
        try:
            return handler(event, context)
        finally:
            elapsed = time.monotonic() - started
            if elapsed > context.timeout_s:
                # Lambda would have killed it; we cannot stop a thread, so say so loudly.
                log.warning(
                    "%s ran %.1f s, over its %d s timeout", name, elapsed, context.timeout_s
                )

    def shutdown(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)
