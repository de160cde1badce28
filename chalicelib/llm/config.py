"""The OpenAI-compatible endpoint's API key: a secret (``AION_LLM_API_KEY`` locally,
``AION_LLM_API_KEY_ARN`` in Secrets Manager). The LLM route's settings are
``get_settings().llm`` (chalicelib.config)."""

from __future__ import annotations

from chalicelib.errors import ServiceUnavailable
from chalicelib.llm.errors import LlmError
from chalicelib.secrets import get_optional_secret


def api_key() -> str | None:
    """The OpenAI-compatible endpoint's key, or None when it needs none. Never logged."""
    try:
        return get_optional_secret("AION_LLM_API_KEY", "AION_LLM_API_KEY_ARN", what="LLM API key")
    except ServiceUnavailable as exc:
        raise LlmError(
            "the LLM API key is temporarily unavailable",
            retryable=True,
            code="llm_secret_unavailable",
        ) from exc
