"""The LLM route through the dev stack against a local OpenAI-compatible server (a loopback stub
standing in for Ollama, llama.cpp's server or LM Studio), the person route without one, and a
task that was running when the stack stopped being picked up by the sweeper after a restart."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.stack_runner import Api, StackRun, wait_gone

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

GENERATIVE = "Write a two-line poem about the sea"


class StubLlm:
    """``POST /v1/chat/completions`` answering ``{"choices": [{"message": {"content"}}]}``.

    ``hold()`` makes requests wait until ``release()`` (a model that is still thinking).
    """

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.received = threading.Event()
        self._go = threading.Event()
        self._go.set()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                stub.requests.append({"path": self.path, "body": body})
                stub.received.set()
                stub._go.wait(60)
                if self.path != "/v1/chat/completions":
                    self.send_error(404)
                    return
                reply = json.dumps(
                    {
                        "id": "stub-1",
                        "object": "chat.completion",
                        "model": body.get("model"),
                        "choices": [
                            {
                                "index": 0,
                                "message": {"role": "assistant", "content": "Waves fold light\n"},
                                "finish_reason": "stop",
                            }
                        ],
                    }
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> StubLlm:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._go.set()
        self.server.shutdown()
        self.server.server_close()

    def hold(self) -> None:
        self._go.clear()

    def release(self) -> None:
        self._go.set()


@pytest.fixture
def llm() -> Iterator[StubLlm]:
    with StubLlm() as stub:
        yield stub


def _create(api: Api, instruction: str) -> dict[str, Any]:
    project = api.call("POST", "/projects", json={"name": "LLM"}).json()
    created = api.call(
        "POST", "/tasks", json={"projectId": project["id"], "instruction": instruction}
    )
    assert created.status_code == 202, created.text
    return created.json()


def test_without_an_llm_generative_tasks_go_to_a_person(devstack: dict[str, Any]) -> None:
    api = Api(devstack)
    task = api.wait_task(_create(api, GENERATIVE)["id"])
    assert task["status"] == "needs_review"
    assert task["route"]["target"] == "review"
    assert task["route"]["module"] == "llm.generate"


def test_a_local_openai_compatible_server_runs_generative_tasks(
    tmp_path: Path, llm: StubLlm
) -> None:
    stack = StackRun(
        tmp_path, env={"AION_LLM_ENDPOINT": llm.endpoint, "AION_LLM_MODEL": "stub-model"}
    )
    try:
        info = stack.start()
        assert f"LLM route  on: OpenAI-compatible endpoint {llm.endpoint}" in stack.log()
        assert info["llm"] == {
            "provider": "openai_compatible",
            "endpoint": llm.endpoint,
            "model": "stub-model",
        }
        api = Api(info)
        task = api.wait_task(_create(api, GENERATIVE)["id"])
        assert task["status"] == "completed", task
        assert task["route"]["target"] == "llm"
        assert task["result"] == {"text": "Waves fold light\n"}
        sent = llm.requests[-1]
        assert sent["path"] == "/v1/chat/completions"
        assert sent["body"]["model"] == "stub-model"
        assert GENERATIVE in json.dumps(sent["body"]["messages"])
    finally:
        stack.stop()


def test_a_task_running_at_shutdown_is_swept_and_finished_after_the_restart(
    tmp_path: Path, llm: StubLlm
) -> None:
    stack = StackRun(
        tmp_path,
        env={
            "AION_LLM_ENDPOINT": llm.endpoint,
            "AION_LLM_MODEL": "stub-model",
            # Short leases and a fast sweeper keep the test short; the cloud's are 60 s and 1 min.
            "AION_LEASE_SECONDS": "4",
            "AION_HEARTBEAT_SECONDS": "1",
            "AION_DEV_SCHEDULE_SECONDS": "1",
        },
    )
    try:
        info = stack.start()
        api = Api(info)
        llm.hold()  # the model thinks forever: the task stays running
        task_id = _create(api, GENERATIVE)["id"]
        assert llm.received.wait(60), "the task never reached the LLM"
        assert api.wait_task(task_id, until={"running"})["status"] == "running"

        stack.interrupt()  # Ctrl-C while the task runs
        assert wait_gone(info["pid"])
        llm.release()

        again = Api(stack.start(), password=info["admin_password"])
        task = again.wait_task(task_id, until={"completed", "failed"}, timeout_s=90)
        assert task["status"] == "completed", task
        assert task["result"] == {"text": "Waves fold light\n"}
        assert task["attempts"] >= 2  # the sweeper took it back after its lease expired
        activity = again.call("GET", f"/tasks/{task_id}/activity?after=0").json()["items"]
        assert any("lease" in (e.get("message") or "").lower() for e in activity), activity
    finally:
        llm.release()
        stack.stop()
