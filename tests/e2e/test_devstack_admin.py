"""`make admin EMAIL=...` as the README writes it: it finds the running dev stack by itself,
and says what to do when there is neither a dev stack nor AWS credentials."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.e2e.stack_runner import REPO, clean_env

pytestmark = pytest.mark.e2e

NO_AWS = {
    "AWS_CONFIG_FILE": "/nonexistent/aws-config",
    "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/aws-credentials",
    "AWS_EC2_METADATA_DISABLED": "true",
}


def _make_admin(state_dir: str, *args: str) -> subprocess.CompletedProcess:
    env = clean_env({"AION_DEV_STATE_DIR": state_dir, **NO_AWS})
    return subprocess.run(
        ["make", "--no-print-directory", "admin", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_make_admin_finds_the_running_dev_stack(devstack: dict[str, Any]) -> None:
    result = _make_admin(devstack["state_dir"], "EMAIL=ops@example.test")
    assert result.returncode == 0, result.stderr
    assert "created admin ops@example.test" in result.stdout
    assert f"the dev stack at {devstack['base_url']}" in result.stdout
    password = result.stdout.split("password: ")[1].strip()
    login = requests.post(
        f"{devstack['api_url']}/auth/login",
        json={"email": "ops@example.test", "password": password},
        timeout=30,
    )
    assert login.status_code == 200, login.text
    assert login.json()["user"]["role"] == "admin"

    again = _make_admin(devstack["state_dir"], "EMAIL=ops@example.test", "PASSWORD=another-pass1")
    assert again.returncode == 0, again.stderr
    assert "updated admin ops@example.test" in again.stdout
    relogin = requests.post(
        f"{devstack['api_url']}/auth/login",
        json={"email": "ops@example.test", "password": "another-pass1"},
        timeout=30,
    )
    assert relogin.status_code == 200


def test_make_admin_without_a_stack_or_credentials_says_what_to_do(tmp_path: Path) -> None:
    result = _make_admin(str(tmp_path), "EMAIL=ops@example.test")
    assert result.returncode != 0
    assert "no running dev stack" in result.stderr
    assert "make dev" in result.stderr
    assert "Traceback" not in result.stderr
    staged = _make_admin(str(tmp_path), "EMAIL=ops@example.test", "STAGE=dev")
    assert staged.returncode != 0
    assert "no AWS credentials for stage dev" in staged.stderr
    usage = _make_admin(str(tmp_path))
    assert usage.returncode != 0
    assert "usage: make admin EMAIL=" in usage.stderr
