"""The executor against a real grpcio server on an ephemeral 127.0.0.1 port, via the client."""

from __future__ import annotations

import contextlib
import hashlib
import os
import threading
import time
from collections.abc import Iterator

import grpc
import pytest

from chalicelib.executor_client import ExecEvent, ExecutorClient, ExecutorError
from executor_container.proto_gen import executor_pb2 as pb
from executor_container.proto_gen import executor_pb2_grpc as pb_grpc
from executor_container.server import (
    ERROR_CODE_METADATA_KEY,
    TOKEN_METADATA_KEY,
    RunningExecutor,
)
from tests.integration.executor_support import (
    TOKEN,
    in_process_executor,
)

CATALOGUE = {
    "crypto.hash",
    "data.csv_profile",
    "data.json_query",
    "math.evaluate",
    "text.extract",
    "text.sentiment",
    "text.stats",
    "text.summarize",
}


@pytest.fixture(scope="module")
def executor() -> Iterator[RunningExecutor]:
    with in_process_executor(workers=2) as running:
        yield running


@pytest.fixture(scope="module")
def client(executor: RunningExecutor) -> Iterator[ExecutorClient]:
    client = ExecutorClient(f"127.0.0.1:{executor.port}", TOKEN)
    yield client
    client.close()


def run(client: ExecutorClient, module: str, timeout_s: float = 20, **kwargs) -> list[ExecEvent]:
    kwargs.setdefault("params", {})
    return list(
        client.execute(task_id="t-1", attempt=1, module=module, timeout_s=timeout_s, **kwargs)
    )


def result_of(client: ExecutorClient, module: str, **kwargs) -> object:
    events = run(client, module, **kwargs)
    assert events[-1].kind == "result", events[-1]
    return events[-1].result


def test_catalogue_lists_every_module_with_schema_and_limits(client: ExecutorClient) -> None:
    modules = {m.name: m for m in client.list_modules()}
    assert set(modules) >= CATALOGUE
    assert "llm.generate" not in modules  # the LLM route, not the executor
    hash_info = modules["crypto.hash"]
    assert hash_info.params_schema["properties"]["algorithm"]["enum"] == [
        "sha256",
        "sha1",
        "md5",
        "sha512",
        "blake2b",
    ]
    assert modules["math.evaluate"].max_input_bytes == 64 * 1024
    assert all(m.version and m.description and m.timeout_seconds > 0 for m in modules.values())


def test_health_is_serving(client: ExecutorClient) -> None:
    assert client.health() is True


# -- every module through the wire, exact results -------------------------------------------


def test_text_stats(client: ExecutorClient) -> None:
    assert result_of(client, "text.stats", input_text="Hello world. Hello AION!\nNew line") == {
        "characters": 33,
        "words": 6,
        "lines": 2,
        "sentences": 3,
        "readingTimeSeconds": 2,
        "topWords": [
            {"word": "hello", "count": 2},
            {"word": "aion", "count": 1},
            {"word": "line", "count": 1},
            {"word": "new", "count": 1},
            {"word": "world", "count": 1},
        ],
    }


def test_text_stats_empty_and_unicode(client: ExecutorClient) -> None:
    assert result_of(client, "text.stats", input_text="") == {
        "characters": 0,
        "words": 0,
        "lines": 0,
        "sentences": 0,
        "readingTimeSeconds": 0,
        "topWords": [],
    }
    result = result_of(client, "text.stats", input_text="Ünïcödé café — naïve 😀. Ünïcödé!")
    assert result["characters"] == 32
    assert result["words"] == 6
    assert result["sentences"] == 2
    assert result["topWords"][0] == {"word": "ünïcödé", "count": 2}


def test_text_summarize(client: ExecutorClient) -> None:
    text = (
        "Solar power is growing fast. Cats sleep a lot. "
        "Solar panels turn sunlight into power. The weather was mild."
    )
    assert result_of(client, "text.summarize", input_text=text, params={"sentences": 2}) == {
        "summary": "Solar power is growing fast. Solar panels turn sunlight into power.",
        "sentences": ["Solar power is growing fast.", "Solar panels turn sunlight into power."],
        "totalSentences": 4,
    }


