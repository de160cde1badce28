"""Dev stack start time: empty state vs a restart with 1,000 finished tasks kept (target < 2x).

``python -m devstack`` is started the way ``make dev`` starts it, timed from spawning the
process to the stack being up (ready file written: every table, the executor and the HTTP
server answer), then stopped with SIGINT (Ctrl-C). In the same run:

1. empty: ``--repeats`` starts, each on a fresh state directory (the baseline);
2. populate: one stack runs ``--tasks`` tasks (``count the words``, 8 clients) to completion,
   then Ctrl-C;
3. kept: ``--repeats`` restarts on that state. The first replays the journal the run wrote
   (and then compacts it, in the background); the next ones load the snapshot.

It also measures the alternative the dev stack did not choose: moto's request recorder was on
while populating, and replaying its recording into a fresh moto (what a recorder-based restart
would do; long polls replayed without their wait, to be fair to it) is timed within a budget
and, if it does not finish, projected from the share it did.

    .venv/bin/python benchmarks/devstack_restart.py [--tasks 1000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from devstack.moto_backend import MotoServer  # noqa: E402


def _env(state_dir: Path, ready: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AION_", "AWS_", "MOTO_"))}
    env.update(
        {
            "PYTHONUNBUFFERED": "1",
            "AION_PORT": "0",
            "AION_DEV_STATE_DIR": str(state_dir),
            "AION_DEV_READY_FILE": str(ready),
            **(extra or {}),
        }
    )
    return env


def start(
    state_dir: Path, workdir: Path, name: str, extra: dict[str, str] | None = None
) -> tuple[subprocess.Popen[bytes], dict[str, Any], float]:
    ready = workdir / f"{name}.ready.json"
    log = (workdir / f"{name}.log").open("wb")
    began = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "devstack"],
        cwd=ROOT,
        env=_env(state_dir, ready, extra),
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )
    deadline = began + 300
    while not ready.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            tail = (workdir / f"{name}.log").read_text(errors="replace")[-3000:]
            raise RuntimeError(f"the dev stack did not start:\n{tail}")
        time.sleep(0.02)
    seconds = time.monotonic() - began
    return proc, json.loads(ready.read_text()), seconds


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(90)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


def populate(info: dict[str, Any], tasks: int, clients: int = 8) -> float:
    api = info["api_url"]
    login = requests.post(
        f"{api}/auth/login",
        json={"email": info["admin_email"], "password": info["admin_password"]},
        timeout=30,
    ).json()
    headers = {"Authorization": f"Bearer {login['accessToken']}"}
    project = requests.post(
        f"{api}/projects", json={"name": "Restart bench"}, headers=headers, timeout=30
    ).json()["id"]
    began = time.monotonic()

    def create(n: int) -> None:
        body = {
            "projectId": project,
            "instruction": "count the words",
            "input": f"task {n} of the restart benchmark: a few words to count",
        }
        reply = requests.post(f"{api}/tasks", json=body, headers=headers, timeout=60)
        reply.raise_for_status()

    with ThreadPoolExecutor(max_workers=clients) as pool:
        list(pool.map(create, range(tasks)))
    deadline = time.monotonic() + 900
    while time.monotonic() < deadline:
        stats = requests.get(
            f"{api}/stats", params={"projectId": project}, headers=headers, timeout=30
        ).json()
        if stats["counts"].get("completed", 0) >= tasks:
            return time.monotonic() - began
        time.sleep(1)
    raise RuntimeError(f"only {stats['counts']} of {tasks} tasks finished")


def replay_recording(recording: Path, budget_s: float) -> tuple[int, int, float]:
    """Replay moto's recording into a fresh moto; (replayed, total, seconds)."""
    entries = recording.read_text().splitlines()
    server = MotoServer()
    server.start(dict(os.environ))
    session = requests.Session()
    began = time.monotonic()
    done = 0
    try:
        for row in entries:
            if time.monotonic() - began > budget_s:
                break
            entry = json.loads(row)
            body: Any = entry.get("body", "{}")
            if entry.get("body_encoded"):
                import base64

                body = base64.b64decode(body)
            if isinstance(body, str) and '"WaitTimeSeconds"' in body:
                body = json.dumps({**json.loads(body), "WaitTimeSeconds": 0})
            headers = {
                k: v for k, v in entry.get("headers", {}).items() if k != "Transfer-Encoding"
            }
            url = entry["url"].split("://", 1)[1].split("/", 1)
            target = f"{server.url}/{url[1] if len(url) > 1 else ''}"
            session.request(entry["method"], target, headers=headers, data=body, timeout=30)
            done += 1
    finally:
        server.stop()
    return done, len(entries), time.monotonic() - began


def _size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--replay-budget", type=float, default=60.0)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="aion-restart-bench-") as tmp:
        workdir = Path(tmp)
        empty_times = []
        for n in range(args.repeats):
            proc, _, seconds = start(workdir / f"empty-{n}", workdir, f"empty-{n}")
            stop(proc)
            empty_times.append(seconds)
        print(f"empty start:          {', '.join(f'{t:.2f}' for t in empty_times)} s")

        kept = workdir / "kept"
        recording = workdir / "moto_recording"
        proc, info, _ = start(
            kept,
            workdir,
            "populate",
            {"MOTO_ENABLE_RECORDING": "true", "MOTO_RECORDER_FILEPATH": str(recording)},
        )
        try:
            took = populate(info, args.tasks)
        finally:
            stop(proc)
        journal = _size(kept / "moto")
        print(
            f"populate:             {args.tasks} tasks completed in {took:.1f} s; state "
            f"{journal / 1e6:.1f} MB"
        )

        kept_times = []
        for n in range(args.repeats):
            proc, info, seconds = start(kept, workdir, f"kept-{n}")
            if n == 0:
                # Let the background compaction finish, as a long-running stack would.
                deadline = time.monotonic() + 60
                while not list((kept / "moto").glob("snapshot-*.jsonl")):
                    if time.monotonic() > deadline:
                        break
                    time.sleep(0.2)
            stop(proc)
            kept_times.append(seconds)
        labels = ["journal replay"] + ["snapshot"] * (len(kept_times) - 1)
        print(
            "restart, tasks kept:  "
            + ", ".join(f"{t:.2f} ({label})" for t, label in zip(kept_times, labels, strict=True))
            + " s"
        )
        empty = statistics.median(empty_times)
        worst = max(kept_times)
        print(
            f"ratio (worst restart / median empty start): {worst / empty:.2f}x "
            f"(target < 2x) -> {'OK' if worst < 2 * empty else 'OVER'}"
        )

        done, total, seconds = replay_recording(recording, args.replay_budget)
        projected = seconds * total / max(done, 1)
        print(
            f"moto recorder alternative: replayed {done}/{total} recorded requests in "
            f"{seconds:.1f} s; a restart would take ~{projected:.0f} s "
            f"({projected / empty:.0f}x the empty start)"
        )


if __name__ == "__main__":
    main()
