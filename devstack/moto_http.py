"""The HTTP side of the dev stack's moto child: keep-alive, no per-request log, cached routing.

``moto.server.main`` serves moto through werkzeug's development server, which answers every
request with ``Connection: close`` (werkzeug cannot drain an unread request body before the
next request line, so it never keeps a connection) and then waits 10 ms on the socket for
stray body bytes. Every botocore call of the dev stack thus paid a TCP connect, a socket
close and a thread start in moto - several times per task. Here:

- ``KeepAliveHandler`` reads the request body in full (``Content-Length``) before the app
  runs, so the connection always sits at the next request line, and answers HTTP/1.1 with an
  exact ``Content-Length`` and without ``Connection: close``. A chunked request body (no
  length) falls back to werkzeug's own path, which closes the connection afterwards.
- The request log (one line per request through ``logging``) is off unless asked for.
- Why not a WSGI server package: measured with moto's app behind each (DynamoDB Put+Get,
  4 threads, same run), waitress 3.0.2 served 663 requests/s, cheroot 11.1.2 735 and this
  handler 967; the benchmark through the dev stack depends on that margin.
- ``CachedDispatcher`` remembers which moto backend serves a host name: moto's own lookup
  lists and stats every folder of the moto package on every request, under a global lock.
  Likewise each response class's method names (``cache_method_names``), and the request id
  regex over bodies that cannot hold one (``skip_request_id_scan``).

Only the dev stack's moto process imports this; Lambda code never does.
"""

from __future__ import annotations

import email.parser
import http.client
import io
import logging
import os
import signal
import sys
from typing import Any

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler
from werkzeug.exceptions import InternalServerError
from werkzeug.serving import BaseWSGIServer, make_server

from devstack.moto_backend import READY_PATH

log = logging.getLogger("devstack.moto_http")

# An idle keep-alive connection is closed after this long, so threads of clients that went
# away do not pile up; botocore (urllib3) notices a closed pooled connection and reconnects.
IDLE_TIMEOUT_S = 120
# http.client's limits for a header block.
_MAX_LINE = 65536
_MAX_HEADERS = 100
# Bodies without content (RFC 9110): never send one, never count one.
_NO_BODY_STATUSES = frozenset({204, 304})


class KeepAliveHandler(MotoRequestHandler):
    """moto's request handler on persistent HTTP/1.1 connections."""

    protocol_version = "HTTP/1.1"
    timeout = IDLE_TIMEOUT_S
    # Headers and body are two writes; with Nagle on, the body waits for the client's delayed
    # ACK of the headers (~40 ms) on a kept-alive connection.
    disable_nagle_algorithm = True
    request_log = False  # set on a subclass by ``serve`` when a request log is wanted

    def run_wsgi(self) -> None:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            # No length to read ahead: werkzeug's path (it closes the connection itself).
            super().run_wsgi()
            self.close_connection = True
            return
        if self.headers.get("Expect", "").lower().strip(" \t") == "100-continue":
            # botocore sends S3 bodies only after this (or after waiting a second).
            self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            self.wfile.flush()
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            self.send_error(400, "Bad Content-Length")
            self.close_connection = True
            return
        body = self.rfile.read(length) if length > 0 else b""
        if len(body) < length:
            self.close_connection = True  # the client went away mid-body
            return
        self.environ = environ = self.make_environ()
        environ["wsgi.input"] = io.BytesIO(body)
        status, headers, payload = self._call_app(environ)
        self._respond(status, headers, payload)

    def _call_app(self, environ: dict[str, Any]) -> tuple[str, list[tuple[str, str]], bytes]:
        """Run the app to completion; (status line, headers, whole body)."""
        started: dict[str, Any] = {}

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None):
            started["status"], started["headers"] = status, headers
            return lambda data: chunks.append(data)  # the legacy write() callable

        chunks: list[bytes] = []
        try:
            result = self.server.app(environ, start_response)
            try:
                chunks.extend(result)
            finally:
                if hasattr(result, "close"):
                    result.close()
        except Exception:
            log.exception("moto failed on %s %s", self.command, self.path)
            chunks = []
            result = InternalServerError()(environ, start_response)
            chunks.extend(result)
        return started["status"], started["headers"], b"".join(chunks)

    def _respond(self, status: str, headers: list[tuple[str, str]], payload: bytes) -> None:
        code_text, _, reason = status.partition(" ")
        code = int(code_text)
        self.send_response(code, reason)
        declared = None
        for key, value in headers:
            lowered = key.lower()
            if lowered == "content-length":
                declared = value
            elif lowered not in ("connection", "transfer-encoding"):
                self.send_header(key, value)
        no_body = code in _NO_BODY_STATUSES or code < 200
        if self.command == "HEAD":
            # A HEAD answer describes the body it does not carry (S3 HeadObject's length).
            if declared is not None:
                self.send_header("Content-Length", declared)
        elif not no_body:
            self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if payload and self.command != "HEAD" and not no_body:
            self.wfile.write(payload)
        self.wfile.flush()

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        if self.request_log:
            super().log_request(code, size)


