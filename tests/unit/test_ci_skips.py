"""Under CI=true a skipped test fails with its reason; elsewhere it stays a skip."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PROBE = """
import pytest

@pytest.fixture(scope="session")
def browser():
    pytest.skip("/usr/bin/chromium is missing; `make test` installs it")

def test_needs_the_browser(browser):
    pass

def test_skips_itself():
    pytest.skip("needs a second interpreter")

@pytest.mark.xfail(reason="known", strict=True)
def test_expected_to_fail():
    assert False

def test_passes():
    pass
"""


def _run(tmp_path: Path, ci: str | None) -> subprocess.CompletedProcess[str]:
    (tmp_path / "test_probe.py").write_text(PROBE)
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    if ci is not None:
        env["CI"] = ci
    env["PYTHONPATH"] = str(REPO)
    env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"  # only the plugin under test
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "tests.ci_skips", "-rA"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _counts(result: subprocess.CompletedProcess[str]) -> dict[str, int]:
    """The summary line's counts: {"passed": 1, "skipped": 2, ...}."""
    last = result.stdout.strip().splitlines()[-1]
    return {word: int(n) for n, word in re.findall(r"(\d+) (\w+)", last)}


@pytest.mark.parametrize("ci", ["true", "1"])
def test_under_ci_a_skip_is_a_failure_with_its_reason(tmp_path: Path, ci: str) -> None:
    result = _run(tmp_path, ci)
    assert result.returncode == 1, result.stdout
    # The fixture's skip happens in setup: an error; the test's own: a failure.
    assert _counts(result) == {"failed": 1, "passed": 1, "error": 1, "xfailed": 1}, result.stdout
    out = result.stdout
    assert "a missing prerequisite is a failure: needs a second interpreter" in out
    assert "a missing prerequisite is a failure: /usr/bin/chromium is missing" in out


@pytest.mark.parametrize("ci", [None, "false"])
def test_outside_ci_a_skip_stays_a_skip_with_its_reason(tmp_path: Path, ci: str | None) -> None:
    result = _run(tmp_path, ci)
    assert result.returncode == 0, result.stdout
    assert _counts(result) == {"passed": 1, "skipped": 2, "xfailed": 1}, result.stdout
    assert "/usr/bin/chromium is missing; `make test` installs it" in result.stdout
    assert "needs a second interpreter" in result.stdout
