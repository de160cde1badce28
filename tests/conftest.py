"""Shared test setup: fake AWS credentials and region before anything imports boto3."""

from __future__ import annotations

import os

# Set before any chalicelib import: models read region and table prefix at import time.
os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "AION_TABLE_PREFIX": "aion-test-",
        "AION_FILES_BUCKET": "aion-test-files",
        "AION_JWT_SECRET": "test-jwt-secret-0123456789abcdef0123456789abcdef",
        "AION_BRIDGE_TOKEN": "test-bridge-token-0123456789abcdef",
        # Cheap argon2 for tests (same code path; production defaults are OWASP's).
        "AION_ARGON2_MEMORY_KIB": "64",
        "AION_ARGON2_TIME_COST": "1",
        "POWERTOOLS_SERVICE_NAME": "aion-test",
        "POWERTOOLS_METRICS_NAMESPACE": "AionTest",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_DEV": "false",
    }
)
os.environ.pop("AWS_ENDPOINT_URL", None)

from collections.abc import Callable, Iterator

import pytest
from moto import mock_aws


@pytest.fixture
def aws() -> Iterator[None]:
    """In-process moto with every table of the registry created."""
    with mock_aws():
        from chalicelib.dal.registry import create_all_tables

        create_all_tables()
        yield


@pytest.fixture
def atomic_dynamodb(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make moto apply each DynamoDB write atomically, as DynamoDB does.

    moto checks a condition and then writes without a lock, so two threads can both pass the
    same condition. Concurrency tests use this (with ``aws``) to get DynamoDB's semantics.
    """
    import functools
    import threading

    from moto.dynamodb.models import DynamoDBBackend

    lock = threading.RLock()
    for name in ("get_item", "put_item", "update_item", "delete_item", "transact_write_items"):
        original = getattr(DynamoDBBackend, name)

        def serialized(*args: object, __original=original, **kwargs: object) -> object:
            with lock:
                return __original(*args, **kwargs)

        monkeypatch.setattr(DynamoDBBackend, name, functools.wraps(original)(serialized))


@pytest.fixture
def reset_caches() -> Iterator[Callable[[], None]]:
    """Process-wide caches (settings, boto3 and gRPC clients, catalogues: every one registered
    in chalicelib.shared.caches) forgotten before and after the test. A test that changes the
    environment calls the yielded function again, so the next read sees the change."""
    from chalicelib.shared.caches import reset_process_caches

    reset_process_caches()
    yield reset_process_caches
    reset_process_caches()
