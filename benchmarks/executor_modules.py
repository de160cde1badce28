"""Module speed: ``text.stats`` vs ``wc -lwc`` and ``data.csv_profile`` vs pandas.

Data is generated (seeded) into a temporary directory: 50 MB of text and a 1,000,000-row
CSV. Every contender runs in its own child process, so the peak memory printed (max RSS
from ``wait4``) is its own. Printed: seconds, MB/s, peak MB and the ratios
(text.stats throughput / wc; csv_profile time / pandas time, target <= 1.0).

    .venv/bin/python benchmarks/executor_modules.py [--text-mb 50] [--rows 1000000]
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORDS = (  # noqa: SIM905
    "the of and to in is was for on that with as by at from this be have not are but "
    "executor module router task project stream latency throughput profile summary "
    "Zürich naïve café déjà vu über cloud lambda fargate gRPC polars pandas"
).split()
TIMEOUT_S = 600

TEXT_STATS_CHILD = """
import sys, time, json
from executor_container.modules import text_stats
class Src:
    def __init__(self, data): self._d = data; self.size = len(data)
    def chunks(self, size=1 << 20):
        for i in range(0, len(self._d), size): yield self._d[i:i + size]
    def data(self): return self._d
    def text(self): return self._d.decode()
class Ctx:
    def progress(self, f, m=''): pass
    def log(self, m, level='info'): pass
start = time.perf_counter()
with open(sys.argv[1], 'rb') as f: data = f.read()
result = text_stats.run(Src(data), None, Ctx())
print(json.dumps({"seconds": time.perf_counter() - start, "words": result["words"]}))
"""

CSV_PROFILE_CHILD = """
import sys, time, json
from executor_container.modules import data_csv_profile
start = time.perf_counter()
with open(sys.argv[1], 'rb') as f: data = f.read()
result = data_csv_profile.profile(data)
print(json.dumps({"seconds": time.perf_counter() - start, "rows": result["rows"]}))
"""

PANDAS_CHILD = """
import sys, time, json
import pandas as pd
start = time.perf_counter()
described = pd.read_csv(sys.argv[1]).describe(include='all')
print(json.dumps({"seconds": time.perf_counter() - start, "stats": len(described.index)}))
"""


def make_text(path: Path, megabytes: int, rng: random.Random) -> None:
    target = megabytes * 1024 * 1024
    written = 0
    with path.open("w", encoding="utf-8") as out:
        while written < target:
            words = rng.choices(WORDS, k=rng.randint(6, 18))
            sentence = " ".join(words).capitalize() + rng.choice([". ", "! ", "? ", ".\n"])
            written += len(sentence.encode())
            out.write(sentence)


def make_csv(path: Path, rows: int, rng: random.Random) -> None:
    cities = ["Berlin", "Lima", "Osaka", "Zürich", "Lagos", "Austin", "Hanoi", "Porto"]
    names = [f"user{n:04d}" for n in range(1000)]
    with path.open("w", encoding="utf-8") as out:
        out.write("id,name,city,amount,score,joined,active\n")
        for i in range(rows):
            score = "" if i % 17 == 0 else str(rng.randint(0, 100))
            joined = f"20{rng.randint(10, 24)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
            out.write(
                f"{i},{rng.choice(names)},{rng.choice(cities)},{rng.uniform(0, 5000):.2f},"
                f"{score},{joined},{'true' if i % 3 else 'false'}\n"
            )


def run_child(command: list[str]) -> tuple[float, float, str]:
    """(wall seconds, peak RSS in MB, stdout) of one child process."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    start = time.perf_counter()
    with tempfile.TemporaryFile() as out:
        proc = subprocess.Popen(command, stdout=out, cwd=ROOT, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - start
        out.seek(0)
        text = out.read().decode()
    if proc.returncode != 0:
        raise RuntimeError(f"{command[:3]} failed with {proc.returncode}")
    return wall, usage.ru_maxrss / 1024, text


def inner_seconds(stdout: str) -> float:
    import json

    return float(json.loads(stdout.strip().splitlines()[-1])["seconds"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--text-mb", type=int, default=50)
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    rng = random.Random(20251125)
    with tempfile.TemporaryDirectory(prefix="aion-bench-") as tmp:
        text_path, csv_path = Path(tmp) / "text.txt", Path(tmp) / "data.csv"
        make_text(text_path, args.text_mb, rng)
        make_csv(csv_path, args.rows, rng)
        text_mb = text_path.stat().st_size / 1e6
        csv_mb = csv_path.stat().st_size / 1e6
        print(
            f"text {text_mb:.1f} MB, csv {args.rows} rows / {csv_mb:.1f} MB, cpus {os.cpu_count()}"
        )

        wc_wall, wc_rss, _ = run_child(["wc", "-lwc", str(text_path)])
        _, stats_rss, stats_out = run_child(
            [sys.executable, "-c", TEXT_STATS_CHILD, str(text_path)]
        )
        stats_s = inner_seconds(stats_out)
        print(f"{'':<22} {'seconds':>8} {'MB/s':>8} {'peak MB':>8}")
        print(f"{'wc -lwc':<22} {wc_wall:>8.2f} {text_mb / wc_wall:>8.1f} {wc_rss:>8.1f}")
        print(f"{'text.stats':<22} {stats_s:>8.2f} {text_mb / stats_s:>8.1f} {stats_rss:>8.1f}")
        print(f"text.stats / wc throughput: {wc_wall / stats_s:.2f}x")

        _, pandas_rss, pandas_out = run_child([sys.executable, "-c", PANDAS_CHILD, str(csv_path)])
        _, prof_rss, prof_out = run_child([sys.executable, "-c", CSV_PROFILE_CHILD, str(csv_path)])
        pandas_s, prof_s = inner_seconds(pandas_out), inner_seconds(prof_out)
        row = f"{pandas_s:>8.2f} {csv_mb / pandas_s:>8.1f} {pandas_rss:>8.1f}"
        print(f"{'pandas describe(all)':<22} {row}")
        print(f"{'data.csv_profile':<22} {prof_s:>8.2f} {csv_mb / prof_s:>8.1f} {prof_rss:>8.1f}")
        ratio = prof_s / pandas_s
        verdict = "meets" if ratio <= 1.0 else "misses"
        print(f"csv_profile / pandas time: {ratio:.2f}x ({verdict} the <= 1.0x target)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
