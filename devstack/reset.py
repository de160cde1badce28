"""``python -m devstack.reset`` (``make dev-reset``): forget everything the dev stack kept.

Removes the state directory (``.aion-dev/`` or ``AION_DEV_STATE_DIR``): tables, files, queued
messages, the admin's password and the signing keys. Refused while a dev stack runs on it.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from devstack.state import STATE_DIR_ENV, StateDir, StateInUse, default_state_dir


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack.reset", description=__doc__)
    parser.add_argument("--state-dir", type=Path, default=None, help=f"(default: {STATE_DIR_ENV})")
    args = parser.parse_args(argv)
    state = StateDir(args.state_dir or default_state_dir())
    shown = os.path.relpath(state.path) if state.path.is_relative_to(Path.cwd()) else state.path
    try:
        removed = state.wipe()
    except StateInUse as exc:
        print(f"not reset: {exc}", file=sys.stderr)
        return 2
    if removed:
        print(
            f"dev-reset: removed {shown}/ (tables, files, queued messages, the admin's password "
            "and the signing keys); the next start is empty and prints a new admin password"
        )
    else:
        print(f"dev-reset: nothing kept in {shown}/; the next start is empty")
    return 0


if __name__ == "__main__":
    sys.exit(main())
