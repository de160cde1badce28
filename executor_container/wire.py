"""Framing on the parent <-> worker pipes: a 4-byte length, then a marshal-encoded tuple.

multiprocessing's ``Connection`` pickles every message and reads it with two system calls
(length, then body). The protocol only carries plain values (tuples, str, bytes, numbers,
bools, None and JSON-shaped dicts/lists), which marshal encodes faster; a buffered reader
gets a small message, or several queued ones, with one ``read``. Both ends are processes
of the same interpreter, so marshal's format always matches.

Each direction is its own ``os.pipe``: reading and writing a pipe costs a fraction of a
Unix socket (a socketpair, what ``Pipe(duplex=True)`` gives), and every call crosses it
twice.
"""

from __future__ import annotations

import marshal
import os
import select
import struct
from typing import Any

_HEADER = struct.Struct("!I")
# Small enough that each read allocates from the heap, not a fresh mmap (page faults).
_READ_CHUNK = 32 * 1024
# Below this the header and body go out in one write (one wake-up for the reader).
_JOIN_BELOW = 64 * 1024
MAX_MESSAGE_BYTES = 2**32 - 1


class WireClosed(EOFError):
    """The other end went away (or sent a message cut short)."""


def _write_all(fd: int, data: bytes | memoryview) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


class Wire:
    """One side's ends of the two pipes, by file descriptor (the caller keeps owning them)."""

    def __init__(self, read_fd: int, write_fd: int) -> None:
        self.read_fd = read_fd
        self.write_fd = write_fd
        self._buffer = bytearray()
        self._poller = select.poll()
        self._poller.register(read_fd, select.POLLIN | select.POLLHUP)

    def send(self, message: tuple[Any, ...]) -> None:
        body = marshal.dumps(message)
        if len(body) > MAX_MESSAGE_BYTES:
            raise ValueError("message too large for the worker pipe")
        header = _HEADER.pack(len(body))
        if len(body) < _JOIN_BELOW:
            _write_all(self.write_fd, header + body)
        else:  # no copy of a large input just to prepend four bytes
            _write_all(self.write_fd, header)
            _write_all(self.write_fd, body)

    def readable(self, timeout: float) -> bool:
        """True when a message (or end of file) is waiting."""
        if self._buffer:
            return True
        return bool(self._poller.poll(max(0, int(timeout * 1000))))

    def recv(self) -> Any:
        """The next message (blocks); ``WireClosed`` at end of file or on a damaged message."""
        buffer = self._buffer
        while True:
            if len(buffer) >= _HEADER.size:
                (size,) = _HEADER.unpack_from(buffer)
                end = _HEADER.size + size
                if len(buffer) >= end:
                    body = bytes(buffer[_HEADER.size : end])
                    del buffer[:end]
                    return _decode(body)
                if size > _READ_CHUNK:
                    return _decode(self._recv_large(size))
            chunk = os.read(self.read_fd, _READ_CHUNK)
            if not chunk:
                raise WireClosed("worker pipe closed")
            buffer += chunk

    def _recv_large(self, size: int) -> bytearray:
        # Read straight into a buffer of the final size: no repeated growing and copying.
        body = bytearray(size)
        view = memoryview(body)
        have = len(self._buffer) - _HEADER.size
        view[:have] = self._buffer[_HEADER.size :]
        self._buffer.clear()
        while have < size:
            got = os.readv(self.read_fd, [view[have:]])
            if not got:
                raise WireClosed("worker pipe closed mid-message")
            have += got
        return body


def _decode(body: bytes | bytearray) -> Any:
    try:
        # Both ends are our own processes (this replaced pickle, which trusts its input
        # even more): loading only builds values, it never runs code.
        return marshal.loads(body)  # noqa: S302
    except (ValueError, EOFError, TypeError) as exc:
        raise WireClosed(f"damaged message on the worker pipe: {exc}") from exc
