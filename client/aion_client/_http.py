"""One HTTP session to the API: credentials, error mapping, retries with backoff, paging.

Retried, with exponential backoff and jitter, only where repeating cannot do a thing twice:
- a connection that could not be opened (nothing was sent), for any request;
- idempotent methods (GET, HEAD, PUT, DELETE), and POSTs that carry an ``Idempotency-Key`` or
  are marked idempotent by the caller, after a broken connection or a 502/503/504;
- 429 for any request (the API refused it unprocessed), after ``Retry-After`` when given.
A 401 is answered once by renewing the credentials (token refresh), then the request is sent
again. ``POST /auth/refresh`` is never retried: the server takes a second use of a refresh
token as theft.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

import httpx

from aion_client._version import __version__
from aion_client.errors import ApiError, TransportError, api_error, retry_after_seconds

if TYPE_CHECKING:
    from aion_client.auth import Credentials
    from aion_client.models import ApiModel

ModelT = TypeVar("ModelT", bound="ApiModel")

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
RETRY_STATUSES = frozenset({502, 503, 504})
DEFAULT_TIMEOUT_S = 30.0
DEFAULT_MAX_RETRIES = 3
BACKOFF_BASE_S = 0.5
BACKOFF_CAP_S = 8.0
# A Retry-After longer than this is not waited out: the error goes to the caller.
MAX_RETRY_AFTER_S = 60.0
PAGE_SIZE = 100


def backoff_delay(attempt: int, rng: Callable[[], float] = random.random) -> float:
    """Exponential backoff with jitter: ~0.5, 1, 2, 4, 8 s (each between half and whole)."""
    ceiling = min(BACKOFF_CAP_S, BACKOFF_BASE_S * (2**attempt))
    return ceiling * (0.5 + rng() / 2)


class HttpSession:
    def __init__(
        self,
        base_url: str,
        credentials: Credentials | None,
        *,
        timeout: float = DEFAULT_TIMEOUT_S,
        max_retries: int = DEFAULT_MAX_RETRIES,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base_url = base_url
        self.credentials = credentials
        self.max_retries = max_retries
        self.sleep = sleep
        self._transport = transport
        self._timeout = timeout
        self._client = httpx.Client(
            base_url=base_url + "/",
            timeout=timeout,
            transport=transport,
            headers={"User-Agent": f"aion-client/{__version__}", "Accept": "application/json"},
            follow_redirects=False,
        )

    def close(self) -> None:
        self._client.close()

    def external(self) -> httpx.Client:
        """A client without the API's credentials, for presigned URLs (S3 must not see them)."""
        return httpx.Client(timeout=max(self._timeout, 120.0), transport=self._transport)

    # ---- requests

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        authenticate: bool = True,
        idempotent: bool | None = None,
        retry: bool = True,
    ) -> Any:
        """Send one API request; the decoded JSON answer (None for 204), or an ``ApiError``."""
        response = self.send(
            method,
            path,
            json=json,
            params=params,
            headers=headers,
            authenticate=authenticate,
            idempotent=idempotent,
            retry=retry,
        )
        if response.status_code == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError as exc:
            raise TransportError(
                f"The API at {self.base_url} answered {method} {path} with something that is "
                "not JSON; is AION_URL the API's base URL (ending in /api on the dev stack)?"
            ) from exc

    def send(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        authenticate: bool = True,
        idempotent: bool | None = None,
        retry: bool = True,
    ) -> httpx.Response:
        method = method.upper()
        extra = dict(headers or {})
        if idempotent is None:
            idempotent = method in IDEMPOTENT_METHODS or any(
                k.lower() == "idempotency-key" for k in extra
            )
        query = {k: v for k, v in (params or {}).items() if v is not None}
        attempt = 0
        renewed = False
        while True:
            sent_auth = None
            if authenticate and self.credentials is not None:
                sent_auth = self.credentials.authorization(self)
                if sent_auth:
                    extra["Authorization"] = sent_auth
            try:
                response = self._client.request(
                    method, path.lstrip("/"), json=json, params=query, headers=extra
                )
            except httpx.TransportError as exc:
                # A refused connection sent nothing; anything later may have reached the API.
                unsent = isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout)
                if retry and (unsent or idempotent) and attempt < self.max_retries:
                    self.sleep(backoff_delay(attempt))
                    attempt += 1
                    continue
                raise TransportError(
                    f"Could not reach the AION API at {self.base_url} ({_describe(exc)})."
                ) from exc
            status = response.status_code
            if status == 401 and sent_auth and not renewed and self.credentials is not None:
                renewed = True
                if self.credentials.renew(self, sent_auth):
                    continue
            if retry and attempt < self.max_retries:
                wait = self._retry_wait(response, attempt, idempotent)
                if wait is not None:
                    self.sleep(wait)
                    attempt += 1
                    continue
            if status >= 400:
                raise self.error(response)
            return response

    def _retry_wait(self, response: httpx.Response, attempt: int, idempotent: bool) -> float | None:
        status = response.status_code
        if status != 429 and not (idempotent and status in RETRY_STATUSES):
            return None
        told = retry_after_seconds(dict(response.headers), _details(response))
        if told is None:
            return backoff_delay(attempt)
        return told if told <= MAX_RETRY_AFTER_S else None

    @staticmethod
    def error(response: httpx.Response) -> ApiError:
        try:
            body = response.json()
        except ValueError:
            body = None
        return api_error(response.status_code, body, dict(response.headers), response.reason_phrase)

    # ---- lists

    def paginate(
        self, path: str, model: type[ModelT], params: Mapping[str, Any] | None = None
    ) -> Iterator[ModelT]:
        """Every item of a list, page after page (``nextCursor``), fetched as they are read."""
        query = {"limit": PAGE_SIZE, **(params or {})}
        while True:
            page = self.request("GET", path, params=query) or {}
            for item in page.get("items") or []:
                yield model.model_validate(item)
            cursor = page.get("nextCursor")
            if not cursor:
                return
            query["cursor"] = cursor


def _details(response: httpx.Response) -> Any:
    try:
        body = response.json()
    except ValueError:
        return None
    error = body.get("error") if isinstance(body, dict) else None
    return error.get("details") if isinstance(error, dict) else None


def _describe(exc: httpx.TransportError) -> str:
    text = str(exc).strip()
    if isinstance(exc, httpx.TimeoutException):
        return "timed out"
    if isinstance(exc, httpx.ConnectError):
        return f"connection failed: {text}" if text else "connection failed"
    return text or type(exc).__name__
