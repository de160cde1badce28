"""AION's Lambdas: the REST API (blueprints of ``chalicelib.api``), plus the WebSocket, SQS and
schedule handlers.

Handler names are a contract with infra/ (one Lambda function each): ``api_handler`` (every
REST route), ``ws_connect``, ``ws_message``, ``ws_disconnect``, ``dispatch`` (SQS) and
``sweep`` (schedule). Logic lives in chalicelib/logic/{websocket,telemetry,dispatch,sweeper};
it is imported inside each handler, so a function pays only for what its own events need
(benchmarks/cold_start.py).
"""

from __future__ import annotations

from typing import Any

from chalice import Chalice, Rate, Response

from chalicelib.api import api_keys, auth, files, projects, reviews, router, system, tasks, users
from chalicelib.api.rest import INTERNAL_ERROR, install_middleware, logger
from chalicelib.config import dispatch_queue_name
from chalicelib.errors import AppError

# configure_logs=False: Powertools owns logging (Chalice would add a second handler).
app = Chalice(app_name="aion", configure_logs=False)
# Chalice refuses to package WebSocket handlers without this flag.
app.experimental_feature_flags.update(["WEBSOCKETS"])

install_middleware(app)
for blueprint in (
    system.bp,
    auth.bp,
    users.bp,
    api_keys.bp,
    projects.bp,
    tasks.bp,
    reviews.bp,
    files.bp,
    router.bp,
):
    app.register_blueprint(blueprint)

# Records of one batch run in parallel (chalicelib.logic.dispatch); keep a batch short enough
# that its slowest task fits the Lambda timeout.
DISPATCH_BATCH_SIZE = 5


@app.on_ws_connect()
def ws_connect(event: Any) -> Response:
    """``$connect``: no authorizer in Chalice, so the token is checked here; non-200 refuses."""
    from chalicelib.logic import websocket  # deferred: this Lambda's own logic only

    params = event.to_dict().get("queryStringParameters") or {}
    try:
        websocket.connect(event.connection_id, params.get("token"), params.get("taskId") or None)
    except AppError as exc:
        return Response(body=exc.envelope(), status_code=exc.status)
    except Exception:
        logger.exception("websocket connect failed")
        return Response(body=INTERNAL_ERROR, status_code=500)
    return Response(body="", status_code=200)


@app.on_ws_message()
def ws_message(event: Any) -> None:
    """``$default``: subscribe / unsubscribe / ping; the reply is posted to the same socket."""
    from chalicelib.logic import telemetry, websocket  # deferred: this Lambda's own logic only

    try:
        reply = websocket.message(event.connection_id, event.to_dict().get("body"))
    except Exception:
        logger.exception("websocket message failed")
        reply = {"type": "error", "code": "internal_error", "message": "Internal server error."}
    telemetry.send(event.connection_id, reply)


@app.on_ws_disconnect()
def ws_disconnect(event: Any) -> None:
    """``$disconnect`` is best effort on API Gateway; the TTL removes what it misses."""
    from chalicelib.logic import websocket  # deferred: this Lambda's own logic only

    websocket.disconnect(event.connection_id)


@app.on_sqs_message(
    queue=dispatch_queue_name(),
    batch_size=DISPATCH_BATCH_SIZE,
)
def dispatch(event: Any) -> None:
    """Run the tasks of a batch. Raises (so SQS redelivers with backoff) if any must retry."""
    from chalicelib.logic import dispatch as dispatcher  # deferred: this Lambda's own logic only

    context = event.context
    remaining = None
    if context is not None and hasattr(context, "get_remaining_time_in_millis"):

        def remaining() -> float:
            return context.get_remaining_time_in_millis() / 1000.0

    dispatcher.handle_batch([record.to_dict() for record in event], remaining_seconds=remaining)


@app.schedule(Rate(1, unit=Rate.MINUTES))
def sweep(event: Any) -> None:
    """Re-queue or fail running tasks whose lease expired; re-send stale queued tasks; carry
    on purging deleted projects."""
    from chalicelib.logic import sweeper  # deferred: this Lambda's own logic only

    report = sweeper.sweep()
    if report.examined or report.purge.projects:
        logger.info(
            "sweep",
            extra={
                "requeued": len(report.requeued),
                "failed": len(report.failed),
                "canceled": len(report.canceled),
                "redriven": len(report.redriven),
                "stalled": len(report.stalled),
                "purgeProjects": len(report.purge.projects),
                "purgeFinished": len(report.purge.finished),
                "purgeTasksDeleted": report.purge.tasks_deleted,
                "purgeCancelRequested": len(report.purge.cancel_requested),
                "purgeFilesDeleted": report.purge.files_deleted,
                "purgeSubscriptionsDeleted": report.purge.subscriptions_deleted,
            },
        )
