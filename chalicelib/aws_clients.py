"""boto3 clients created on first use and reused across warm invocations.

boto3 is imported here, not at module level of callers, so routes that never touch S3 or SQS
do not pay for creating those clients on a cold start.
"""

from __future__ import annotations

import threading
from typing import Any, Literal

from botocore.config import Config

from chalicelib.config import get_settings
from chalicelib.shared.caches import on_reset

_clients: dict[str, Any] = {}
_lock = threading.Lock()


def client(service: Literal["s3", "sqs"]) -> Any:
    found = _clients.get(service)
    if found is not None:
        return found
    with _lock:
        if service not in _clients:
            import boto3  # deferred: ~16 ms over pynamodb's botocore, for clients only

            config = Config(
                connect_timeout=2, read_timeout=5, retries={"max_attempts": 3, "mode": "standard"}
            )
            if service == "s3":
                # Virtual-host style would need DNS for the bucket; path style works everywhere.
                config = config.merge(
                    Config(signature_version="s3v4", s3={"addressing_style": "path"})
                )
            _clients[service] = boto3.client(
                service, region_name=get_settings().region, config=config
            )
        return _clients[service]


@on_reset
def reset_clients() -> None:
    """Forget cached clients (tests switch moto contexts)."""
    with _lock:
        _clients.clear()
