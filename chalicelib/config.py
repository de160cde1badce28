"""Settings read from the environment, once per process.

Secrets are not here: see ``chalicelib.secrets`` (env locally, Secrets Manager in the cloud).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache


def _env(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


@dataclass(frozen=True)
class Settings:
    stage: str
    region: str
    table_prefix: str
    files_bucket: str
    dispatch_queue_url: str
    executor_target: str
    cors_origin: str
    ws_api_id: str
    ws_stage: str
    ws_management_endpoint: str
    bedrock_model_id: str
    llm_endpoint: str
    max_body_bytes: int
    version: str
    # Where GET /docs redirects when the API reference is hosted elsewhere (AWS: next to the
    # console); empty = the API serves the page itself.
    docs_url: str


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings(
        stage=_env("AION_STAGE", "dev"),
        region=_env("AWS_REGION") or _env("AWS_DEFAULT_REGION", "us-east-1"),
        table_prefix=_env("AION_TABLE_PREFIX", "aion-dev-"),
        files_bucket=_env("AION_FILES_BUCKET", "aion-dev-files"),
        dispatch_queue_url=_env("AION_DISPATCH_QUEUE_URL"),
        executor_target=_env("AION_EXECUTOR_TARGET"),
        cors_origin=_env("AION_CORS_ORIGIN", "http://127.0.0.1:8000"),
        ws_api_id=_env("AION_WS_API_ID"),
        ws_stage=_env("AION_WS_STAGE", "ws"),
        ws_management_endpoint=_env("AION_WS_MANAGEMENT_ENDPOINT"),
        bedrock_model_id=_env("AION_BEDROCK_MODEL_ID"),
        llm_endpoint=_env("AION_LLM_ENDPOINT"),
        max_body_bytes=int(_env("AION_MAX_BODY_BYTES", str(256 * 1024))),
        version=_env("AION_VERSION", "0.1.0"),
        docs_url=_env("AION_DOCS_URL"),
    )


def table_name(short_name: str) -> str:
    """Full DynamoDB table name for a model, e.g. ``users`` -> ``aion-dev-users``."""
    return f"{get_settings().table_prefix}{short_name}"
