"""Which LLM provider (if any) is configured, and its settings.

``AION_BEDROCK_MODEL_ID`` selects Amazon Bedrock (Converse API); otherwise
``AION_LLM_ENDPOINT`` selects an OpenAI-compatible chat completions endpoint, with
``AION_LLM_MODEL`` and an optional API key (``AION_LLM_API_KEY`` locally,
``AION_LLM_API_KEY_ARN`` in Secrets Manager). Neither set: no LLM route.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from chalicelib.config import get_settings

PROVIDER_BEDROCK = "bedrock"
PROVIDER_OPENAI = "openai_compatible"


@dataclass(frozen=True)
class LlmSettings:
    provider: str | None
    bedrock_model_id: str
    endpoint: str
    model: str
    max_tokens: int
    temperature: float
    max_input_chars: int


def llm_settings() -> LlmSettings:
    settings = get_settings()
    provider = None
    if settings.bedrock_model_id:
        provider = PROVIDER_BEDROCK
    elif settings.llm_endpoint:
        provider = PROVIDER_OPENAI
    return LlmSettings(
        provider=provider,
        bedrock_model_id=settings.bedrock_model_id,
        endpoint=settings.llm_endpoint,
        model=os.environ.get("AION_LLM_MODEL", "").strip() or "default",
        max_tokens=int(os.environ.get("AION_LLM_MAX_TOKENS", "1024")),
        temperature=float(os.environ.get("AION_LLM_TEMPERATURE", "0.2")),
        max_input_chars=int(os.environ.get("AION_LLM_MAX_INPUT_CHARS", "100000")),
    )


def api_key() -> str | None:
    """The OpenAI-compatible endpoint's key, or None when it needs none. Never logged."""
    arn = os.environ.get("AION_LLM_API_KEY_ARN", "").strip()
    if arn:
        # Imported here: only cloud Lambdas with a key in Secrets Manager take this path.
        from aws_lambda_powertools.utilities import parameters

        from chalicelib.llm.errors import LlmError

        try:
            value = parameters.get_secret(arn, max_age=300)
        except parameters.exceptions.GetParameterError as exc:
            raise LlmError(
                "the LLM API key is temporarily unavailable",
                retryable=True,
                code="llm_secret_unavailable",
            ) from exc
        return value.strip() if isinstance(value, str) and value.strip() else None
    return os.environ.get("AION_LLM_API_KEY", "").strip() or None
