"""Launcher for the dev stack's children: die with the dev stack, then exec the real command.

``python -m devstack._child <parent-pid> <argv...>`` asks Linux to SIGTERM this process when its
parent goes away (PR_SET_PDEATHSIG survives exec), so a SIGKILLed dev stack leaves no moto or
executor behind. Done here, single-threaded, rather than in a ``preexec_fn``.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys

PR_SET_PDEATHSIG = 1


def main() -> None:
    parent_pid, argv = int(sys.argv[1]), sys.argv[2:]
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    if os.getppid() != parent_pid:  # the parent died before prctl took effect
        sys.exit(1)
    os.execvp(argv[0], argv)  # noqa: S606 (argv comes from the dev stack itself)


if __name__ == "__main__":
    main()
