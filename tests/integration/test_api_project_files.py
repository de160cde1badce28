"""File first, task second: POST /projects/{id}/files, then POST /tasks with input = the file id.

The task and the file's attachment are one transaction (no race with the dispatcher, one task
per file); a file id the caller cannot see stays plain text; abandoned uploads are tagged so the
bucket expires them, and completion copies them to a final key or deletes them.
"""

from __future__ import annotations

import base64
import json
import re
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from tests.integration.conftest import BUCKET, ApiClient, Reply, Who

TEXT = b"alpha beta gamma\n"


def _s3() -> Any:
    return boto3.client("s3", region_name="us-east-1")


def _browser_post(fields: dict[str, str], data: bytes, content_type: str) -> None:
    """What S3 does with the presigned form: store the object under its key, tagged as the
    form's ``tagging`` field says (moto's POST handler ignores that field, so apply it here)."""
    tags = re.findall(r"<Key>([^<]+)</Key><Value>([^<]*)</Value>", fields["tagging"])
    _s3().put_object(
        Bucket=BUCKET,
        Key=fields["key"],
        Body=data,
        ContentType=content_type,
        Tagging="&".join(f"{k}={v}" for k, v in tags),
    )


def _tags(key: str) -> dict[str, str]:
    got = _s3().get_object_tagging(Bucket=BUCKET, Key=key)["TagSet"]
    return {t["Key"]: t["Value"] for t in got}


def _announce(api: ApiClient, who: Who, project_id: str, data: bytes = TEXT) -> dict[str, Any]:
    reply = api.post(
        f"/projects/{project_id}/files",
        {"filename": "notes.txt", "contentType": "text/plain", "size": len(data)},
        who=who,
    )
    assert reply.status == 201, reply.body
    return reply.body


def _ready_file(api: ApiClient, who: Who, project_id: str, data: bytes = TEXT) -> dict[str, Any]:
    created = _announce(api, who, project_id, data)
    _browser_post(created["upload"]["fields"], data, "text/plain")
    done = api.post(f"/files/{created['file']['id']}/complete", who=who)
    assert done.status == 200, done.body
    assert done.body["status"] == "ready", done.body
    return done.body


def _tasks_of(api: ApiClient, who: Who, project_id: str) -> list[dict[str, Any]]:
    return api.get(f"/tasks?projectId={project_id}", who=who).body["items"]


def test_project_upload_is_a_tagged_restricted_presigned_post(api: ApiClient) -> None:
    alice, outsider = api.user(), api.user()
    pid = api.project(alice)["id"]
    bad = api.post(
        f"/projects/{pid}/files",
        {"filename": "../x.txt", "contentType": "text/plain", "size": 3},
        who=alice,
    )
    assert bad.status == 400
    created = _announce(api, alice, pid)
    file, upload = created["file"], created["upload"]
    assert file["taskId"] is None
    assert file["projectId"] == pid
    assert file["status"] == "pending"
    assert upload["fields"]["key"] == f"uploads/{pid}/{file['id']}"  # chosen by the server
    assert "aion-state" in upload["fields"]["tagging"]
    policy = json.loads(base64.b64decode(upload["fields"]["policy"]))
    assert ["content-length-range", len(TEXT), len(TEXT)] in policy["conditions"]
    assert {"Content-Type": "text/plain"} in policy["conditions"]
    assert {"tagging": upload["fields"]["tagging"]} in policy["conditions"]
    assert api.get(f"/files/{file['id']}", who=alice).body["taskId"] is None
    # Not a member: the project and its files do not exist for them.
    assert (
        api.post(
            f"/projects/{pid}/files",
            {"filename": "a.txt", "contentType": "text/plain", "size": 3},
            who=outsider,
        ).error_code
        == "project_not_found"
    )
    assert api.get(f"/files/{file['id']}", who=outsider).status == 404
    assert api.post(f"/files/{file['id']}/complete", who=outsider).status == 404


