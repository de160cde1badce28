"""Packaging app.py with Chalice's CDK construct, with the two adjustments it needs here.

1. Runtime: Chalice picks the Lambda runtime (and the wheels it downloads) from the Python
   that runs it, with no setting (``Config.lambda_python_version``). The functions run on
   python3.12 while synth may run on 3.11, so the property is pinned during packaging, and
   its manylinux download also tells pip the target Python (pip otherwise checks the cp312
   wheels against its own interpreter, finds none, and tries to compile the sdists). The
   wheels come from PyPI and are cached in .chalice/deployments.
2. Import-time environment: app.py reads the dispatch queue's name when it is imported (the
   SQS decorator needs it), and Chalice needs a region. Both are set only while packaging.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from chalice.cdk import Chalice
from chalice.config import Config
from chalice.deploy.packager import PipRunner
from constructs import Construct

from aion_infra.paths import REPO_ROOT

LAMBDA_RUNTIME = "python3.12"
_TARGET_PYTHON = LAMBDA_RUNTIME.removeprefix("python")


def _download_manylinux_wheels(
    self: PipRunner,
    abi: str,
    packages: list[str],
    directory: str,
    platforms: list[str] | None = None,
) -> None:
    """Chalice's own method plus ``--python-version`` (one pip call per package, as there)."""
    for package in packages:
        arguments = ["--only-binary=:all:", "--no-deps"]
        for platform in platforms or ["manylinux2014_x86_64"]:
            arguments.extend(["--platform", platform])
        arguments.extend(
            ["--implementation", "cp", "--python-version", _TARGET_PYTHON, "--abi", abi]
        )
        arguments.extend(["--dest", directory, package])
        self._execute("download", arguments)


@contextmanager
def _packaging_environment(env: Mapping[str, str]) -> Iterator[None]:
    saved_env = {name: os.environ.get(name) for name in env}
    saved_version = Config.__dict__["lambda_python_version"]
    saved_download = PipRunner.download_manylinux_wheels
    os.environ.update(env)
    Config.lambda_python_version = property(lambda _self: LAMBDA_RUNTIME)  # type: ignore[assignment,method-assign]
    PipRunner.download_manylinux_wheels = _download_manylinux_wheels  # type: ignore[method-assign]
    try:
        yield
    finally:
        Config.lambda_python_version = saved_version  # type: ignore[method-assign]
        PipRunner.download_manylinux_wheels = saved_download  # type: ignore[method-assign]
        for name, value in saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def package_chalice_app(
    scope: Construct, id: str, *, stage_config: dict[str, Any], import_env: Mapping[str, str]
) -> Chalice:
    """The Chalice construct for the repo's app.py (REST, WebSocket, SQS and schedule handlers)."""
    env = {"AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "us-east-1"), **import_env}
    with _packaging_environment(env):
        return Chalice(scope, id, source_dir=str(REPO_ROOT), stage_config=stage_config)
