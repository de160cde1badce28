"""AION's settings model: one pydantic model of the environment (``chalicelib.config`` reads it
and validates it once per process, on first use).

A bad value stops the process with an error that names the variable, never a silent default.
A blank variable counts as unset. Each field's alias is the environment variable it comes from;
docs/runbook.md lists the ones operators set.

Secrets are not here: ``chalicelib.secrets`` reads them (the environment locally, Secrets
Manager in the cloud) on each use, so a rotation is picked up without a restart.

Only ``chalicelib.config`` imports this module at run time (the others name its classes for
the type checker only): pydantic then loads on the first request, not in every Lambda's init
(benchmarks/cold_start.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

# OWASP Password Storage Cheat Sheet, argon2id minimum configuration.
OWASP_ARGON2_MEMORY_KIB: Final = 19 * 1024
OWASP_ARGON2_TIME_COST: Final = 2
OWASP_ARGON2_PARALLELISM: Final = 1

PROVIDER_BEDROCK: Final = "bedrock"
PROVIDER_OPENAI: Final = "openai_compatible"
LlmProvider = Literal["bedrock", "openai_compatible"]


class SettingsError(RuntimeError):
    """The environment holds a value AION cannot use; the message names each variable."""


class _Section(BaseModel):
    # Fields are filled by their alias (the variable) only; everything else in the
    # environment is ignored.
    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=False)


class DispatchSettings(_Section):
    """The dispatcher and the sweeper."""

    lease_seconds: float = Field(60, alias="AION_LEASE_SECONDS", gt=0)
    heartbeat_setting: float = Field(5, alias="AION_HEARTBEAT_SECONDS", gt=0)
    max_receives: int = Field(5, alias="AION_DISPATCH_MAX_RECEIVES", ge=1)
    """Must match the queue's redrive maxReceiveCount."""
    max_attempts: int = Field(3, alias="AION_DISPATCH_MAX_ATTEMPTS", ge=1)
    """The sweeper re-queues (attempt + 1) up to this many attempts."""
    executor_timeout_seconds: float = Field(120, alias="AION_EXECUTOR_TIMEOUT_SECONDS", gt=0)
    progress_per_second: float = Field(4, alias="AION_PROGRESS_EVENTS_PER_SECOND", gt=0)
    max_log_events: int = Field(50, alias="AION_MAX_LOG_EVENTS", ge=0)
    result_inline_bytes: int = Field(32 * 1024, alias="AION_RESULT_INLINE_BYTES", ge=0)
    backoff_base_seconds: float = Field(2, alias="AION_RETRY_BASE_SECONDS", ge=0)
    backoff_cap_seconds: float = Field(300, alias="AION_RETRY_CAP_SECONDS", ge=0)
    queued_redrive_seconds: float = Field(600, alias="AION_QUEUED_REDRIVE_SECONDS", gt=0)
    """A task queued this long without any change gets its SQS message again (sweeper). Longer
    than the backoff cap, so a message merely waiting out its backoff is not doubled."""
    max_redrives: int = Field(3, alias="AION_DISPATCH_MAX_REDRIVES", ge=0)
    """Re-sends after which a queued task nobody dispatches fails (``dispatch_stalled``): a
    task ends within about (max_redrives + 1) x queued_redrive_seconds whatever fails."""
    user_concurrency: int = Field(4, alias="AION_USER_CONCURRENCY", ge=0)
    """Fair dispatch (chalicelib.logic.admission): runs at once of one person; 0 = no cap."""
    project_concurrency: int = Field(8, alias="AION_PROJECT_CONCURRENCY", ge=0)
    """Runs at once of one project; 0 = no cap."""
    long_lane_slots: int = Field(4, alias="AION_LONG_LANE_SLOTS", ge=0)
    """Long runs at once (chalicelib.shared.cost); short runs skip this cap; 0 = no cap. The
    CDK app and the dev stack set it to the executors' long workers."""
    llm_lane_slots: int = Field(4, alias="AION_LLM_LANE_SLOTS", ge=0)
    """LLM runs at once; 0 = no cap. Each holds a dispatcher invocation: the CDK app and the
    dev stack set it to half the dispatcher's concurrency."""
    wait_base_seconds: float = Field(1, alias="AION_DISPATCH_WAIT_BASE_SECONDS", ge=0)
    """A task waiting for a place is looked at again after a delay growing from this..."""
    wait_cap_seconds: float = Field(20, alias="AION_DISPATCH_WAIT_CAP_SECONDS", ge=0, le=900)
    """...to this (SQS delays a message at most 900 s)."""

    @property
    def heartbeat_seconds(self) -> float:
        """At most a third of the lease, so two missed heartbeats still leave it held."""
        return min(self.heartbeat_setting, self.lease_seconds / 3)


