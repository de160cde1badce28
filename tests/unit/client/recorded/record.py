"""Record the API answers the client's unit tests replay, from a running dev stack.

    .venv/bin/python -m tests.unit.client.recorded.record http://127.0.0.1:8000/api EMAIL PASSWORD

Writes ``responses.json`` beside this file: status, the headers that matter, and the JSON
body of each call, with every token replaced by a placeholder (nothing secret is kept).
"""

from __future__ import annotations

import json
import re
import sys
import time
from pathlib import Path
from typing import Any

import httpx

OUT = Path(__file__).with_name("responses.json")
_SECRET_FIELDS = {"accessToken", "refreshToken", "ticket", "key", "downloadUrl"}
_KEPT_HEADERS = {"etag", "retry-after", "content-type", "www-authenticate"}


def _scrub(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            k: (f"<{k}>" if k in _SECRET_FIELDS and isinstance(v, str) else _scrub(v))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_scrub(v) for v in value]
    if isinstance(value, str):
        return re.sub(r"X-Amz-[A-Za-z-]+=[^&\"]+", "X-Amz-scrubbed", value)
    return value


def _keep(response: httpx.Response) -> dict[str, Any]:
    body = response.json() if response.content else None
    if isinstance(body, dict) and "upload" in body:  # the presigned form's policy and signature
        body["upload"]["fields"] = {k: f"<{k}>" for k in body["upload"]["fields"]}
    return {
        "status": response.status_code,
        "headers": {k: v for k, v in response.headers.items() if k.lower() in _KEPT_HEADERS},
        "body": _scrub(body),
    }


def main(api_url: str, email: str, password: str) -> None:
    out: dict[str, Any] = {}
    with httpx.Client(base_url=api_url.rstrip("/") + "/", timeout=30) as http:
        login = http.post("auth/login", json={"email": email, "password": password})
        out["login"] = _keep(login)
        tokens = login.json()
        auth = {"Authorization": f"Bearer {tokens['accessToken']}"}
        refreshed = http.post("auth/refresh", json={"refreshToken": tokens["refreshToken"]})
        out["refresh"] = _keep(refreshed)
        auth = {"Authorization": f"Bearer {refreshed.json()['accessToken']}"}
        out["me"] = _keep(http.get("me", headers=auth))
        out["unauthorized"] = _keep(http.get("me", headers={"Authorization": "Bearer nope"}))
        project = http.post("projects", json={"name": "recorded"}, headers=auth)
        out["project_create"] = _keep(project)
        pid = project.json()["id"]
        out["projects_page"] = _keep(http.get("projects", params={"limit": 1}, headers=auth))
        task = http.post(
            "tasks",
            json={"projectId": pid, "instruction": "count the words", "input": "a b c"},
            headers={**auth, "Idempotency-Key": "recorded-1"},
        )
        out["task_create"] = _keep(task)
        tid = task.json()["id"]
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            got = http.get(f"tasks/{tid}", headers=auth)
            if got.json()["status"] in ("completed", "failed", "needs_review"):
                break
            time.sleep(0.2)
        out["task_completed"] = _keep(got)
        out["activity"] = _keep(http.get(f"tasks/{tid}/activity", headers=auth))
        out["activity_page"] = _keep(
            http.get(f"tasks/{tid}/activity", params={"limit": 2}, headers=auth)
        )
        out["task_not_found"] = _keep(http.get("tasks/tsk_00000000000000000000", headers=auth))
        out["patch_without_version"] = _keep(
            http.patch(f"tasks/{tid}", json={"title": "x"}, headers=auth)
        )
        out["patch_stale_version"] = _keep(
            http.patch(f"tasks/{tid}", json={"title": "x"}, headers={**auth, "If-Match": "999"})
        )
        out["cancel_finished"] = _keep(http.post(f"tasks/{tid}/cancel", headers=auth))
        out["validation_error"] = _keep(
            http.post("tasks", json={"projectId": pid, "instruction": ""}, headers=auth)
        )
        out["ws_ticket"] = _keep(http.post("auth/ws-ticket", headers=auth))
        out["explain"] = _keep(
            http.post("router/explain", json={"instruction": "summarize this"}, headers=auth)
        )
        out["catalog"] = _keep(http.get("router/catalog", headers=auth))
        upload = http.post(
            f"projects/{pid}/files",
            json={"filename": "p.csv", "contentType": "text/csv", "size": 12},
            headers=auth,
        )
        out["file_register"] = _keep(upload)
        form = upload.json()["upload"]
        httpx.post(form["url"], data=form["fields"], files={"file": ("p.csv", b"a,b\n1,2\n3,4\n")})
        out["file_complete"] = _keep(
            http.post(f"files/{upload.json()['file']['id']}/complete", headers=auth)
        )
    OUT.write_text(json.dumps(out, indent=2, sort_keys=True) + "\n")


if __name__ == "__main__":
    main(*sys.argv[1:4])