def test_text_extract(client: ExecutorClient) -> None:
    text = (
        "Write to ann@example.com or see https://aion.dev/docs#setup. Call +1 (555) 123-4567 "
        "before 2025-03-01 about $1,250.00. Thanks @ops_team #launch"
    )
    assert result_of(client, "text.extract", input_text=text) == {
        "urls": ["https://aion.dev/docs#setup"],
        "emails": ["ann@example.com"],
        "dates": ["2025-03-01"],
        "money": ["$1,250.00"],
        "phones": ["+1 (555) 123-4567"],
        "hashtags": ["#launch"],
        "mentions": ["@ops_team"],
    }
    assert result_of(
        client, "text.extract", input_text=text, params={"kinds": ["emails", "mentions"]}
    ) == {"emails": ["ann@example.com"], "mentions": ["@ops_team"]}


def test_text_sentiment(client: ExecutorClient) -> None:
    assert result_of(client, "text.sentiment", input_text="I love this. It is great!")["label"] == (
        "positive"
    )
    assert result_of(client, "text.sentiment", input_text="This is awful and sad.")["label"] == (
        "negative"
    )
    assert result_of(client, "text.sentiment", input_text="")["label"] == "neutral"


def test_csv_profile(client: ExecutorClient) -> None:
    csv = b"name,age,score\nann,31,4.5\nbob,,3.0\nann,40,\n"
    assert result_of(client, "data.csv_profile", input_bytes=csv) == {
        "rows": 3,
        "columns": [
            {
                "name": "name",
                "type": "string",
                "nulls": 0,
                "distinct": 2,
                "min": None,
                "max": None,
                "mean": None,
            },
            {
                "name": "age",
                "type": "integer",
                "nulls": 1,
                "distinct": 2,
                "min": 31,
                "max": 40,
                "mean": 35.5,
            },
            {
                "name": "score",
                "type": "float",
                "nulls": 1,
                "distinct": 2,
                "min": 3.0,
                "max": 4.5,
                "mean": 3.75,
            },
        ],
    }


def test_csv_profile_malformed_is_an_error_event(client: ExecutorClient) -> None:
    events = run(client, "data.csv_profile", input_bytes=b"a,b\n1,2,3\n")
    assert events[-1].kind == "error"
    assert events[-1].error_code == "invalid_input"
    assert "malformed CSV" in events[-1].message
    assert events[-1].retryable is False


def test_json_query(client: ExecutorClient) -> None:
    doc = '{"items": [{"n": "a", "v": 1}, {"n": "b", "v": 3}]}'
    params = {"expression": "items[?v > `2`].n"}
    assert result_of(client, "data.json_query", input_text=doc, params=params) == {"result": ["b"]}
    events = run(client, "data.json_query", input_text="{not json", params=params)
    assert events[-1].error_code == "invalid_input"
    assert "not valid JSON" in events[-1].message


def test_crypto_hash_text_and_bytes(client: ExecutorClient) -> None:
    assert result_of(client, "crypto.hash", input_text="abc") == {
        "algorithm": "sha256",
        "hexdigest": hashlib.sha256(b"abc").hexdigest(),
        "bytes": 3,
    }
    data = bytes(range(256)) * 10
    for algorithm in ("sha1", "md5", "sha512", "blake2b"):
        result = result_of(client, "crypto.hash", input_bytes=data, params={"algorithm": algorithm})
        assert result["hexdigest"] == hashlib.new(algorithm, data).hexdigest()
        assert result["bytes"] == 2560


def test_math_evaluate(client: ExecutorClient) -> None:
    assert result_of(client, "math.evaluate", params={"expression": "2 + 3 * 4"})["value"] == 14
    assert result_of(client, "math.evaluate", input_text="What is 2^10 + 1?") == {
        "value": 1025,
        "expression": "2^10 + 1",
    }
    for expression, message in (
        ("1/0", "division by zero"),
        ("9**9**9", "too large"),
        ("2 +", "invalid expression"),
        ("__import__('os')", "unknown function"),
    ):
        events = run(client, "math.evaluate", params={"expression": expression})
        assert events[-1].kind == "error"
        assert events[-1].error_code == "invalid_input"
        assert message in events[-1].message


# -- protocol ---------------------------------------------------------------------------------