class CachedDispatcher(DomainDispatcherApplication):
    """moto's host-based dispatcher with the host -> backend answer remembered.

    The answer depends only on the host name (moto's module list and URL patterns are fixed
    for the life of the process), so the cache is exact.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._backends: dict[str | None, Any] = {}

    def get_backend_for_host(self, host: str | None) -> Any:
        try:
            return self._backends[host]
        except KeyError:
            backend = super().get_backend_for_host(host)
            self._backends[host] = backend  # callers hold self.lock
            return backend


def _fast_parse_headers(fp: Any, _class: type = http.client.HTTPMessage) -> Any:
    """``http.client.parse_headers`` without the email package's feed parser for plain headers.

    Same limits (line length, count) and the same message object; a folded (obsolete) or
    malformed line goes to the stdlib parser, which reports it the way it always has.
    """
    lines: list[bytes] = []
    while True:
        line = fp.readline(_MAX_LINE + 1)
        if len(line) > _MAX_LINE:
            raise http.client.LineTooLong("header line")
        if line in (b"\r\n", b"\n", b""):
            break
        lines.append(line)
        if len(lines) > _MAX_HEADERS:
            raise http.client.HTTPException(f"got more than {_MAX_HEADERS} headers")
    message = _class()
    for line in lines:
        name, colon, value = line.decode("iso-8859-1").rstrip("\r\n").partition(":")
        if not colon or not name or name.strip() != name:
            text = b"".join(lines).decode("iso-8859-1")
            return email.parser.Parser(_class=_class).parsestr(text)
        message[name] = value.lstrip(" \t")
    return message


def fast_header_parsing() -> None:
    """Parse request headers without the email package (a large share of moto's CPU per call).

    ``http.server`` calls ``http.client.parse_headers`` through the module at request time;
    this process serves only moto, so replacing it here affects nothing else.
    """
    # typeshed spells parse_headers as overloads (by _class); this one function covers both.
    http.client.parse_headers = _fast_parse_headers  # type: ignore[assignment]


def cache_method_names() -> None:
    """Remember each response class's method names (moto lists them on every request).

    ``BaseResponse.call_action`` asks ``inspect.getmembers`` for the class's functions to see
    whether the action is one of them; classes do not change while the server runs.
    """
    from moto.core import responses

    original = responses.method_names_from_class
    if getattr(original, "cached", False):
        return
    known: dict[object, list[str]] = {}

    def method_names_from_class(clazz: object) -> list[str]:
        names = known.get(clazz)
        if names is None:
            names = known[clazz] = original(clazz)
        return names

    method_names_from_class.cached = True  # type: ignore[attr-defined]
    responses.method_names_from_class = method_names_from_class


def skip_request_id_scan() -> None:
    """Scan a response body for ``<RequestId>`` only when it can contain one.

    moto runs ``re.sub(r"(?<=<RequestId>).*(?=</RequestId>)", ...)`` over every response body
    to stamp the request id into XML. On a JSON answer that carries a task's input (GetItem of
    a 200 KB item) that regex walks every character for nothing. Without the tag the result
    is the body itself, so only the header half of the method needs to run.
    """
    from moto.core.responses import BaseResponse

    original = BaseResponse._enrich_response
    if getattr(original, "scoped", False):
        return

    def enrich(headers: dict[str, str], body: Any) -> tuple[dict[str, str], Any]:
        if isinstance(body, str) and "<RequestId>" not in body:
            headers, _ = original(headers, "")
            return headers, body
        return original(headers, body)

    enrich.scoped = True  # type: ignore[attr-defined]
    BaseResponse._enrich_response = staticmethod(enrich)  # type: ignore[method-assign]


def _answering_ready(app: Any) -> Any:
    """``GET /_devstack/ready`` answers at once (the dev stack's readiness probe): moto's own
    ``/moto-api/data.json`` serializes every stored item, seconds once the state is large."""

    def ready_or_app(environ: dict[str, Any], start_response: Any) -> Any:
        if environ.get("PATH_INFO") == READY_PATH:
            start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "3")])
            return [b"ok\n"]
        return app(environ, start_response)

    return ready_or_app


def build_server(
    host: str, port: int, *, request_log: bool = False, wrap_app: Any = None
) -> BaseWSGIServer:
    """A threaded keep-alive server for moto's backends on ``host:port``.

    ``wrap_app`` (WSGI app -> WSGI app) runs around every request (the state journal).
    """
    from moto.moto_server.werkzeug_app import create_backend_app

    cache_method_names()
    fast_header_parsing()
    skip_request_id_scan()

    app: Any = CachedDispatcher(create_backend_app)
    if wrap_app is not None:
        app = wrap_app(app)
    app = _answering_ready(app)
    handler = type("Handler", (KeepAliveHandler,), {"request_log": request_log})
    return make_server(host, port, app, threaded=True, request_handler=handler)


def serve(host: str, port: int, *, request_log: bool = False, wrap_app: Any = None) -> None:
    """Serve until SIGTERM/SIGINT (as ``moto.server.main`` does: exit on either)."""
    os.environ.setdefault("MOTO_PORT", str(port))  # moto builds some URLs from it
    server = build_server(host, port, request_log=request_log, wrap_app=wrap_app)

    def stop(signum: int, frame: Any) -> None:
        sys.exit(0)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    server.serve_forever()
