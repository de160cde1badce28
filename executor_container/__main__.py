"""``python -m executor_container``: run the executor until SIGTERM/SIGINT, then drain."""

from __future__ import annotations

import logging
import signal
import sys
import threading

from executor_container.config import ExecutorConfig
from executor_container.server import start_executor


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    log = logging.getLogger("aion.executor")
    try:
        config = ExecutorConfig.from_env()
    except ValueError as exc:
        log.error("bad executor setting: %s", exc)
        return 2
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    try:
        running = start_executor(config)
    except RuntimeError as exc:
        log.error("%s", exc)
        return 2
    # One parseable line for whoever started us (the dev stack, tests).
    log.info("executor serving on %s:%d workers=%d", config.host, running.port, config.workers)
    # A short wait in a loop, not one long wait: the kernel may hand SIGTERM to a gRPC thread,
    # and then Python runs the handler only when the main thread next wakes up.
    while not stop.wait(0.5):
        pass
    log.info("draining: up to %.0f s for in-flight calls", config.grace_seconds)
    finished = running.drain(config.grace_seconds)
    log.info("stopped (%s)", "drained" if finished else "grace period over")
    return 0


if __name__ == "__main__":
    sys.exit(main())
