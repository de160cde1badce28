"""Misbehaving and instrumented modules, loaded only by the tests' executors
(``AION_EXECUTOR_EXTRA_MODULES=tests.integration.executor_test_modules``)."""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, model_validator

from executor_container.registry import ModuleContext, ModuleInput, ModuleSpec


class SleepParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    seconds: float = 1.0
    steps: int = 5
    # Written when the module runs to its end: proves a cancelled call was stopped.
    marker: str | None = None
    # Logs "pid <n>" first: lets a test find (and kill) the worker running the call.
    log_pid: bool = False


def _sleep(source: ModuleInput, params: SleepParams, ctx: ModuleContext) -> dict[str, Any]:
    if params.log_pid:
        ctx.log(f"pid {os.getpid()}")
    for step in range(params.steps):
        time.sleep(params.seconds / params.steps)
        ctx.progress((step + 1) / params.steps, f"step {step + 1}")
        time.sleep(0.11)  # let each progress event through the worker's throttle
    if params.marker:
        Path(params.marker).write_text("finished")
    return {"slept": params.seconds}


def _crash(source: ModuleInput, params: Any, ctx: ModuleContext) -> dict[str, Any]:
    os.kill(os.getpid(), signal.SIGSEGV)
    return {}


def _hog_memory(source: ModuleInput, params: Any, ctx: ModuleContext) -> dict[str, Any]:
    hoard = []
    while True:
        hoard.append(bytearray(64 * 1024 * 1024))


def _spin(source: ModuleInput, params: Any, ctx: ModuleContext) -> dict[str, Any]:
    n = 0
    while True:
        n += 1


def _big_output(source: ModuleInput, params: Any, ctx: ModuleContext) -> dict[str, Any]:
    return {"blob": "x" * (2 * 1024 * 1024)}


class DieBeforeStartParams(BaseModel):
    """Validated again in the worker right before the module runs: dying there is a worker
    lost before the module began (never in the server, which validates too)."""

    model_config = ConfigDict(extra="forbid")
    die: bool = True

    @model_validator(mode="after")
    def _die_in_a_worker(self) -> DieBeforeStartParams:
        if self.die and multiprocessing.parent_process() is not None:
            os.kill(os.getpid(), signal.SIGKILL)
        return self


def _never_runs(source: ModuleInput, params: Any, ctx: ModuleContext) -> dict[str, Any]:
    return {"ran": True}


def _whoami(source: ModuleInput, params: Any, ctx: ModuleContext) -> dict[str, Any]:
    """Which executor process ran the call (the name its test gave it)."""
    return {"executor": os.environ.get("AION_TEST_EXECUTOR_NAME", "")}


def _echo(source: ModuleInput, params: Any, ctx: ModuleContext) -> dict[str, Any]:
    ctx.log("echoing")
    return {"size": source.size, "text": source.text()}


MODULES = [
    ModuleSpec(name="test.sleep", description="sleeps", run=_sleep, params=SleepParams),
    ModuleSpec(
        name="test.sleep_short_limit",
        description="sleeps past its own time limit",
        run=_sleep,
        params=SleepParams,
        timeout_seconds=0.5,
    ),
    ModuleSpec(name="test.crash", description="segfaults", run=_crash),
    ModuleSpec(name="test.hog_memory", description="allocates forever", run=_hog_memory),
    ModuleSpec(name="test.spin", description="burns CPU", run=_spin, cpu_seconds=1.0),
    ModuleSpec(name="test.big_output", description="too large a result", run=_big_output),
    ModuleSpec(
        name="test.die_before_start",
        description="its worker dies before the module starts",
        run=_never_runs,
        params=DieBeforeStartParams,
    ),
    ModuleSpec(name="test.echo", description="echoes", run=_echo, max_input_bytes=1024),
    ModuleSpec(name="test.whoami", description="names its executor", run=_whoami),
]
