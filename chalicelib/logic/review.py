"""The person route: the review queue and what a person does about a task that waits in it.

    list_reviews(principal, query) -> ReviewList          GET /reviews
    act(principal, task_id, action) -> TaskOut            POST /tasks/{id}/review
    retry_task(principal, task_id) -> TaskOut             POST /tasks/{id}/retry

A task waits in ``needs_review`` when the router found no route that can take it now (its
``route.reasonCode`` says why). A person then answers it (``completed`` with their result,
the route ``decidedBy: "person"``), runs it with a module they pick (``queued``, pinned to
it), gives it input (``queued``, routed again) or rejects it (``failed``, ``error.code``
``rejected``). Each action is ONE ``lifecycle.transition`` from ``needs_review``, guarded by
the version the person acted on: a ``reviewed`` event (actor: the person), then the status
event, then the move. Of two people acting at once exactly one write holds; the other gets 409.

Sending a task back to run (run, input, retry) first asks the router what it would decide now.
A decision that would put the task straight back in review is refused, nothing written, with
the router's reason code as the error code, so nothing loops silently: 400 ``input_missing`` or
``input_mismatch`` when the data of the request does not fit the module (409 for a retry: the
data is the task's), 409 ``low_confidence`` or ``route_unavailable`` (no route would take it).
A route that is configured but down right now is not a verdict: the task is queued and the
dispatcher retries it with backoff, as for any task.

The queue is one Query: the by-status index's ``needs_review`` partition, oldest update first
(the time the task entered review, unless edited since), filtered to the caller's projects
(an admin sees all) and the reason code. A request examines at most ``SCAN_BUDGET`` items; a
page can so hold fewer than ``limit`` items with a ``nextCursor`` when others' tasks dominate
the queue. Reads per request are bounded by the budget, never by the queue's size; the
partition only holds what waits for people, who empty it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

from chalicelib.auth.principal import Principal
from chalicelib.config import get_settings
from chalicelib.dal.models import ProjectMember, Task
from chalicelib.errors import (
    Conflict,
    InvalidState,
    NotFound,
    ServiceUnavailable,
    ValidationFailed,
)
from chalicelib.logic import lifecycle, tasks
from chalicelib.logic.access import get_project_for, get_task_for
from chalicelib.logic.lifecycle import (
    COMPLETED,
    FAILED,
    NEEDS_REVIEW,
    QUEUED,
    ConditionFailed,
    Written,
)
from chalicelib.logic.paging import clamp_limit, decode_cursor, encode_cursor
from chalicelib.logic.task_inputs import claim_file, input_file, release_file
from chalicelib.models.reviews import (
    ReviewAction,
    ReviewAnswer,
    ReviewInput,
    ReviewItem,
    ReviewList,
    ReviewListQuery,
    ReviewReject,
    ReviewRun,
)
from chalicelib.models.tasks import EventDraft, TaskOut

log = logging.getLogger(__name__)

# Items of the needs_review partition one list request examines at most.
SCAN_BUDGET = 500
_SCAN_PAGE = 100
# How much of a person's text or JSON a ``reviewed`` event quotes (the task holds all of it).
_PREVIEW_CHARS = 200
# "Leave the task's input as it is" (None is a value a task's input can have).
_KEEP: Any = object()
# Reason codes whose refusal is about the data the request carries (400), not the system (409).
_INPUT_CODES = ("input_missing", "input_mismatch")


# ---------------------------------------------------------------------------- the queue


def list_reviews(principal: Principal, query: ReviewListQuery) -> ReviewList:
    """Tasks waiting for a person in the caller's projects (admin: all), oldest first."""
    projects: set[str] | None = None  # None: every project
    if query.project_id:
        projects = {get_project_for(principal, query.project_id).id}
    elif not principal.is_admin:
        projects = {m.project_id for m in ProjectMember.query(principal.user_id)}
        if not projects:
            return ReviewList(items=[], next_cursor=None)
    scope = f"reviews:{principal.user_id}:{query.project_id or ''}:{query.reason_code or ''}"
    size = clamp_limit(query.limit)
    start = decode_cursor(query.cursor, scope)
    items: list[Task] = []
    last: Task | None = None
    exhausted = True
    unfiltered = projects is None and query.reason_code is None
    for examined, task in enumerate(_waiting(start, size if unfiltered else _SCAN_PAGE), start=1):
        last = task
        if _wanted(task, projects, query.reason_code):
            items.append(task)
        if len(items) >= size or examined >= SCAN_BUDGET:
            exhausted = False
            break
    cursor = None if exhausted or last is None else encode_cursor(_index_key(last), scope)
    return ReviewList(items=[_item(t) for t in items], next_cursor=cursor)


