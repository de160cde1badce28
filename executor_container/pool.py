"""A pool of pre-forked worker processes, one module call per worker at a time.

Lanes: ``short_reserved`` workers are kept for short calls (``chalicelib.shared.cost``): long
calls hold at most ``size - short_reserved`` workers at once, so however many long calls
arrive, a short one finds a worker as soon as another short one is done with it. At most as
many long calls again may wait for a place; more are refused at once (``busy``, retryable),
so waiting long calls never take every thread that hands calls to workers.
"""

from __future__ import annotations

import logging
import multiprocessing
import queue
import signal
import threading
import time
from typing import Any

from executor_container.wire import Wire
from executor_container.worker import WorkerLimits, worker_main

log = logging.getLogger("aion.executor.pool")
READY_TIMEOUT_S = 60.0
REPLACE_RETRY_S = 0.5
REPLACE_RETRY_MAX_S = 30.0


class Worker:
    def __init__(self, ctx: Any, limits: WorkerLimits) -> None:
        # One pipe per direction (see ``wire``); the Connections only own the descriptors.
        calls_reader, self._calls = ctx.Pipe(duplex=False)
        self._replies, replies_writer = ctx.Pipe(duplex=False)
        self.process = ctx.Process(
            target=worker_main,
            args=(calls_reader, replies_writer, limits),
            name="aion-worker",
            daemon=True,
        )
        self.process.start()
        calls_reader.close()
        replies_writer.close()
        self.calls = 0
        self.ready = False
        self.long_call = False  # holds one of the long lane's places while True
        self._stop_lock = threading.Lock()
        self._stopped = False
        self.wire = Wire(self._replies.fileno(), self._calls.fileno())

    def usable(self) -> bool:
        """An idle worker is alive and silent: end of file (or anything) waiting on its
        pipe means it died, or is about to be of no use."""
        return self.process.is_alive() and not self.wire.readable(0)

    def wait_ready(self, timeout: float) -> bool:
        try:
            self.ready = self.wire.readable(timeout) and self.wire.recv() == ("ready",)
        except (EOFError, OSError):
            self.ready = False
        return self.ready

    def exit_description(self) -> str:
        """How the process ended, e.g. "signal SIGKILL" (waits briefly for it to end)."""
        self.process.join(1.0)
        code = self.process.exitcode
        if code is None:
            return "no exit yet"
        if code < 0:
            try:
                return f"signal {signal.Signals(-code).name}"
            except ValueError:
                return f"signal {-code}"
        return f"exit code {code}"

    def stop(self) -> None:
        # Once, whoever asks first (closing the pool and a failed replacement can race):
        # closing a descriptor twice could close one that was reused meanwhile.
        with self._stop_lock:
            if self._stopped:
                return
            self._stopped = True
        if self.process.is_alive():
            self.process.kill()
        self.process.join(2.0)
        self._calls.close()
        self._replies.close()


class WorkerPool:
    def __init__(
        self, size: int, limits: WorkerLimits, *, max_calls: int = 500, short_reserved: int = 0
    ) -> None:
        self.size = size
        # At least one worker takes long calls, whatever is reserved.
        self.short_reserved = max(0, min(short_reserved, size - 1))
        self.long_places = size - self.short_reserved
        self._long_gate = threading.BoundedSemaphore(self.long_places)
        self._long_admitted = 0  # long calls running or waiting for a place
        self._limits = limits
        self._max_calls = max_calls
        self._ctx = multiprocessing.get_context("forkserver")
        self._ctx.set_forkserver_preload(["executor_container.warm"])
        # Last in, first out: the most recently used worker is the one with warm caches.
        self._idle: queue.LifoQueue[Worker] = queue.LifoQueue()
        self._closed = threading.Event()
        self._lock = threading.Lock()
        self._all: set[Worker] = set()

    def start(self) -> None:
        """Start every worker and wait until each is warm."""
        workers = [self._new_worker() for _ in range(self.size)]
        for worker in workers:
            if not worker.wait_ready(READY_TIMEOUT_S):
                raise RuntimeError(f"executor worker failed to start ({worker.exit_description()})")
            self._idle.put(worker)

    def _new_worker(self) -> Worker:
        worker = Worker(self._ctx, self._limits)
        with self._lock:
            self._all.add(worker)
        return worker

    def _replace(self) -> None:
        # In the background: the caller already has its answer. A replacement that fails
        # to start is tried again (backing off) so the pool never stays short of a worker.
        delay = REPLACE_RETRY_S
        while not self._closed.is_set():
            worker = self._new_worker()
            if worker.wait_ready(READY_TIMEOUT_S) and not self._closed.is_set():
                self._idle.put(worker)
                return
            if self._closed.is_set():  # shutting down: close() stops every worker
                self._discard(worker)
                return
            log.error("replacement worker failed to start (%s)", worker.exit_description())
            self._discard(worker)
            if self._closed.wait(delay):
                return
            delay = min(delay * 2, REPLACE_RETRY_MAX_S)

    def _discard(self, worker: Worker) -> None:
        worker.stop()
        with self._lock:
            self._all.discard(worker)

    def acquire(self, timeout: float, *, long_call: bool = False) -> Worker | None:
        """An idle, live worker, or None when none is free within ``timeout``.

        A long call first takes one of the long lane's places (waiting within the same
        ``timeout``). A worker that died while idle (killed, out of memory) is replaced in the
        background and the next idle one is tried: a call never goes to a dead worker.
        """
        deadline = time.monotonic() + timeout
        if not long_call:
            return self._idle_worker(deadline)
        with self._lock:
            if self._long_admitted >= 2 * self.long_places:
                return None  # as many long calls wait as run: refused, not queued
            self._long_admitted += 1
        worker = None
        if self._long_gate.acquire(timeout=max(0.0, timeout)):
            worker = self._idle_worker(deadline)
            if worker is None:
                self._long_gate.release()
        if worker is None:
            self._end_long_call()
            return None
        worker.long_call = True
        return worker

    def _end_long_call(self) -> None:
        with self._lock:
            self._long_admitted -= 1

    def _idle_worker(self, deadline: float) -> Worker | None:
        while not self._closed.is_set():
            try:
                worker = self._idle.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                return None
            if not worker.usable():
                log.warning(
                    "idle worker pid=%s is gone (%s); replacing it",
                    worker.process.pid,
                    worker.exit_description(),
                )
                self._discard(worker)
                threading.Thread(target=self._replace, daemon=True).start()
                continue
            worker.calls += 1
            return worker
        return None

    def pids(self) -> list[int]:
        """Process ids of the live, started workers (idle or busy; not those starting)."""
        with self._lock:
            workers = [w for w in self._all if w.ready and w.process.pid]
        return sorted(w.process.pid for w in workers if w.process.is_alive())

    def release(self, worker: Worker, *, reusable: bool) -> None:
        if worker.long_call:
            worker.long_call = False
            self._long_gate.release()
            self._end_long_call()
        if reusable and worker.calls < self._max_calls and not self._closed.is_set():
            self._idle.put(worker)
            return
        log.info("replacing worker pid=%s after %d calls", worker.process.pid, worker.calls)
        self._discard(worker)
        threading.Thread(target=self._replace, daemon=True).start()

    def close(self) -> None:
        self._closed.set()
        with self._lock:
            workers = list(self._all)
            self._all.clear()
        for worker in workers:
            worker.stop()
