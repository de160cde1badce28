"""``python -m devstack``: run AION locally on 127.0.0.1:$AION_PORT until Ctrl-C / SIGTERM.

State (tables, files, queued messages, the admin's password, signing keys) is kept in
``.aion-dev/`` (``AION_DEV_STATE_DIR``) across restarts; ``python -m devstack.reset`` (``make
dev-reset``) wipes it.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from pathlib import Path
from typing import Any

from devstack import logs
from devstack.env import FAKE_ACCESS_KEY, FAKE_SECRET_KEY
from devstack.stack import DevStack, PortInUse, StackOptions
from devstack.state import STATE_DIR_ENV, StateInUse

LLM_HINT = (
    "set AION_LLM_ENDPOINT=http://127.0.0.1:11434/v1 and AION_LLM_MODEL=... "
    "for Ollama, llama.cpp server or LM Studio"
)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m devstack", description=__doc__)
    parser.add_argument(
        "--port",
        type=int,
        default=int(os.environ.get("AION_PORT", "8000")),
        help="port of the single HTTP server (AION_PORT; 0 = any free port)",
    )
    parser.add_argument("--app", default="app:app", help="the Chalice app, module:attribute")
    parser.add_argument(
        "--no-executor", action="store_true", help="do not start the executor process"
    )
    parser.add_argument(
        "--schedule-interval",
        type=float,
        default=float(os.environ["AION_DEV_SCHEDULE_SECONDS"])
        if os.environ.get("AION_DEV_SCHEDULE_SECONDS")
        else None,
        help="run every schedule at this interval in seconds (AION_DEV_SCHEDULE_SECONDS)",
    )
    parser.add_argument(
        "--ready-file",
        type=Path,
        default=Path(os.environ["AION_DEV_READY_FILE"])
        if os.environ.get("AION_DEV_READY_FILE")
        else None,
        help="write the stack's URLs and credentials as JSON here once it is up",
    )
    parser.add_argument(
        "--sqs-pollers",
        type=int,
        default=int(os.environ.get("AION_DEV_SQS_POLLERS", "4")),
        help="concurrent batches per SQS event source, like Lambda pollers (AION_DEV_SQS_POLLERS)",
    )
    parser.add_argument(
        "--state-dir",
        type=Path,
        default=None,
        help=f"where the state is kept ({STATE_DIR_ENV}; default .aion-dev in the project)",
    )
    parser.add_argument(
        "--moto-port",
        type=int,
        default=int(os.environ["AION_DEV_MOTO_PORT"])
        if os.environ.get("AION_DEV_MOTO_PORT")
        else None,
        help="port of the moto server (AION_DEV_MOTO_PORT; default the stack's port + 1)",
    )
    parser.add_argument("--moto-log", help="append moto server's request log to this file")
    parser.add_argument(
        "--verbose",
        action="store_true",
        help="log everything, with tracebacks (same as AION_DEV_LOG=debug; default: errors only)",
    )
    return parser.parse_args(argv)


def _shown(path: str) -> str:
    """A path relative to the current directory when it is inside it (shorter banner)."""
    try:
        return os.path.relpath(path) if Path(path).is_relative_to(Path.cwd()) else path
    except ValueError:
        return path


def environment_lines(info: dict[str, Any]) -> list[str]:
    """The exports that point boto3, the AWS CLI or `make admin` at this stack's moto."""
    return [
        f"export AWS_ENDPOINT_URL={info['moto_url']} AWS_REGION={info['region']}",
        f"export AWS_ACCESS_KEY_ID={FAKE_ACCESS_KEY} AWS_SECRET_ACCESS_KEY={FAKE_SECRET_KEY}"
        f" AION_TABLE_PREFIX={info['table_prefix']}",
    ]


def llm_line(llm: dict[str, Any]) -> str:
    if llm.get("provider") == "bedrock":
        return f"on: Amazon Bedrock, model {llm['model']}"
    if llm.get("provider"):
        model = llm.get("model") or "default (set AION_LLM_MODEL)"
        return f"on: OpenAI-compatible endpoint {llm['endpoint']}, model {model}"
    return f"off (generative tasks go to review) - {LLM_HINT}"