def _waiting(start: dict[str, Any] | None, page_size: int) -> Iterator[Task]:
    """The needs_review partition of the by-status index, oldest update first."""
    return iter(
        Task.by_status.query(
            NEEDS_REVIEW,
            scan_index_forward=True,
            page_size=page_size,
            last_evaluated_key=start,
        )
    )


def _wanted(task: Task, projects: set[str] | None, reason_code: str | None) -> bool:
    if projects is not None and task.project_id not in projects:
        return False
    return reason_code is None or (task.route or {}).get("reasonCode") == reason_code


def _index_key(task: Task) -> dict[str, Any]:
    """Where the next page starts: the by-status index key of the last item examined."""
    return {
        "id": {"S": task.id},
        "status": {"S": task.status},
        "updated_at": {"S": task.updated_at},
    }


def _item(task: Task) -> ReviewItem:
    return ReviewItem(**tasks.task_out(task).model_dump())


# ---------------------------------------------------------------------------- actions


def act(principal: Principal, task_id: str, action: ReviewAction) -> TaskOut:
    """Apply a person's review action to a task in ``needs_review`` (409 from any other)."""
    task = get_task_for(principal, task_id)
    if task.status != NEEDS_REVIEW:
        raise InvalidState(
            f"Only a task waiting for review can be reviewed (this one is {task.status}).",
            details={"status": task.status},
        )
    body = action.root
    if isinstance(body, ReviewAnswer):
        return _answer(principal, task, body)
    if isinstance(body, ReviewRun):
        return _run(principal, task, body)
    if isinstance(body, ReviewInput):
        return _give_input(principal, task, body)
    assert isinstance(body, ReviewReject)
    return _reject(principal, task, body)


def _answer(principal: Principal, task: Task, body: ReviewAnswer) -> TaskOut:
    result = body.result
    encoded = json.dumps(result, default=str).encode()
    limit = get_settings().dispatch.result_inline_bytes
    if len(encoded) > limit:
        # Kept on the task, where people read it (a module's larger results go to S3).
        raise ValidationFailed(
            f"Invalid body field 'result': an answer can be at most {limit} bytes as JSON "
            f"(this one is {len(encoded)}).",
            details=[{"field": "result", "location": "body", "message": "too large"}],
        )
    route = dict(task.route or {})
    router_reason = route.get("reason")
    route.update(
        decidedBy="person",
        reason="answered by a person"
        + (f" (the router: {router_reason})" if router_reason else ""),
    )
    written = _move(
        task,
        COMPLETED,
        actions=[
            Task.result.set(result),
            Task.result_ref.remove(),
            Task.error.remove(),
            Task.route.set(route),
        ],
        events=[
            EventDraft(
                "reviewed",
                "Answered by a person.",
                principal.user_id,
                data={"action": "answer", "result": _summary(result, encoded)},
            ),
            EventDraft(
                "status",
                "Completed with a person's answer.",
                principal.user_id,
                progress=1.0,
                data={"result": result},
            ),
        ],
    )
    return _out(written)


