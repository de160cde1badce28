"""``python -m devstack``: run AION locally on 127.0.0.1:$AION_PORT until Ctrl-C / SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from pathlib import Path

from devstack.stack import DevStack, PortInUse, StackOptions


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
    parser.add_argument("--moto-log", help="append moto server's request log to this file")
    parser.add_argument("--log-level", default=os.environ.get("AION_DEV_LOG_LEVEL", "INFO"))
    return parser.parse_args(argv)


def banner(info: dict) -> str:
    password = info["admin_password"] or "(not created: see the log above)"
    return "\n".join(
        [
            "",
            f"AION dev stack is up (started in {info['startup_seconds']} s)",
            f"  console    {info['base_url']}",
            f"  REST API   {info['api_url']}",
            f"  WebSocket  {info['ws_url']}",
            f"  admin      {info['admin_email']} / {password}",
            "  Ctrl-C stops everything.",
            "",
        ]
    )


async def run(args: argparse.Namespace) -> int:
    stack = DevStack(
        StackOptions(
            port=args.port,
            app_ref=args.app,
            start_executor=not args.no_executor,
            schedule_interval_s=args.schedule_interval,
            ready_file=args.ready_file,
            moto_log=args.moto_log,
            sqs_pollers=args.sqs_pollers,
        )
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
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
        return 0
    finally:
        await stack.stop()


def main() -> None:
    args = parse_args()
    logging.basicConfig(
        level=args.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stdout,
    )
    for noisy in ("botocore", "boto3", "pynamodb", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        code = asyncio.run(run(args))
    except PortInUse as exc:
        print(f"port {exc.port} is in use: stop what uses it or set AION_PORT", file=sys.stderr)
        sys.exit(2)
    # Everything we started is stopped by now. Skip interpreter teardown: collecting the
    # botocore/pynamodb object graphs takes seconds and only delays Ctrl-C and test teardown.
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    main()