def admin_line(info: dict[str, Any]) -> str:
    email, status = info["admin_email"], info.get("admin_password_status")
    where = _shown(info["admin_file"])
    if status is None:
        return f"{email} (not created: see the log above)"
    if status == "generated":
        return f"{email} / {info['admin_password']}  (generated now, kept in {where})"
    if status == "from_env":
        return f"{email} / {info['admin_password']}  (AION_ADMIN_PASSWORD)"
    if status == "unchanged":
        return f"{email}  (password unchanged since the first start: {where})"
    return (
        f"{email}  (the password in {where} no longer works: it was changed since; "
        f"`make admin EMAIL={email} PASSWORD=...` sets a new one)"
    )


def banner(info: dict[str, Any]) -> str:
    state = _shown(info["state_dir"])
    kept = "new, empty" if info.get("state_fresh") else "restored"
    verbosity = (
        "errors only; --verbose or AION_DEV_LOG=debug for more"
        if info.get("log_mode") == "quiet"
        else info.get("log_mode", "")
    )
    env = environment_lines(info)
    return "\n".join(
        [
            "",
            f"AION dev stack is up (started in {info['startup_seconds']} s)",
            f"  console    {info['base_url']}",
            f"  REST API   {info['api_url']}   (reference: {info['docs_url']})",
            f"  WebSocket  {info['ws_url']}",
            f"  admin      {admin_line(info)}",
            f"  LLM route  {llm_line(info['llm'])}",
            f"  moto       {info['moto_url']} - for boto3, the AWS CLI or `make admin`:",
            f"               {env[0]}",
            f"               {env[1]}",
            f"  state      {state}/ ({kept}): tables, files, queue, admin password, signing",
            "             keys; kept across restarts, `make dev-reset` wipes it",
            f"  log        {verbosity}",
            "  Ctrl-C stops everything.",
            "",
        ]
    )


async def run(args: argparse.Namespace, mode: str) -> int:
    stack = DevStack(
        StackOptions(
            port=args.port,
            app_ref=args.app,
            start_executor=not args.no_executor,
            schedule_interval_s=args.schedule_interval,
            ready_file=args.ready_file,
            moto_log=args.moto_log,
            sqs_pollers=args.sqs_pollers,
            state_dir=args.state_dir,
            moto_port=args.moto_port,
            log_mode=mode,
        )
    )
    stop = asyncio.Event()
    failure: list[str] = []
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    def fatal(message: str) -> None:
        failure.append(message)
        loop.call_soon_threadsafe(stop.set)

    stack.on_fatal = fatal
    try:
        starting = asyncio.ensure_future(stack.start())
        stopping = asyncio.ensure_future(stop.wait())
        done, _ = await asyncio.wait({starting, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if starting in done:
            print(banner(starting.result()), flush=True)
            await stopping
        else:
            starting.cancel()
        logging.getLogger("devstack").info("stopping")
        return 1 if failure else 0
    finally:
        await stack.stop()
        if failure:
            print(f"\nThe dev stack stopped: {failure[0]}.", file=sys.stderr, flush=True)
        elif stack.info:
            where = _shown(str(stack.state.path))
            print(f"Stopped. State kept in {where}/ (`make dev-reset` wipes it).", flush=True)


def main() -> None:
    args = parse_args()
    try:
        mode = logs.resolve(args.verbose)
    except ValueError as exc:
        print(exc, file=sys.stderr)
        sys.exit(2)
    logs.configure(mode)
    try:
        code = asyncio.run(run(args, mode))
    except PortInUse as exc:
        print(f"port {exc.port} is in use: stop what uses it or set AION_PORT", file=sys.stderr)
        sys.exit(2)
    except StateInUse as exc:
        print(f"{exc} (or set {STATE_DIR_ENV} to use another directory)", file=sys.stderr)
        sys.exit(2)
    except RuntimeError as exc:  # a child that would not start (its own lines are above)
        if mode == "debug":
            raise
        print(f"the dev stack could not start: {exc}", file=sys.stderr)
        sys.exit(1)
    # Everything we started is stopped by now. Skip interpreter teardown: collecting the
    # botocore/pynamodb object graphs takes seconds and only delays Ctrl-C and test teardown.
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    main()
