"""AION's CDK app: `python infra/app.py` (what `make synth` and cdk.json run).

Stages come from context: ``-c stage=dev`` (or ``prod``) synthesizes one stage; without it
both are synthesized. Optional context: ``alarmEmail``, ``bedrockModelId``, ``llmEndpoint``,
``llmModel``, ``llmApiKeySecretArn`` (an existing secret), ``version``, ``account`` and
``region`` (otherwise the stacks are environment-agnostic and the CLI's credentials decide at
deploy time). cdk-nag's AwsSolutions checks run on every stack; any
unsuppressed finding fails the synth.
"""

from __future__ import annotations

import os

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "1")
os.environ.setdefault("JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION", "1")
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from aion_infra.build import build_app, failed_checks


def main() -> int:
    # Chalice's construct writes its packaging output under the current directory; keep that
    # out of the tree (its content is staged into the cloud assembly during synth).
    with tempfile.TemporaryDirectory(prefix="aion-chalice-") as workdir:
        previous = Path.cwd()
        outdir = Path(os.environ.get("CDK_OUTDIR") or previous / "infra" / "cdk.out").resolve()
        os.chdir(workdir)
        try:
            build_app(outdir=str(outdir)).synth()
        finally:
            os.chdir(previous)
    problems = failed_checks(outdir)
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
