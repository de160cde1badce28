"""Property-based runs over the generated OpenAPI document, against the app served on 127.0.0.1.

A tiny WSGI server (one thread, so requests never overlap) turns HTTP requests into
``chalice.test.Client`` calls, over in-process moto. Every schemathesis check is enabled.

- Stateful: schemathesis chains calls through the document's OpenAPI links (create a project,
  then its tasks, their files, ...), as an admin and as a member, so every operation reaches
  its success path; a test asserts that each one answered 2xx at least once (admin-only
  operations: for the admin; the member gets their 403).
- Per operation: generated requests, valid and invalid, for each operation on its own.

What the API legitimately refuses is declared in the document, not suppressed here: a cursor
must be one the list returned (400 invalid_cursor), a PATCH needs If-Match (428), and a method
a path does not declare is 405 with an Allow header. Example counts and scenario lengths are
bounded so both runs take a few minutes at most.
"""

from __future__ import annotations

import json
import os
import threading
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import quote
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import FlakyStrategyDefinition
from moto import mock_aws

from chalicelib.logic.lifecycle import TERMINAL
from chalicelib.models.base import CURSOR_FORMAT
from chalicelib.models.tasks import MEMBER_ID_FORMAT

MAX_EXAMPLES = int(os.environ.get("AION_SCHEMATHESIS_EXAMPLES", "8"))
# Scenarios per role and calls per scenario of the stateful run.
SCENARIOS = int(os.environ.get("AION_SCHEMATHESIS_SCENARIOS", "60"))
STEPS = int(os.environ.get("AION_SCHEMATHESIS_STEPS", "12"))
BUCKET = "aion-test-files"
# The upload a file registration asks for is made (the client's part between the two calls).
UPLOADED_BYTES_LIMIT = 256 * 1024
ROLES = ("admin", "member")

# Values that name state the client was given, never made up (the document's formats say so):
# a list's nextCursor, a project member's id. They come only through the document's links.
for _format in (CURSOR_FORMAT, MEMBER_ID_FORMAT):
    schemathesis.openapi.format(_format, st.nothing())


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
        # PATH_INFO comes percent-decoded (as latin-1): encode it again, or a "%3F" in a path
        # parameter would become the start of a query string.
        path = quote(environ.get("PATH_INFO", "/").encode("latin-1"), safe="/")
        if environ.get("QUERY_STRING"):
            path += "?" + environ["QUERY_STRING"]
        response = client.http.request(environ["REQUEST_METHOD"], path, headers=headers, body=body)
        reason = "OK" if response.status_code < 400 else "Error"
        start_response(f"{response.status_code} {reason}", list(response.headers.items()))
        return [response.body or b""]

    return app


@dataclass
class Served:
    base_url: str
    tokens: dict[str, str]  # role -> access token
    bridge_token: str
    document: dict[str, Any]
    # (role, operationId) -> statuses answered, over every run of this module.
    statuses: dict[tuple[str, str], list[int]] = field(default_factory=lambda: defaultdict(list))


@pytest.fixture(scope="module")
def served_api() -> Iterator[Served]:
    """moto + tables + queue + bucket, an admin and a member, and the app on a free port."""
    with pytest.MonkeyPatch.context() as patch, mock_aws():
        import boto3
        from chalice.test import Client

        from chalicelib.auth.tokens import issue_access_token
        from chalicelib.dal.registry import create_all_tables
        from chalicelib.shared.caches import reset_process_caches

        create_all_tables()
        queue = boto3.client("sqs", region_name="us-east-1").create_queue(QueueName="st-dispatch")
        boto3.client("s3", region_name="us-east-1").create_bucket(Bucket=BUCKET)
        patch.setenv("AION_DISPATCH_QUEUE_URL", queue["QueueUrl"])
        reset_process_caches()  # module scope: the reset_caches fixture is per test
        import app
        from chalicelib.api.rest import openapi_document
        from chalicelib.logic.users import create_user
        from chalicelib.models.users import UserCreate

        tokens = {}
        for role in ROLES:
            user = create_user(
                UserCreate(
                    email=f"st-{role}@example.test", name=role, password="st-password", role=role
                )
            )
            tokens[role] = issue_access_token(user.id, role)[0]
        with Client(app.app) as client:
            server: WSGIServer = make_server(
                "127.0.0.1", 0, _wsgi_adapter(client), handler_class=_QuietHandler
            )
            thread = threading.Thread(target=server.serve_forever, daemon=True)
            thread.start()
            try:
                yield Served(
                    base_url=f"http://127.0.0.1:{server.server_port}",
                    tokens=tokens,
                    bridge_token=os.environ["AION_BRIDGE_TOKEN"],
                    document=openapi_document(),
                )
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
    # A request valid by the schema may still meet the state it acts on: 409 (the task moved
    # on) is already expected, 412 (a version changed meanwhile) is the same kind of answer.
    acceptance = schema.config.checks.positive_data_acceptance
    schema.config.checks.positive_data_acceptance = type(acceptance)(
        expected_statuses=[*acceptance.expected_statuses, "412"]
    )
    schema.hook("filter_query")(_coherent_task_list_query)
    return schema


