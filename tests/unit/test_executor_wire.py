"""The worker pipe framing: whole messages in order, large ones intact, damage detected."""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Iterator

import pytest

from executor_container.wire import Wire, WireClosed


@pytest.fixture
def pair() -> Iterator[tuple[Wire, Wire, socket.socket, socket.socket]]:
    left, right = socket.socketpair()
    try:
        yield Wire(left.fileno()), Wire(right.fileno()), left, right
    finally:
        left.close()
        right.close()


def test_messages_arrive_whole_and_in_order(
    pair: tuple[Wire, Wire, socket.socket, socket.socket],
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
    pair: tuple[Wire, Wire, socket.socket, socket.socket],
) -> None:
    sender, receiver, _, _ = pair
    big = ("text", "x" * (3 * 1024 * 1024 + 7))
    # Larger than the socket buffer: the sender blocks until the receiver drains it.
    thread = threading.Thread(target=lambda: (sender.send(big), sender.send(("after",))))
    thread.start()
    assert receiver.recv() == big
    assert receiver.recv() == ("after",)
    thread.join(5)


def test_end_of_file_and_cut_messages_raise(
    pair: tuple[Wire, Wire, socket.socket, socket.socket],
) -> None:
    _, receiver, left, _ = pair
    os.write(left.fileno(), (10).to_bytes(4, "big") + b"abc")  # promises 10 bytes, sends 3
    left.shutdown(socket.SHUT_WR)
    assert receiver.readable(1)
    with pytest.raises(WireClosed):
        receiver.recv()


def test_damaged_body_is_reported_not_returned(
    pair: tuple[Wire, Wire, socket.socket, socket.socket],
) -> None:
    _, receiver, left, _ = pair
    os.write(left.fileno(), (3).to_bytes(4, "big") + b"\xff\xfe\xfd")
    with pytest.raises(WireClosed, match="damaged"):
        receiver.recv()