def _run(principal: Principal, task: Task, body: ReviewRun) -> TaskOut:
    replaces_input = "input" in body.model_fields_set
    new_input = body.input if replaces_input else task.input
    if body.params is not None:
        params = body.params
    elif body.module in (task.module, (task.route or {}).get("module")):
        params = dict(task.params or {})  # the module the task asked for: its own params
    else:
        params = {}
    decision = _routable(task, new_input, params, body.module)
    _check_params(body.module, decision.get("params") or {})
    attempt = int(task.attempts or 1) + 1
    return _requeue(
        principal,
        task,
        attempt,
        [Task.module.set(body.module), Task.params.set(params)],
        new_input=new_input if replaces_input else _KEEP,
        reviewed=(
            f"A person chose {body.module}.",
            {"action": "run", "module": body.module, "params": params},
        ),
        message=f"Queued to run {body.module} (attempt {attempt}).",
        extra={"module": body.module},
    )


def _give_input(principal: Principal, task: Task, body: ReviewInput) -> TaskOut:
    _routable(task, body.input, dict(task.params or {}), task.module)
    attempt = int(task.attempts or 1) + 1
    return _requeue(
        principal,
        task,
        attempt,
        [],
        new_input=body.input,
        reviewed=("A person gave the input.", {"action": "input"}),
        message=f"Queued with the new input: routing it again (attempt {attempt}).",
    )


def _reject(principal: Principal, task: Task, body: ReviewReject) -> TaskOut:
    error = {"code": "rejected", "message": body.reason}
    written = _move(
        task,
        FAILED,
        actions=[Task.error.set(error), Task.result.remove(), Task.result_ref.remove()],
        events=[
            EventDraft(
                "reviewed",
                "Rejected by a person.",
                principal.user_id,
                data={"action": "reject", "reason": body.reason},
            ),
            EventDraft(
                "status", f"Rejected: {body.reason}", principal.user_id, data={"error": error}
            ),
        ],
    )
    return _out(written)


def retry_task(principal: Principal, task_id: str) -> TaskOut:
    """``POST /tasks/{id}/retry`` (and the board's bulk retry): a new attempt of a failed or
    canceled task (``tasks.retry``); a task waiting for review is routed again instead."""
    if not get_settings().dispatch_queue_url:
        raise ServiceUnavailable("Task dispatch is not configured.", code="dispatch_unconfigured")
    task = get_task_for(principal, task_id)
    if task.status == NEEDS_REVIEW:
        return _reroute(principal, task)
    return tasks.retry(principal, task)


def _reroute(principal: Principal, task: Task) -> TaskOut:
    """Route a task in review again now, with whatever changed (an edit, a route back up).
    Refused with the router's reason when it would wait for review again: retry never loops a
    task back into the queue."""
    _routable(task, task.input, dict(task.params or {}), task.module, from_request=False)
    attempt = int(task.attempts or 1) + 1
    return _requeue(
        principal,
        task,
        attempt,
        [],
        new_input=_KEEP,
        reviewed=None,
        message=f"Retry: routing it again (attempt {attempt}).",
    )


# ---------------------------------------------------------------------------- helpers


def _routable(
    task: Task,
    input_value: Any,
    params: dict[str, Any],
    module: str | None,
    *,
    from_request: bool = True,
) -> Any:
    """The decision the router would take now for the task as it would run; raises when that
    decision waits for a person again (nothing would change), unless only because a configured
    route is down for now. Unknown ``module``: 400 ``unknown_module``. ``from_request``: the
    data was in the request (a refusal for it is a 400), else the task's own (409)."""
    # Deferred: the router (its classifier) is most of this module's import cost, and the
    # queue list and bulk actions, which load this module, never route.
    from chalicelib.logic import routing
    from chalicelib.logic.dispatch_run import RoutePlan
    from chalicelib.router.models import RouteDecision

    decision = routing.explain(task.instruction, input_value, params, module)
    plan = RoutePlan.of(RouteDecision.model_validate(decision))
    if plan.target != "review" or plan.route_down():
        return decision
    code = plan.reason_code or "low_confidence"
    refusal = ValidationFailed if from_request and code in _INPUT_CODES else Conflict
    raise refusal(
        f"It would wait for review again: {plan.reason}.",
        code=code,
        details={"module": plan.module, "reasonCode": code, "reason": plan.reason},
    )


