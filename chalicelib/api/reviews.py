"""The person route: the review queue and a person's action on a task waiting in it.

Logic imports are deferred (inside handlers) for the cold start: see ``chalicelib.api``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.api.rest import NEXT_PAGE, ApiBlueprint, Call, M, link
from chalicelib.api.tasks import TASK_LINKS

if TYPE_CHECKING:
    from chalicelib.models.reviews import ReviewList
    from chalicelib.models.tasks import TaskOut

bp = ApiBlueprint(__name__)


@bp.endpoint(
    "GET",
    "/reviews",
    name="listReviews",
    summary="Tasks waiting for a person, oldest first",
    tags=("reviews",),
    query=M("reviews:ReviewListQuery"),
    response=M("reviews:ReviewList"),
    errors=(404,),
    links=(link("listReviews", NEXT_PAGE),),
    description="Tasks in `needs_review` across the caller's projects (an admin: all), the "
    "longest waiting first. Each item is the task with the router's decision in `route`: the "
    "module it asked for, `reasonCode` and `reason` (why it waits), `alternatives`, `params`. "
    "Filters: `projectId` (404 when not yours), `reasonCode`. A page may hold fewer than "
    "`limit` items while `nextCursor` is set: a request examines a bounded part of the queue.",
)
def list_reviews(call: Call) -> ReviewList:
    from chalicelib.logic import review  # deferred: cold start (see chalicelib.api)

    return review.list_reviews(call.user, call.query)


@bp.endpoint(
    "POST",
    "/tasks/{task_id}/review",
    name="reviewTask",
    summary="Act on a task waiting for review: answer, run, input or reject",
    tags=("reviews",),
    body=M("reviews:ReviewAction"),
    response=M("tasks:TaskOut"),
    errors=(409,),
    links=TASK_LINKS,
    description="Only from `needs_review` (409 `invalid_state` otherwise); of two people acting "
    "at once one wins, the other gets 409. Each action writes a `reviewed` event (actor: "
    "you), then the task moves on.\n\n"
    "- `answer` `{result}`: `completed` with your result (text or JSON, at most the inline "
    "result size); the route says `decidedBy: person`.\n"
    "- `run` `{module, params?, input?}`: queued again (a new attempt) pinned to `module`. "
    "400 `unknown_module`; `params` are checked against the module's JSON Schema "
    "(`GET /router/catalog`). Omitted `params`: the task's own when `module` is the one it "
    "asked for, else none.\n"
    "- `input` `{input}`: text, JSON or the id of a ready file (uploaded to the task or its "
    "project; checked as `POST /tasks` does); queued again and routed with it.\n"
    "- `reject` `{reason}`: `failed` with `error.code` `rejected`.\n\n"
    "`run` and `input` are refused when the router would send the task straight back to "
    "review, with its reason as the error code: 400 `input_missing`/`input_mismatch`, 409 "
    "`low_confidence`/`route_unavailable` (a configured route that is only down for now is "
    "retried by the dispatcher instead).",
)
def review_task(call: Call) -> TaskOut:
    from chalicelib.logic import review  # deferred: cold start (see chalicelib.api)

    return review.act(call.user, call.path("task_id"), call.body)
