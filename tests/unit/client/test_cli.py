"""The ``aion`` command through click's runner: JSON mode, exit statuses, one-sentence errors,
plain output off a terminal, Ctrl-C, and the login file."""

from __future__ import annotations

import json
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from aion_client import Client
from aion_client.cli import main
from aion_client.resources import Tasks
from click.testing import CliRunner, Result

from tests.unit.client.conftest import completed_stats_log
from tests.unit.client.fakes import FakeApi, SocketServer, TaskLog, body_of, recorded, reply

pytestmark = pytest.mark.timeout(60)
PROJECT = recorded("project_create")["body"]


@pytest.fixture
def wired(
    api: FakeApi,
    sleeps: list[float],
    quiet_socket: SocketServer,
    monkeypatch: pytest.MonkeyPatch,
) -> FakeApi:
    """The CLI's clients talk to the fake API; the WebSocket is a quiet local server."""

    class WiredClient(Client):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs.setdefault("transport", api.transport)
            kwargs.setdefault("sleep", sleeps.append)
            super().__init__(*args, **kwargs)

        @classmethod
        def login(cls, *args: Any, **kwargs: Any) -> Client:
            kwargs.setdefault("transport", api.transport)
            kwargs.setdefault("sleep", sleeps.append)
            return super().login(*args, **kwargs)

    monkeypatch.setattr(main, "Client", WiredClient)
    monkeypatch.setenv("AION_URL", api.base)
    monkeypatch.setenv("AION_API_KEY", "aion_test_key")
    monkeypatch.setenv("AION_WS_URL", quiet_socket.url)
    api.on("GET", "/projects", reply(200, {"items": [PROJECT], "nextCursor": None}))
    return api


def aion(*args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(main.cli, list(args), input=input)


def with_log(api: FakeApi, log: TaskLog, socket: SocketServer) -> TaskLog:
    log.publish_all()
    log.routes(api)
    socket.log = log
    return log


def one_error_line(result: Result) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.output
    return lines[0]


# ------------------------------------------------------------------------ run


def test_run_json_prints_only_the_final_task(wired: FakeApi, quiet_socket: SocketServer) -> None:
    log = with_log(wired, completed_stats_log(), quiet_socket)
    result = aion("run", "count the words", "--input", "a b c", "--json")
    assert result.exit_code == 0, result.output
    task = json.loads(result.stdout)
    assert task["id"] == log.task_id
    assert task["status"] == "completed"
    assert task["result"]["words"] == 3
    assert result.stderr == ""
    assert body_of(wired.calls("POST", "/tasks")[0]) == {
        "projectId": PROJECT["id"],  # the caller's only project
        "instruction": "count the words",
        "input": "a b c",
    }


def test_run_off_a_terminal_prints_plain_timeline_lines_and_the_result(
    wired: FakeApi, quiet_socket: SocketServer
) -> None:
    with_log(wired, completed_stats_log(), quiet_socket)
    result = aion("run", "count the words", "--input", "a b c")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert "\x1b[" not in result.stdout  # no terminal codes in a pipe
    assert lines[0].endswith("queued       status   Task queued")
    assert any("routed   Routed to executor: text.stats." in line for line in lines)
    assert any(line.split() == ["words", "3"] for line in lines)
    assert any(line.split() == ["topWords", "a,", "b"] for line in lines)


@pytest.mark.parametrize(
    ("final", "code", "sentence"),
    [
        (
            ("status", "failed", "Executor failed."),
            1,
            "failed (executor_error): The module crashed.",
        ),
        (("status", "canceled", "Canceled by request."), 4, "was canceled."),
        (
            ("status", "needs_review", "No input."),
            3,
            "needs review (input_missing): There is no input data. Act on it with: "
            "aion review answer|run|input|reject",
        ),
    ],
)
def test_run_exit_status_follows_the_end_state(
    wired: FakeApi,
    quiet_socket: SocketServer,
    final: tuple[str, str, str],
    code: int,
    sentence: str,
) -> None:
    log = TaskLog.of(
        [("status", "queued", "Task queued"), final],
        error={"code": "executor_error", "message": "The module crashed."},
        route={
            "target": "review",
            "module": "text.summarize",
            "reason": "There is no input data",
            "reasonCode": "input_missing",
        },
    )
    with_log(wired, log, quiet_socket)
    result = aion("run", "summarize this")
    assert result.exit_code == code
    assert sentence in one_error_line(result)
    json_result = aion("run", "summarize this", "--json")
    assert json_result.exit_code == code
    assert json.loads(json_result.stdout)["status"] == final[1]


def test_run_no_watch_returns_the_queued_task(wired: FakeApi, quiet_socket: SocketServer) -> None:
    log = with_log(wired, completed_stats_log(), quiet_socket)
    result = aion("run", "count", "--no-watch", "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["status"] == "queued"
    assert wired.calls("GET", f"/tasks/{log.task_id}/activity") == []


def test_params_parse_as_json_when_they_are_json(
    wired: FakeApi, quiet_socket: SocketServer
) -> None:
    with_log(wired, completed_stats_log(), quiet_socket)
    result = aion(
        "run",
        "summarize",
        "--input",
        "x",
        "--module",
        "text.summarize",
        "--param",
        "sentences=2",
        "--param",
        "style=brief",
        "--param",
        'opts={"a": [1, true]}',
        "--param",
        "eq=a=b",
        "--json",
    )
    assert result.exit_code == 0, result.output
    body = body_of(wired.calls("POST", "/tasks")[0])
    assert body["module"] == "text.summarize"
    assert body["params"] == {
        "sentences": 2,
        "style": "brief",
        "opts": {"a": [1, True]},
        "eq": "a=b",
    }


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["run", "x", "--param", "novalue"], "'novalue' is not KEY=VALUE"),
        (["run", "x", "--input", "a", "--file", __file__], "not both"),
        (["run"], "Missing argument"),
        (["tasks", "list", "--status", "done"], "'done' is not one of"),
    ],
)
def test_usage_errors_exit_2(wired: FakeApi, args: list[str], fragment: str) -> None:
    result = aion(*args)
    assert result.exit_code == 2
    assert fragment in result.stderr
    assert wired.calls("POST", "/tasks") == []