def test_progress_is_ordered_and_exactly_one_terminal_event(client: ExecutorClient) -> None:
    events = run(client, "test.sleep", params={"seconds": 0.2, "steps": 4})
    kinds = [e.kind for e in events]
    assert kinds[0] == "started"
    assert kinds[-1] == "result"
    assert sum(k in ("result", "error") for k in kinds) == 1
    fractions = [e.progress for e in events if e.kind == "progress"]
    assert len(fractions) >= 3
    assert fractions == sorted(fractions)
    assert events[-1].result == {"slept": 0.2}


def test_log_events_are_relayed(client: ExecutorClient) -> None:
    events = run(client, "test.echo", input_text="hi")
    assert [e.kind for e in events] == ["started", "log", "result"]
    assert events[1].message == "echoing"
    assert events[-1].result == {"size": 2, "text": "hi"}


def wait_until(condition, timeout: float = 20.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met within the deadline")
        time.sleep(0.02)


def process_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_deadline_exceeded_stops_the_call(client: ExecutorClient) -> None:
    # The gRPC deadline and deadline_unix_ms are the same instant here: whichever side
    # notices first (the client's timer or the server's budget), the caller gets the same
    # DEADLINE_EXCEEDED, i.e. ExecutorError("timeout"), never an error event.
    events: list[ExecEvent] = []
    stream = client.execute(
        task_id="t-1",
        attempt=1,
        module="test.sleep",
        params={"seconds": 30, "steps": 1, "log_pid": True},
        timeout_s=0.5,
    )
    with pytest.raises(ExecutorError) as info:
        events.extend(stream)
    assert (info.value.code, info.value.retryable) == ("timeout", False)
    assert all(event.kind != "error" for event in events)
    pid = int(next(e.message for e in events if e.kind == "log").split()[1])
    wait_until(lambda: process_gone(pid))  # the worker was stopped, not left running
    assert result_of(client, "math.evaluate", params={"expression": "1+1"})["value"] == 2


def test_the_servers_own_deadline_ends_the_call_as_grpc_would(
    executor: RunningExecutor,
) -> None:
    # deadline_unix_ms far before the gRPC deadline: only the server can end this call,
    # and it ends it with the status the client's own timer would have produced.
    channel = grpc.insecure_channel(f"127.0.0.1:{executor.port}")
    try:
        stub = pb_grpc.ExecutorStub(channel)
        request = pb.ExecuteRequest(
            task_id="t-d",
            attempt=1,
            module="test.sleep",
            params_json='{"seconds": 30, "steps": 1}',
            deadline_unix_ms=int((time.time() + 0.5) * 1000),
        )
        call = stub.Execute(request, timeout=30, metadata=((TOKEN_METADATA_KEY, TOKEN),))
        events: list[object] = []
        with pytest.raises(grpc.RpcError) as info:
            events.extend(call)
        assert info.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
        assert (ERROR_CODE_METADATA_KEY, "timeout") in tuple(info.value.trailing_metadata())
        assert [event.WhichOneof("event") for event in events] == ["started"]
    finally:
        channel.close()


def test_module_time_limit_is_an_error_event(client: ExecutorClient) -> None:
    events = run(client, "test.sleep_short_limit", params={"seconds": 3})
    assert events[-1].kind == "error"
    assert events[-1].error_code == "timeout"


def test_client_cancellation_stops_the_module(client: ExecutorClient) -> None:
    cancel = threading.Event()
    seen: list[ExecEvent] = []

    def consume() -> None:
        for event in client.execute(
            task_id="t-2",
            attempt=1,
            module="test.sleep",
            params={"seconds": 30, "steps": 100, "log_pid": True},
            timeout_s=25,
            cancel=cancel,
        ):
            seen.append(event)
            if event.kind == "progress":
                cancel.set()

    with pytest.raises(ExecutorError) as info:
        consume()
    assert info.value.code == "cancelled"
    assert seen[0].kind == "started"
    pid = int(next(e.message for e in seen if e.kind == "log").split()[1])
    wait_until(lambda: process_gone(pid))  # the worker was stopped, not left running


class Occupied:
    """``count`` test.sleep calls holding a worker each until ``release()`` cancels them."""

    def __init__(self, client: ExecutorClient, count: int) -> None:
        self.cancel = threading.Event()
        started = threading.Barrier(count + 1)

        def occupy() -> None:
            with contextlib.suppress(ExecutorError):  # "cancelled", once released
                for event in client.execute(
                    task_id="t-busy",
                    attempt=1,
                    module="test.sleep",
                    params={"seconds": 60, "steps": 1},
                    timeout_s=60,
                    cancel=self.cancel,
                ):
                    if event.kind == "started":
                        started.wait(timeout=20)

        self.threads = [threading.Thread(target=occupy) for _ in range(count)]
        for thread in self.threads:
            thread.start()
        started.wait(timeout=20)  # every call is running on a worker

    def release(self) -> None:
        self.cancel.set()
        for thread in self.threads:
            thread.join(timeout=30)


def test_all_workers_busy_is_a_retryable_refusal(client: ExecutorClient) -> None:
    occupied = Occupied(client, 2)
    try:
        with pytest.raises(ExecutorError) as info:
            run(client, "test.sleep_short_limit", params={"seconds": 0.1, "steps": 1})
        assert (info.value.code, info.value.retryable) == ("busy", True)
    finally:
        occupied.release()


@pytest.mark.parametrize(
    ("token", "code"), [("", "unauthenticated"), ("wrong-token-value", "unauthenticated")]
)
def test_bridge_token_is_required(executor: RunningExecutor, token: str, code: str) -> None:
    other = ExecutorClient(f"127.0.0.1:{executor.port}", token)
    try:
        with pytest.raises(ExecutorError) as info:
            other.list_modules()
        assert info.value.code == code
        assert info.value.retryable is False
        with pytest.raises(ExecutorError):
            list(other.execute(task_id="t", attempt=1, module="text.stats", timeout_s=5))
    finally:
        other.close()


def test_oversized_input_names_the_limit(client: ExecutorClient) -> None:
    with pytest.raises(ExecutorError) as info:
        run(client, "math.evaluate", input_text="1+" * 40_000 + "1")
    assert info.value.code == "input_too_large"
    assert "max_input_bytes" in info.value.message
    assert info.value.retryable is False


def test_unknown_module_and_bad_params_are_refused(client: ExecutorClient) -> None:
    with pytest.raises(ExecutorError) as info:
        run(client, "no.such.module")
    assert (info.value.code, info.value.retryable) == ("unknown_module", False)
    with pytest.raises(ExecutorError) as info:
        run(client, "text.summarize", input_text="x", params={"sentences": 0})
    assert info.value.code == "invalid_params"
    assert "sentences" in info.value.message
    with pytest.raises(ExecutorError) as info:
        run(client, "crypto.hash", input_text="x", params={"algorithm": "crc32"})
    assert info.value.code == "invalid_params"


def test_s3_input_outside_the_files_bucket_is_refused(client: ExecutorClient) -> None:
    with pytest.raises(ExecutorError) as info:
        run(client, "crypto.hash", input_ref=("someone-elses-bucket", "secret.txt"))
    assert info.value.code == "bucket_not_allowed"
    assert info.value.retryable is False


@pytest.mark.parametrize(
    ("module", "code"),
    [
        ("test.crash", "module_crashed"),
        ("test.hog_memory", "memory_limit"),
        ("test.spin", "cpu_limit"),
        ("test.big_output", "output_too_large"),
    ],
)
def test_misbehaving_module_fails_only_its_call(
    client: ExecutorClient, module: str, code: str
) -> None:
    events = run(client, module)
    assert events[-1].kind == "error"
    assert events[-1].error_code == code, events[-1]
    # The server keeps serving, on both workers.
    for _ in range(4):
        assert result_of(client, "crypto.hash", input_text="")["bytes"] == 0


def test_health_and_catalogue_answer_while_every_execute_thread_is_busy(
    client: ExecutorClient,
) -> None:
    # 2 workers -> 4 Execute threads: 2 calls run, 2 wait for a worker, 2 wait for a thread.
    # Nothing ends until the test releases the workers: an answer queued behind the Execute
    # threads would never come, and its deadline would raise.
    occupied = Occupied(client, 2)
    waiting = [
        threading.Thread(target=run, args=(client, "test.sleep"), kwargs={"params": {"seconds": 1}})
        for _ in range(4)
    ]
    for thread in waiting:
        thread.start()
    try:
        assert client.health(timeout_s=10) is True
        assert "text.stats" in {info.name for info in client.list_modules(timeout_s=10)}
    finally:
        occupied.release()
        for thread in waiting:
            thread.join()
