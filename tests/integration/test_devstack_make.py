"""The Makefile's interpreter checks: too old fails fast, a changed or broken one rebuilds .venv,
a failed build leaves no .venv. Run in a scratch copy of the Makefile with tiny requirement
files, so nothing here touches the checkout's own .venv."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
REQUIREMENTS = (
    "requirements.txt",
    "requirements-dev.txt",
    "executor_container/requirements.txt",
    "infra/requirements.txt",
)


def _scratch(tmp_path: Path, dev_requirements: str = "") -> Path:
    work = tmp_path / "checkout"
    work.mkdir()
    shutil.copy(REPO / "Makefile", work / "Makefile")
    for name in REQUIREMENTS:
        (work / name).parent.mkdir(parents=True, exist_ok=True)
        (work / name).write_text("")
    (work / "requirements-dev.txt").write_text(dev_requirements)
    return work


def _make(work: Path, *args: str, path_prefix: Path | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MAKE", "MFLAGS"))}
    if path_prefix is not None:
        env["PATH"] = f"{path_prefix}{os.pathsep}{env['PATH']}"
    return subprocess.run(
        ["make", "--no-print-directory", *args],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _fake_python(tmp_path: Path, version: str) -> Path:
    """A `python3` on PATH that is only an old version number."""
    bin_dir = tmp_path / "fakebin"
    bin_dir.mkdir()
    fake = bin_dir / "python3"
    fake.write_text(f'#!/bin/sh\necho "Python {version}"\nexit 0\n')
    fake.chmod(0o755)
    return bin_dir


@pytest.mark.parametrize("goal", ["dev", "test"])
def test_an_old_python_fails_fast_with_the_fix_and_no_venv(tmp_path: Path, goal: str) -> None:
    work = _scratch(tmp_path)
    result = _make(work, goal, path_prefix=_fake_python(tmp_path, "3.10.14"))
    assert result.returncode != 0
    assert (
        f"AION needs Python 3.11+ (found 3.10); try PYTHON=python3.12 make {goal}" in result.stderr
    )
    assert not (work / ".venv").exists()


def test_a_missing_interpreter_says_so(tmp_path: Path) -> None:
    work = _scratch(tmp_path)
    result = _make(work, "dev", "PYTHON=python3.99-not-installed")
    assert result.returncode != 0
    assert "AION needs Python 3.11+ (python3.99-not-installed not found)" in result.stderr
    assert not (work / ".venv").exists()


def _venv_base(work: Path) -> str:
    probe = "import os, sys; print(os.path.realpath(sys._base_executable))"
    return subprocess.run(
        [str(work / ".venv/bin/python"), "-c", probe],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def _second_interpreter(first: str, tmp_path: Path) -> str:
    """Another installed Python 3.11+, else this one's binary copied elsewhere: to the Makefile
    (which tells interpreters apart by their real path and version) that is another Python."""
    for candidate in ("/usr/bin/python3.11", "/usr/bin/python3.12", "/usr/local/bin/python3.12"):
        if Path(candidate).exists() and os.path.realpath(candidate) != first:
            return os.path.realpath(candidate)
    copy = tmp_path / "other-python" / "bin" / Path(first).name
    copy.parent.mkdir(parents=True)
    shutil.copy2(first, copy)  # finds its standard library by the compiled-in prefix
    return str(copy)


@pytest.mark.slow
def test_venv_is_rebuilt_when_the_interpreter_changes_or_breaks(tmp_path: Path) -> None:
    first = os.path.realpath(sys._base_executable)  # type: ignore[attr-defined]
    second = _second_interpreter(first, tmp_path)
    work = _scratch(tmp_path)

    built = _make(work, "venv", f"PYTHON={first}")
    assert built.returncode == 0, built.stderr
    assert _venv_base(work) == first

    again = _make(work, "venv", f"PYTHON={first}")
    assert again.returncode == 0
    assert "rebuilding" not in again.stdout  # same interpreter: kept as is

    switched = _make(work, "venv", f"PYTHON={second}")
    assert switched.returncode == 0, switched.stderr
    assert "was made by another Python" in switched.stdout
    assert _venv_base(work) == second

    (work / ".venv/bin/python").unlink()  # a broken venv
    repaired = _make(work, "venv", f"PYTHON={second}")
    assert repaired.returncode == 0, repaired.stderr
    assert _venv_base(work) == second


@pytest.mark.slow
def test_a_failed_install_leaves_no_venv_behind(tmp_path: Path) -> None:
    # A requirement pip refuses before looking anything up: no registry query.
    work = _scratch(tmp_path, dev_requirements="this is not a requirement !!\n")
    result = _make(work, "venv", f"PYTHON={sys.executable}")
    assert result.returncode != 0
    assert "removed it" in result.stderr
    assert not (work / ".venv").exists()
