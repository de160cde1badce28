"""A pytest plugin (loaded for the whole suite by ``-p tests.ci_skips`` in pyproject.toml):
under ``CI=true`` a skipped test fails.

Tests skip when something they need is missing (Chromium for the browser tests, say). On a
developer's machine that stays a skip with its reason; in CI a missing prerequisite means the
run did not test what it claims to, so the skip is reported as a failure with the same reason.
An expected failure (``xfail``) is not a skip and is left alone.
"""

from __future__ import annotations

import os
from collections.abc import Generator
from typing import Any

import pytest

CI_VALUES = {"1", "true", "yes"}


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in CI_VALUES


def _reason(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2]).removeprefix("Skipped: ")
    return str(longrepr)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Generator:
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    if report.skipped and not hasattr(report, "wasxfail") and in_ci():
        report.outcome = "failed"
        report.longrepr = (
            f"skipped under CI=true, where a missing prerequisite is a failure: {_reason(report)}"
        )


def pytest_report_header(config: pytest.Config) -> str:
    return f"CI={os.environ.get('CI', '')!r}: skips {'fail' if in_ci() else 'stay skips'}"
