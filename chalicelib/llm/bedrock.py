"""Amazon Bedrock through the Converse API (boto3 ``bedrock-runtime``)."""

from __future__ import annotations

import threading
from typing import Any

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, ConnectionError, ReadTimeoutError

from chalicelib.config import LlmSettings, get_settings
from chalicelib.llm.errors import LlmError
from chalicelib.llm.prompt import SYSTEM_PROMPT, user_message
from chalicelib.shared.caches import on_reset

# Throttling and provider-side trouble: worth another attempt later.
RETRYABLE_CODES = frozenset(
    {
        "ThrottlingException",
        "ServiceUnavailableException",
        "InternalServerException",
        "ModelNotReadyException",
        "ModelTimeoutException",
        "TooManyRequestsException",
        "ServiceQuotaExceededException",
    }
)
# botocore cannot change a client's read timeout per call, so a few clients are kept, one per
# timeout bucket; a call uses the largest bucket within its own budget.
TIMEOUT_BUCKETS = (5, 10, 20, 40, 60, 120, 300)

_clients: dict[int, Any] = {}
_lock = threading.Lock()


def _bucket(timeout_s: float) -> int:
    fitting = [b for b in TIMEOUT_BUCKETS if b <= timeout_s]
    return fitting[-1] if fitting else TIMEOUT_BUCKETS[0]


def client_for(timeout_s: float) -> Any:
    bucket = _bucket(timeout_s)
    found = _clients.get(bucket)
    if found is not None:
        return found
    with _lock:
        if bucket not in _clients:
            import boto3  # deferred: ~16 ms over pynamodb's botocore, for clients only

            config = Config(
                connect_timeout=min(3, bucket),
                read_timeout=bucket,
                retries={"max_attempts": 1, "mode": "standard"},  # the dispatcher retries
            )
            _clients[bucket] = boto3.client(
                "bedrock-runtime", region_name=get_settings().region, config=config
            )
        return _clients[bucket]


@on_reset
def reset_clients() -> None:
    with _lock:
        _clients.clear()


def generate(settings: LlmSettings, instruction: str, input_text: str, timeout_s: float) -> str:

    client = client_for(timeout_s)
    try:
        response = client.converse(
            modelId=settings.bedrock_model_id,
            system=[{"text": SYSTEM_PROMPT}],
            messages=[
                {
                    "role": "user",
                    "content": [
                        {"text": user_message(instruction, input_text, settings.max_input_chars)}
                    ],
                }
            ],
            inferenceConfig={"maxTokens": settings.max_tokens, "temperature": settings.temperature},
        )
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        retryable = code in RETRYABLE_CODES
        raise LlmError(
            f"Bedrock refused the request ({code or 'unknown error'})",
            retryable=retryable,
            code="llm_throttled" if "Throttl" in code else "llm_provider_error",
        ) from exc
    except (ReadTimeoutError, ConnectionError) as exc:
        raise LlmError(
            "Bedrock did not answer in time", retryable=True, code="llm_timeout"
        ) from exc
    except BotoCoreError as exc:
        raise LlmError(
            "Bedrock could not be reached", retryable=True, code="llm_unavailable"
        ) from exc
    return _text_of(response)


def _text_of(response: Any) -> str:
    try:
        blocks = response["output"]["message"]["content"]
        text = "".join(b["text"] for b in blocks if isinstance(b, dict) and "text" in b)
    except (KeyError, TypeError) as exc:
        raise LlmError(
            "Bedrock's reply had no message", retryable=False, code="llm_bad_reply"
        ) from exc
    if not text.strip():
        reason = response.get("stopReason", "unknown") if isinstance(response, dict) else ""
        raise LlmError(
            f"Bedrock returned no text (stop reason: {reason})",
            retryable=False,
            code="llm_bad_reply",
        )
    return text
