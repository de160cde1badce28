"""chalicelib.shared.strict_json, and the WebSocket protocol refusing what it refuses."""

from __future__ import annotations

import json

import pytest

from chalicelib.shared import strict_json
from chalicelib.shared.strict_json import MAX_DEPTH, JsonRejected
from tests.unit.auth_support import user_token
from tests.unit.realtime_fakes import Realtime, realtime

__all__ = ["realtime"]


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("[" * 1500 + "]" * 1500, "json_too_deep"),
        ('{"a":' * (MAX_DEPTH + 1) + "1" + "}" * (MAX_DEPTH + 1), "json_too_deep"),
        ("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1), "json_too_deep"),
        ("NaN", "non_finite_number"),
        ('{"x": [1, Infinity]}', "non_finite_number"),
        ("-Infinity", "non_finite_number"),
        ("1e999", "non_finite_number"),
        ('"\\ud800"', "invalid_unicode"),
        ('{"\\udc00": 1}', "invalid_unicode"),
        ("{nope", "malformed_json"),
        ("1" * 5000, "malformed_json"),  # past the interpreter's integer digit limit
        (b"\xff\xfe", "malformed_json"),
    ],
)
def test_refused_with_a_code(text: str | bytes, code: str) -> None:
    with pytest.raises(JsonRejected) as refused:
        strict_json.loads(text)
    assert refused.value.code == code
    assert refused.value.message


def test_plain_json_round_trips() -> None:
    value = {"a": [1, 2.5, -0.0, None, True, "中文 😀"], "b": {"c": ""}}
    assert strict_json.loads(json.dumps(value)) == value
    assert strict_json.loads(json.dumps(value, ensure_ascii=False).encode()) == value
    # An escaped surrogate pair is one character.
    assert strict_json.loads('"\\ud83d\\ude00"') == "😀"
    at_limit = "[" * MAX_DEPTH + "]" * MAX_DEPTH
    assert strict_json.loads(at_limit) is not None


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ("[" * 1500 + "]" * 1500, "json_too_deep"),
        ('{"action": "subscribe", "taskId": NaN}', "non_finite_number"),
        ('{"action": "ping", "x": "\\ud800"}', "invalid_unicode"),
    ],
)
def test_websocket_message_refuses_bad_json_as_a_client_error(
    realtime: Realtime, body: str, code: str
) -> None:
    """Once the deep message escaped as RecursionError: the handler answered internal_error."""
    import app
    from chalicelib.logic import websocket

    token = user_token("usr_a")  # a credential of a user that exists
    websocket.connect("c-1", token)
    event = {
        "requestContext": {
            "routeKey": "$default",
            "eventType": "MESSAGE",
            "connectionId": "c-1",
            "apiId": "api",
            "stage": "ws",
            "domainName": "example.test",
        },
        "body": body,
        "isBase64Encoded": False,
    }
    app.app.handler_map["ws_message"](event, None)
    reply = realtime.mgmt.messages_to("c-1")[-1]
    assert reply == {"type": "error", "code": code, "message": reply["message"]}
