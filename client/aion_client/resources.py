"""The API's resources as methods: projects, tasks, files, reviews, router, API keys.

Every list method returns an iterator that follows ``nextCursor`` page by page as it is read;
``itertools.islice`` takes the first N without fetching the rest.
"""

from __future__ import annotations

import mimetypes
import re
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aion_client.errors import ApiError, ConfigurationError, Conflict, NotFound
from aion_client.models import (
    ApiKey,
    Catalog,
    CreatedApiKey,
    File,
    FileUpload,
    Project,
    RouteDecision,
    Task,
    TelemetryEvent,
)

if TYPE_CHECKING:
    from aion_client.client import Client

_PROJECT_ID = re.compile(r"^prj_[0-9a-f]{8,}$")
_UNSET: Any = object()


class _Resource:
    def __init__(self, client: Client) -> None:
        self._client = client
        self._http = client.http


# --------------------------------------------------------------------------------- projects


class Projects(_Resource):
    def list(self) -> Iterator[Project]:
        """Projects the caller belongs to (an admin: all)."""
        return self._http.paginate("/projects", Project)

    def get(self, project_id: str) -> Project:
        return Project.model_validate(self._http.request("GET", f"/projects/{project_id}"))

    def create(self, name: str, *, description: str = "") -> Project:
        body = self._http.request(
            "POST", "/projects", json={"name": name, "description": description}
        )
        return Project.model_validate(body)

    def update(
        self,
        project: Project | str,
        *,
        version: int | None = None,
        name: str | None = None,
        description: str | None = None,
    ) -> Project:
        """Rename or describe; ``version`` (or the given Project's) goes out as If-Match."""
        project_id, version = _id_and_version(project, version)
        changes = {"name": name, "description": description}
        body = self._http.request(
            "PATCH",
            f"/projects/{project_id}",
            json={k: v for k, v in changes.items() if v is not None},
            headers={"If-Match": str(version)},
        )
        return Project.model_validate(body)

    def delete(self, project_id: str) -> None:
        self._http.request("DELETE", f"/projects/{project_id}")

    def resolve(self, ref: str) -> Project:
        """The project named ``ref``, or with id ``ref``."""
        ref = ref.strip()
        if _PROJECT_ID.match(ref):
            try:
                return self.get(ref)
            except NotFound:
                pass  # a project may be named like an id
        projects = list(self.list())
        matches = [p for p in projects if p.name == ref or p.id == ref]
        if not matches:
            matches = [p for p in projects if p.name.casefold() == ref.casefold()]
        if not matches:
            raise NotFound(
                f"You have no project named {ref!r} (nor with that id).",
                status=404,
                code="project_not_found",
            )
        if len(matches) > 1:
            ids = ", ".join(p.id for p in matches)
            raise Conflict(
                f"Several projects are named {ref!r} ({ids}); give the id instead.",
                status=409,
                code="ambiguous_project",
            )
        return matches[0]

    def default(self, *, create_if_none: str | None = None) -> Project:
        """The project to use when none is named: the client's (``AION_PROJECT``), else the
        caller's only project; with ``create_if_none``, a new project of that name if the
        caller has none."""
        if self._client.project:
            return self.resolve(self._client.project)
        projects = list(self.list())
        if len(projects) == 1:
            return projects[0]
        if not projects:
            if create_if_none:
                return self.create(create_if_none)
            raise ConfigurationError("You have no project yet; create one first.")
        raise ConfigurationError(f"You belong to {len(projects)} projects; name the one to use.")

    def _id(self, project: Project | str | None) -> str:
        if isinstance(project, Project):
            return project.id
        if project and _PROJECT_ID.match(project.strip()):
            return project.strip()  # an id: the API checks it (404) where it is used
        if project:
            return self.resolve(project).id
        return self.default().id


# --------------------------------------------------------------------------------- tasks


