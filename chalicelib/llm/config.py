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
    from chalicelib.errors import ServiceUnavailable
    from chalicelib.llm.errors import LlmError
    from chalicelib.secrets import get_optional_secret

    try:
        return get_optional_secret("AION_LLM_API_KEY", "AION_LLM_API_KEY_ARN", what="LLM API key")
    except ServiceUnavailable as exc:
        raise LlmError(
            "the LLM API key is temporarily unavailable",
            retryable=True,
            code="llm_secret_unavailable",
        ) from exc
