"""How the client proves who it is: an API key, or a login session that refreshes itself.

An API key goes out as ``Authorization: Bearer <key>`` exactly like an access token and never
changes. A session holds a short-lived access token and a refresh token; shortly before the
access token expires (or when the API answers 401 anyway) it calls ``POST /auth/refresh``, which
rotates the refresh token. A session from ``aion login`` writes each rotation back to the
login file under its lock, and adopts a rotation another process made first.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Protocol

from aion_client.errors import AuthenticationError
from aion_client.models import TokenPair
from aion_client.settings import LoginStore, StoredLogin

if TYPE_CHECKING:
    from aion_client._http import HttpSession


def _now() -> float:
    return time.time()


# Refresh this long before the access token's stated expiry (clock skew, request time).
EXPIRY_MARGIN_S = 30.0


class Credentials(Protocol):
    def authorization(self, http: HttpSession) -> str | None:
        """The Authorization header value for the next request."""

    def renew(self, http: HttpSession, rejected: str | None) -> bool:
        """After a 401 for ``rejected``: get fresh credentials; False if there is no way."""


class ApiKeyCredentials:
    def __init__(self, key: str) -> None:
        self._header = f"Bearer {key.strip()}"

    def __repr__(self) -> str:
        return "ApiKeyCredentials(<hidden>)"

    def authorization(self, http: HttpSession) -> str | None:
        return self._header

    def renew(self, http: HttpSession, rejected: str | None) -> bool:
        return False


class SessionCredentials:
    """Access + refresh tokens, from a password login or the login file."""

    def __init__(
        self,
        *,
        refresh_token: str | None = None,
        access_token: str | None = None,
        access_expires_at: float | None = None,
        email: str | None = None,
        password: str | None = None,
        store: LoginStore | None = None,
        url: str | None = None,
    ) -> None:
        self._refresh_token = refresh_token
        self._access_token = access_token
        self._expires_at = access_expires_at
        self._email = email
        self._password = password
        self._store = store
        self._url = url
        self.user_id: str | None = None
        self._lock = threading.RLock()

    def __repr__(self) -> str:
        return f"SessionCredentials(email={self._email!r})"

    @classmethod
    def from_store(cls, store: LoginStore, login: StoredLogin) -> SessionCredentials:
        creds = cls(
            refresh_token=login.refresh_token,
            access_token=login.access_token,
            access_expires_at=login.access_expires_at,
            email=login.email,
            store=store,
            url=login.url,
        )
        creds.user_id = login.user_id
        return creds

    # ---- Credentials

    def authorization(self, http: HttpSession) -> str | None:
        with self._lock:
            if not self._fresh():
                self._obtain(http)
            return f"Bearer {self._access_token}"

    def renew(self, http: HttpSession, rejected: str | None) -> bool:
        with self._lock:
            if rejected != f"Bearer {self._access_token}":
                return True  # another thread renewed it meanwhile
            self._access_token = None
            self._obtain(http)
            return True

    # ---- obtaining tokens

    def _fresh(self) -> bool:
        if not self._access_token:
            return False
        return self._expires_at is None or _now() < self._expires_at - EXPIRY_MARGIN_S

    def _obtain(self, http: HttpSession) -> None:
        if self._refresh_token or self._store is not None:
            try:
                self._refresh(http)
                return
            except AuthenticationError:
                if not self._password:
                    raise
        if self._email and self._password:
            self._accept(login_with_password(http, self._email, self._password))
            return
        raise AuthenticationError(
            "Not logged in: give an API key or an email and password, or run aion login.",
            status=401,
            code="not_logged_in",
        )

    def _refresh(self, http: HttpSession) -> None:
        if self._store is None:
            self._accept(_refresh(http, self._refresh_token or ""))
            return
        with self._store.locked():
            stored = self._store.load(self._url)
            if stored is None:
                raise AuthenticationError(
                    "Not logged in to this API (the login was removed); run aion login.",
                    status=401,
                    code="not_logged_in",
                )
            if stored.refresh_token != self._refresh_token:
                # Another process rotated it first: take its tokens rather than reuse ours.
                self._refresh_token = stored.refresh_token
                self._access_token = stored.access_token
                self._expires_at = stored.access_expires_at
                if self._fresh():
                    return
            try:
                pair = _refresh(http, stored.refresh_token)
            except AuthenticationError:
                # This refresh token is dead for good; forget it so the next run says so at once.
                self._store.remove(stored.url)
                raise
            self._accept(pair)
            stored.refresh_token = pair.refresh_token
            stored.access_token = pair.access_token
            stored.access_expires_at = self._expires_at
            self._store.save(stored, make_current=False)

    def _accept(self, pair: TokenPair) -> None:
        self._access_token = pair.access_token
        self._refresh_token = pair.refresh_token
        self._expires_at = _now() + pair.expires_in if pair.expires_in else None
        if pair.user is not None:
            self.user_id = pair.user.id


def login_with_password(http: HttpSession, email: str, password: str) -> TokenPair:
    body = http.request(
        "POST", "/auth/login", json={"email": email, "password": password}, authenticate=False
    )
    return TokenPair.model_validate(body)


def _refresh(http: HttpSession, refresh_token: str) -> TokenPair:
    # Never retried: a second use of a refresh token whose answer was lost counts as reuse.
    body = http.request(
        "POST",
        "/auth/refresh",
        json={"refreshToken": refresh_token},
        authenticate=False,
        retry=False,
    )
    return TokenPair.model_validate(body)