class AuthSettings(_Section):
    """Tokens, password hashing and login throttling.

    Production defaults follow OWASP: argon2id with 19 MiB, 2 passes, 1 lane; 15-minute access
    tokens. Tests lower the argon2 cost through the same variables (tests/conftest.py), so the
    code path is identical and only the price changes.
    """

    jwt_issuer: str = Field("aion", alias="AION_JWT_ISSUER")
    jwt_audience: str = Field("aion-api", alias="AION_JWT_AUDIENCE")
    access_token_ttl_s: int = Field(15 * 60, alias="AION_ACCESS_TOKEN_TTL_SECONDS", ge=1)
    jwt_leeway_s: int = Field(10, alias="AION_JWT_LEEWAY_SECONDS", ge=0)
    """Clock skew tolerated between Lambdas when checking exp/iat."""
    refresh_token_ttl_s: int = Field(7 * 24 * 3600, alias="AION_REFRESH_TOKEN_TTL_SECONDS", ge=1)
    """Idle lifetime of one refresh token."""
    refresh_family_ttl_s: int = Field(30 * 24 * 3600, alias="AION_REFRESH_FAMILY_TTL_SECONDS", ge=1)
    """Absolute lifetime of a login session (a token family)."""
    ws_ticket_ttl_s: int = Field(60, alias="AION_WS_TICKET_TTL_SECONDS", ge=1)
    argon2_memory_kib: int = Field(OWASP_ARGON2_MEMORY_KIB, alias="AION_ARGON2_MEMORY_KIB", ge=8)
    argon2_time_cost: int = Field(OWASP_ARGON2_TIME_COST, alias="AION_ARGON2_TIME_COST", ge=1)
    argon2_parallelism: int = Field(OWASP_ARGON2_PARALLELISM, alias="AION_ARGON2_PARALLELISM", ge=1)
    login_free_failures: int = Field(5, alias="AION_LOGIN_FREE_FAILURES", ge=1)
    """Attempts per account and source before backoff starts."""
    login_account_free_failures: int = Field(100, alias="AION_LOGIN_ACCOUNT_FREE_FAILURES", ge=1)
    """Attempts per account from anywhere: the ceiling."""
    login_backoff_base_s: int = Field(5, alias="AION_LOGIN_BACKOFF_BASE_SECONDS", ge=1)
    login_backoff_max_s: int = Field(15 * 60, alias="AION_LOGIN_BACKOFF_MAX_SECONDS", ge=1)
    login_failure_window_s: int = Field(24 * 3600, alias="AION_LOGIN_FAILURE_WINDOW_SECONDS", ge=1)
    """Quiet time after which the failure count starts over."""


class LlmSettings(_Section):
    """The LLM route. ``AION_BEDROCK_MODEL_ID`` selects Amazon Bedrock (Converse API); otherwise
    ``AION_LLM_ENDPOINT`` selects an OpenAI-compatible chat completions endpoint (its API key is
    a secret: ``chalicelib.llm.config.api_key``). Neither set: no LLM route."""

    bedrock_model_id: str = Field("", alias="AION_BEDROCK_MODEL_ID")
    endpoint: str = Field("", alias="AION_LLM_ENDPOINT")
    model: str = Field("default", alias="AION_LLM_MODEL")
    max_tokens: int = Field(1024, alias="AION_LLM_MAX_TOKENS", ge=1)
    temperature: float = Field(0.2, alias="AION_LLM_TEMPERATURE", ge=0)
    max_input_chars: int = Field(100_000, alias="AION_LLM_MAX_INPUT_CHARS", ge=1)

    @property
    def provider(self) -> LlmProvider | None:
        if self.bedrock_model_id:
            return PROVIDER_BEDROCK
        if self.endpoint:
            return PROVIDER_OPENAI
        return None


