"""Synthesizes the CDK app once per test session (both stages) and serves the templates.

The synth runs `python infra/app.py` in a subprocess, exactly as `make synth` does, into a
temporary cloud assembly. With pytest-xdist the first worker synthesizes and the others wait
on a file lock and reuse the result.
"""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

INFRA_DIR = Path(__file__).resolve().parent.parent
REPO_ROOT = INFRA_DIR.parent
if str(INFRA_DIR) not in sys.path:
    sys.path.insert(0, str(INFRA_DIR))

STAGES = ("dev", "prod")
# Optional context the tests turn on, so the LLM grants are synthesized and checked too.
CONTEXT = {
    "bedrockModelId": "us.anthropic.claude-3-5-haiku-20241022-v1:0",
    "llmApiKeySecretArn": "arn:aws:secretsmanager:us-east-1:111111111111:secret:aion/llm-AbCdEf",
}
STACK_PARTS = ("web", "data", "executor", "api", "site")


@dataclass(frozen=True)
class Synth:
    outdir: Path
    returncode: int
    output: str

    def template(self, stage: str, part: str) -> dict[str, Any]:
        path = self.outdir / f"aion-{stage}-{part}.template.json"
        return json.loads(path.read_text(encoding="utf-8"))

    def templates(self) -> Iterator[tuple[str, dict[str, Any]]]:
        for path in sorted(self.outdir.glob("*.template.json")):
            yield path.name, json.loads(path.read_text(encoding="utf-8"))


def _synth_env() -> dict[str, str]:
    # The app must not depend on the test environment: drop AION_* and credentials.
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AION_", "AWS_", "CDK_", "POWERTOOLS_"))
    }
    env["JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION"] = "1"
    env["JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION"] = "1"
    return env


def _run_synth(outdir: Path) -> Synth:
    env = _synth_env()
    env["CDK_OUTDIR"] = str(outdir)
    env["CDK_CONTEXT_JSON"] = json.dumps(CONTEXT)
    proc = subprocess.run(  # noqa: S603 - our own interpreter and app, no shell
        [sys.executable, str(INFRA_DIR / "app.py")],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    (outdir / "synth.log").write_text(proc.stdout + proc.stderr, encoding="utf-8")
    (outdir / "synth.rc").write_text(str(proc.returncode), encoding="utf-8")
    return Synth(outdir, proc.returncode, proc.stdout + proc.stderr)


@pytest.fixture(scope="session")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    base = tmp_path_factory.getbasetemp()
    # Under xdist each worker has basetemp <run>/popen-gwN: share <run> within this run only.
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    outdir = shared / "aion-cdk-out"
    with (shared / "aion-cdk-out.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        rc_file = outdir / "synth.rc"
        if rc_file.exists():
            result = Synth(
                outdir,
                int(rc_file.read_text(encoding="utf-8")),
                (outdir / "synth.log").read_text(encoding="utf-8"),
            )
        else:
            outdir.mkdir(parents=True, exist_ok=True)
            result = _run_synth(outdir)
    assert result.returncode == 0, f"synth failed:\n{result.output[-6000:]}"
    return result


def resources_of(template: dict[str, Any], cfn_type: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == cfn_type}


def render(value: Any) -> str:
    """An intrinsic as readable text: Fn::Join concatenated, Ref -> ${X}, GetAtt -> ${X.Y}."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and len(value) == 1:
        ((key, arg),) = value.items()
        if key == "Fn::Join":
            return arg[0].join(render(part) for part in arg[1])
        if key == "Ref":
            return f"${{{arg}}}"
        if key == "Fn::GetAtt":
            return "${{{}}}".format(".".join(arg if isinstance(arg, list) else [arg]))
        if key == "Fn::ImportValue":
            return f"${{Import:{render(arg)}}}"
        if key == "Fn::Sub":
            return arg if isinstance(arg, str) else render(arg[0])
    return json.dumps(value, sort_keys=True)
