"""The person route through the Chalice app over moto: GET /reviews, POST /tasks/{id}/review
(answer, run, input, reject), retry from needs_review, the race between reviewers, authz.

Tasks reach ``needs_review`` the real way: POST /tasks, then the dispatcher handles the queue's
message with the real router. The executor is a fake that only lists its modules (with the
real modules' params schemas); no LLM is configured.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.integration.conftest import ApiClient, Who, set_task_fields

HAIKU = "Write a haiku about autumn"  # open-ended: llm.generate, and no LLM is configured
SUMMARY = "Give me the gist of this report in two sentences."  # text.summarize, no text given
REPORT = (
    "Revenue grew by twelve percent in the third quarter. Costs stayed flat. "
    "The board approved the new plan. Hiring resumes in January."
)


class _ListingExecutor:
    """Lists the real modules (their params schemas included); never asked to run one here."""

    def __init__(self) -> None:
        self.down = False

    def list_modules(self, timeout_s: float = 2.0) -> list[Any]:
        from chalicelib.executor_client import ExecutorUnavailable, ModuleInfo
        from executor_container.registry import catalogue

        if self.down:
            raise ExecutorUnavailable("unreachable")
        return [
            ModuleInfo(s.name, s.description, s.params_schema, s.max_input_bytes, s.version)
            for s in catalogue().values()
        ]


@pytest.fixture
def reviews(
    api: ApiClient, monkeypatch: pytest.MonkeyPatch, reset_caches: Callable[[], None]
) -> ApiClient:
    from chalicelib import executor_client

    monkeypatch.setenv("AION_EXECUTOR_TARGET", "127.0.0.1:50051")
    for name in ("AION_BEDROCK_MODEL_ID", "AION_LLM_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    reset_caches()  # the settings, the executor's catalogue, route health
    monkeypatch.setattr(executor_client, "get_executor_client", _ListingExecutor)
    return api


def _dispatch(api: ApiClient, task_id: str) -> list[str]:
    """Run the queued dispatch messages of ``task_id`` (last delivery: the router's verdict
    stands); other tasks' messages are dropped (nothing here runs them)."""
    from chalicelib.config import get_settings
    from chalicelib.logic import dispatch

    last_delivery = get_settings().dispatch.max_receives
    outcomes = []
    for message in api.queue_messages():
        if message["taskId"] != task_id:
            continue
        outcome = dispatch.handle_message(json.dumps(message), receive_count=last_delivery)
        outcomes.append(outcome.status)
    return outcomes


def _waiting(api: ApiClient, who: Who, project_id: str, instruction: str, **fields: Any) -> dict:
    """A task created through the API and routed by the dispatcher into needs_review."""
    task = api.task(who, project_id, instruction=instruction, **fields)
    assert _dispatch(api, task["id"]) == ["needs_review"]
    reply = api.get(f"/tasks/{task['id']}", who=who)
    assert reply.body["status"] == "needs_review", reply.body
    return reply.body


def _events(api: ApiClient, who: Who, task_id: str) -> list[dict[str, Any]]:
    return api.get(f"/tasks/{task_id}/activity", who=who).body["items"]


def _review(api: ApiClient, who: Who, task_id: str, body: dict[str, Any]) -> Any:
    return api.post(f"/tasks/{task_id}/review", body, who=who)


# ---------------------------------------------------------------------------- the queue


