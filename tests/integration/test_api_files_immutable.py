"""Checked content is immutable: completion copies the upload it checked to a final key the
upload form cannot write, so a re-POST with the (still valid) form changes nothing ready."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote, urlparse

import boto3
import pytest
from botocore.exceptions import ClientError

from tests.integration.conftest import BUCKET, ApiClient, Who, set_task_fields
from tests.integration.s3_conditions import s3_copy_conditions  # noqa: F401 (fixture)

pytestmark = pytest.mark.usefixtures("s3_copy_conditions")

FIRST, SECOND = b"checked bytes\n", b"swapped bytes\n"  # same size: the form accepts both


def _s3() -> Any:
    return boto3.client("s3", region_name="us-east-1")


def _post_form(key: str, data: bytes) -> None:
    """What S3 does with the presigned form (moto's POST ignores the tagging field)."""
    _s3().put_object(
        Bucket=BUCKET, Key=key, Body=data, ContentType="text/plain", Tagging="aion-state=pending"
    )


def _body(key: str) -> bytes:
    return _s3().get_object(Bucket=BUCKET, Key=key)["Body"].read()


def _exists(key: str) -> bool:
    try:
        _s3().head_object(Bucket=BUCKET, Key=key)
    except ClientError:
        return False
    return True


def _announce(api: ApiClient, who: Who, pid: str) -> tuple[str, str]:
    reply = api.post(
        f"/projects/{pid}/files",
        {"filename": "notes.txt", "contentType": "text/plain", "size": len(FIRST)},
        who=who,
    )
    assert reply.status == 201, reply.body
    return reply.body["file"]["id"], reply.body["upload"]["fields"]["key"]


def test_completion_moves_the_object_and_a_repost_changes_nothing(api: ApiClient) -> None:
    from chalicelib.dal.models import File

    alice = api.user()
    pid = api.project(alice)["id"]
    fid, upload_key = _announce(api, alice, pid)
    _post_form(upload_key, FIRST)
    assert api.post(f"/files/{fid}/complete", who=alice).body["status"] == "ready"

    final = f"files/{pid}/{fid}"
    assert File.get(fid).key == final
    assert _body(final) == FIRST
    assert _s3().head_object(Bucket=BUCKET, Key=final)["ContentType"] == "text/plain"
    assert not _exists(upload_key)

    # The form is valid for 15 minutes: posting again lands on the upload key, tagged pending
    # (so it expires), and the ready file neither changes nor can be re-tagged pending.
    _post_form(upload_key, SECOND)
    again = api.post(f"/files/{fid}/complete", who=alice)
    assert again.status == 200, again.body
    assert again.body["status"] == "ready"
    assert _body(final) == FIRST
    tags = _s3().get_object_tagging(Bucket=BUCKET, Key=final)["TagSet"]
    assert tags == [{"Key": "aion-state", "Value": "ready"}]
    assert File.get(fid).key == final

    url = urlparse(api.get(f"/files/{fid}", who=alice).body["downloadUrl"])
    assert unquote(url.path).endswith(f"/{final}")
    assert upload_key not in unquote(url.geturl())


def test_an_upload_replaced_between_head_and_copy_is_a_409(
    api: ApiClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.dal.models import File
    from chalicelib.logic import files

    alice = api.user()
    pid = api.project(alice)["id"]
    fid, upload_key = _announce(api, alice, pid)
    _post_form(upload_key, FIRST)

    real = files._s3()

    class RacingS3:
        """The uploader posts again right after completion's HEAD."""

        def __getattr__(self, name: str) -> Any:
            return getattr(real, name)

        def head_object(self, **kw: Any) -> Any:
            head = real.head_object(**kw)
            if kw["Key"] == upload_key:
                _post_form(upload_key, SECOND)
            return head

    with monkeypatch.context() as patched:  # own context: the fixture's patch stays
        patched.setattr(files, "_s3", lambda: RacingS3())
        reply = api.post(f"/files/{fid}/complete", who=alice)
    assert reply.status == 409, reply.body
    assert reply.error_code == "upload_changed"
    # Nothing half-written: still pending at the upload key, no final object.
    item = File.get(fid)
    assert (item.status, item.key) == ("pending", upload_key)
    assert item.expires_at is not None
    assert not _exists(f"files/{pid}/{fid}")
    assert api.get(f"/files/{fid}", who=alice).body["downloadUrl"] is None

    # The race is over: completing again takes what is there now.
    done = api.post(f"/files/{fid}/complete", who=alice)
    assert done.status == 200, done.body
    assert done.body["status"] == "ready"
    assert _body(f"files/{pid}/{fid}") == SECOND


def test_the_final_object_is_write_once_across_a_crashed_completion(
    api: ApiClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A completion that dies after its copy, before the record: the retry finds the final
    object in place and keeps it, even if the uploader posted other bytes meanwhile."""
    from chalicelib.dal.models import File
    from chalicelib.logic import files

    alice = api.user()
    pid = api.project(alice)["id"]
    fid, upload_key = _announce(api, alice, pid)
    _post_form(upload_key, FIRST)

    def crash(*_a: Any, **_kw: Any) -> Any:
        raise RuntimeError("lambda timed out")

    with monkeypatch.context() as patched:
        patched.setattr(files, "_settle", crash)
        assert api.post(f"/files/{fid}/complete", who=alice).status == 500
    assert File.get(fid).status == "pending"
    assert _body(f"files/{pid}/{fid}") == FIRST

    _post_form(upload_key, SECOND)
    done = api.post(f"/files/{fid}/complete", who=alice)
    assert done.status == 200, done.body
    assert done.body["status"] == "ready"
    assert _body(f"files/{pid}/{fid}") == FIRST  # the checked copy was never overwritten
    assert not _exists(upload_key)


def test_a_task_runs_on_the_final_key_and_deleting_it_removes_the_object(
    api: ApiClient,
) -> None:
    from chalicelib.dal.models import Task
    from chalicelib.logic.dispatch_routes import input_args

    alice = api.user()
    pid = api.project(alice)["id"]
    task = api.task(alice, pid)
    reply = api.post(
        f"/tasks/{task['id']}/files",
        {"filename": "a.txt", "contentType": "text/plain", "size": len(FIRST)},
        who=alice,
    )
    fid, upload_key = reply.body["file"]["id"], reply.body["upload"]["fields"]["key"]
    assert upload_key == f"tasks/{task['id']}/{fid}"
    # Were its input already this file (the API refuses that while pending), the dispatcher
    # would still not read the upload key by reference.
    set_task_fields(task["id"], input=fid)
    assert input_args(Task.get(task["id"]), None) == {"input_text": fid}

    _post_form(upload_key, FIRST)
    assert api.post(f"/files/{fid}/complete", who=alice).body["status"] == "ready"
    final = f"files/{pid}/{fid}"
    assert input_args(Task.get(task["id"]), None) == {"input_ref": (BUCKET, final)}

    assert api.delete(f"/tasks/{task['id']}", who=alice).status == 204
    assert not _exists(final)
