"""Where things are in the repository, independent of the current directory."""

from __future__ import annotations

from pathlib import Path

INFRA_DIR = Path(__file__).resolve().parent.parent
REPO_ROOT = INFRA_DIR.parent
FRONTEND_DIR = REPO_ROOT / "frontend"
EXECUTOR_DIR = REPO_ROOT / "executor_container"
