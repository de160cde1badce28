"""Property-based run over the generated OpenAPI document, against the app served on 127.0.0.1.

A tiny WSGI server (one thread, so requests never overlap) turns HTTP requests into
``chalice.test.Client`` calls, over in-process moto. Every response must be a non-5xx that
matches the documented status codes, content type and schema. Examples per operation are
bounded so the run takes well under a minute.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from moto import mock_aws
from schemathesis import checks

MAX_EXAMPLES = int(os.environ.get("AION_SCHEMATHESIS_EXAMPLES", "12"))
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_headers_conformance,
    checks.response_schema_conformance,
]


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def _wsgi_adapter(client: Any):  # type: ignore[no-untyped-def]
    """WSGI -> chalice.test.Client: the request as API Gateway would pass it to the Lambda."""

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        headers = {
            key[5:].replace("_", "-").title(): value
            for key, value in environ.items()
            if key.startswith("HTTP_")
        }
        if body and environ.get("CONTENT_TYPE"):  # wsgiref invents text/plain otherwise
            headers["Content-Type"] = environ["CONTENT_TYPE"]
        path = environ.get("PATH_INFO", "/")
        if environ.get("QUERY_STRING"):
            path += "?" + environ["QUERY_STRING"]
        response = client.http.request(environ["REQUEST_METHOD"], path, headers=headers, body=body)
        reason = "OK" if response.status_code < 400 else "Error"
        start_response(f"{response.status_code} {reason}", list(response.headers.items()))
        return [response.body or b""]

    return app


@pytest.fixture(scope="module")
def served_api() -> Iterator[dict[str, Any]]:
    """moto + tables + queue + bucket, an admin token, and the app on a free local port."""
    with pytest.MonkeyPatch.context() as patch, mock_aws():
        import boto3
        from chalice.test import Client

        from chalicelib.auth.tokens import issue_access_token
        from chalicelib.dal.registry import create_all_tables
        from chalicelib.shared.caches import reset_process_caches

        create_all_tables()
        queue = boto3.client("sqs", region_name="us-east-1").create_queue(QueueName="st-dispatch")
        boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="aion-test-files")
        patch.setenv("AION_DISPATCH_QUEUE_URL", queue["QueueUrl"])
        reset_process_caches()  # module scope: the reset_caches fixture is per test
        import app
        from chalicelib.api.rest import openapi_document
        from chalicelib.logic.users import create_user
        from chalicelib.models.users import UserCreate

        admin = create_user(
            UserCreate(
                email="st-admin@example.test", name="A", password="st-password", role="admin"
            )
        )
        token, _ = issue_access_token(admin.id, "admin")
        with Client(app.app) as client:
            server: WSGIServer = make_server(
                "127.0.0.1", 0, _wsgi_adapter(client), handler_class=_QuietHandler
            )
            thread = threading.Thread(target=server.serve_forever, daemon=True)
            thread.start()
            try:
                base = f"http://127.0.0.1:{server.server_port}"
                yield {"base_url": base, "token": token, "document": openapi_document()}
            finally:
                server.shutdown()
                server.server_close()
                thread.join(timeout=5)
        reset_process_caches()


def _schema(base_url: str | None = None) -> Any:
    import app  # noqa: F401 - registers every blueprint's routes
    from chalicelib.api.rest import openapi_document

    schema = schemathesis.openapi.from_dict(json.loads(json.dumps(openapi_document())))
    if base_url:
        schema.config.update(base_url=base_url)
    return schema


OPERATIONS = sorted((op.ok().path, op.ok().method.upper()) for op in _schema().get_all_operations())


@pytest.mark.parametrize(("path", "method"), OPERATIONS, ids=[f"{m} {p}" for p, m in OPERATIONS])
def test_api_conforms_to_its_openapi(served_api: dict[str, Any], path: str, method: str) -> None:
    operation = _schema(served_api["base_url"])[path][method]
    headers = {"Authorization": f"Bearer {served_api['token']}"}

    @given(case=operation.as_strategy())
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any) -> None:
        case.call_and_validate(headers=headers, checks=CHECKS, timeout=30)

    run()


# Bodies no generator produces (schemathesis serialises with Python's json, which refuses or
# cannot nest them): each must be a documented 400 in the envelope on every operation with a
# JSON body, never a 5xx (issue 16: a RecursionError once answered 500, NaN was stored as null).
HOSTILE_BODIES = {
    "nested-1000": ("[" * 1000 + "]" * 1000, "json_too_deep"),
    "nested-object": ('{"a":' * 200 + "1" + "}" * 200, "json_too_deep"),
    "nan": ('{"x": NaN}', "non_finite_number"),
    "infinity": ('{"x": [Infinity]}', "non_finite_number"),
    "overflow": ('{"x": 1e999}', "non_finite_number"),
    "lone-surrogate": ('{"x": "\\ud800"}', "invalid_unicode"),
}
BODY_OPERATIONS = sorted(
    (op.ok().path, op.ok().method.upper())
    for op in _schema().get_all_operations()
    if op.ok().body  # operations that declare a JSON request body
)


@pytest.mark.parametrize(
    ("path", "method"), BODY_OPERATIONS, ids=[f"{m} {p}" for p, m in BODY_OPERATIONS]
)
def test_hostile_json_bodies_are_documented_400s(
    served_api: dict[str, Any], path: str, method: str
) -> None:
    operation = _schema(served_api["base_url"])[path][method]
    names = [p.name for p in operation.path_parameters]
    headers = {
        "Authorization": f"Bearer {served_api['token']}",
        "Content-Type": "application/json",
        "X-Bridge-Token": os.environ["AION_BRIDGE_TOKEN"],
        "If-Match": "1",
    }
    for name, (raw, code) in HOSTILE_BODIES.items():
        case = operation.Case(
            path_parameters=dict.fromkeys(names, "x"), media_type="application/json"
        )
        response = case.call(headers=headers, data=raw.encode(), timeout=30)
        assert response.status_code == 400, (name, response.status_code, response.text)
        assert response.json()["error"]["code"] == code, name
        case.validate_response(response, checks=CHECKS)
