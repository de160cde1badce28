"""Issue 13's "done when", against the dev stack: an API key made the way the console makes one
(sign in, ``POST /api-keys``), then ``AION_URL=... AION_API_KEY=... aion run "count the words"
--input "a b c"`` with no login stored anywhere: live on a pseudo-terminal, and in ``--json``
mode; both exit 0 with ``words: 3``. The key never shows in the output, and it cannot manage
keys (the CLI says so and exits with the auth status).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.e2e.test_cli_e2e import aion, run_in_terminal

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]


def _key_as_the_console_makes_it(devstack: dict[str, Any]) -> str:
    api = devstack["api_url"]
    admin = requests.post(
        f"{api}/auth/login",
        json={"email": devstack["admin_email"], "password": devstack["admin_password"]},
        timeout=15,
    ).json()
    # A user of their own: their first `aion run` makes their one project, "default".
    email, password = f"cli-key-{Path(api).name}-{id(devstack)}@example.com", "long-enough-pw-1"
    requests.post(
        f"{api}/users",
        json={"email": email, "name": "CLI key", "password": password, "role": "member"},
        headers={"Authorization": f"Bearer {admin['accessToken']}"},
        timeout=15,
    ).raise_for_status()
    session = requests.post(
        f"{api}/auth/login", json={"email": email, "password": password}, timeout=15
    ).json()
    created = requests.post(
        f"{api}/api-keys",
        json={"name": "done when"},
        headers={"Authorization": f"Bearer {session['accessToken']}"},
        timeout=15,
    )
    assert created.status_code == 201, created.text
    return created.json()["key"]


@pytest.fixture(scope="module")
def key_env(devstack: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("AION_")}
    env.update(
        AION_URL=devstack["api_url"],
        AION_API_KEY=_key_as_the_console_makes_it(devstack),
        # An empty config directory: nothing but the key can authenticate.
        AION_CONFIG_DIR=str(tmp_path_factory.mktemp("no-login")),
        NO_COLOR="1",
    )
    return env


def test_aion_run_with_an_api_key_in_json_mode(key_env: dict[str, str]) -> None:
    result = aion(key_env, "run", "count the words", "--input", "a b c", "--json")
    assert result.returncode == 0, result.stderr
    task = json.loads(result.stdout)
    assert task["status"] == "completed"
    assert task["result"]["words"] == 3
    assert task["route"]["module"] == "text.stats"
    assert key_env["AION_API_KEY"] not in result.stdout + result.stderr


def test_aion_run_with_an_api_key_live_on_a_terminal(key_env: dict[str, str]) -> None:
    code, screen = run_in_terminal(key_env, ["run", "count the words", "--input", "a b c"])
    assert code == 0, screen
    assert "text.stats via executor" in screen  # the live route line
    assert "completed" in screen
    assert re.search(r"words\s*:?\s+3\b", screen, flags=re.IGNORECASE), screen
    assert key_env["AION_API_KEY"] not in screen


def test_a_key_cannot_manage_keys_from_the_cli(key_env: dict[str, str]) -> None:
    result = aion(key_env, "keys", "create", "another")
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert "api_key_not_allowed" in result.stderr
    assert result.stdout == ""