def test_task_uploads_are_tagged_too(api: ApiClient) -> None:
    alice = api.user()
    task = api.task(alice, api.project(alice)["id"])
    body = {"filename": "a.txt", "contentType": "text/plain", "size": 3}
    fields = api.post(f"/tasks/{task['id']}/files", body, who=alice).body["upload"]["fields"]
    policy = json.loads(base64.b64decode(fields["policy"]))
    assert {"tagging": fields["tagging"]} in policy["conditions"]


def test_completion_retags_accepted_objects_and_deletes_rejected_ones(api: ApiClient) -> None:
    from chalicelib.dal.models import File

    alice = api.user()
    pid = api.project(alice)["id"]
    created = _announce(api, alice, pid)
    key, fid = created["upload"]["fields"]["key"], created["file"]["id"]
    assert File.get(fid).expires_at is not None  # an abandoned record goes too
    _browser_post(created["upload"]["fields"], TEXT, "text/plain")
    assert _tags(key) == {"aion-state": "pending"}  # what the lifecycle rule expires
    assert api.post(f"/files/{fid}/complete", who=alice).body["status"] == "ready"
    # The checked bytes moved to the final key, tagged ready; the upload object is gone.
    assert File.get(fid).key == f"files/{pid}/{fid}"
    assert _tags(f"files/{pid}/{fid}") == {"aion-state": "ready"}
    with pytest.raises(ClientError):
        _s3().head_object(Bucket=BUCKET, Key=key)
    assert File.get(fid).expires_at is None

    wrong = _announce(api, alice, pid)
    wrong_key = wrong["upload"]["fields"]["key"]
    _browser_post(wrong["upload"]["fields"], b"not what was announced", "text/plain")
    reply = api.post(f"/files/{wrong['file']['id']}/complete", who=alice)
    assert reply.body["status"] == "rejected"
    with pytest.raises(ClientError):
        _s3().head_object(Bucket=BUCKET, Key=wrong_key)
    assert File.get(wrong["file"]["id"]).expires_at is not None


def test_create_task_takes_a_ready_project_file_as_its_input(api: ApiClient) -> None:
    from chalicelib.dal.models import Task
    from chalicelib.logic.dispatch_routes import input_args

    alice = api.user()
    pid = api.project(alice)["id"]
    file = _ready_file(api, alice, pid)
    api.queue_messages()
    reply = api.post(
        "/tasks",
        {"projectId": pid, "instruction": "hash it", "input": file["id"], "module": "crypto.hash"},
        who=alice,
    )
    assert reply.status == 202, reply.body
    task = reply.body
    assert task["input"] == file["id"]
    assert api.get(f"/files/{file['id']}", who=alice).body["taskId"] == task["id"]
    listed = api.get(f"/tasks/{task['id']}/files", who=alice).body["items"]
    assert [f["id"] for f in listed] == [file["id"]]
    assert api.queue_messages() == [{"taskId": task["id"], "attempt": 1}]
    # The dispatcher reads the file by reference (its final key), not the id as text.
    key = f"files/{pid}/{file['id']}"
    assert input_args(Task.get(task["id"]), None) == {"input_ref": (BUCKET, key)}

    # Deleting the task deletes its input file and the object.
    assert api.delete(f"/tasks/{task['id']}", who=alice).status == 204
    assert api.get(f"/files/{file['id']}", who=alice).status == 404
    with pytest.raises(ClientError):
        _s3().head_object(Bucket=BUCKET, Key=key)


def test_a_file_is_the_input_of_one_task_only(api: ApiClient) -> None:
    alice, bob = api.user(), api.user()
    pid = api.project(alice, bob)["id"]
    file = _ready_file(api, alice, pid)
    first = api.task(alice, pid, input=file["id"])
    api.queue_messages()
    second = api.post(
        "/tasks", {"projectId": pid, "instruction": "again", "input": file["id"]}, who=bob
    )
    assert second.status == 409
    assert second.error_code == "file_already_attached"
    assert first["id"] in second.body["error"]["message"]
    # The refused transaction wrote nothing: no task, no event, no dispatch.
    assert [t["id"] for t in _tasks_of(api, alice, pid)] == [first["id"]]
    assert api.queue_messages() == []
    # A file uploaded straight to a task is that task's already.
    task_file = api.post(
        f"/tasks/{first['id']}/files",
        {"filename": "b.txt", "contentType": "text/plain", "size": 3},
        who=alice,
    ).body["file"]
    reply = api.post(
        "/tasks", {"projectId": pid, "instruction": "x", "input": task_file["id"]}, who=alice
    )
    assert reply.status == 409


