"""``Client``: one API, one identity, and the resources as attributes."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx

from aion_client._http import DEFAULT_MAX_RETRIES, DEFAULT_TIMEOUT_S, HttpSession
from aion_client.auth import (
    ApiKeyCredentials,
    Credentials,
    SessionCredentials,
    login_with_password,
)
from aion_client.errors import ConfigurationError
from aion_client.models import User
from aion_client.resources import ApiKeys, Files, Projects, Reviews, Router, Tasks
from aion_client.settings import (
    ENV_API_KEY,
    ENV_PROJECT,
    ENV_URL,
    ENV_WS_URL,
    LoginStore,
    StoredLogin,
    derive_ws_url,
    env,
    normalize_url,
)


class Client:
    """A client of one AION API.

    Who it acts as, first found wins: ``api_key``; ``email`` and ``password`` (a login session
    that refreshes itself); ``AION_API_KEY``; the login ``aion login`` stored for this URL.
    The URL: ``url``, else ``AION_URL``, else the stored login's. ``project`` (else
    ``AION_PROJECT``) is used where a project is needed and none is named.
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        api_key: str | None = None,
        email: str | None = None,
        password: str | None = None,
        project: str | None = None,
        ws_url: str | None = None,
        timeout: float = DEFAULT_TIMEOUT_S,
        max_retries: int = DEFAULT_MAX_RETRIES,
        store: LoginStore | None = None,
        use_stored_login: bool = True,
        credentials: Credentials | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if bool(email) != bool(password):
            raise ConfigurationError("Give both an email and a password, or neither.")
        self.store = store if store is not None else LoginStore()
        raw_url = url or env(ENV_URL)
        stored: StoredLogin | None = None
        if use_stored_login and not (credentials or api_key or email or env(ENV_API_KEY)):
            stored = self.store.load(raw_url)
            raw_url = raw_url or (stored.url if stored else None)
        if not raw_url:
            raise ConfigurationError(
                f"No API URL: set {ENV_URL} (e.g. http://127.0.0.1:8000/api) or run aion login."
            )
        self.url = normalize_url(raw_url)
        self.project = project or env(ENV_PROJECT)
        self._ws_url = ws_url or env(ENV_WS_URL) or (stored.ws_url if stored else None)
        self.credentials = credentials or self._credentials(api_key, email, password, stored)
        self.http = HttpSession(
            self.url,
            self.credentials,
            timeout=timeout,
            max_retries=max_retries,
            transport=transport,
            sleep=sleep,
        )
        self.projects = Projects(self)
        self.tasks = Tasks(self)
        self.files = Files(self)
        self.reviews = Reviews(self)
        self.router = Router(self)
        self.api_keys = ApiKeys(self)

    def _credentials(
        self,
        api_key: str | None,
        email: str | None,
        password: str | None,
        stored: StoredLogin | None,
    ) -> Credentials:
        if api_key:
            return ApiKeyCredentials(api_key)
        if email and password:
            return SessionCredentials(email=email, password=password)
        key = env(ENV_API_KEY)
        if key:
            return ApiKeyCredentials(key)
        if stored is not None:
            return SessionCredentials.from_store(self.store, stored)
        raise ConfigurationError(
            f"Not logged in to {self.url}: set {ENV_API_KEY}, or run aion login."
        )

    # ---- identity

    @classmethod
    def login(
        cls,
        url: str,
        email: str,
        password: str,
        *,
        store: LoginStore | None = None,
        ws_url: str | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> Client:
        """Log in with email and password, keep the session in the login file, and return a
        client that uses it (refreshing and storing its tokens as they rotate)."""
        store = store if store is not None else LoginStore()
        url = normalize_url(url)
        http = HttpSession(url, None, transport=transport, sleep=sleep)
        try:
            pair = login_with_password(http, email, password)
        finally:
            http.close()
        store.save(
            StoredLogin(
                url=url,
                refresh_token=pair.refresh_token,
                access_token=pair.access_token,
                access_expires_at=time.time() + pair.expires_in if pair.expires_in else None,
                email=pair.user.email if pair.user else email,
                user_id=pair.user.id if pair.user else None,
                ws_url=ws_url,
            )
        )
        stored = store.load(url)
        assert stored is not None  # just saved
        return cls(
            url,
            store=store,
            ws_url=ws_url,
            credentials=SessionCredentials.from_store(store, stored),
            transport=transport,
            sleep=sleep,
        )

    def logout(self) -> bool:
        """End the stored login session for this URL (server side too); True if there was one."""
        stored = self.store.load(self.url)
        if stored is None:
            return False
        try:
            self.http.request(
                "POST",
                "/auth/logout",
                json={"refreshToken": stored.refresh_token},
                authenticate=False,
                retry=False,
            )
        finally:
            self.store.remove(self.url)
        return True

    def me(self) -> User:
        return User.model_validate(self.http.request("GET", "/me"))

    def health(self) -> dict[str, Any]:
        return self.http.request("GET", "/health", authenticate=False) or {}

    # ---- WebSocket endpoint

    @property
    def ws_url(self) -> str:
        """The WebSocket endpoint: given (``ws_url``, ``AION_WS_URL``), else beside the API."""
        return self._ws_url or derive_ws_url(self.url)

    def ws_url_from_server(self, told: str | None) -> str:
        """A URL set here wins; else the one the server names; else the derived one."""
        if self._ws_url:
            return self._ws_url
        return told or derive_ws_url(self.url)

    # ---- lifetime

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Client(url={self.url!r})"
