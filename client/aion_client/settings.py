"""Where the SDK finds its settings: the environment, and the login ``aion login`` keeps.

Environment: ``AION_URL`` (API base, e.g. ``http://127.0.0.1:8000/api``), ``AION_API_KEY``,
``AION_PROJECT`` (name or id), ``AION_WS_URL`` (only when the WebSocket is not beside the API,
as on AWS where it is its own endpoint), ``AION_CONFIG_DIR`` (instead of the user's config
directory).

The login file (``credentials.json`` in the config directory) holds, per API URL, the refresh
token and the current access token. It is written atomically with mode 0600 in a 0700
directory, and read-modify-written under a lock file, so two ``aion`` processes sharing one
login never both spend the same refresh token (the server would take that for theft and end
the session).
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from aion_client.errors import ConfigurationError

ENV_URL = "AION_URL"
ENV_API_KEY = "AION_API_KEY"
ENV_PROJECT = "AION_PROJECT"
ENV_WS_URL = "AION_WS_URL"
ENV_CONFIG_DIR = "AION_CONFIG_DIR"

CREDENTIALS_FILE = "credentials.json"
_LOCK_FILE = "credentials.lock"


def env(name: str) -> str | None:
    value = os.environ.get(name, "").strip()
    return value or None


def normalize_url(url: str) -> str:
    """The API base without a trailing slash; refuses anything but http(s)."""
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigurationError(
            f"The API URL must be an http(s) URL such as http://127.0.0.1:8000/api, not {url!r}."
        )
    return urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/"), "", ""))


def derive_ws_url(api_url: str) -> str:
    """The WebSocket beside the API: ``http://host/api`` -> ``ws://host/ws`` (the dev stack's
    layout; a deployment with its own WebSocket endpoint sets AION_WS_URL)."""
    parts = urlsplit(api_url)
    scheme = "wss" if parts.scheme == "https" else "ws"
    path = parts.path.rstrip("/")
    path = path.removesuffix("/api")
    return urlunsplit((scheme, parts.netloc, f"{path}/ws", "", ""))


def config_dir() -> Path:
    explicit = env(ENV_CONFIG_DIR)
    if explicit:
        return Path(explicit).expanduser()
    if sys.platform == "win32" and os.environ.get("APPDATA"):
        return Path(os.environ["APPDATA"]) / "aion"
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "aion"


@dataclass
class StoredLogin:
    """One login: the API it is for, who, and the tokens (secrets: never print them)."""

    url: str
    refresh_token: str = field(repr=False)
    access_token: str | None = field(default=None, repr=False)
    access_expires_at: float | None = None  # epoch seconds
    email: str | None = None
    user_id: str | None = None
    ws_url: str | None = None


class LoginStore:
    """The logins file: ``{"current": url, "logins": {url: StoredLogin}}``."""

    def __init__(self, directory: Path | None = None) -> None:
        self.directory = directory or config_dir()
        self.path = self.directory / CREDENTIALS_FILE
        self._thread_lock = threading.RLock()
        self._depth = 0

    # ---- reading

    def _read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {"current": None, "logins": {}}
        except (OSError, ValueError) as exc:
            raise ConfigurationError(
                f"The login file {self.path} cannot be read ({exc}); run aion login again."
            ) from exc
        if not isinstance(data, dict) or not isinstance(data.get("logins"), dict):
            return {"current": None, "logins": {}}
        return data

    def load(self, url: str | None = None) -> StoredLogin | None:
        """The login for ``url`` (normalized), else the current one when ``url`` is None."""
        data = self._read()
        key = normalize_url(url) if url else data.get("current")
        raw = data["logins"].get(key) if key else None
        if not isinstance(raw, dict) or not raw.get("refresh_token"):
            return None
        known = {name: raw.get(name) for name in StoredLogin.__dataclass_fields__}
        return StoredLogin(**known)

    # ---- writing

    def save(self, login: StoredLogin, *, make_current: bool = True) -> None:
        with self.locked():
            data = self._read()
            login.url = normalize_url(login.url)
            data["logins"][login.url] = asdict(login)
            if make_current or not data.get("current"):
                data["current"] = login.url
            self._write(data)

    def remove(self, url: str) -> bool:
        """Forget the login for ``url``; True if there was one."""
        with self.locked():
            data = self._read()
            key = normalize_url(url)
            found = data["logins"].pop(key, None) is not None
            if data.get("current") == key:
                data["current"] = next(iter(data["logins"]), None)
            if found:
                self._write(data)
            return found

    def _write(self, data: dict[str, Any]) -> None:
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        # mkstemp creates the file 0600; replace() makes it appear whole or not at all.
        fd, tmp = tempfile.mkstemp(prefix=".credentials-", dir=self.directory)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump(data, out, indent=2)
            os.chmod(tmp, 0o600)
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the store's lock: threads of this process, and other processes on POSIX.

        Re-entrant: a refresh holds it across load, refresh and save.
        """
        with self._thread_lock:
            if self._depth:
                self._depth += 1
                try:
                    yield
                finally:
                    self._depth -= 1
                return
            try:
                import fcntl
            except ImportError:  # Windows: the thread lock only
                fcntl = None  # type: ignore[assignment]
            fd = None
            if fcntl is not None:
                self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
                fd = os.open(self.directory / _LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
                fcntl.flock(fd, fcntl.LOCK_EX)
            self._depth = 1
            try:
                yield
            finally:
                self._depth = 0
                if fd is not None:
                    fcntl.flock(fd, fcntl.LOCK_UN)
                    os.close(fd)