def test_pending_and_rejected_files_are_refused_with_a_reason(api: ApiClient) -> None:
    alice = api.user()
    pid = api.project(alice)["id"]
    pending = _announce(api, alice, pid)["file"]
    reply = api.post(
        "/tasks", {"projectId": pid, "instruction": "x", "input": pending["id"]}, who=alice
    )
    assert reply.status == 409
    assert reply.error_code == "file_not_ready"
    assert f"/files/{pending['id']}/complete" in reply.body["error"]["message"]

    rejected = _announce(api, alice, pid)
    _browser_post(rejected["upload"]["fields"], b"too long for it", "text/plain")
    api.post(f"/files/{rejected['file']['id']}/complete", who=alice)
    reply = api.post(
        "/tasks", {"projectId": pid, "instruction": "x", "input": rejected["file"]["id"]}, who=alice
    )
    assert reply.status == 409
    assert reply.error_code == "file_rejected"
    assert _tasks_of(api, alice, pid) == []
    for fid in (pending["id"], rejected["file"]["id"]):
        assert api.get(f"/files/{fid}", who=alice).body["taskId"] is None
    # Once complete, the pending one can be used.
    from chalicelib.dal.models import File

    _browser_post(
        {
            "key": File.get(pending["id"]).key,
            "tagging": "<Key>aion-state</Key><Value>pending</Value>",
        },
        TEXT,
        "text/plain",
    )
    assert api.post(f"/files/{pending['id']}/complete", who=alice).body["status"] == "ready"
    assert api.task(alice, pid, input=pending["id"])["input"] == pending["id"]


def test_others_files_stay_plain_text_and_reveal_nothing(api: ApiClient) -> None:
    from chalicelib.dal.models import Task
    from chalicelib.logic.dispatch_routes import input_args

    alice, bob = api.user(), api.user()
    alice_pid, bob_pid = api.project(alice)["id"], api.project(bob)["id"]
    bobs = _ready_file(api, bob, bob_pid)
    unknown = "fil_" + "0" * 20
    for value in (bobs["id"], unknown):
        reply = api.post(
            "/tasks", {"projectId": alice_pid, "instruction": "x", "input": value}, who=alice
        )
        assert reply.status == 202, reply.body  # the same answer for both: nothing to learn
        assert reply.body["input"] == value
        assert input_args(Task.get(reply.body["id"]), None) == {"input_text": value}
    assert api.get(f"/files/{bobs['id']}", who=bob).body["taskId"] is None  # still Bob's to use
    assert api.task(bob, bob_pid, input=bobs["id"])["input"] == bobs["id"]


def test_a_visible_file_of_another_project_is_a_clear_400(api: ApiClient) -> None:
    alice, admin = api.user(), api.user("admin")
    one, two = api.project(alice)["id"], api.project(alice)["id"]
    file = _ready_file(api, alice, one)
    for who in (alice, admin):
        reply = api.post(
            "/tasks", {"projectId": two, "instruction": "x", "input": file["id"]}, who=who
        )
        assert reply.status == 400
        assert reply.error_code == "file_in_other_project"
    assert _tasks_of(api, alice, two) == []


def test_idempotent_replay_with_a_file_returns_the_same_task(api: ApiClient) -> None:
    alice = api.user()
    pid = api.project(alice)["id"]
    file = _ready_file(api, alice, pid)
    body = {"projectId": pid, "instruction": "hash", "input": file["id"]}
    headers = {"Idempotency-Key": "file-key-1"}
    first = api.post("/tasks", body, who=alice, headers=headers)
    again = api.post("/tasks", body, who=alice, headers=headers)
    assert first.status == 202
    assert again.status == 202
    assert again.body["id"] == first.body["id"]
    other = api.post("/tasks", body, who=alice, headers={"Idempotency-Key": "file-key-2"})
    assert other.error_code == "file_already_attached"


