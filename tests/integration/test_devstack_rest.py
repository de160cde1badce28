"""The REST emulator: API Gateway v1 proxy events for a Chalice app, over real HTTP."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from devstack.rest import RouteTable
from tests.integration.devstack_support import Recorder, RunningGateway, make_app


@pytest.fixture(scope="module")
def gateway() -> Iterator[RunningGateway]:
    running = RunningGateway(make_app(Recorder()))
    yield running
    running.stop()


def test_route_table_prefers_literal_segments_and_decodes_params() -> None:
    table = RouteTable(["/items/{item_id}", "/items/special", "/", "/a/{x}/c"])
    assert table.match("/items/special").resource == "/items/special"
    match = table.match("/items/a%20b")
    assert match.resource == "/items/{item_id}"
    assert match.path_params == {"item_id": "a b"}
    assert table.match("/items/special/").resource == "/items/special"
    assert table.match("/").resource == "/"
    assert table.match("/a/1/c").path_params == {"x": "1"}
    assert table.match("/a/1/d") is None
    assert table.match("/items") is None


def test_get_builds_a_proxy_event_with_params_query_and_context(gateway: RunningGateway) -> None:
    reply = requests.get(
        f"{gateway.base}/api/items/it-1?tag=a&tag=b&q=x",
        headers={"X-Thing": "hello"},
        timeout=10,
    )
    assert reply.status_code == 200
    body = reply.json()
    assert body["itemId"] == "it-1"
    assert body["method"] == "GET"
    assert body["query"] == {"tag": "b", "q": "x"}  # single-value map keeps the last
    assert body["multiQuery"] == {"tag": ["a", "b"], "q": ["x"]}
    assert body["headerX"] == "hello"
    assert body["forwardedFor"] == "127.0.0.1"
    assert body["traceId"].startswith("Root=1-")
    assert body["body"] is None
    assert body["resource"] == "/items/{item_id}"
    assert body["path"] == "/items/it-1"
    context = body["requestContext"]
    assert context["stage"] == "api"
    assert context["path"] == "/api/items/it-1"
    assert context["resourcePath"] == "/items/{item_id}"
    assert context["identity"]["sourceIp"] == "127.0.0.1"
    assert context["requestId"] == reply.headers["x-amzn-RequestId"]
    assert isinstance(context["requestTimeEpoch"], int)
    # The fake Lambda context counts down from Chalice's default 60 s timeout.
    assert 0 < body["remainingMs"] <= 60_000
    assert body["functionName"].endswith("api_handler")


def test_text_body_is_passed_as_is(gateway: RunningGateway) -> None:
    reply = requests.post(
        f"{gateway.base}/api/items/x",
        data=json.dumps({"a": 1}),
        timeout=10,
        headers={"Content-Type": "application/json"},
    )
    assert reply.status_code == 200
    assert reply.json()["body"] == '{"a": 1}'
    assert reply.json()["isBase64Encoded"] is False


def test_binary_body_is_base64_encoded_for_binary_media_types(gateway: RunningGateway) -> None:
    payload = bytes(range(256))
    reply = requests.post(
        f"{gateway.base}/api/upload",
        data=payload,
        headers={"Content-Type": "application/octet-stream"},
        timeout=10,
    )
    assert reply.status_code == 200
    assert reply.json() == {"size": 256, "b64": True}


def test_literal_route_wins_over_parameter(gateway: RunningGateway) -> None:
    assert requests.get(f"{gateway.base}/api/items/special", timeout=10).json() == {"special": True}


def test_status_and_headers_come_from_the_lambda_response(gateway: RunningGateway) -> None:
    reply = requests.get(f"{gateway.base}/api/status/418", timeout=10)
    assert reply.status_code == 418
    assert reply.headers["X-Custom"] == "yes"
    assert reply.json() == {"code": 418}


def test_cors_preflight_answers_like_the_chalice_mock_integration(gateway: RunningGateway) -> None:
    reply = requests.options(f"{gateway.base}/api/status/200", timeout=10)
    assert reply.status_code == 200
    assert reply.headers["Access-Control-Allow-Origin"] == "*"
    assert "GET" in reply.headers["Access-Control-Allow-Methods"]


@pytest.mark.parametrize("path", ["/api/nope", "/api/items/x/y", "/api"])
def test_an_unknown_path_is_a_404_in_aions_envelope(gateway: RunningGateway, path: str) -> None:
    """API Gateway's default is 403 "Missing Authentication Token"; AION's gateway responses
    (and this emulator) answer 404 in the API's own error envelope."""
    reply = requests.get(gateway.base + path, timeout=10)
    assert reply.status_code == 404
    body = reply.json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == "not_found"
    assert body["error"]["message"]
    assert reply.headers["x-amzn-ErrorType"] == "MissingAuthenticationTokenException"


def test_an_unknown_method_is_a_405_naming_the_allowed_ones(gateway: RunningGateway) -> None:
    reply = requests.delete(f"{gateway.base}/api/items/x", timeout=10)
    assert reply.status_code == 405
    assert reply.json()["error"]["code"] == "method_not_allowed"
    assert reply.headers["Allow"] == "GET, OPTIONS, POST"


def test_a_text_body_that_is_not_utf8_is_a_400_and_never_reaches_the_app() -> None:
    recorder = Recorder()
    running = RunningGateway(make_app(recorder))
    try:
        bad = b'{"name": "caf\xe9"}'  # latin-1, not UTF-8
        reply = requests.post(
            f"{running.base}/api/items/x",
            data=bad,
            headers={"Content-Type": "application/json"},
            timeout=10,
        )
        assert reply.status_code == 400
        assert reply.json()["error"]["code"] == "invalid_body"
        good = requests.post(
            f"{running.base}/api/items/x",
            data='{"name": "café"}'.encode(),
            headers={"Content-Type": "application/json"},
            timeout=10,
        )
        assert good.status_code == 200
        assert good.json()["body"] == '{"name": "café"}'
        # Binary media types still pass any bytes (base64 to the app).
        binary = requests.post(
            f"{running.base}/api/upload",
            data=b"\xff\xfe\x00",
            headers={"Content-Type": "application/octet-stream"},
            timeout=10,
        )
        assert binary.status_code == 200
        assert binary.json() == {"size": 3, "b64": True}
    finally:
        running.stop()


def test_concurrent_requests_each_see_their_own_request(gateway: RunningGateway) -> None:
    """Chalice keeps current_request on the app: the stack must make it per thread."""

    def call(n: int) -> tuple[str, dict]:
        reply = requests.get(f"{gateway.base}/api/items/id-{n}?sleep=0.05", timeout=20)
        return f"id-{n}", reply.json()

    with ThreadPoolExecutor(max_workers=12) as pool:
        results = list(pool.map(call, range(24)))
    for expected, body in results:
        assert body["itemId"] == expected
        assert body["seenItemId"] == expected


def test_base64_response_bodies_are_decoded() -> None:
    from devstack.rest import lambda_response_to_http

    response = lambda_response_to_http(
        {
            "statusCode": 201,
            "body": base64.b64encode(b"\x00\x01").decode(),
            "isBase64Encoded": True,
            "multiValueHeaders": {"Set-Cookie": ["a=1", "b=2"]},
        },
        "req-1",
    )
    assert response.status == 201
    assert response.body == b"\x00\x01"
    assert response.headers.getall("Set-Cookie") == ["a=1", "b=2"]


def test_malformed_lambda_response_is_a_502() -> None:
    from devstack.rest import lambda_response_to_http

    assert lambda_response_to_http("not a dict", "req-2").status == 502