def _coherent_task_list_query(context: Any, query: dict[str, Any] | None) -> bool:
    """GET /tasks' parameters depend on each other, which OpenAPI parameters cannot express
    (their descriptions say it; anything else is 400): sorting by updated or duration reads a
    (project, status) index, duration only for a finished status, and createdBefore comes
    after createdFrom. Generated valid requests keep to that."""
    if context.operation is None or context.operation.definition.raw.get("operationId") != (
        "listTasks"
    ):
        return True
    query = query or {}
    sort, status = query.get("sort", "created"), query.get("status")
    if sort != "created" and not (query.get("projectId") and status):
        return False
    if sort == "duration" and status not in TERMINAL:
        return False
    low, high = query.get("createdFrom"), query.get("createdBefore")
    return not (low and high and _instant(high) <= _instant(low))


def _instant(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _credentials(served: Served, role: str, operation: Any) -> dict[str, str]:
    """The headers a caller sends to this operation: its bearer token, or the bridge token."""
    schemes = {name for item in operation.definition.raw.get("security", []) for name in item}
    if "bridgeToken" in schemes:
        return {"X-Bridge-Token": served.bridge_token}
    if "bearerAuth" in schemes:
        return {"Authorization": f"Bearer {served.tokens[role]}"}
    return {}


def _upload_what_was_registered(case: Any, response: Any) -> None:
    """After POST .../files: put the bytes the registration announced where its form points."""
    import boto3

    body = response.json()
    size = int(case.body["size"])
    if size > UPLOADED_BYTES_LIMIT:
        return  # completion then answers 409 upload_missing: also a documented answer
    boto3.client("s3", region_name="us-east-1").put_object(
        Bucket=BUCKET,
        Key=body["upload"]["fields"]["key"],
        Body=b"a" * size,
        ContentType=case.body["contentType"],
    )


def _state_machine(served: Served, role: str) -> Any:
    base = _schema(served.base_url).as_state_machine()

    class AionWorkflow(base):  # type: ignore[valid-type, misc]
        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            return {"headers": _credentials(served, role, case.operation), "timeout": 30}

        def after_call(self, response: Any, case: Any) -> None:
            super().after_call(response, case)
            operation_id = case.operation.definition.raw["operationId"]
            served.statuses[(role, operation_id)].append(response.status_code)
            if (
                operation_id in {"createTaskFile", "createProjectFile"}
                and response.status_code == 201
            ):
                _upload_what_was_registered(case, response)

    return AionWorkflow


def _run_workflows(served: Served, role: str) -> None:
    """SCENARIOS scenarios of up to STEPS linked calls as ``role``; every check on every call.

    The server keeps what earlier scenarios made, so the same drawn prefix can meet another
    answer (a 409 where a 201 was) and draw on differently. Hypothesis calls that an
    inconsistent strategy; the scenarios run so far stand (schemathesis' own runner does the
    same) and the run goes on with the rest of the budget. A failed check is never caught."""
    workflow = _state_machine(served, role)
    for _ in range(3):
        try:
            workflow.run(
                settings=settings(
                    max_examples=SCENARIOS,
                    stateful_step_count=STEPS,
                    # Each call meets the state earlier ones left: a found failure is reported
                    # as found (shrinking would replay it against another state).
                    phases=[Phase.generate],
                    deadline=None,
                    derandomize=True,
                    database=None,
                    # A wall-clock threshold (the machine is shared), not a property of the API.
                    suppress_health_check=[HealthCheck.too_slow],
                )
            )
            return
        except FlakyStrategyDefinition:
            continue


@pytest.mark.slow
@pytest.mark.parametrize("role", ROLES)
def test_stateful_workflows_conform_to_the_document(served_api: Served, role: str) -> None:
    _run_workflows(served_api, role)


def _operation_ids(served: Served) -> dict[str, str]:
    """operationId -> the auth it needs ("admin" for admin-only operations)."""
    import app  # noqa: F401
    from chalicelib.api.rest import ROUTES

    return {spec.name: spec.auth for spec in ROUTES if spec.documented}


@pytest.mark.slow
def test_every_operation_reaches_its_success_path(served_api: Served) -> None:
    from chalicelib.api.rest import AUTH_ADMIN

    for role in ROLES:
        if not any(key[0] == role for key in served_api.statuses):
            _run_workflows(served_api, role)
    missing: dict[str, list[str]] = {}
    for operation_id, auth in sorted(_operation_ids(served_api).items()):
        for role in ROLES:
            seen = served_api.statuses.get((role, operation_id), [])
            wanted_2xx = not (auth == AUTH_ADMIN and role == "member")
            reached = any(200 <= s < 300 for s in seen) if wanted_2xx else 403 in seen
            if not reached:
                missing.setdefault(operation_id, []).append(f"{role}: {sorted(set(seen))}")
    assert missing == {}, "operations that never answered their success path:\n" + "\n".join(
        f"  {op}: {', '.join(roles)}" for op, roles in missing.items()
    )


OPERATIONS = sorted((op.ok().path, op.ok().method.upper()) for op in _schema().get_all_operations())


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("path", "method"), OPERATIONS, ids=[f"{m} {p}" for p, m in OPERATIONS])
def test_each_operation_conforms_to_the_document(
    served_api: Served, path: str, method: str, role: str
) -> None:
    operation = _schema(served_api.base_url)[path][method]
    headers = _credentials(served_api, role, operation)

    @given(case=operation.as_strategy())
    @settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, database=None)
    def run(case: Any) -> None:
        case.call_and_validate(headers=headers, timeout=30)

    run()
