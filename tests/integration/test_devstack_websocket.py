"""The WebSocket emulator and its management API, against a tiny Chalice app over real sockets."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import requests
from chalice import WebsocketDisconnectedError
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from tests.integration.devstack_support import (
    WS_API_ID,
    WS_STAGE,
    Recorder,
    RunningGateway,
    make_app,
)


@pytest.fixture(scope="module")
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture(scope="module")
def gateway(recorder: Recorder) -> Iterator[RunningGateway]:
    running = RunningGateway(make_app(recorder))
    yield running
    running.stop()


def _connection_id(recorder: Recorder, before: int) -> str:
    connects = recorder.wait_for("connect", before + 1)
    return connects[before]["requestContext"]["connectionId"]


def test_connect_without_token_is_refused_with_the_handlers_status(
    gateway: RunningGateway, recorder: Recorder
) -> None:
    before = len(recorder.of("connect"))
    with pytest.raises(InvalidStatus) as refused:
        connect(gateway.ws_url + "?token=bad", open_timeout=10)
    assert refused.value.response.status_code == 401
    event = recorder.of("connect")[before]
    assert event["requestContext"]["eventType"] == "CONNECT"
    # A refused connection never existed: the management API says it is gone.
    client = gateway.mgmt_client()
    with pytest.raises(client.exceptions.GoneException):
        client.post_to_connection(ConnectionId=event["requestContext"]["connectionId"], Data=b"x")


def test_connect_event_has_the_api_gateway_shape(
    gateway: RunningGateway, recorder: Recorder
) -> None:
    before = len(recorder.of("connect"))
    with connect(gateway.ws_url + "?token=good&taskId=t1", open_timeout=10):
        event = recorder.of("connect")[before]
    context = event["requestContext"]
    assert context["routeKey"] == "$connect"
    assert context["apiId"] == WS_API_ID
    assert context["stage"] == WS_STAGE
    assert context["domainName"] == f"{WS_API_ID}.execute-api.us-east-1.amazonaws.com"
    assert len(context["connectionId"]) == 16
    assert isinstance(context["requestTimeEpoch"], int)
    assert isinstance(context["connectedAt"], int)
    assert event["queryStringParameters"] == {"token": "good", "taskId": "t1"}
    assert event["multiValueQueryStringParameters"] == {"token": ["good"], "taskId": ["t1"]}
    assert "Sec-WebSocket-Key" in event["headers"]


def test_message_round_trip_through_websocket_api_send(
    gateway: RunningGateway, recorder: Recorder
) -> None:
    """$default -> handler -> app.websocket_api.send -> management API -> the same socket."""
    with connect(gateway.ws_url + "?token=good", open_timeout=10) as ws:
        for n in range(3):
            ws.send(f"hello {n}")
            assert json.loads(ws.recv(timeout=10)) == {"echo": f"hello {n}"}
    message = recorder.of("message")[-1]
    assert message["requestContext"]["routeKey"] == "$default"
    assert message["requestContext"]["eventType"] == "MESSAGE"
    assert message["body"] == "hello 2"
    # The Lambda context names the function as Chalice deploys it.
    assert recorder.of("function")[-1].endswith("-websocket_message")


def test_posting_during_connect_is_gone_and_works_after(
    gateway: RunningGateway, recorder: Recorder
) -> None:
    with connect(gateway.ws_url + "?token=selfpost", open_timeout=10) as ws:
        assert recorder.of("early_post") == ["gone"]
        ws.send("now")
        assert json.loads(ws.recv(timeout=10)) == {"echo": "now"}


def test_a_crashing_message_handler_sends_api_gateways_error_frame(
    gateway: RunningGateway,
) -> None:
    with connect(gateway.ws_url + "?token=good", open_timeout=10) as ws:
        ws.send("crash")
        frame = json.loads(ws.recv(timeout=10))
        assert frame["message"] == "Internal server error"
        assert frame["connectionId"]
        ws.send("still alive")
        assert json.loads(ws.recv(timeout=10)) == {"echo": "still alive"}


def test_management_get_describes_an_open_connection(
    gateway: RunningGateway, recorder: Recorder
) -> None:
    before = len(recorder.of("connect"))
    with connect(gateway.ws_url + "?token=good", open_timeout=10, user_agent_header="probe/1"):
        info = gateway.mgmt_client().get_connection(ConnectionId=_connection_id(recorder, before))
    assert info["Identity"] == {"SourceIp": "127.0.0.1", "UserAgent": "probe/1"}
    assert info["ConnectedAt"] <= info["LastActiveAt"]


def test_closed_connection_is_gone_for_boto3_and_for_chalice(
    gateway: RunningGateway, recorder: Recorder
) -> None:
    """The 410 path: the socket closed, so posting raises GoneException / WebsocketDisconnected."""
    before = len(recorder.of("connect"))
    with connect(gateway.ws_url + "?token=good", open_timeout=10):
        connection_id = _connection_id(recorder, before)
        gateway.app.websocket_api.send(connection_id, "while open")  # no error while open
    disconnect = recorder.wait_for_connection("disconnect", connection_id)
    assert disconnect["requestContext"]["eventType"] == "DISCONNECT"
    assert disconnect["requestContext"]["disconnectStatusCode"] == 1000

    client = gateway.mgmt_client()
    with pytest.raises(client.exceptions.GoneException):
        client.post_to_connection(ConnectionId=connection_id, Data=b"late")
    with pytest.raises(client.exceptions.GoneException):
        client.get_connection(ConnectionId=connection_id)
    with pytest.raises(WebsocketDisconnectedError):
        gateway.app.websocket_api.send(connection_id, "late")
    with pytest.raises(client.exceptions.GoneException):
        client.post_to_connection(ConnectionId="neverExisted0000=", Data=b"x")
    assert gateway.ws_gateway.counters["mgmt_gone"] >= 4


def test_management_delete_closes_the_socket_and_runs_disconnect(
    gateway: RunningGateway, recorder: Recorder
) -> None:
    before = len(recorder.of("connect"))
    with connect(gateway.ws_url + "?token=good", open_timeout=10) as ws:
        connection_id = _connection_id(recorder, before)
        gateway.mgmt_client().delete_connection(ConnectionId=connection_id)
        with pytest.raises(ConnectionClosed):
            ws.recv(timeout=10)
    recorder.wait_for_connection("disconnect", connection_id)
    with pytest.raises(WebsocketDisconnectedError):
        gateway.app.websocket_api.close(connection_id)


def test_oversized_post_is_413_and_unsigned_calls_are_403(
    gateway: RunningGateway, recorder: Recorder
) -> None:
    before = len(recorder.of("connect"))
    with connect(gateway.ws_url + "?token=good", open_timeout=10):
        connection_id = _connection_id(recorder, before)
        client = gateway.mgmt_client()
        with pytest.raises(client.exceptions.PayloadTooLargeException):
            client.post_to_connection(ConnectionId=connection_id, Data=b"x" * (128 * 1024 + 1))
        unsigned = requests.post(
            f"{gateway.mgmt_url}/@connections/{connection_id}", data=b"x", timeout=10
        )
        assert unsigned.status_code == 403


def test_idle_connections_are_closed() -> None:
    running = RunningGateway(make_app(Recorder()), idle_timeout_s=0.3)
    try:
        with connect(running.ws_url + "?token=good", open_timeout=10) as ws:
            # Closed by the gateway as idle ("going away"), not a recv timeout.
            with pytest.raises(ConnectionClosed) as closed:
                ws.recv(timeout=30)
            assert closed.value.rcvd.code == 1001
    finally:
        running.stop()
