"""chalicelib.http (body parsing, If-Match, the route table) and list cursors, without AWS."""

from __future__ import annotations

import pytest

from chalicelib.errors import (
    BadRequest,
    PayloadTooLarge,
    PreconditionFailed,
    PreconditionRequired,
    ValidationFailed,
)
from chalicelib.http.request import ApiRequest, parse_body, parse_query, required_version
from chalicelib.http.routes import RouteSpec, RouteTable
from chalicelib.logic.paging import MAX_LIMIT, clamp_limit, decode_cursor, encode_cursor
from chalicelib.models.tasks import TaskCreate, TaskListQuery


def _req(body: bytes | None = None, **headers: str) -> ApiRequest:
    return ApiRequest(
        method="POST", path="/x", headers={k.lower(): v for k, v in headers.items()}, body=body
    )


def test_body_parsing_errors_name_the_problem() -> None:
    with pytest.raises(BadRequest) as bad:
        parse_body(_req(b"{nope"), TaskCreate, max_bytes=1000)
    assert bad.value.code == "malformed_json"
    with pytest.raises(PayloadTooLarge):
        parse_body(_req(b"{}" + b" " * 2000), TaskCreate, max_bytes=1000)
    with pytest.raises(ValidationFailed) as invalid:
        parse_body(_req(b'{"projectId": "p_1", "instruction": ""}'), TaskCreate, max_bytes=1000)
    assert invalid.value.details[0]["field"] == "instruction"
    with pytest.raises(ValidationFailed) as nested:
        parse_body(
            _req(b'{"projectId": "p_1", "instruction": "x", "params": []}'),
            TaskCreate,
            max_bytes=1000,
        )
    assert nested.value.details[0]["field"] == "params"
    with pytest.raises(ValidationFailed):
        parse_body(_req(b'"just a string"'), TaskCreate, max_bytes=1000)
    ok = parse_body(_req(b'{"projectId": "p_1", "instruction": "go"}'), TaskCreate, max_bytes=1000)
    assert ok.project_id == "p_1"
    assert ok.priority == "normal"


def test_query_parsing_converts_and_bounds() -> None:
    request = ApiRequest("GET", "/tasks", {}, query={"projectId": "p_1", "limit": "5"})
    parsed = parse_query(request, TaskListQuery)
    assert parsed.limit == 5
    with pytest.raises(ValidationFailed) as err:
        parse_query(ApiRequest("GET", "/tasks", {}, query={"limit": "many"}), TaskListQuery)
    assert err.value.details[0]["field"] == "limit"
    assert err.value.details[0]["location"] == "query"


@pytest.mark.parametrize(("value", "expected"), [("3", 3), ('"3"', 3), ('W/"12"', 12)])
def test_if_match_forms(value: str, expected: int) -> None:
    assert required_version(_req(**{"If-Match": value})) == expected


def test_if_match_missing_or_unusable() -> None:
    with pytest.raises(PreconditionRequired):
        required_version(_req())
    for value in ("*", "abc", "-1", "1" * 20):
        with pytest.raises(PreconditionFailed):
            required_version(_req(**{"If-Match": value}))


def test_cursor_round_trip_scope_and_tampering() -> None:
    key = {"id": {"S": "tsk_1"}, "created_at": {"S": "2026"}}
    token = encode_cursor(key, "scope-a")
    assert token is not None
    assert "tsk_1" not in token or "." in token  # opaque: base64 + MAC
    assert decode_cursor(token, "scope-a") == key
    with pytest.raises(BadRequest):
        decode_cursor(token, "scope-b")
    body, mac = token.split(".")
    with pytest.raises(BadRequest):
        decode_cursor(body[:-2] + "xx" + "." + mac, "scope-a")
    for junk in ("", "nodot", "a.b", "....", "é.é"):
        if junk:
            with pytest.raises(BadRequest):
                decode_cursor(junk, "scope-a")
    assert encode_cursor(None, "scope-a") is None
    assert decode_cursor(None, "scope-a") is None
    assert clamp_limit(None) == 20
    assert clamp_limit(10**6) == MAX_LIMIT
    assert clamp_limit(0) == 1


def test_route_table_rejects_duplicates() -> None:
    table = RouteTable()
    table.add(RouteSpec(method="GET", path="/a", name="a", summary="a"))
    with pytest.raises(ValueError, match="twice"):
        table.add(RouteSpec(method="GET", path="/a", name="b", summary="b"))
    with pytest.raises(ValueError, match="twice"):
        table.add(RouteSpec(method="POST", path="/a", name="a", summary="a"))
    with pytest.raises(ValueError, match="auth"):
        RouteSpec(method="GET", path="/b", name="b", summary="b", auth="sometimes")


def test_openapi_document_is_valid_3_1() -> None:
    from openapi_spec_validator import validate

    import app  # noqa: F401 - registers every blueprint's routes
    from chalicelib.api.rest import openapi_document

    doc = openapi_document()
    validate(doc)
    create = doc["paths"]["/tasks"]["post"]
    assert create["responses"]["202"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "TaskOut"
    )
    assert doc["paths"]["/health"]["get"]["security"] == []
    assert doc["paths"]["/users"]["get"]["security"] == [{"bearerAuth": []}]
