"""The executor client spreads calls over every executor behind its target (round_robin), and
keeps calling the ones left when one dies (issue 16, point 8).

With gRPC's default ``pick_first`` every call of a process went to the first address: several
Fargate tasks behind Cloud Map, each Lambda pinned to one. Two executor processes here, named
by the target's two addresses (what a DNS name with two A records resolves to).
"""

from __future__ import annotations

import signal
from collections import Counter
from collections.abc import Iterator

import pytest

from chalicelib.executor_client import ExecutorClient, channel_target
from tests.integration.executor_support import TOKEN, spawn_executor, stop

CALLS = 12


@pytest.fixture
def two_executors() -> Iterator[list[tuple[object, int]]]:
    started = []
    try:
        for name in ("a", "b"):
            proc, port = spawn_executor(AION_TEST_EXECUTOR_NAME=name)
            started.append((proc, port))
        yield started
    finally:
        for proc, _ in started:
            stop(proc)  # type: ignore[arg-type]


def _who(client: ExecutorClient, n: int) -> str:
    events = list(client.execute(task_id=f"t{n}", attempt=1, module="test.whoami", timeout_s=30))
    assert events[-1].kind == "result", events
    return str(events[-1].result["executor"])


def test_a_bare_target_is_resolved_by_dns_and_every_address_is_used() -> None:
    assert channel_target("executor.aion.internal:50051") == "dns:///executor.aion.internal:50051"
    assert channel_target("ipv4:10.0.0.1:1,10.0.0.2:1") == "ipv4:10.0.0.1:1,10.0.0.2:1"
    assert channel_target("dns:///x:1") == "dns:///x:1"


def test_calls_spread_over_both_executors_and_continue_when_one_dies(
    two_executors: list[tuple[object, int]],
) -> None:
    (proc_a, port_a), (_, port_b) = two_executors
    client = ExecutorClient(f"ipv4:127.0.0.1:{port_a},127.0.0.1:{port_b}", TOKEN)
    try:
        spread = Counter(_who(client, n) for n in range(CALLS))
        assert set(spread) == {"a", "b"}, spread
        proc_a.send_signal(signal.SIGKILL)  # type: ignore[attr-defined]
        proc_a.wait(30)  # type: ignore[attr-defined]
        after = Counter(_who(client, n) for n in range(CALLS))
        assert after == Counter({"b": CALLS}), after
    finally:
        client.close()


def test_a_bare_host_and_port_goes_through_the_dns_resolver(
    two_executors: list[tuple[object, int]],
) -> None:
    """What the Lambdas are given (``executor.aion-<stage>.internal:50051``) is resolved by
    gRPC's DNS resolver under round_robin: here ``localhost``, one A record."""
    _, (_, port_b) = two_executors
    client = ExecutorClient(f"localhost:{port_b}", TOKEN)
    try:
        assert client.target == f"dns:///localhost:{port_b}"
        assert {_who(client, n) for n in range(3)} == {"b"}
    finally:
        client.close()
