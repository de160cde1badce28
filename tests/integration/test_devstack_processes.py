"""Children of the dev stack: the supervised executor (restart with back-off, stop by PID)."""

from __future__ import annotations

import os
import sys
import textwrap
import time

from devstack import procs
from devstack.executor_proc import ExecutorSupervisor, executor_available

# Listens on AION_EXECUTOR_PORT like the real executor; exits after a while when told to.
FAKE_EXECUTOR = textwrap.dedent(
    """
    import os, socket, sys, time
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((os.environ["AION_EXECUTOR_HOST"], int(os.environ["AION_EXECUTOR_PORT"])))
    sock.listen()
    print("fake executor up", flush=True)
    time.sleep(float(sys.argv[1]))
    """
)


def test_executor_available_checks_for_a_main_module() -> None:
    assert executor_available("devstack") is True  # has __main__
    assert executor_available("devstack_no_such_module") is False
    assert executor_available("tests") is False  # a package without __main__


def test_supervisor_restarts_a_dead_executor_and_stops_it_by_pid() -> None:
    port = procs.free_port()
    supervisor = ExecutorSupervisor(
        dict(os.environ),
        port=port,
        argv=[sys.executable, "-c", FAKE_EXECUTOR, "0.5"],
        grace_s=1,
    )
    assert supervisor.target == f"127.0.0.1:{port}"
    try:
        supervisor.start()
        assert supervisor.wait_ready(timeout_s=10) is True
        first_pid = supervisor.pid
        assert first_pid is not None
        deadline = time.monotonic() + 10
        while supervisor.restarts < 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert supervisor.restarts >= 1
        assert procs.wait_for_port(port, timeout_s=10)
    finally:
        supervisor.stop()
    assert supervisor.pid is None
    assert supervisor.proc is not None
    assert supervisor.proc.poll() is not None


def test_stop_kills_a_child_that_ignores_sigterm() -> None:
    ignore = (
        "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
        "print('up', flush=True); time.sleep(60)"
    )
    proc = procs.spawn([sys.executable, "-c", ignore], env=dict(os.environ), stdout=-1)
    assert proc.stdout is not None
    assert proc.stdout.readline() == b"up\n"
    code = procs.stop(proc, grace_s=0.5, name="stubborn")
    assert code == -9  # SIGKILLed after the grace period (it would have slept a minute)


def test_children_die_with_the_dev_stack() -> None:
    """A SIGKILLed dev stack leaves no child behind (PR_SET_PDEATHSIG via devstack._child)."""
    script = textwrap.dedent(
        """
        import os, sys
        from devstack import procs
        child = procs.spawn([sys.executable, "-c", "import time; time.sleep(60)"], env=os.environ)
        print(child.pid, flush=True)
        import time; time.sleep(60)
        """
    )
    parent = procs.spawn([sys.executable, "-c", script], env=dict(os.environ), stdout=-1)
    assert parent.stdout is not None
    child_pid = int(parent.stdout.readline())
    parent.kill()
    parent.wait(5)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            os.kill(child_pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    else:
        os.kill(child_pid, 9)
        raise AssertionError("the child outlived its parent")
