"""AION's settings: where every module gets them (``get_settings()``), read from the environment
and validated once per process, on first use. The model itself is ``chalicelib.config_schema``
(pydantic): a bad value is an error naming the variable, never a silent default.

First use, not import: ``import app`` must not load pydantic, so every Lambda's init stays as
light as ``import chalice, boto3`` (benchmarks/cold_start.py). Each function's first event
reads the settings, so a bad value still fails that first event, before anything is written.
The one setting needed at import, the SQS queue the dispatch handler subscribes to (Chalice
takes a name in the decorator), is read alone by ``dispatch_queue_name``, with the model's
variable and default.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from chalicelib.shared.caches import process_cache

if TYPE_CHECKING:
    from chalicelib.config_schema import (
        OWASP_ARGON2_MEMORY_KIB,
        OWASP_ARGON2_PARALLELISM,
        OWASP_ARGON2_TIME_COST,
        PROVIDER_BEDROCK,
        PROVIDER_OPENAI,
        AuthSettings,
        DispatchSettings,
        LlmProvider,
        LlmSettings,
        ObservabilitySettings,
        Settings,
        SettingsError,
        load_settings,
    )

__all__ = [
    "OWASP_ARGON2_MEMORY_KIB",
    "OWASP_ARGON2_PARALLELISM",
    "OWASP_ARGON2_TIME_COST",
    "PROVIDER_BEDROCK",
    "PROVIDER_OPENAI",
    "AuthSettings",
    "DispatchSettings",
    "LlmProvider",
    "LlmSettings",
    "ObservabilitySettings",
    "Settings",
    "SettingsError",
    "dispatch_queue_name",
    "get_settings",
    "load_settings",
    "table_name",
]

# Same variable and default as the model's ``dispatch_queue_name`` (a test holds them equal).
_DISPATCH_QUEUE_VARIABLE = "AION_DISPATCH_QUEUE_NAME"
_DISPATCH_QUEUE_DEFAULT = "aion-dev-dispatch"


def __getattr__(name: str) -> Any:
    """The model's names (``DispatchSettings``, ``SettingsError``...) from here too: loading
    them loads the schema, so modules on the import path of ``app`` name them for the type
    checker only."""
    if name in __all__:
        from chalicelib import config_schema  # deferred: pydantic, see the module docstring

        return getattr(config_schema, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@process_cache
def get_settings() -> Settings:
    """The settings of this process, validated on the first call."""
    from chalicelib import config_schema  # deferred: pydantic, see the module docstring

    return config_schema.load_settings(os.environ)


def dispatch_queue_name() -> str:
    """The dispatch queue's name, read without the rest of the settings (for ``app.py``'s SQS
    decorator at import). A blank variable counts as unset, as in the model."""
    return os.environ.get(_DISPATCH_QUEUE_VARIABLE, "").strip() or _DISPATCH_QUEUE_DEFAULT


def table_name(short_name: str) -> str:
    """Full DynamoDB table name for a model, e.g. ``users`` -> ``aion-dev-users``."""
    return f"{get_settings().table_prefix}{short_name}"
