"""``.aion-dev/``: what the dev stack keeps between runs, and the file that names a running one.

    .aion-dev/
      lock          held (flock) by the running dev stack: one stack per state directory
      moto/         tables, queued messages, files (devstack.persistence: snapshot + journal)
      secrets.json  AION_JWT_SECRET and AION_BRIDGE_TOKEN, so tokens outlive a restart
      admin.json    the admin's email and the password generated on the first start
      stack.json    while a stack runs: its pid, URLs and moto endpoint (``make admin`` reads it)

Everything is private to the user (0700 directory, 0600 files). ``wipe`` is ``make dev-reset``.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import secrets
import shutil
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PROJECT_DIR = Path(__file__).resolve().parent.parent
STATE_DIR_ENV = "AION_DEV_STATE_DIR"
DEFAULT_DIR_NAME = ".aion-dev"


class StateInUse(RuntimeError):
    """Another dev stack runs on this state directory."""

    def __init__(self, path: Path, pid: int | None) -> None:
        who = f"pid {pid}" if pid else "another process"
        super().__init__(f"{path} is in use by a running dev stack ({who}); stop it first")
        self.path = path
        self.pid = pid


def default_state_dir(
    project_dir: Path = PROJECT_DIR, env: Mapping[str, str] | None = None
) -> Path:
    env = os.environ if env is None else env
    configured = (env.get(STATE_DIR_ENV) or "").strip()
    return Path(configured).expanduser() if configured else project_dir / DEFAULT_DIR_NAME


def write_private(path: Path, text: str) -> None:
    """Atomically (readers see all or nothing) and readable by the user only."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(text)
    os.replace(tmp, path)


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass
class AdminCredentials:
    email: str
    password: str
    first_start: bool  # generated (or first stored) by this start


class StateDir:
    def __init__(self, path: Path) -> None:
        self.path = path.resolve()
        self.moto = self.path / "moto"
        self.secrets_file = self.path / "secrets.json"
        self.admin_file = self.path / "admin.json"
        self.stack_file = self.path / "stack.json"
        self.lock_file = self.path / "lock"
        self._lock_fd: int | None = None

    @property
    def is_new(self) -> bool:
        return not self.moto.exists()

    def acquire(self) -> None:
        """Create the directory and hold its lock for this process's lifetime."""
        self.path.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(self.lock_file, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise StateInUse(self.path, self.running_pid()) from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._lock_fd = fd

    def release(self) -> None:
        """Drop the lock (and stack.json) if this process holds it; else nothing."""
        if self._lock_fd is None:
            return
        self.stack_file.unlink(missing_ok=True)
        os.close(self._lock_fd)  # closing drops the flock
        self._lock_fd = None

    def running_pid(self) -> int | None:
        try:
            text = self.lock_file.read_text().strip()
        except OSError:
            return None
        return int(text) if text.isdigit() else None

    def in_use(self) -> bool:
        """True while some dev stack holds the lock."""
        if not self.lock_file.exists():
            return False
        fd = os.open(self.lock_file, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        finally:
            os.close(fd)
        return False

    # ------------------------------------------------------------------ kept between runs

    def secrets(self) -> dict[str, str]:
        """The stack's signing key and bridge token: generated once, then the same every start."""
        stored = _read_json(self.secrets_file) or {}
        wanted = {
            "AION_JWT_SECRET": lambda: secrets.token_urlsafe(48),
            "AION_BRIDGE_TOKEN": lambda: secrets.token_urlsafe(32),
        }
        changed = False
        for name, generate in wanted.items():
            if not isinstance(stored.get(name), str) or not stored[name]:
                stored[name] = generate()
                changed = True
        if changed:
            write_private(self.secrets_file, json.dumps(stored, indent=2) + "\n")
        return {name: stored[name] for name in wanted}

    def admin(self, email: str, password: str | None, generate: Any) -> AdminCredentials:
        """The admin to ensure: an explicit password wins (and is stored), else the stored one,
        else a generated one (stored). ``first_start`` says whether to print it."""
        stored = _read_json(self.admin_file) or {}
        same_admin = stored.get("email") == email and isinstance(stored.get("password"), str)
        if password:
            first = not same_admin or stored.get("password") != password
        elif same_admin:
            return AdminCredentials(email, stored["password"], first_start=False)
        else:
            password, first = generate(), True
        write_private(self.admin_file, json.dumps({"email": email, "password": password}) + "\n")
        return AdminCredentials(email, password, first_start=first)

    # ------------------------------------------------------------------ the running stack

    def write_stack(self, info: Mapping[str, Any]) -> None:
        write_private(self.stack_file, json.dumps(dict(info), indent=2) + "\n")

    def wipe(self) -> bool:
        """Remove everything kept (``make dev-reset``); False if there was nothing."""
        if self.in_use():
            raise StateInUse(self.path, self.running_pid())
        if not self.path.exists():
            return False
        shutil.rmtree(self.path)
        return True


def running_stack(path: Path) -> dict[str, Any] | None:
    """The stack.json of a dev stack that is running on ``path``, or None."""
    info = _read_json(path / "stack.json")
    if not info or not isinstance(info.get("pid"), int) or not pid_alive(info["pid"]):
        return None
    if not StateDir(path).in_use():
        return None
    return info


@contextlib.contextmanager
def held(state: StateDir) -> Iterator[StateDir]:
    state.acquire()
    try:
        yield state
    finally:
        state.release()
