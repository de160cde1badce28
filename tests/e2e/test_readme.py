"""Every command block of the README runs, as written, against a dev stack.

The blocks are taken from README.md in order and run in one shell session the way a reader
would (each block in ``bash -e -o pipefail``; what a block exports is there for the next one),
from a scratch checkout: the repository's files linked in, and its ``.aion-dev`` being the
state of a dev stack this test starts. Nothing is substituted but the ports, which come from
the environment as a reader's would (``AION_PORT``, ``AION_EXECUTOR_PORT``).

Blocks marked ``console`` are display-only (they start a foreground server, run the whole
suite, or need AWS); ``text`` blocks are diagrams. Both sets are pinned below, so a command
cannot hide in either: a new block must run, or be added here with a reason.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from devstack import procs
from tests.e2e.stack_runner import REPO, StackRun, clean_env

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

README = REPO / "README.md"
# First lines of the display-only blocks, each with why it cannot run in a test.
DISPLAY_ONLY = {
    "make dev    # runs the whole system": "make dev/make test: a foreground server; the suite",
    "ollama serve & ollama pull llama3.2": "needs Ollama and a model download",
    "npx aws-cdk@2.1148.1 bootstrap aws://ACCOUNT_ID/REGION": "needs an AWS account",
    "make synth                 # optional": "make deploy needs AWS and Docker",
    "AWS_REGION=eu-west-1 make admin STAGE=dev": "needs AWS credentials for a deployed stage",
}
DIAGRAMS = ("browser (console: static files)", "connect   ws://")
BLOCK_TIMEOUT_S = 180


@dataclass(frozen=True)
class Block:
    language: str
    text: str
    line: int

    @property
    def first_line(self) -> str:
        return self.text.strip().splitlines()[0].strip()


def readme_blocks(text: str) -> list[Block]:
    """Fenced blocks (also indented under list items), with the line each starts on."""
    blocks = []
    lines = text.splitlines()
    fence = re.compile(r"^(\s*)```(\S*)\s*$")
    i = 0
    while i < len(lines):
        opening = fence.match(lines[i])
        if opening is None:
            i += 1
            continue
        indent, language, start = opening.group(1), opening.group(2), i + 1
        body = []
        i += 1
        while i < len(lines) and lines[i].strip() != "```":
            body.append(lines[i][len(indent) :] if lines[i].startswith(indent) else lines[i])
            i += 1
        blocks.append(Block(language, "\n".join(body) + "\n", start))
        i += 1
    return blocks


def test_every_block_is_run_displayed_on_purpose_or_a_diagram() -> None:
    blocks = readme_blocks(README.read_text())
    languages = {b.language for b in blocks}
    assert languages <= {"bash", "console", "text"}, languages
    shown = [b.first_line for b in blocks if b.language == "console"]
    assert sorted(shown) == sorted(
        next(line for line in shown if line.startswith(prefix)) for prefix in DISPLAY_ONLY
    ), shown
    assert len(shown) == len(DISPLAY_ONLY)
    diagrams = [b.first_line for b in blocks if b.language == "text"]
    assert len(diagrams) == len(DIAGRAMS)
    assert all(d.startswith(DIAGRAMS) for d in diagrams), diagrams
    assert len([b for b in blocks if b.language == "bash"]) >= 5


def _scratch_checkout(tmp_path: Path) -> Path:
    """The repository's top-level entries linked into a fresh directory, minus its state."""
    work = tmp_path / "checkout"
    work.mkdir()
    for entry in REPO.iterdir():
        if entry.name in (".aion-dev", ".git"):
            continue
        (work / entry.name).symlink_to(entry)
    return work


def test_readme_command_blocks_run_as_written(tmp_path: Path) -> None:
    blocks = [b for b in readme_blocks(README.read_text()) if b.language == "bash"]
    work = _scratch_checkout(tmp_path)
    port = procs.free_port()
    executor_port = procs.free_port()
    stack = StackRun(
        tmp_path / "stack",
        env={"AION_PORT": str(port)},
        state_dir=work / ".aion-dev",
    )
    session = tmp_path / "session.sh"
    session.write_text("")
    env = clean_env({"AION_PORT": str(port), "AION_EXECUTOR_PORT": str(executor_port)})
    outputs: list[str] = []
    try:
        stack.start()
        for block in blocks:
            script = (
                f"source {session}\n{block.text}\n"
                f"export -p > {session}.next && mv {session}.next {session}\n"
            )
            result = subprocess.run(
                ["bash", "-e", "-o", "pipefail", "-c", script],
                cwd=work,
                env=env,
                capture_output=True,
                text=True,
                timeout=BLOCK_TIMEOUT_S,
            )
            assert result.returncode == 0, (
                f"README.md line {block.line}: the block failed ({result.returncode}):\n"
                f"{block.text}\n--- stdout\n{result.stdout[-3000:]}\n--- stderr\n"
                f"{result.stderr[-3000:]}"
            )
            outputs.append(result.stdout)
    finally:
        stack.stop()
    # What the blocks say happened did happen (not just exit codes).
    transcript = "\n".join(outputs)
    assert "subscribed" in transcript
    assert re.search(r"\d+ completed ", transcript), transcript[-2000:]
    assert re.search(r'"status":\s*"ready"', transcript)  # the uploaded file completed
    assert "text.stats" in transcript  # the executor's ListModules
    assert re.search(r"^words\s+3\s*$", transcript, flags=re.M)  # aion run with an API key
    # Nothing the README told the reader to start is left running.
    assert procs.port_free(executor_port)
    assert (work / ".aion-dev" / "moto").is_dir()
