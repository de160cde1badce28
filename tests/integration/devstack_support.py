"""A tiny Chalice app and helpers for the dev stack's integration tests.

The app has what the real one has (REST routes, the three WebSocket handlers sending through
``app.websocket_api``, an SQS handler, a schedule), so the emulators are tested on their own,
independent of AION's handlers.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any

import boto3
from chalice import Chalice, Rate, Response, WebsocketDisconnectedError

from devstack.lambda_runtime import Invoker, make_thread_safe, point_websocket_api_at
from devstack.server import BackgroundServer, build_web_app

WS_API_ID = "testwsapi1"
WS_STAGE = "ws"
REGION = "us-east-1"


class Recorder:
    """Thread-safe list of what the handlers saw."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.items: list[Any] = []

    def add(self, item: Any) -> None:
        with self._lock:
            self.items.append(item)

    def of(self, kind: str) -> list[Any]:
        with self._lock:
            return [payload for k, payload in self.items if k == kind]

    def wait_for_connection(self, kind: str, connection_id: str, timeout_s: float = 10.0) -> Any:
        """The ``kind`` event of one WebSocket connection (others may arrive in between)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for event in self.of(kind):
                if event["requestContext"]["connectionId"] == connection_id:
                    return event
            time.sleep(0.02)
        raise AssertionError(f"no {kind!r} for connection {connection_id}")

    def wait_for(self, kind: str, count: int = 1, timeout_s: float = 10.0) -> list[Any]:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            found = self.of(kind)
            if len(found) >= count:
                return found
            time.sleep(0.02)
        raise AssertionError(f"expected {count} {kind!r}, saw {len(self.of(kind))}")


def make_app(
    recorder: Recorder,
    *,
    queue_name: str = "devstack-test-queue",
    sqs_behaviour: Callable[[list[dict]], Any] | None = None,
) -> Chalice:
    app = Chalice(app_name="devstack-test")
    app.experimental_feature_flags.update(["WEBSOCKETS"])
    app.websocket_api.session = boto3.session.Session()

    @app.route("/items/{item_id}", methods=["GET", "POST"])
    def item(item_id: str) -> dict:
        request = app.current_request
        original = request.to_original_event()
        # Sleep a little so concurrent requests overlap: each must still see its own request.
        delay = float((request.query_params or {}).get("sleep", "0"))
        time.sleep(delay)
        return {
            "itemId": item_id,
            "seenItemId": app.current_request.uri_params["item_id"],
            "method": request.method,
            "query": request.query_params,
            "multiQuery": original["multiValueQueryStringParameters"],
            "headerX": request.headers.get("x-thing"),
            "forwardedFor": request.headers.get("x-forwarded-for"),
            "traceId": request.headers.get("x-amzn-trace-id"),
            "body": request.raw_body.decode() if request.raw_body else None,
            "isBase64Encoded": original["isBase64Encoded"],
            "resource": original["resource"],
            "path": original["path"],
            "requestContext": original["requestContext"],
            "remainingMs": app.lambda_context.get_remaining_time_in_millis(),
            "functionName": app.lambda_context.function_name,
        }

    @app.route("/items/special")
    def special() -> dict:
        return {"special": True}

    @app.route("/upload", methods=["POST"], content_types=["application/octet-stream"])
    def upload() -> dict:
        original = app.current_request.to_original_event()
        return {"size": len(app.current_request.raw_body), "b64": original["isBase64Encoded"]}

    @app.route("/status/{code}", cors=True)
    def status(code: str) -> Response:
        return Response(
            body={"code": int(code)},
            status_code=int(code),
            headers={"X-Custom": "yes"},
        )

    @app.on_ws_connect()
    def ws_connect(event: Any) -> Response:
        original = event.to_dict()
        recorder.add(("connect", original))
        token = (original.get("queryStringParameters") or {}).get("token")
        if token == "selfpost":
            # API Gateway: a connection is not postable until $connect has returned.
            try:
                app.websocket_api.send(event.connection_id, "too early")
                recorder.add(("early_post", "sent"))
            except WebsocketDisconnectedError:
                recorder.add(("early_post", "gone"))
            return Response(body="", status_code=200)
        if token != "good":
            return Response(body=json.dumps({"error": "no token"}), status_code=401)
        return Response(body="", status_code=200)

    @app.on_ws_message()
    def ws_message(event: Any) -> None:
        recorder.add(("message", event.to_dict()))
        recorder.add(("function", event.context.function_name))
        if event.body == "crash":
            raise RuntimeError("boom")
        app.websocket_api.send(event.connection_id, json.dumps({"echo": event.body}))

    @app.on_ws_disconnect()
    def ws_disconnect(event: Any) -> None:
        recorder.add(("disconnect", event.to_dict()))

    @app.on_sqs_message(queue=queue_name, batch_size=5)
    def consume(event: Any) -> Any:
        records = [record.to_dict() for record in event]
        recorder.add(("sqs", records))
        if sqs_behaviour is not None:
            return sqs_behaviour(records)
        return None

    @app.schedule(Rate(1, unit=Rate.MINUTES))
    def tick(event: Any) -> None:
        recorder.add(("tick", event.to_dict()))

    return app


class RunningGateway:
    """The tiny app behind the dev stack's HTTP server, on a free port."""

    def __init__(self, app: Chalice, *, idle_timeout_s: float | None = None) -> None:
        self.app = app
        self.invoker = Invoker(region=REGION, max_workers=16)
        make_thread_safe(app)
        gateways = build_web_app(
            app,
            self.invoker,
            region=REGION,
            ws_api_id=WS_API_ID,
            ws_stage=WS_STAGE,
            idle_timeout_s=idle_timeout_s,
        )
        self.ws_gateway = gateways.ws
        self.server = BackgroundServer(gateways.web_app).start()
        self.base = f"http://127.0.0.1:{self.server.port}"
        self.ws_url = f"ws://127.0.0.1:{self.server.port}/ws"
        self.mgmt_url = f"{self.base}/ws-mgmt"
        point_websocket_api_at(app, self.mgmt_url)

    def mgmt_client(self) -> Any:
        return boto3.session.Session().client(
            "apigatewaymanagementapi", endpoint_url=self.mgmt_url, region_name=REGION
        )

    def stop(self) -> None:
        self.server.stop()
        self.invoker.shutdown()
