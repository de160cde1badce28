"""One retry taxonomy: a failure says whether trying again can help.

As Temporal's ``ApplicationError(non_retryable=...)``: a failure carries a stable snake_case
``code``, a ``message`` for people and ``retryable``. Transient failures (a route down,
throttling, a deadline the next attempt does not share) are retryable; permanent ones (the input
or the request is refused) are not: another attempt would only repeat the refusal.

The executor client (``ExecutorError``), the LLM route (``LlmError``) and the executor's modules
(``ModuleError``) raise subclasses of ``Failure``; the dispatcher decides retry or fail from
``retryable`` alone, in one place.
"""

from __future__ import annotations


class Failure(Exception):
    """A failure with a code, a message and whether another attempt may succeed."""

    def __init__(self, message: str, *, code: str, retryable: bool) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.retryable = retryable

    def __repr__(self) -> str:
        kind = "transient" if self.retryable else "permanent"
        return f"{type(self).__name__}({self.code!r}, {self.message!r}, {kind})"