def test_a_file_is_uploaded_and_becomes_the_input(
    wired: FakeApi, quiet_socket: SocketServer, tmp_path: Path
) -> None:
    with_log(wired, completed_stats_log(), quiet_socket)
    data = tmp_path / "p.csv"
    data.write_text("a,b\n1,2\n")
    registered = recorded("file_register")
    registered["body"]["upload"]["url"] = "http://storage.test/files"
    file_id = registered["body"]["file"]["id"]
    wired.on("POST", f"/projects/{PROJECT['id']}/files", registered)
    wired.on("POST", "/files", reply(204), raw_path=True)
    wired.on("POST", f"/files/{file_id}/complete", recorded("file_complete"))
    result = aion("run", "profile", "--file", str(data), "--json")
    assert result.exit_code == 0, result.output
    assert body_of(wired.calls("POST", "/tasks")[0])["input"] == file_id


# ------------------------------------------------------------------------ Ctrl-C


def interrupt_first_watch(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The first watch is interrupted after one event (as Ctrl-C would); later ones run."""
    original = Tasks.watch
    watched: list[str] = []

    def watch(self: Tasks, task_id: str, **kwargs: Any) -> Iterator[Any]:
        watched.append(task_id)
        events = original(self, task_id, **kwargs)
        if len(watched) == 1:
            yield next(events)
            raise KeyboardInterrupt
        yield from events

    monkeypatch.setattr(Tasks, "watch", watch)
    return watched


def test_ctrl_c_stops_watching_and_says_how_to_resume(
    wired: FakeApi, quiet_socket: SocketServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = with_log(wired, completed_stats_log(), quiet_socket)
    interrupt_first_watch(monkeypatch)
    result = aion("run", "count", "--input", "a")
    assert result.exit_code == 130
    assert f"Resume with: aion tasks watch {log.task_id}" in one_error_line(result)
    assert wired.calls("POST", f"/tasks/{log.task_id}/cancel") == []


def test_ctrl_c_with_cancel_cancels_the_task(
    wired: FakeApi, quiet_socket: SocketServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = TaskLog.of(
        [
            ("status", "queued", "Task queued"),
            ("status", "running", "Running."),
            ("status", "canceled", "Canceled by request."),
        ]
    )
    with_log(wired, log, quiet_socket)
    wired.on(
        "POST",
        f"/tasks/{log.task_id}/cancel",
        reply(200, {**log.task, "status": "running", "cancelRequested": True}),
    )
    watched = interrupt_first_watch(monkeypatch)
    result = aion("run", "count", "--input", "a", "--cancel")
    assert result.exit_code == 4
    assert len(wired.calls("POST", f"/tasks/{log.task_id}/cancel")) == 1
    assert watched == [log.task_id, log.task_id]  # followed on to its end
    assert "Cancel requested" in result.stderr


# ------------------------------------------------------------------------ errors


def test_api_errors_are_one_sentence_on_stderr(wired: FakeApi) -> None:
    wired.on("GET", "/tasks/tsk_nope", recorded("task_not_found"))
    result = aion("tasks", "show", "tsk_nope")
    assert result.exit_code == 1
    assert one_error_line(result) == "Error: Task not found. [task_not_found]"
    assert result.stdout == ""


def test_auth_errors_exit_2_with_a_hint(wired: FakeApi) -> None:
    wired.on("GET", "/projects", recorded("unauthorized"))
    result = aion("projects", "list")
    assert result.exit_code == 2
    line = one_error_line(result)
    assert line.startswith("Error: The access token is malformed. [unauthorized]")
    assert "aion login" in line


def test_without_settings_the_error_says_what_to_set(monkeypatch: pytest.MonkeyPatch) -> None:
    result = aion("projects", "list")
    assert result.exit_code == 2
    assert "set AION_URL" in one_error_line(result)


def test_an_unreachable_api_is_one_sentence(wired: FakeApi, sleeps: list[float]) -> None:
    wired.on("GET", "/tasks/tsk_1", httpx.ConnectError("Connection refused"))
    result = aion("tasks", "show", "tsk_1")
    assert result.exit_code == 1
    assert one_error_line(result).startswith("Error: Could not reach the AION API at")
    assert len(sleeps) == 3  # it tried again, with backoff, before giving up


# ------------------------------------------------------------------------ other commands


def test_an_unexpected_fault_is_still_one_sentence(
    wired: FakeApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise TypeError("something odd")

    monkeypatch.setattr(Tasks, "create", broken)
    result = aion("run", "count", "--input", "a")
    assert result.exit_code == 1
    assert one_error_line(result) == ("Error: TypeError: something odd (AION_DEBUG=1 shows where).")


def test_projects(wired: FakeApi) -> None:
    wired.on("POST", "/projects", recorded("project_create"))
    listed = aion("projects", "list", "--json")
    assert [p["id"] for p in json.loads(listed.stdout)] == [PROJECT["id"]]
    created = aion("projects", "create", "recorded", "--json")
    assert json.loads(created.stdout)["name"] == "recorded"
    human = aion("projects", "list")
    assert PROJECT["id"] in human.stdout
    assert "recorded" in human.stdout


def test_tasks_list_resolves_the_project_by_name(wired: FakeApi) -> None:
    wired.on("GET", "/tasks", reply(200, {"items": [recorded("task_completed")["body"]]}))
    result = aion("tasks", "list", "--project", "recorded", "--json")
    assert result.exit_code == 0, result.output
    assert len(json.loads(result.stdout)) == 1
    assert wired.calls("GET", "/tasks")[0].url.params["projectId"] == PROJECT["id"]


def test_several_projects_and_none_named_is_a_usage_error(wired: FakeApi) -> None:
    other = {**PROJECT, "id": "prj_" + "2".zfill(20), "name": "other"}
    wired.on("GET", "/projects", reply(200, {"items": [PROJECT, other], "nextCursor": None}))
    result = aion("tasks", "list")
    assert result.exit_code == 2
    assert one_error_line(result) == (
        "Error: You belong to 2 projects; name the one to use: choose one with "
        "--project NAME_OR_ID or AION_PROJECT (see aion projects list)."
    )


def test_tasks_show_renders_a_csv_profile_as_a_table(wired: FakeApi) -> None:
    profile = {
        "rows": 3,
        "columns": [
            {"name": "age", "type": "integer", "nulls": 1, "distinct": 2, "min": 31, "max": 45},
            {"name": "city", "type": "string", "nulls": 0, "distinct": 2},
        ],
    }
    task = {**recorded("task_completed")["body"], "module": "data.csv_profile", "result": profile}
    wired.on("GET", "/tasks/tsk_csv", reply(200, task))
    result = aion("tasks", "show", "tsk_csv")
    assert result.exit_code == 0
    assert "3 rows, 2 columns" in result.stdout
    rows = [line for line in result.stdout.splitlines() if "age" in line or "city" in line]
    assert [r.replace("│", " ").split() for r in rows] == [
        ["age", "integer", "1", "2", "31", "45"],
        ["city", "string", "0", "2"],
    ]


def test_review_commands(wired: FakeApi) -> None:
    waiting = {**recorded("task_completed")["body"], "id": "tsk_r", "status": "needs_review"}
    wired.on("GET", "/reviews", reply(200, {"items": [waiting], "nextCursor": None}))
    wired.on("POST", "/tasks/tsk_r/review", reply(200, {**waiting, "status": "completed"}))
    listed = aion("review", "list", "--json")
    assert [t["id"] for t in json.loads(listed.stdout)] == ["tsk_r"]
    answered = aion("review", "answer", "tsk_r", "42")
    assert answered.exit_code == 0
    assert "tsk_r is now completed" in answered.stdout
    aion("review", "reject", "tsk_r", "Out of scope")
    aion("review", "run", "tsk_r", "math.evaluate", "--param", "expression=6*7")
    assert [body_of(r) for r in wired.calls("POST", "/tasks/tsk_r/review")] == [
        {"action": "answer", "result": 42},
        {"action": "reject", "reason": "Out of scope"},
        {"action": "run", "module": "math.evaluate", "params": {"expression": "6*7"}},
    ]


def test_explain_shows_the_route(wired: FakeApi) -> None:
    wired.on("POST", "/router/explain", recorded("explain"))
    result = aion("explain", "summarize this")
    decision = recorded("explain")["body"]
    expected = f"{decision['module']} via {decision['target']}, "
    assert expected + f"{round(decision['confidence'] * 100)}%" in result.stdout


def test_keys_create_prints_the_secret_alone_on_stdout(wired: FakeApi) -> None:
    created = {"id": "key_1", "name": "ci", "prefix": "aion_ab", "key": "aion_ab_s3cret"}
    wired.on("POST", "/api-keys", reply(201, created))
    wired.on("GET", "/api-keys", reply(200, {"items": [created], "nextCursor": None}))
    result = aion("keys", "create", "ci")
    assert result.stdout == "aion_ab_s3cret\n"
    assert "shown once" in result.stderr
    listed = aion("keys", "list")
    assert "aion_ab_s3cret" not in listed.output
    assert "aion_ab" in listed.stdout


def test_login_prompts_and_keeps_the_session_private(
    wired: FakeApi, monkeypatch: pytest.MonkeyPatch, clean_env: Path
) -> None:
    monkeypatch.delenv("AION_URL")
    monkeypatch.delenv("AION_API_KEY")
    wired.on(
        "POST",
        "/auth/login",
        recorded("login", accessToken="acc-SECRET", refreshToken="ref-SECRET"),
    )
    wired.on("GET", "/me", recorded("me"))
    result = aion("login", input=f"{wired.base}\nadmin@aion.local\npw-SECRET\n")
    monkeypatch.setenv("AION_URL", wired.base)
    assert result.exit_code == 0, result.output
    assert "Logged in to http://api.test/api as admin@aion.local" in result.stderr
    assert "SECRET" not in result.output  # neither the password nor a token is shown
    path = clean_env / "credentials.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(path.read_text())["logins"][wired.base]["refresh_token"] == "ref-SECRET"

    as_json = aion("login", "--email", "admin@aion.local", "--password", "pw-SECRET", "--json")
    assert as_json.exit_code == 0, as_json.output
    shown = json.loads(as_json.stdout)
    assert shown["user"]["email"] == "admin@aion.local"
    assert shown["url"] == wired.base
    assert "SECRET" not in as_json.output

    # Later commands use the stored login (no API key).
    listed = aion("projects", "list", "--json")
    assert listed.exit_code == 0, listed.output
    assert wired.calls("GET", "/projects")[-1].headers["Authorization"] == "Bearer acc-SECRET"


def test_login_failure_is_an_auth_error(wired: FakeApi) -> None:
    wired.on(
        "POST",
        "/auth/login",
        reply(
            401, {"error": {"code": "invalid_credentials", "message": "Wrong email or password."}}
        ),
    )
    result = aion("login", "--email", "a@b.c", "--password", "nope")
    assert result.exit_code == 2
    assert one_error_line(result).startswith(
        "Error: Wrong email or password. [invalid_credentials]"
    )
