"""The worker pipe framing: whole messages in order, large ones intact, damage detected."""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator

import pytest

from executor_container.wire import Wire, WireClosed


# (sender, receiver, the raw write end into the receiver, close that end)
@pytest.fixture
def pair() -> Iterator[tuple[Wire, Wire, int, list[int]]]:
    """Two Wires joined by one pipe per direction, as parent and worker are."""
    a_to_b_read, a_to_b_write = os.pipe()
    b_to_a_read, b_to_a_write = os.pipe()
    fds = [a_to_b_read, a_to_b_write, b_to_a_read, b_to_a_write]
    try:
        yield Wire(b_to_a_read, a_to_b_write), Wire(a_to_b_read, b_to_a_write), a_to_b_write, fds
    finally:
        for fd in fds:
            with contextlib.suppress(OSError):  # some are closed by the test
                os.close(fd)


def test_messages_arrive_whole_and_in_order(
    pair: tuple[Wire, Wire, int, list[int]],
) -> None:
    sender, receiver, _, _ = pair
    messages = [
        ("progress", 0.5, "half"),
        ("log", "info", "naïve ✓"),
        ("result", '{"a":1}'),
        ("call", {"k": [1, 2.5, None, True]}, ("bytes", b"\x00\xff"), 3, 30.0),
        None,
    ]
    for message in messages:
        sender.send(message)
    # Several small messages may come in one read: each recv still returns exactly one.
    assert [receiver.recv() for _ in messages] == messages
    assert not receiver.readable(0)


def test_large_message_survives_partial_reads(
    pair: tuple[Wire, Wire, int, list[int]],
) -> None:
    sender, receiver, _, _ = pair
    big = ("text", "x" * (3 * 1024 * 1024 + 7))
    # Larger than the pipe buffer: the sender blocks until the receiver drains it.
    thread = threading.Thread(target=lambda: (sender.send(big), sender.send(("after",))))
    thread.start()
    assert receiver.recv() == big
    assert receiver.recv() == ("after",)
    thread.join(5)


def test_end_of_file_and_cut_messages_raise(
    pair: tuple[Wire, Wire, int, list[int]],
) -> None:
    _, receiver, into_receiver, _ = pair
    os.write(into_receiver, (10).to_bytes(4, "big") + b"abc")  # promises 10 bytes, sends 3
    os.close(into_receiver)
    assert receiver.readable(1)
    with pytest.raises(WireClosed):
        receiver.recv()


def test_damaged_body_is_reported_not_returned(
    pair: tuple[Wire, Wire, int, list[int]],
) -> None:
    _, receiver, into_receiver, _ = pair
    os.write(into_receiver, (3).to_bytes(4, "big") + b"\xff\xfe\xfd")
    with pytest.raises(WireClosed, match="damaged"):
        receiver.recv()


def test_each_direction_is_its_own_pipe(
    pair: tuple[Wire, Wire, int, list[int]],
) -> None:
    sender, receiver, _, _ = pair
    sender.send(("call",))
    receiver.send(("result", "{}"))
    # Neither side reads back what it wrote itself.
    assert receiver.recv() == ("call",)
    assert sender.recv() == ("result", "{}")
    assert not sender.readable(0)
    assert not receiver.readable(0)