def test_the_queue_lists_waiting_tasks_of_the_callers_projects_oldest_first(
    reviews: ApiClient,
) -> None:
    api = reviews
    alice, bob, admin = api.user(), api.user(), api.user("admin")
    mine = api.project(alice)["id"]
    theirs = api.project(bob)["id"]
    first = _waiting(api, alice, mine, HAIKU)
    other = _waiting(api, bob, theirs, HAIKU)
    second = _waiting(api, alice, mine, SUMMARY)
    api.task(alice, mine, instruction="count the words", input="a b c")  # queued: not listed

    listed = api.get("/reviews", who=alice)
    assert listed.status == 200, listed.body
    assert [t["id"] for t in listed.body["items"]] == [first["id"], second["id"]]
    assert listed.body["nextCursor"] is None
    item = listed.body["items"][0]
    assert item["status"] == "needs_review"
    assert item["route"]["module"] == "llm.generate"
    assert item["route"]["reasonCode"] == "route_unavailable"
    assert item["route"]["reason"]
    assert item["instruction"] == HAIKU
    summary = listed.body["items"][1]["route"]
    assert (summary["module"], summary["reasonCode"]) == ("text.summarize", "input_missing")
    assert isinstance(summary["alternatives"], list)

    everything = api.get("/reviews", who=admin).body["items"]
    assert [t["id"] for t in everything] == [first["id"], other["id"], second["id"]]
    assert [t["id"] for t in api.get("/reviews", who=bob).body["items"]] == [other["id"]]


def test_the_queue_filters_by_project_and_reason_and_pages(reviews: ApiClient) -> None:
    api = reviews
    alice, outsider = api.user(), api.user()
    one = api.project(alice)["id"]
    two = api.project(alice)["id"]
    haiku = _waiting(api, alice, one, HAIKU)
    summary = _waiting(api, alice, two, SUMMARY)
    poem = _waiting(api, alice, one, "Write a short poem about the sea")

    by_project = api.get(f"/reviews?projectId={one}", who=alice).body["items"]
    assert [t["id"] for t in by_project] == [haiku["id"], poem["id"]]
    by_reason = api.get("/reviews?reasonCode=input_missing", who=alice).body["items"]
    assert [t["id"] for t in by_reason] == [summary["id"]]
    assert api.get(f"/reviews?projectId={one}", who=outsider).status == 404
    assert api.get("/reviews", who=outsider).body == {"items": [], "nextCursor": None}
    assert api.get("/reviews?reasonCode=bored", who=alice).status == 400

    seen: list[str] = []
    cursor = None
    for _ in range(5):
        query = "/reviews?limit=1" + (f"&cursor={cursor}" if cursor else "")
        page = api.get(query, who=alice).body
        seen += [t["id"] for t in page["items"]]
        cursor = page["nextCursor"]
        if not cursor:
            break
    assert seen == [haiku["id"], summary["id"], poem["id"]]
    # A cursor resumes only its own list.
    token = api.get("/reviews?limit=1", who=alice).body["nextCursor"]
    replay = api.get(f"/reviews?limit=1&projectId={one}&cursor={token}", who=alice)
    assert (replay.status, replay.error_code) == (400, "invalid_cursor")