def test_a_concurrent_claim_of_the_file_is_a_retryable_409(api: ApiClient, monkeypatch) -> None:
    """Two transactions on the same file at once: DynamoDB cancels one with TransactionConflict
    (moto serialises transactions, so that cancellation is injected here)."""
    from pynamodb.exceptions import CancellationReason, TransactWriteError, VerboseClientError
    from pynamodb.transactions import TransactWrite

    alice = api.user()
    pid = api.project(alice)["id"]
    file = _ready_file(api, alice, pid)

    def conflicted(self: TransactWrite) -> None:
        cause = VerboseClientError(
            {"Error": {"Code": "TransactionCanceledException", "Message": "conflict"}},
            "TransactWriteItems",
            cancellation_reasons=[None, None, CancellationReason(code="TransactionConflict")],
        )
        raise TransactWriteError("Failed to write transaction items", cause)

    monkeypatch.setattr(TransactWrite, "_commit", conflicted)
    reply = api.post(
        "/tasks", {"projectId": pid, "instruction": "x", "input": file["id"]}, who=alice
    )
    assert reply.status == 409
    assert reply.error_code == "file_busy"
    monkeypatch.undo()
    assert api.task(alice, pid, input=file["id"])["input"] == file["id"]  # free once it settles


def _patch_input(
    api: ApiClient, who: Who, task_id: str, value: str, version: int | None = None
) -> Reply:
    if version is None:
        version = api.get(f"/tasks/{task_id}", who=who).body["version"]
    return api.patch(
        f"/tasks/{task_id}", {"input": value}, who=who, headers={"If-Match": str(version)}
    )


def test_patching_the_input_to_a_project_file_attaches_it_or_says_why_not(
    api: ApiClient,
) -> None:
    from chalicelib.dal.models import Task
    from chalicelib.logic.dispatch_routes import input_args

    alice, bob = api.user(), api.user()
    pid, bob_pid = api.project(alice)["id"], api.project(bob)["id"]
    task = api.task(alice, pid)
    file = _ready_file(api, alice, pid)

    stale = _patch_input(api, alice, task["id"], file["id"], version=task["version"] + 5)
    assert stale.status == 412
    assert api.get(f"/files/{file['id']}", who=alice).body["taskId"] is None

    assert _patch_input(api, alice, task["id"], file["id"]).status == 200
    assert api.get(f"/files/{file['id']}", who=alice).body["taskId"] == task["id"]
    assert input_args(Task.get(task["id"]), None) == {
        "input_ref": (BUCKET, f"files/{pid}/{file['id']}")
    }
    assert _patch_input(api, alice, task["id"], file["id"]).status == 200  # its own: fine

    other = api.task(alice, pid)
    taken = _patch_input(api, alice, other["id"], file["id"])
    assert taken.status == 409
    assert taken.error_code == "file_already_attached"
    pending = _announce(api, alice, pid)["file"]
    assert _patch_input(api, alice, other["id"], pending["id"]).error_code == "file_not_ready"
    assert api.get(f"/tasks/{other['id']}", who=alice).body["input"] is None

    bobs = _ready_file(api, bob, bob_pid)
    assert _patch_input(api, alice, other["id"], bobs["id"]).status == 200  # plain text
    assert api.get(f"/files/{bobs['id']}", who=bob).body["taskId"] is None


def test_a_patch_that_loses_a_race_releases_the_file_it_claimed(
    api: ApiClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.dal.models import Task
    from chalicelib.logic import lifecycle

    alice = api.user()
    pid = api.project(alice)["id"]
    task = api.task(alice, pid)
    file = _ready_file(api, alice, pid)
    original = lifecycle.transition

    def edited_meanwhile(*args: Any, **kwargs: Any) -> Any:
        Task.get(task["id"]).update(actions=[Task.title.set("Someone else's edit")])
        return original(*args, **kwargs)

    monkeypatch.setattr(lifecycle, "transition", edited_meanwhile)
    reply = _patch_input(api, alice, task["id"], file["id"])
    assert reply.status == 412
    monkeypatch.undo()
    assert api.get(f"/files/{file['id']}", who=alice).body["taskId"] is None  # released
    assert api.task(alice, pid, input=file["id"])["input"] == file["id"]  # free to use