class Tasks(_Resource):
    def create(
        self,
        instruction: str,
        *,
        project: Project | str | None = None,
        input: Any = None,
        file: str | Path | None = None,
        module: str | None = None,
        params: dict[str, Any] | None = None,
        title: str | None = None,
        priority: str | None = None,
        assignee_id: str | None = None,
        idempotency_key: str | None = None,
    ) -> Task:
        """Create and dispatch a task (the API answers at once; the task is ``queued``).

        ``file`` uploads a local file to the project first and makes it the task's input.
        An ``Idempotency-Key`` (a fresh UUID unless given) makes the create safe to retry:
        a repeat returns the same task instead of a second one.
        """
        if input is not None and file is not None:
            raise ValueError("Give input or file, not both.")
        project_id = self._client.projects._id(project)
        if file is not None:
            input = self._client.files.upload(file, project=project_id).id
        body: dict[str, Any] = {"projectId": project_id, "instruction": instruction}
        optional = {
            "input": input,
            "module": module,
            "params": params,
            "title": title,
            "priority": priority,
            "assigneeId": assignee_id,
        }
        body.update({k: v for k, v in optional.items() if v is not None})
        key = idempotency_key or str(uuid.uuid4())
        answer = self._http.request("POST", "/tasks", json=body, headers={"Idempotency-Key": key})
        return Task.model_validate(answer)

    def list(
        self,
        *,
        project: Project | str | None = None,
        status: str | None = None,
        assignee_id: str | None = None,
    ) -> Iterator[Task]:
        """A project's tasks; without a project, the tasks assigned to the caller."""
        params: dict[str, Any] = {"status": status, "assigneeId": assignee_id}
        if project is not None:
            params["projectId"] = self._client.projects._id(project)
        return self._http.paginate("/tasks", Task, params)

    def get(self, task_id: str) -> Task:
        return Task.model_validate(self._http.request("GET", f"/tasks/{task_id}"))

    def update(self, task: Task | str, *, version: int | None = None, **changes: Any) -> Task:
        """Edit a task (title, instruction, input, params, module, assignee_id, priority);
        ``version`` (or the given Task's) goes out as If-Match: a stale one raises
        PreconditionFailed."""
        task_id, version = _id_and_version(task, version)
        allowed = {"title", "instruction", "input", "params", "module", "assignee_id", "priority"}
        unknown = set(changes) - allowed
        if unknown:
            raise ValueError(f"Cannot change {', '.join(sorted(unknown))} of a task.")
        body = {_camel(k): v for k, v in changes.items()}
        answer = self._http.request(
            "PATCH", f"/tasks/{task_id}", json=body, headers={"If-Match": str(version)}
        )
        return Task.model_validate(answer)

    def cancel(self, task_id: str) -> Task:
        """Queued: canceled at once. Running: cancel requested (``cancel_requested``)."""
        return Task.model_validate(self._http.request("POST", f"/tasks/{task_id}/cancel"))

    def retry(self, task_id: str) -> Task:
        """A new attempt of a failed or canceled task."""
        return Task.model_validate(self._http.request("POST", f"/tasks/{task_id}/retry"))

    def delete(self, task_id: str) -> None:
        self._http.request("DELETE", f"/tasks/{task_id}")

    def activity(self, task_id: str, *, after: int = 0) -> Iterator[TelemetryEvent]:
        """The task's telemetry events with ``seq > after``, oldest first, every page."""
        while True:
            page = self._http.request(
                "GET", f"/tasks/{task_id}/activity", params={"after": after or None, "limit": 100}
            )
            items = page.get("items") or []
            for item in items:
                event = TelemetryEvent.model_validate(item)
                after = max(after, event.seq)
                yield event
            cursor = page.get("nextCursor")
            if not cursor or not items:
                return
            after = max(after, int(cursor))

    def files(self, task_id: str) -> Iterator[File]:
        return self._http.paginate(f"/tasks/{task_id}/files", File)

    def watch(
        self,
        task_id: str,
        *,
        after: int = 0,
        idle_poll_s: float | None = None,
    ) -> Iterator[TelemetryEvent]:
        """The task's telemetry events live, over the WebSocket, until it ends.

        Ends after the status event into ``completed``, ``failed``, ``canceled`` or
        ``needs_review``. A dropped socket is reopened and the missed events are read from
        the activity log: every event comes once, in ``seq`` order. ``after`` skips events
        already seen (resume from a seq).
        """
        from aion_client.watch import TaskWatch

        kwargs = {"idle_poll_s": idle_poll_s} if idle_poll_s is not None else {}
        return iter(TaskWatch(self._client, task_id, after=after, **kwargs))

    def wait(
        self, task_id: str, *, on_event: Callable[[TelemetryEvent], None] | None = None
    ) -> Task:
        """Watch the task to its end; the task as it then is."""
        for event in self.watch(task_id):
            if on_event is not None:
                on_event(event)
        return self.get(task_id)

    def run(
        self,
        instruction: str,
        *,
        input: Any = None,
        file: str | Path | None = None,
        project: Project | str | None = None,
        module: str | None = None,
        params: dict[str, Any] | None = None,
        title: str | None = None,
        priority: str | None = None,
        on_event: Callable[[TelemetryEvent], None] | None = None,
    ) -> Task:
        """Create a task, watch it, and return it finished (``completed``, ``failed``,
        ``canceled``, or ``needs_review`` when a person has to act). ``on_event`` sees each
        telemetry event as it arrives."""
        task = self.create(
            instruction,
            project=project,
            input=input,
            file=file,
            module=module,
            params=params,
            title=title,
            priority=priority,
        )
        return self.wait(task.id, on_event=on_event)


# --------------------------------------------------------------------------------- files


