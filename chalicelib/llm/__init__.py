"""The LLM route: Amazon Bedrock (Converse) or an OpenAI-compatible endpoint, by configuration.

llm_configured() -> bool
generate(instruction, input, timeout_s) -> str      raises LlmError(retryable=...)
"""

from __future__ import annotations

from chalicelib.config import PROVIDER_BEDROCK, PROVIDER_OPENAI, get_settings
from chalicelib.llm.errors import LlmError


def llm_configured() -> bool:
    return get_settings().llm.provider is not None


def provider_name() -> str | None:
    return get_settings().llm.provider


def generate(instruction: str, input: str, timeout_s: float) -> str:
    settings = get_settings().llm
    if settings.provider == PROVIDER_BEDROCK:
        from chalicelib.llm import bedrock  # deferred: only the configured provider loads

        return bedrock.generate(settings, instruction, input or "", timeout_s)
    if settings.provider == PROVIDER_OPENAI:
        from chalicelib.llm import openai_compat  # deferred: as above

        return openai_compat.generate(settings, instruction, input or "", timeout_s)
    raise LlmError("no LLM provider is configured", retryable=False, code="llm_not_configured")


__all__ = ["LlmError", "generate", "llm_configured", "provider_name"]