def test_a_member_of_few_projects_pages_through_a_long_queue(
    reviews: ApiClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each request examines a bounded part of the queue; the cursor carries on after it."""
    from chalicelib.logic import review

    api = reviews
    alice, bob = api.user(), api.user()
    crowd = api.project(bob)["id"]
    mine = api.project(alice)["id"]
    for _ in range(3):
        _waiting(api, bob, crowd, HAIKU)
    wanted = _waiting(api, alice, mine, HAIKU)
    monkeypatch.setattr(review, "SCAN_BUDGET", 2)
    first = api.get("/reviews", who=alice).body
    assert first["items"] == []
    assert first["nextCursor"]
    found: list[str] = []
    cursor = first["nextCursor"]
    while cursor:
        page = api.get(f"/reviews?cursor={cursor}", who=alice).body
        found += [t["id"] for t in page["items"]]
        cursor = page["nextCursor"]
    assert found == [wanted["id"]]


# ---------------------------------------------------------------------------- the actions


def test_answer_completes_the_task_with_the_persons_result(reviews: ApiClient) -> None:
    api = reviews
    alice, bob = api.user(), api.user()
    project = api.project(alice, bob)["id"]
    task = _waiting(api, alice, project, HAIKU)
    haiku = "Crisp leaves underfoot\nthe maple lets go of red\nwind carries the rest"

    reply = _review(api, bob, task["id"], {"action": "answer", "result": haiku})
    assert reply.status == 200, reply.body
    done = reply.body
    assert (done["status"], done["result"], done["error"]) == ("completed", haiku, None)
    assert done["route"]["decidedBy"] == "person"
    assert done["route"]["module"] == "llm.generate"
    assert done["route"]["reason"].startswith("answered by a person")
    assert done["finishedAt"]
    assert done["version"] > task["version"]
    events = _events(api, alice, task["id"])
    kinds = [(e["kind"], e["status"], e["actor"]) for e in events[-2:]]
    assert kinds == [("reviewed", "completed", bob.id), ("status", "completed", bob.id)]
    reviewed, end = events[-2:]
    assert reviewed["data"]["action"] == "answer"
    assert reviewed["data"]["result"]["kind"] == "text"
    assert end["data"] == {"result": haiku}
    seqs = [e["seq"] for e in events]
    assert seqs == sorted(set(seqs))
    assert api.get("/reviews", who=alice).body["items"] == []


def test_answer_takes_json_and_refuses_what_is_not_an_answer(reviews: ApiClient) -> None:
    api = reviews
    alice = api.user()
    project = api.project(alice)["id"]
    task = _waiting(api, alice, project, HAIKU)
    for bad in (
        {"action": "answer"},
        {"action": "answer", "result": None},
        {"action": "answer", "result": "   "},
        {"action": "answer", "result": "x", "reason": "mixed up"},
        {"action": "answer", "result": "x" * 40_000},
    ):
        reply = _review(api, alice, task["id"], bad)
        assert reply.status == 400, (bad, reply.body)
        assert reply.error_code == "validation_error"
    assert api.get(f"/tasks/{task['id']}", who=alice).body["status"] == "needs_review"
    answer = {"lines": ["crisp leaves", "maple lets go", "wind"], "syllables": [5, 7, 5]}
    reply = _review(api, alice, task["id"], {"action": "answer", "result": answer})
    assert reply.status == 200, reply.body
    assert reply.body["result"] == answer
    reviewed = _events(api, alice, task["id"])[-2]
    assert reviewed["data"]["result"] == {"kind": "json", "bytes": len(json.dumps(answer))}


def test_run_queues_a_new_attempt_pinned_to_the_module(reviews: ApiClient) -> None:
    api = reviews
    alice = api.user()
    project = api.project(alice)["id"]
    task = _waiting(api, alice, project, SUMMARY)

    reply = _review(
        api,
        alice,
        task["id"],
        {"action": "run", "module": "text.summarize", "params": {"sentences": 2}, "input": REPORT},
    )
    assert reply.status == 200, reply.body
    queued = reply.body
    assert (queued["status"], queued["attempts"], queued["module"]) == (
        "queued",
        2,
        "text.summarize",
    )
    assert (queued["params"], queued["input"], queued["route"]) == ({"sentences": 2}, REPORT, None)
    assert api.queue_messages() == [{"taskId": task["id"], "attempt": 2}]
    reviewed, status = _events(api, alice, task["id"])[-2:]
    assert (reviewed["kind"], reviewed["actor"]) == ("reviewed", alice.id)
    assert reviewed["data"]["module"] == "text.summarize"
    assert reviewed["data"]["params"] == {"sentences": 2}
    assert reviewed["data"]["input"]["kind"] == "text"
    assert (status["kind"], status["status"], status["data"]["attempt"]) == ("status", "queued", 2)


def test_run_checks_the_module_its_params_and_what_it_would_do(reviews: ApiClient) -> None:
    api = reviews
    alice = api.user()
    project = api.project(alice)["id"]
    task = _waiting(api, alice, project, SUMMARY)
    tid = task["id"]

    unknown = _review(api, alice, tid, {"action": "run", "module": "text.translate"})
    assert (unknown.status, unknown.error_code) == (400, "unknown_module")
    bad_params = _review(
        api,
        alice,
        tid,
        {"action": "run", "module": "text.summarize", "params": {"sentences": 0}, "input": REPORT},
    )
    assert (bad_params.status, bad_params.error_code) == (400, "validation_error")
    assert bad_params.body["error"]["details"][0]["field"] == "params.sentences"
    extra = _review(
        api,
        alice,
        tid,
        {"action": "run", "module": "text.stats", "params": {"sentences": 2}, "input": REPORT},
    )
    assert (extra.status, extra.error_code) == (400, "validation_error")
    kinds = _review(
        api,
        alice,
        tid,
        {
            "action": "run",
            "module": "text.extract",
            "params": {"kinds": ["emails", "bogus"]},
            "input": REPORT,
        },
    )
    assert (kinds.status, kinds.error_code) == (400, "validation_error")
    assert kinds.body["error"]["details"][0]["field"] == "params.kinds.1"
    assert "'bogus' is not one of" in kinds.body["error"]["message"]
    # Without input text.summarize would wait for review again: refused, with the reason.
    no_input = _review(api, alice, tid, {"action": "run", "module": "text.summarize"})
    assert (no_input.status, no_input.error_code) == (400, "input_missing")
    assert no_input.body["error"]["details"]["module"] == "text.summarize"
    # No LLM is configured: llm.generate cannot run, whatever the input.
    llm = _review(api, alice, tid, {"action": "run", "module": "llm.generate", "input": REPORT})
    assert (llm.status, llm.error_code) == (409, "route_unavailable")
    missing = _review(api, alice, tid, {"action": "run"})
    assert missing.status == 400
    null_input = _review(api, alice, tid, {"action": "run", "module": "text.stats", "input": None})
    assert null_input.status == 400
    assert api.get(f"/tasks/{tid}", who=alice).body["status"] == "needs_review"
    assert api.queue_messages() == []
    # The same task's own module and input: its params stay when none are given.
    ok = _review(api, alice, tid, {"action": "run", "module": "text.stats", "input": REPORT})
    assert ok.status == 200, ok.body
    assert ok.body["params"] == {}


def test_input_attaches_it_and_routes_the_task_again(reviews: ApiClient) -> None:
    api = reviews
    alice = api.user()
    project = api.project(alice)["id"]
    task = _waiting(api, alice, project, SUMMARY)

    mismatch = _review(api, alice, task["id"], {"action": "input", "input": "a,b\n1,2\n3,4\n"})
    assert (mismatch.status, mismatch.error_code) == (400, "input_mismatch")
    assert _review(api, alice, task["id"], {"action": "input", "input": ""}).status == 400
    assert _review(api, alice, task["id"], {"action": "input"}).status == 400

    reply = _review(api, alice, task["id"], {"action": "input", "input": REPORT})
    assert reply.status == 200, reply.body
    assert (reply.body["status"], reply.body["input"], reply.body["attempts"]) == (
        "queued",
        REPORT,
        2,
    )
    assert reply.body["module"] is None  # routed again: the router chooses
    assert api.queue_messages() == [{"taskId": task["id"], "attempt": 2}]
    reviewed = _events(api, alice, task["id"])[-2]
    assert reviewed["data"] == {
        "action": "input",
        "input": {"kind": "text", "chars": len(REPORT), "preview": REPORT[:200]},
    }


def test_an_input_event_quotes_only_the_start_of_a_long_text(reviews: ApiClient) -> None:
    api = reviews
    alice = api.user()
    task = _waiting(api, alice, api.project(alice)["id"], SUMMARY)
    long_text = "The plan works. " * 4000
    reply = _review(api, alice, task["id"], {"action": "input", "input": long_text})
    assert reply.status == 200, reply.body
    data = _events(api, alice, task["id"])[-2]["data"]["input"]
    assert data["chars"] == len(long_text)
    assert len(data["preview"]) == 200


def _ready_upload(api: ApiClient, who: Who, path: str, body: bytes, kind: str) -> str:
    """Register a file, put its bytes where the presigned form points, complete it."""
    import boto3

    created = api.post(
        path, {"filename": "report.txt", "contentType": kind, "size": len(body)}, who=who
    )
    assert created.status == 201, created.body
    fields = created.body["upload"]["fields"]
    boto3.client("s3", region_name="us-east-1").put_object(
        Bucket="aion-test-files",
        Key=fields["key"],
        Body=body,
        ContentType=kind,
        Tagging="aion-state=pending",
    )
    done = api.post(f"/files/{created.body['file']['id']}/complete", who=who)
    assert done.status == 200, done.body
    assert done.body["status"] == "ready", done.body
    return created.body["file"]["id"]


def test_input_takes_a_ready_file_like_post_tasks(reviews: ApiClient) -> None:
    api = reviews
    alice = api.user()
    project = api.project(alice)["id"]
    other = api.project(alice)["id"]
    task = _waiting(api, alice, project, SUMMARY)
    elsewhere = _ready_upload(api, alice, f"/projects/{other}/files", REPORT.encode(), "text/plain")
    refused = _review(api, alice, task["id"], {"action": "input", "input": elsewhere})
    assert (refused.status, refused.error_code) == (400, "file_in_other_project")
    pending = api.post(
        f"/projects/{project}/files",
        {"filename": "later.txt", "contentType": "text/plain", "size": 10},
        who=alice,
    ).body["file"]["id"]
    not_ready = _review(api, alice, task["id"], {"action": "input", "input": pending})
    assert (not_ready.status, not_ready.error_code) == (409, "file_not_ready")

    upload = _ready_upload(api, alice, f"/tasks/{task['id']}/files", REPORT.encode(), "text/plain")
    reply = _review(api, alice, task["id"], {"action": "input", "input": upload})
    assert reply.status == 200, reply.body
    assert (reply.body["status"], reply.body["input"]) == ("queued", upload)
    assert _events(api, alice, task["id"])[-2]["data"]["input"] == {"fileId": upload}


def test_a_project_upload_given_as_input_belongs_to_the_task(reviews: ApiClient) -> None:
    from chalicelib.dal.models import File

    api = reviews
    alice = api.user()
    project = api.project(alice)["id"]
    task = _waiting(api, alice, project, SUMMARY)
    upload = _ready_upload(api, alice, f"/projects/{project}/files", REPORT.encode(), "text/plain")
    reply = _review(api, alice, task["id"], {"action": "input", "input": upload})
    assert reply.status == 200, reply.body
    assert File.get(upload).task_id == task["id"]
    # A file is the input of one task: another task in review cannot take it.
    second = _waiting(api, alice, project, SUMMARY)
    taken = _review(api, alice, second["id"], {"action": "input", "input": upload})
    assert (taken.status, taken.error_code) == (409, "file_already_attached")


def test_reject_fails_the_task_with_the_reason(reviews: ApiClient) -> None:
    api = reviews
    alice = api.user()
    task = _waiting(api, alice, api.project(alice)["id"], HAIKU)
    assert _review(api, alice, task["id"], {"action": "reject", "reason": "  "}).status == 400
    assert _review(api, alice, task["id"], {"action": "reject"}).status == 400
    reply = _review(api, alice, task["id"], {"action": "reject", "reason": "Not our job."})
    assert reply.status == 200, reply.body
    assert reply.body["status"] == "failed"
    assert reply.body["error"] == {"code": "rejected", "message": "Not our job."}
    reviewed, end = _events(api, alice, task["id"])[-2:]
    assert reviewed["data"] == {"action": "reject", "reason": "Not our job."}
    assert (end["status"], end["data"]["error"]["code"]) == ("failed", "rejected")
    # A rejected task can be retried like any failed one.
    assert api.post(f"/tasks/{task['id']}/retry", who=alice).status == 202


def test_bad_bodies_are_400_and_change_nothing(reviews: ApiClient) -> None:
    api = reviews
    alice = api.user()
    task = _waiting(api, alice, api.project(alice)["id"], HAIKU)
    for bad in ({}, {"action": "approve"}, {"result": "x"}, [1, 2], "answer"):
        reply = _review(api, alice, task["id"], bad)
        assert reply.status == 400, (bad, reply.body)
    malformed = api.call("POST", f"/tasks/{task['id']}/review", who=alice, raw="{not json")
    assert (malformed.status, malformed.error_code) == (400, "malformed_json")
    after = api.get(f"/tasks/{task['id']}", who=alice).body
    assert (after["status"], after["version"]) == ("needs_review", task["version"])


@pytest.mark.parametrize("status", ["queued", "running", "completed", "failed", "canceled"])
def test_only_a_task_in_review_can_be_reviewed(reviews: ApiClient, status: str) -> None:
    api = reviews
    alice = api.user()
    task = api.task(alice, api.project(alice)["id"], instruction=HAIKU)
    set_task_fields(task["id"], status=status)
    reply = _review(api, alice, task["id"], {"action": "answer", "result": "x"})
    assert (reply.status, reply.error_code) == (409, "invalid_state")
    assert status in reply.body["error"]["message"]


def test_outsiders_get_404_members_and_admins_may_act(reviews: ApiClient) -> None:
    api = reviews
    owner, member, outsider, admin = api.user(), api.user(), api.user(), api.user("admin")
    project = api.project(owner, member)["id"]
    first = _waiting(api, owner, project, HAIKU)
    second = _waiting(api, owner, project, HAIKU)
    hidden = _review(api, outsider, first["id"], {"action": "answer", "result": "x"})
    assert (hidden.status, hidden.error_code) == (404, "task_not_found")
    assert (
        _review(
            api, outsider, "tsk_00000000000000000000", {"action": "answer", "result": "x"}
        ).status
        == 404
    )
    assert api.get("/reviews", who=outsider).body["items"] == []
    assert _review(api, member, first["id"], {"action": "answer", "result": "m"}).status == 200
    assert _review(api, admin, second["id"], {"action": "reject", "reason": "dup"}).status == 200
    assert api.post("/reviews", {}, who=member).status in (403, 405)
    assert api.get("/reviews").status == 401


def test_twenty_people_acting_at_once_one_wins(reviews: ApiClient, atomic_dynamodb: None) -> None:
    """The threads call the logic the route calls (chalice.test.Client serves one request at a
    time); an AppError is the status the route would answer."""
    from chalicelib.auth.principal import Principal
    from chalicelib.errors import AppError
    from chalicelib.logic import review
    from chalicelib.models.reviews import ReviewAction

    api = reviews
    people = [api.user() for _ in range(20)]
    owner = people[0]
    project = api.project(owner, *people[1:])["id"]
    task = _waiting(api, owner, project, SUMMARY)
    bodies = [
        {"action": "answer", "result": "summary by person 0"},
        {"action": "reject", "reason": "by person 1"},
        {"action": "input", "input": REPORT},
        {"action": "run", "module": "text.stats", "input": REPORT},
    ]
    barrier = threading.Barrier(len(people))

    def act(i: int) -> int:
        action = ReviewAction.model_validate(bodies[i % len(bodies)])
        barrier.wait(timeout=20)
        try:
            review.act(Principal(people[i].id, "member"), task["id"], action)
        except AppError as exc:
            return exc.status
        return 200

    with ThreadPoolExecutor(max_workers=len(people)) as pool:
        statuses = list(pool.map(act, range(len(people)), timeout=120))
    assert sorted(statuses) == [200] + [409] * 19
    events = _events(api, owner, task["id"])
    assert [e["kind"] for e in events].count("reviewed") == 1
    reviewed = next(e for e in events if e["kind"] == "reviewed")
    winner = statuses.index(200)
    assert reviewed["actor"] == people[winner].id
    assert reviewed["data"]["action"] == bodies[winner % len(bodies)]["action"]
    seqs = [e["seq"] for e in events]
    assert seqs == sorted(set(seqs))
    messages = api.queue_messages()
    assert len(messages) == (1 if reviewed["data"]["action"] in ("input", "run") else 0)


# ---------------------------------------------------------------------------- retry


def test_retry_of_a_waiting_task_routes_it_again_or_says_why_not(reviews: ApiClient) -> None:
    api = reviews
    alice = api.user()
    task = _waiting(api, alice, api.project(alice)["id"], SUMMARY)
    before = _events(api, alice, task["id"])

    # Nothing changed: it would only wait again. Refused with the router's reason, no write.
    same = api.post(f"/tasks/{task['id']}/retry", who=alice)
    assert (same.status, same.error_code) == (409, "input_missing")
    assert "review" in same.body["error"]["message"]
    assert _events(api, alice, task["id"]) == before
    assert api.queue_messages() == []

    # The input arrived by an edit: retry routes it again now.
    edited = api.patch(
        f"/tasks/{task['id']}",
        {"input": REPORT},
        who=alice,
        headers={"If-Match": str(task["version"])},
    )
    assert edited.status == 200, edited.body
    again = api.post(f"/tasks/{task['id']}/retry", who=alice)
    assert again.status == 202, again.body
    assert (again.body["status"], again.body["attempts"]) == ("queued", 2)
    assert api.queue_messages() == [{"taskId": task["id"], "attempt": 2}]
    assert _events(api, alice, task["id"])[-1]["message"].startswith("Retry: routing it again")


def test_retry_waits_out_a_configured_route_that_is_down(
    reviews: ApiClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The executor is down: a retry is accepted (the dispatcher retries with backoff), unlike
    an unconfigured LLM, which is a verdict."""
    from chalicelib import executor_client
    from chalicelib.logic import routing

    api = reviews
    alice = api.user()
    project = api.project(alice)["id"]
    task = _waiting(api, alice, project, SUMMARY)
    haiku = _waiting(api, alice, project, HAIKU)
    edited = api.patch(
        f"/tasks/{task['id']}",
        {"input": REPORT},
        who=alice,
        headers={"If-Match": str(task["version"])},
    )
    assert edited.status == 200
    down = _ListingExecutor()
    down.down = True
    monkeypatch.setattr(executor_client, "get_executor_client", lambda: down)
    routing.reset_catalogue()
    assert api.post(f"/tasks/{task['id']}/retry", who=alice).status == 202
    refused = api.post(f"/tasks/{haiku['id']}/retry", who=alice)
    assert (refused.status, refused.error_code) == (409, "route_unavailable")


def test_bulk_retry_treats_a_waiting_task_as_its_own_retry_does(reviews: ApiClient) -> None:
    """The board's bulk retry goes the retry route's way: a waiting task is routed again, or
    left waiting with the router's reason, never looped back into review."""
    api = reviews
    alice = api.user()
    project = api.project(alice)["id"]
    task = _waiting(api, alice, project, SUMMARY)
    failed = _waiting(api, alice, project, HAIKU)
    assert _review(api, alice, failed["id"], {"action": "reject", "reason": "no"}).status == 200

    refused = api.post("/tasks/bulk", {"action": "retry", "taskIds": [task["id"]]}, who=alice)
    assert refused.status == 200, refused.body
    (result,) = refused.body["results"]
    assert result["outcome"] == "conflict"
    assert "would wait for review again" in result["message"]
    assert api.get(f"/tasks/{task['id']}", who=alice).body["status"] == "needs_review"
    assert api.queue_messages() == []

    edited = api.patch(
        f"/tasks/{task['id']}",
        {"input": REPORT},
        who=alice,
        headers={"If-Match": str(task["version"])},
    )
    assert edited.status == 200, edited.body
    both = api.post(
        "/tasks/bulk", {"action": "retry", "taskIds": [task["id"], failed["id"]]}, who=alice
    )
    assert both.status == 200, both.body
    assert both.body["summary"] == {"retried": 2}
    assert sorted(api.queue_messages(), key=lambda m: m["taskId"]) == sorted(
        [{"taskId": task["id"], "attempt": 2}, {"taskId": failed["id"], "attempt": 2}],
        key=lambda m: m["taskId"],
    )
