"""One retry taxonomy: every route's failure is a Failure that says whether to retry."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

from chalicelib.executor_client import ExecutorError, ExecutorUnavailable
from chalicelib.llm import LlmError
from chalicelib.shared.failures import Failure
from executor_container.registry import InvalidInput, ModuleError

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("failure", "code", "retryable"),
    [
        (ExecutorError("deadline", code="timeout", retryable=True), "timeout", True),
        (ExecutorError("bad", code="invalid_argument", retryable=False), "invalid_argument", False),
        (ExecutorUnavailable("down"), "executor_unavailable", True),
        (ExecutorUnavailable("busy", code="busy"), "busy", True),
        (LlmError("throttled", retryable=True, code="llm_throttled"), "llm_throttled", True),
        (LlmError("refused", retryable=False), "llm_error", False),
        (ModuleError("bad_csv", "not CSV"), "bad_csv", False),
        (ModuleError("s3_error", "try later", retryable=True), "s3_error", True),
        (InvalidInput("not UTF-8"), "invalid_input", False),
    ],
)
def test_every_route_failure_is_a_failure_with_a_retry_flag(
    failure: Failure, code: str, retryable: bool
) -> None:
    assert isinstance(failure, Failure)
    assert (failure.code, failure.retryable) == (code, retryable)
    assert failure.message == str(failure)


def test_the_shared_package_is_pure_standard_library() -> None:
    """The executor image ships chalicelib/shared alone: it may import nothing else."""
    for path in (ROOT / "chalicelib" / "shared").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            for name in names:
                stdlib = name.split(".")[0] in sys.stdlib_module_names
                assert stdlib or name.startswith("chalicelib.shared"), f"{path.name}: {name}"
