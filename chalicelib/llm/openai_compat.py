"""Any OpenAI-compatible chat completions endpoint, over the standard library's HTTP client."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlsplit

from chalicelib.config import LlmSettings
from chalicelib.llm.config import api_key
from chalicelib.llm.errors import LlmError
from chalicelib.llm.prompt import SYSTEM_PROMPT, user_message

MAX_REPLY_BYTES = 4 * 1024 * 1024
_RETRYABLE_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504})


def completions_url(endpoint: str) -> str:
    parts = urlsplit(endpoint)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise LlmError(
            "AION_LLM_ENDPOINT must be an http(s) URL", retryable=False, code="llm_misconfigured"
        )
    base = endpoint.rstrip("/")
    return base if base.endswith("/chat/completions") else base + "/chat/completions"


def generate(settings: LlmSettings, instruction: str, input_text: str, timeout_s: float) -> str:
    url = completions_url(settings.endpoint)
    body = json.dumps(
        {
            "model": settings.model,
            "messages": [
                {"role": "system", "content": SYSTEM_PROMPT},
                {
                    "role": "user",
                    "content": user_message(instruction, input_text, settings.max_input_chars),
                },
            ],
            "max_tokens": settings.max_tokens,
            "temperature": settings.temperature,
        }
    ).encode()
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    key = api_key()
    if key:
        headers["Authorization"] = f"Bearer {key}"
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310 - scheme checked above
    try:
        with urllib.request.urlopen(request, timeout=max(timeout_s, 0.1)) as response:  # noqa: S310
            raw = response.read(MAX_REPLY_BYTES + 1)
    except urllib.error.HTTPError as exc:
        status = exc.code
        retryable = status in _RETRYABLE_STATUS
        code = "llm_throttled" if status == 429 else "llm_provider_error"
        raise LlmError(
            f"the LLM endpoint answered HTTP {status}", retryable=retryable, code=code
        ) from None
    except TimeoutError as exc:
        raise LlmError(
            "the LLM endpoint did not answer in time", retryable=True, code="llm_timeout"
        ) from exc
    except urllib.error.URLError as exc:
        timed_out = isinstance(exc.reason, TimeoutError)
        raise LlmError(
            "the LLM endpoint did not answer in time"
            if timed_out
            else "the LLM endpoint could not be reached",
            retryable=True,
            code="llm_timeout" if timed_out else "llm_unavailable",
        ) from exc
    except OSError as exc:  # connection reset mid-read and the like
        raise LlmError(
            "the LLM endpoint connection failed", retryable=True, code="llm_unavailable"
        ) from exc
    if len(raw) > MAX_REPLY_BYTES:
        raise LlmError("the LLM reply is too large", retryable=False, code="llm_bad_reply")
    return _text_of(raw)


def _text_of(raw: bytes) -> str:
    try:
        payload: Any = json.loads(raw)
        content = payload["choices"][0]["message"]["content"]
    except (ValueError, KeyError, IndexError, TypeError):
        raise LlmError(
            "the LLM endpoint sent a malformed reply", retryable=False, code="llm_bad_reply"
        ) from None
    if isinstance(content, list):  # some servers send content parts
        content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
    if not isinstance(content, str) or not content.strip():
        raise LlmError(
            "the LLM endpoint sent an empty reply", retryable=False, code="llm_bad_reply"
        )
    return content