class Files(_Resource):
    def upload(
        self,
        path: str | Path,
        *,
        project: Project | str | None = None,
        task: str | None = None,
        content_type: str | None = None,
        filename: str | None = None,
    ) -> File:
        """Upload a local file (to a task, else to a project) and return it ``ready``.

        Three steps: register it (the API answers a presigned S3 POST form), post the bytes
        to S3 with that form, then ask the API to check them (``/files/{id}/complete``).
        A project upload's id is then a task's ``input``.
        """
        path = Path(path)
        try:
            size = path.stat().st_size
        except OSError as exc:
            raise ConfigurationError(f"Cannot read {path}: {exc.strerror or exc}.") from exc
        if not path.is_file():
            raise ConfigurationError(f"{path} is not a file.")
        name = filename or path.name
        kind = content_type or mimetypes.guess_type(name)[0] or "application/octet-stream"
        meta = {"filename": name, "contentType": kind, "size": size}
        where = (
            f"/tasks/{task}/files"
            if task
            else f"/projects/{self._client.projects._id(project)}/files"
        )
        registered = FileUpload.model_validate(self._http.request("POST", where, json=meta))
        self._post_form(registered, path, kind)
        return self.complete(registered.file.id)

    def _post_form(self, registered: FileUpload, path: Path, content_type: str) -> None:
        form = registered.upload
        with self._http.external() as s3, path.open("rb") as data:
            try:
                # httpx writes the form fields before the file, as S3 requires.
                response = s3.post(
                    form.url,
                    data=form.fields,
                    files={"file": (registered.file.filename, data, content_type)},
                )
            except Exception as exc:
                raise ApiError(
                    f"The upload of {path.name} to storage failed ({exc}).",
                    status=0,
                    code="upload_failed",
                ) from exc
        if response.status_code >= 300:
            raise ApiError(
                f"Storage refused the upload of {path.name} (HTTP {response.status_code}).",
                status=response.status_code,
                code="upload_failed",
                details=response.text[:500],
            )

    def complete(self, file_id: str) -> File:
        answer = self._http.request("POST", f"/files/{file_id}/complete", idempotent=True)
        return File.model_validate(answer)

    def get(self, file_id: str) -> File:
        """Metadata; a ready file carries a short-lived ``download_url``."""
        return File.model_validate(self._http.request("GET", f"/files/{file_id}"))


# --------------------------------------------------------------------------------- reviews


class Reviews(_Resource):
    """The review queue: tasks in ``needs_review``, and what a person does about them."""

    def list(
        self, *, project: Project | str | None = None, reason_code: str | None = None
    ) -> Iterator[Task]:
        params: dict[str, Any] = {"reasonCode": reason_code}
        if project is not None:
            params["projectId"] = self._client.projects._id(project)
        return self._http.paginate("/reviews", Task, params)

    def answer(self, task_id: str, result: Any) -> Task:
        """Complete the task with a person's result (text or JSON)."""
        return self._act(task_id, {"action": "answer", "result": result})

    def run(
        self,
        task_id: str,
        module: str,
        *,
        params: dict[str, Any] | None = None,
        input: Any = _UNSET,
    ) -> Task:
        """Queue the task again, run with ``module``."""
        body: dict[str, Any] = {"action": "run", "module": module}
        if params is not None:
            body["params"] = params
        if input is not _UNSET:
            body["input"] = input
        return self._act(task_id, body)

    def input(self, task_id: str, input: Any) -> Task:
        """Attach input (text, JSON or a file id); the task is routed again."""
        return self._act(task_id, {"action": "input", "input": input})

    def reject(self, task_id: str, reason: str) -> Task:
        """Fail the task (``error.code`` ``rejected``)."""
        return self._act(task_id, {"action": "reject", "reason": reason})

    def _act(self, task_id: str, body: dict[str, Any]) -> Task:
        return Task.model_validate(
            self._http.request("POST", f"/tasks/{task_id}/review", json=body)
        )


# --------------------------------------------------------------------------------- router


class Router(_Resource):
    def explain(
        self,
        instruction: str,
        *,
        input: Any = None,
        params: dict[str, Any] | None = None,
        module: str | None = None,
    ) -> RouteDecision:
        """How the router would place this task now, without creating it."""
        body: dict[str, Any] = {"instruction": instruction}
        optional = {"input": input, "params": params, "module": module}
        body.update({k: v for k, v in optional.items() if v is not None})
        answer = self._http.request("POST", "/router/explain", json=body, idempotent=True)
        return RouteDecision.model_validate(answer)

    def catalog(self) -> Catalog:
        return Catalog.model_validate(self._http.request("GET", "/router/catalog"))


# --------------------------------------------------------------------------------- API keys


class ApiKeys(_Resource):
    def create(self, name: str, *, expires_at: datetime | str | None = None) -> CreatedApiKey:
        """A new key; its secret (``.key``) is in this answer only."""
        body: dict[str, Any] = {"name": name}
        if expires_at is not None:
            body["expiresAt"] = (
                expires_at.isoformat() if isinstance(expires_at, datetime) else expires_at
            )
        return CreatedApiKey.model_validate(self._http.request("POST", "/api-keys", json=body))

    def list(self) -> Iterator[ApiKey]:
        return self._http.paginate("/api-keys", ApiKey)

    def revoke(self, key_id: str) -> None:
        self._http.request("DELETE", f"/api-keys/{key_id}")


# --------------------------------------------------------------------------------- helpers


def _id_and_version(obj: Any, version: int | None) -> tuple[str, int]:
    if isinstance(obj, str):
        if version is None:
            raise ValueError("Give the version you read (it goes out as If-Match).")
        return obj, version
    chosen = version if version is not None else obj.version
    if chosen is None:
        raise ValueError("This object has no version; read it again first.")
    return obj.id, chosen


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)
