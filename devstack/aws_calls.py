"""Counts the AWS API calls the app makes in the dev stack process, by service and operation.

The benchmarks need "DynamoDB requests per task" and "management posts per event"; the app's
clients live in this process, so one wrapper around botocore's ``Endpoint.make_request`` sees
every logical call (retries not counted twice) of every client, pynamodb's included. The dev
stack's own calls (creating tables, the SQS driver's receive/delete) run inside ``internal()``
and are counted apart (``snapshot(internal=True)``): they stand for work Lambda's poller does
in the cloud, yet they load the local moto all the same. Installed only by the dev stack;
Lambda code never imports this.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

_lock = threading.Lock()
_counts: Counter[tuple[str, str]] = Counter()
_internal_counts: Counter[tuple[str, str]] = Counter()
_installed = False
_local = threading.local()


@contextmanager
def internal() -> Iterator[None]:
    """Calls made in this block (this thread) are the dev stack's, not the app's."""
    previous = getattr(_local, "internal", False)
    _local.internal = True
    try:
        yield
    finally:
        _local.internal = previous


def install() -> None:
    """Wrap ``botocore.endpoint.Endpoint.make_request`` once (idempotent)."""
    global _installed
    from botocore.endpoint import Endpoint

    with _lock:
        if _installed:
            return
        original = Endpoint.make_request

        def counted(self: Any, operation_model: Any, request_dict: Any) -> Any:
            counts = _internal_counts if getattr(_local, "internal", False) else _counts
            key = (operation_model.service_model.service_name, operation_model.name)
            with _lock:
                counts[key] += 1
            return original(self, operation_model, request_dict)

        Endpoint.make_request = counted  # type: ignore[method-assign]
        _installed = True


def snapshot(*, internal: bool = False) -> dict[str, dict[str, int]]:
    """``{service: {operation: count}}`` since start; diff two snapshots to measure a run.

    The app's calls, or with ``internal`` the dev stack's own.
    """
    with _lock:
        items = list((_internal_counts if internal else _counts).items())
    out: dict[str, dict[str, int]] = {}
    for (service, operation), count in sorted(items):
        out.setdefault(service, {})[operation] = count
    return out
