"""The environment the app (and the executor) see inside the dev stack.

Set in ``os.environ`` before ``app.py`` is imported: models read table names and region at
import. The signing key and bridge token come from the state directory (generated on the first
start, then kept, so tokens outlive a restart); real AWS credentials and profiles are kept out.
"""

from __future__ import annotations

import secrets as _secrets
import string
from collections.abc import Mapping
from dataclasses import dataclass

DEFAULT_REGION = "us-east-1"
# moto accepts any key; a fixed fake one keeps real credentials out of the stack.
FAKE_ACCESS_KEY = "devstack"
FAKE_SECRET_KEY = "devstack"  # noqa: S105 (not a secret: moto ignores it)
WS_API_ID = "devstackws"
WS_STAGE = "ws"
# Inherited from the caller's environment when set (README, "Configuration").
USER_SETTABLE = {
    "AION_TABLE_PREFIX": "aion-dev-",
    "AION_FILES_BUCKET": "aion-dev-files",
    "AION_DISPATCH_QUEUE_NAME": "aion-dev-dispatch",
    "AION_ADMIN_EMAIL": "admin@aion.local",
}
# Never inherited: they would point the stack at real AWS or at stale secrets.
DROPPED = (
    "AWS_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_ENDPOINT_URL_DYNAMODB",
    "AWS_ENDPOINT_URL_SQS",
    "AWS_ENDPOINT_URL_S3",
    "AION_JWT_SECRET_ARN",
    "AION_BRIDGE_TOKEN_ARN",
)


def setting(env: Mapping[str, str], name: str) -> str:
    return (env.get(name) or "").strip() or USER_SETTABLE[name]


def generate_password(length: int = 20) -> str:
    """A random password with lower, upper case and digits (fits any sane policy)."""
    alphabet = string.ascii_letters + string.digits
    for _ in range(100):
        candidate = "".join(_secrets.choice(alphabet) for _ in range(length))
        if (
            any(c.islower() for c in candidate)
            and any(c.isupper() for c in candidate)
            and any(c.isdigit() for c in candidate)
        ):
            return candidate
    raise RuntimeError("could not generate a password")  # practically unreachable


@dataclass(frozen=True)
class StackUrls:
    host: str
    port: int

    @property
    def base(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def api(self) -> str:
        return f"{self.base}/api"

    @property
    def ws(self) -> str:
        return f"ws://{self.host}:{self.port}/ws"

    @property
    def ws_management(self) -> str:
        return f"{self.base}/ws-mgmt"


def _long_places(base: Mapping[str, str]) -> int:
    from executor_container.config import worker_lanes

    workers, reserved = worker_lanes(base)
    return max(1, workers - reserved)


def app_environment(
    base: Mapping[str, str],
    *,
    urls: StackUrls,
    moto_url: str,
    queue_url: str,
    executor_target: str,
    secrets: Mapping[str, str],
    app_log_level: str = "WARNING",
) -> dict[str, str]:
    """The full environment: ``base`` minus what must not leak, plus the stack's settings."""
    env = {k: v for k, v in base.items() if k not in DROPPED}
    region = (base.get("AWS_REGION") or base.get("AWS_DEFAULT_REGION") or DEFAULT_REGION).strip()
    env.update(
        {
            "AWS_ACCESS_KEY_ID": FAKE_ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": FAKE_SECRET_KEY,
            "AWS_REGION": region,
            "AWS_DEFAULT_REGION": region,
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_ENDPOINT_URL": moto_url,
            # Any apigatewaymanagementapi client built without endpoint_url lands on our emulator.
            "AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI": urls.ws_management,
            "AION_STAGE": "dev",
            "AION_TABLE_PREFIX": setting(base, "AION_TABLE_PREFIX"),
            "AION_FILES_BUCKET": setting(base, "AION_FILES_BUCKET"),
            "AION_DISPATCH_QUEUE_NAME": setting(base, "AION_DISPATCH_QUEUE_NAME"),
            "AION_DISPATCH_QUEUE_URL": queue_url,
            "AION_EXECUTOR_TARGET": executor_target,
            "AION_WS_API_ID": WS_API_ID,
            "AION_WS_STAGE": WS_STAGE,
            "AION_WS_MANAGEMENT_ENDPOINT": urls.ws_management,
            "AION_JWT_SECRET": secrets["AION_JWT_SECRET"],
            "AION_BRIDGE_TOKEN": secrets["AION_BRIDGE_TOKEN"],
            "AION_CORS_ORIGIN": urls.base,
            # Fair dispatch: as many long runs at once as the local executor has workers for.
            "AION_LONG_LANE_SLOTS": base.get("AION_LONG_LANE_SLOTS") or str(_long_places(base)),
            # LLM runs hold a dispatcher invocation each: at most half the SQS pollers.
            "AION_LLM_LANE_SLOTS": base.get("AION_LLM_LANE_SLOTS")
            or str(max(1, int(base.get("AION_DEV_SQS_POLLERS") or 4) // 2)),
            "POWERTOOLS_SERVICE_NAME": base.get("POWERTOOLS_SERVICE_NAME", "aion-dev"),
            "POWERTOOLS_TRACE_DISABLED": "true",  # no X-Ray daemon locally
            "POWERTOOLS_LOG_LEVEL": app_log_level,
            # No CloudWatch locally: EMF lines would bury the request log a developer reads.
            "POWERTOOLS_METRICS_DISABLED": base.get("POWERTOOLS_METRICS_DISABLED", "true"),
        }
    )
    return env
