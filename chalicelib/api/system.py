"""The system routes: health, the OpenAPI document and its rendering for people, and the
internal telemetry endpoint external workers push to.

Logic imports are deferred (inside handlers) for the cold start: see ``chalicelib.api``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalicelib.api.rest import (
    AUTH_BRIDGE,
    AUTH_NONE,
    ApiBlueprint,
    ApiResponse,
    Call,
    M,
    openapi_document,
)
from chalicelib.config import get_settings
from chalicelib.errors import NotFound, ServiceUnavailable

if TYPE_CHECKING:
    from chalicelib.models.health import HealthOut
    from chalicelib.models.tasks import ActivityEvent

bp = ApiBlueprint(__name__)


@bp.endpoint(
    "GET",
    "/health",
    name="getHealth",
    summary="Liveness and dependency checks",
    tags=("system",),
    auth=AUTH_NONE,
    response=M("health:HealthOut"),
)
def health(call: Call) -> HealthOut:
    from chalicelib.logic.health import health as check  # deferred: cold start (see chalicelib.api)

    return check()


@bp.endpoint(
    "GET",
    "/health/ready",
    name="getReadiness",
    summary="Readiness: 200 when DynamoDB and the dispatch queue answer, else 503",
    tags=("system",),
    auth=AUTH_NONE,
    response=M("health:HealthOut"),
    errors=(503,),
    description="For load balancers and deploy gates. `GET /health` (liveness) answers 200 "
    "whatever it finds; this answers 503 `not_ready` while a core dependency (DynamoDB, the "
    "dispatch queue) is down, with the checks in `details`. The executor is not core: tasks "
    "wait in the queue while it is away.",
)
def readiness(call: Call) -> HealthOut:
    from chalicelib.logic.health import health as check
    from chalicelib.logic.health import unready

    out = check()
    down = unready(out)
    if down:
        raise ServiceUnavailable(
            f"Not ready: {', '.join(down)} unavailable.",
            code="not_ready",
            details=out.to_json(),
        )
    return out


@bp.endpoint(
    "GET",
    "/openapi.json",
    name="getOpenApi",
    summary="This API's OpenAPI 3.1 document",
    tags=("system",),
    auth=AUTH_NONE,
    response=M("base:OpenApiDocument"),
)
def openapi(call: Call) -> dict[str, Any]:
    return openapi_document()


@bp.endpoint(
    "GET",
    "/docs",
    name="getApiReference",
    summary="The OpenAPI document rendered for people (Swagger UI, no outside requests)",
    tags=("system",),
    auth=AUTH_NONE,
    documented=False,
)
def api_reference(call: Call) -> ApiResponse:
    hosted_at = get_settings().docs_url
    if hosted_at:
        return ApiResponse(status=302, headers={"Location": hosted_at})
    if call.request.url_path.endswith("/"):
        # API Gateway serves /docs/ here too, where the page's relative URLs would point one
        # level too deep (docs/docs/...): send the browser to /docs (relative: any stage).
        return ApiResponse(status=301, headers={"Location": "../docs"})
    # Deferred: it loads pathlib, which no other route needs (measured: +15% of `import app`).
    from chalicelib.api import reference

    try:
        reference.vendor_dir()
    except reference.AssetsMissing as exc:
        raise ServiceUnavailable(
            "The API reference is not installed here.", code="reference_unavailable"
        ) from exc
    # Relative URLs: the page is served at <base>/docs, its files at <base>/docs/<name>.
    html = reference.page(openapi_url="openapi.json", assets="docs/")
    return ApiResponse(
        body=html,
        headers={
            "Content-Type": "text/html; charset=utf-8",
            "Content-Security-Policy": reference.CONTENT_SECURITY_POLICY,
            "Cache-Control": "no-cache",
        },
    )


@bp.endpoint(
    "GET",
    "/docs/{name}",
    name="getApiReferenceFile",
    summary="A file of the API reference page (Swagger UI's script and styles, the page's own)",
    tags=("system",),
    auth=AUTH_NONE,
    documented=False,
)
def api_reference_file(call: Call) -> ApiResponse:
    from chalicelib.api import reference  # deferred: pathlib, as in api_reference

    name = call.path("name")
    try:
        content_type, text = reference.read(name)
    except (KeyError, reference.AssetsMissing):
        raise NotFound(f"No file {name!r} in the API reference.") from None
    return ApiResponse(
        body=text,
        headers={"Content-Type": content_type, "Cache-Control": "public, max-age=3600"},
    )


@bp.endpoint(
    "POST",
    "/internal/telemetry",
    name="postInternalTelemetry",
    summary="External workers push a progress/log/update event for a queued or running task",
    tags=("internal",),
    auth=AUTH_BRIDGE,
    body=M("telemetry:TelemetryIn"),
    response=M("tasks:ActivityEvent"),
    status=202,
    errors=(404, 409),
)
def internal_telemetry(call: Call) -> ActivityEvent:
    from chalicelib.logic import telemetry  # deferred: cold start (see chalicelib.api)
    from chalicelib.models.tasks import ActivityEvent  # deferred: cold start (see chalicelib.api)

    body = call.body
    stored = telemetry.record_external(
        task_id=body.task_id,
        kind=body.kind,
        message=body.message,
        actor=body.actor,
        progress=body.progress,
        data=body.data,
    )
    return ActivityEvent.model_validate(stored)