class ObservabilitySettings(_Section):
    """Powertools' names (set by the stage config) and whether X-Ray tracing runs."""

    service_name: str = Field("aion", alias="POWERTOOLS_SERVICE_NAME")
    metrics_namespace: str = Field("Aion", alias="POWERTOOLS_METRICS_NAMESPACE")
    trace_disabled: bool = Field(False, alias="POWERTOOLS_TRACE_DISABLED")
    lambda_function_name: str = Field("", alias="AWS_LAMBDA_FUNCTION_NAME")

    @property
    def tracing_enabled(self) -> bool:
        """Powertools' own rule: tracing only inside Lambda and unless disabled. Checked here too
        so the dev stack and tests never load the X-Ray SDK at all."""
        return not self.trace_disabled and bool(self.lambda_function_name)


class Settings(_Section):
    stage: str = Field("dev", alias="AION_STAGE")
    region: str = Field("us-east-1", alias="AWS_REGION")
    """AWS_REGION (Lambda sets it), else AWS_DEFAULT_REGION (boto3's), else us-east-1."""
    table_prefix: str = Field("aion-dev-", alias="AION_TABLE_PREFIX")
    files_bucket: str = Field("aion-dev-files", alias="AION_FILES_BUCKET")
    dispatch_queue_name: str = Field("aion-dev-dispatch", alias="AION_DISPATCH_QUEUE_NAME")
    """The queue the SQS handler is subscribed to (``chalicelib.config.dispatch_queue_name``
    reads it alone at import: Chalice wants a name there)."""
    dispatch_queue_url: str = Field("", alias="AION_DISPATCH_QUEUE_URL")
    executor_target: str = Field("", alias="AION_EXECUTOR_TARGET")
    cors_origin: str = Field("http://127.0.0.1:8000", alias="AION_CORS_ORIGIN")
    ws_api_id: str = Field("", alias="AION_WS_API_ID")
    ws_stage: str = Field("ws", alias="AION_WS_STAGE")
    ws_management_endpoint: str = Field("", alias="AION_WS_MANAGEMENT_ENDPOINT")
    max_body_bytes: int = Field(256 * 1024, alias="AION_MAX_BODY_BYTES", ge=1)
    version: str = Field("0.1.0", alias="AION_VERSION")
    docs_url: str = Field("", alias="AION_DOCS_URL")
    """Where GET /docs redirects when the API reference is hosted elsewhere (AWS: next to the
    console); empty = the API serves the page itself."""
    secrets_max_age_s: int = Field(300, alias="AION_SECRETS_MAX_AGE_SECONDS", ge=0)
    """How long a secret fetched from Secrets Manager is reused."""
    dispatch: DispatchSettings
    auth: AuthSettings
    llm: LlmSettings
    observability: ObservabilitySettings


_SECTIONS = ("dispatch", "auth", "llm", "observability")


def load_settings(environ: Mapping[str, str]) -> Settings:
    """Validate ``environ``; a bad value raises SettingsError naming every variable at fault."""
    # A blank variable counts as unset: its default applies.
    env: dict[str, Any] = {k: v.strip() for k, v in environ.items() if v.strip()}
    if "AWS_REGION" not in env and "AWS_DEFAULT_REGION" in env:
        env["AWS_REGION"] = env["AWS_DEFAULT_REGION"]
    try:
        return Settings.model_validate({**env, **dict.fromkeys(_SECTIONS, env)})
    except ValidationError as exc:
        problems = []
        for error in exc.errors(include_url=False):
            variable = str(error["loc"][-1])
            value = environ.get(variable, "").strip()
            problems.append(f"{variable}={value!r}: {error['msg']}")
        raise SettingsError("invalid settings: " + "; ".join(problems)) from None