def _check_params(module: str, params: dict[str, Any]) -> None:
    """The params the module will get, against its JSON Schema when the executor describes it."""
    # Deferred: the router and jsonschema load only for a person's run (see _routable).
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import best_match

    from chalicelib.logic import routing

    schema = next(
        (m.params_schema for m in routing.executor_catalogue().modules if m.name == module), None
    )
    if not schema:
        return
    validator = Draft202012Validator(schema)
    # best_match names the branch that failed ("'bogus' is not one of [...]"), not the anyOf.
    found = [best_match([e]) for e in validator.iter_errors(params)]
    problems = [
        {
            "field": ".".join(["params", *(str(p) for p in error.absolute_path)]),
            "location": "body",
            "message": error.message,
        }
        for error in sorted(found, key=lambda e: [str(p) for p in e.absolute_path])
        if error is not None
    ]
    if problems:
        first = problems[0]
        raise ValidationFailed(
            f"Invalid body field '{first['field']}' for {module}: {first['message']}",
            details=problems,
        )


def _requeue(
    principal: Principal,
    task: Task,
    attempt: int,
    actions: list[Any],
    *,
    new_input: Any,
    reviewed: tuple[str, dict[str, Any]] | None,
    message: str,
    extra: dict[str, Any] | None = None,
) -> TaskOut:
    """needs_review -> queued for a new ``attempt`` (a delivery of an earlier attempt's message
    is stale), then the dispatch message. A file id as the new input is attached to the task
    first, with the checks of ``POST /tasks`` and PATCH, and released again if the move does
    not happen. ``reviewed``: the person's event (message, data) ahead of the status event."""
    claimed = None
    events: list[EventDraft] = []
    if new_input is not _KEEP:
        actions = [*actions, Task.input.set(new_input)]
        item = input_file(principal, task.project_id, new_input)
        if item is not None and claim_file(item, task.id):
            claimed = item.id
        if reviewed is not None:
            summary = {"fileId": item.id} if item is not None else _summary(new_input, None)
            reviewed = (reviewed[0], {**reviewed[1], "input": summary})
    if reviewed is not None:
        events.append(EventDraft("reviewed", reviewed[0], principal.user_id, data=reviewed[1]))
    events.append(
        EventDraft("status", message, principal.user_id, data={"attempt": attempt, **(extra or {})})
    )
    try:
        written = _move(
            task,
            QUEUED,
            actions=[*lifecycle.new_attempt_actions(attempt), *actions],
            events=events,
        )
    except Exception:
        if claimed is not None:
            release_file(claimed, task.id)
        raise
    tasks.enqueue(task.id, attempt)
    return _out(written)


def _move(task: Task, to: Any, *, actions: list[Any], events: list[EventDraft]) -> Written:
    """The one write of an action: from needs_review at the version the person acted on."""
    try:
        return lifecycle.transition(
            task,
            NEEDS_REVIEW,
            to,
            guard=lifecycle.version_is(int(task.version or 0)),
            actions=actions,
            events=events,
            return_task=True,
        )
    except ConditionFailed:
        try:
            now = Task.get(task.id, consistent_read=True)
        except Task.DoesNotExist:
            raise NotFound("Task not found.", code="task_not_found") from None
        if now.status != NEEDS_REVIEW:
            raise InvalidState(
                f"Someone else acted on this task first: it is {now.status} now.",
                details={"status": now.status},
            ) from None
        raise InvalidState(
            "The task changed while you acted on it; reload it and try again.",
            details={"status": now.status},
        ) from None


def _out(written: Written) -> TaskOut:
    assert written.task is not None
    return tasks.task_out(written.task)


def _summary(value: Any, encoded: bytes | None) -> dict[str, Any]:
    """What an event says about a person's text or JSON: never all of a large one."""
    if isinstance(value, str):
        return {"kind": "text", "chars": len(value), "preview": value[:_PREVIEW_CHARS]}
    size = len(encoded if encoded is not None else json.dumps(value, default=str).encode())
    return {"kind": "json", "bytes": size}
