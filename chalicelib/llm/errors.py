"""The one error the LLM route raises."""

from __future__ import annotations

from chalicelib.shared.failures import Failure


class LlmError(Failure):
    """The LLM call failed. ``retryable``: the same call may succeed later (throttled, timed
    out, provider unavailable); otherwise the request itself was refused or the reply unusable.
    """

    def __init__(self, message: str, *, retryable: bool, code: str = "llm_error") -> None:
        super().__init__(message, code=code, retryable=retryable)
