"""Time vs input size for every executor module, on ordinary and on hostile inputs.

For each module and input shape the input doubles from 16 KiB up to ``--max-mb`` (default
8 MiB; the largest input a module takes is its ``max_input_bytes``, printed, and the REST
API takes at most 256 KiB inline): printed are the sizes, seconds and seconds per MB of
each run (CPU seconds: the machine may be shared; wall seconds beside them), then, per
curve, the cost per MB at the largest size and its growth from the
smallest timed size (about 1.0 for a linear module, about the size ratio for a quadratic
one). A curve over ``--flag-s-per-mb`` (default 1.0) or growing more than 2x is flagged.

``--before`` also times the two reproduced attacks on what the modules did before, on the
same machine in the same run: the previous phone pattern on runs of "1- " and upstream
VADER on a text without a sentence break (each stops after a run over ``--run-cap`` s).

Bounded: a curve stops doubling once a run takes more than ``--run-cap`` CPU seconds
(default 5). Modules run in this process, called as the worker calls them (no gRPC), one run per
size after one warm-up run. math.evaluate (64 KiB max, owned by the router's grammar) is
not timed here.

    .venv/bin/python benchmarks/module_scaling.py [--max-mb 8] [--module text.extract] [--before]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from executor_container.registry import catalogue  # noqa: E402

KiB = 1024
MB = 1_000_000
WORDS = (  # noqa: SIM905
    "the of and to in is was for on that with as by at from this be have not are but "
    "executor module router task project stream latency throughput profile summary good "
    "great awful love hate happy sad Zürich naïve café cloud lambda fargate polars"
).split()


class Source:
    """The call's input as a module sees it (``ModuleInput``)."""

    def __init__(self, data: bytes) -> None:
        self._data = data
        self.size = len(data)

    def chunks(self, size: int = 1 << 20) -> Iterator[bytes]:
        for start in range(0, len(self._data), size):
            yield self._data[start : start + size]

    def data(self) -> bytes:
        return self._data

    def text(self) -> str:
        return self._data.decode("utf-8")


class Context:
    def progress(self, fraction: float, message: str = "") -> None:
        pass

    def log(self, message: str, level: str = "info") -> None:
        pass


def repeat(unit: str) -> Callable[[int], bytes]:
    """Whole units only: how a run ends matters ("1- 1- 1-" is the slow case for the old
    phone pattern; "1- 1- 1" ends in a match at once)."""

    def make(size: int) -> bytes:
        data = unit.encode()
        return data * max(1, size // len(data))

    return make


def prose(size: int, extras: bool = False) -> bytes:
    rng = random.Random(size)
    parts: list[str] = []
    total = 0
    while total < size:
        words = rng.choices(WORDS, k=rng.randint(6, 18))
        if extras and rng.random() < 0.3:
            words.insert(
                rng.randint(0, len(words)),
                rng.choice(
                    [
                        "ann@example.com",
                        "https://aion.dev/docs",
                        "+1 (555) 123-4567",
                        "2025-03-01",
                        "$1,250.00",
                        "#launch",
                        "@ops",
                    ]
                ),
            )
        sentence = " ".join(words).capitalize() + rng.choice([". ", "! ", "? ", ".\n"])
        parts.append(sentence)
        total += len(sentence.encode())
    return "".join(parts).encode()[:size].decode("utf-8", "ignore").encode()


def csv_rows(size: int) -> bytes:
    rng = random.Random(size)
    lines = ["id,name,city,amount,score,joined,active"]
    total = len(lines[0])
    i = 0
    while total < size:
        line = (
            f"{i},user{rng.randint(0, 999)},{rng.choice(['Berlin', 'Lima', 'Zürich'])},"
            f"{rng.uniform(0, 5000):.2f},{'' if i % 17 == 0 else rng.randint(0, 100)},"
            f"20{rng.randint(10, 24)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d},"
            f"{'true' if i % 3 else 'false'}"
        )
        lines.append(line)
        total += len(line) + 1
        i += 1
    return ("\n".join(lines) + "\n").encode()


def csv_wide(size: int) -> bytes:
    header = ",".join(f"c{n}" for n in range(1000))
    row = ",".join(str(n % 10) for n in range(1000))
    count = max(1, (size - len(header)) // (len(row) + 1))
    return (header + "\n" + (row + "\n") * count).encode()


def csv_quoted(size: int) -> bytes:
    field = '"a ""quoted"", field",'
    row = field * 7 + "1\n"
    header = ",".join(f"h{n}" for n in range(8)) + "\n"
    return (header + row * max(1, (size - len(header)) // len(row))).encode()


def json_doc(size: int) -> bytes:
    items = []
    total = 12
    i = 0
    while total < size:
        item = {"n": f"name{i}", "v": i % 7, "tags": ["a", "b"]}
        items.append(item)
        total += len(json.dumps(item)) + 2
        i += 1
    return json.dumps({"items": items}).encode()


# (module, shape, hostile?, input maker, params)
CURVES: list[tuple[str, str, bool, Callable[[int], bytes], dict[str, Any]]] = [
    ("text.stats", "prose", False, prose, {}),
    ("text.stats", "no whitespace", True, repeat("a"), {}),
    ("text.stats", "3-byte sentences 'a. '", True, repeat("a. "), {}),
    ("text.summarize", "prose", False, prose, {}),
    ("text.summarize", "no sentence break", True, repeat("solar power grows "), {}),
    ("text.summarize", "3-byte sentences 'a. '", True, repeat("a. "), {}),
    ("text.extract", "prose with entities", False, lambda n: prose(n, extras=True), {}),
    ("text.extract", "'1- ' (the reported attack)", True, repeat("1- "), {}),
    ("text.extract", "'a.' (email scan)", True, repeat("a."), {}),
    ("text.extract", "'111,' (amount chain)", True, repeat("111,"), {}),
    ("text.extract", "dense phones", True, repeat("555-1234 x "), {}),
    ("text.extract", "dense mentions", True, repeat("@a "), {}),
    ("text.sentiment", "prose", False, prose, {}),
    ("text.sentiment", "no break (the reported attack)", True, repeat("good but not bad "), {}),
    ("text.sentiment", "dense lexicon sentences", True, repeat("Good! "), {}),
    ("data.csv_profile", "7 mixed columns", False, csv_rows, {}),
    ("data.csv_profile", "1000 columns", True, csv_wide, {}),
    ("data.csv_profile", "one-char rows", True, lambda n: b"a\n" + repeat("1\n")(n), {}),
    ("data.csv_profile", "quoted fields", True, csv_quoted, {}),
    ("data.json_query", "filter query", False, json_doc, {"expression": "items[?v > `2`].n"}),
    (
        "data.json_query",
        "sort + multiselect",
        False,
        json_doc,
        {"expression": "sort_by(items, &n)[*].{a: n, b: v}"},
    ),
    (
        "data.json_query",
        "doubling pipes (refused)",
        True,
        json_doc,
        {"expression": " | ".join(["[@,@]"] * 40)},
    ),
    (
        "data.json_query",
        "flatten x8 (refused)",
        True,
        json_doc,
        {"expression": "items | " + " | ".join(["[@,@,@,@,@,@,@,@][]"] * 6)},
    ),
    ("crypto.hash", "random bytes", False, lambda n: random.Random(n).randbytes(n), {}),
]


def measure(run: Callable[[], object]) -> tuple[float, float, str]:
    """(CPU seconds of this process, wall seconds, outcome) of one run.

    CPU time is the figure: the machine may be shared (other processes stretch wall time,
    not the CPU a module needs). polars' threads count in it too.
    """
    cpu, wall = time.process_time(), time.perf_counter()
    try:
        run()
        outcome = "ok"
    except Exception as exc:  # a refusal (invalid input, too costly) is an outcome too
        outcome = type(exc).__name__
    return time.process_time() - cpu, time.perf_counter() - wall, outcome


def time_call(module: str, data: bytes, params: dict[str, Any]) -> tuple[float, float, str]:
    spec = catalogue()[module]
    validated = spec.params.model_validate(params)
    return measure(lambda: spec.run(Source(data), validated, Context()))


def sizes(max_bytes: int) -> Iterator[int]:
    size = 16 * KiB
    while size <= max_bytes:
        yield size
        size *= 2


Point = tuple[int, float, float, str]  # bytes, CPU seconds, wall seconds, outcome


def curve(
    module: str, maker: Callable[[int], bytes], params: dict[str, Any], max_bytes: int, cap: float
) -> list[Point]:
    time_call(module, maker(16 * KiB), params)  # warm-up: imports, caches
    points = []
    for size in sizes(max_bytes):
        data = maker(size)
        cpu, wall, outcome = time_call(module, data, params)
        points.append((len(data), cpu, wall, outcome))
        if cpu > cap:
            break
    return points


def report(label: str, points: list[Point], flag_s_per_mb: float) -> tuple[float, float, bool]:
    print(f"  {label}")
    print(f"    {'bytes':>10} {'cpu s':>9} {'cpu s/MB':>9} {'wall s':>9}  outcome")
    for size, cpu, wall, outcome in points:
        print(f"    {size:>10} {cpu:>9.4f} {cpu / size * MB:>9.3f} {wall:>9.4f}  {outcome}")
    timed = [(size, cpu) for size, cpu, _, _ in points if cpu >= 0.02] or [
        (size, cpu) for size, cpu, _, _ in points
    ]
    first = timed[0][1] / timed[0][0] * MB
    last = timed[-1][1] / timed[-1][0] * MB
    growth = last / first if first else 1.0
    flagged = last > flag_s_per_mb or growth > 2.0
    mark = "FLAG" if flagged else "ok"
    print(f"    -> {last:.3f} CPU s/MB at {timed[-1][0]} bytes, growth x{growth:.2f}: {mark}")
    return last, growth, flagged


def before(max_bytes: int, cap: float, flag: float) -> None:
    """The two reproduced attacks on the previous code paths (for comparison)."""
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    old_phone = re.compile(
        r"(?<![\w+/.-])(?:\+\d{1,3}[ .-]?)?(?:\(\d{1,4}\)[ .-]?)?\d[\d .-]{5,}\d(?![\w/-])"
    )
    upstream = SentimentIntensityAnalyzer()
    print("before (previous code, same machine):")
    for label, run in (
        ("old phone pattern on '1- '", lambda d: sum(1 for _ in old_phone.finditer(d.decode()))),
        ("upstream VADER, no sentence break", lambda d: upstream.polarity_scores(d.decode())),
    ):
        unit = "1- " if "phone" in label else "good but not bad "
        points: list[Point] = []
        for size in sizes(max_bytes):
            data = repeat(unit)(size)
            cpu, wall, outcome = measure(lambda data=data, run=run: run(data))
            points.append((len(data), cpu, wall, outcome))
            if cpu > cap:
                break
        report(label, points, flag)


def baseline() -> float:
    """Seconds for a fixed pure-Python loop: compare machines (and loads) between runs."""
    started = time.perf_counter()
    total = 0
    for n in range(3_000_000):
        total += n & 7
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--max-mb", type=float, default=8.0)
    parser.add_argument("--module", action="append", help="only these modules (repeatable)")
    parser.add_argument("--run-cap", type=float, default=5.0)
    parser.add_argument("--flag-s-per-mb", type=float, default=1.0)
    parser.add_argument("--before", action="store_true")
    args = parser.parse_args()
    max_bytes = int(args.max_mb * 1024 * KiB)
    load = os.getloadavg()[0]
    print(
        f"module scaling: inputs 16 KiB .. {max_bytes} bytes, cpus {os.cpu_count()}, "
        f"load {load:.1f}, python loop baseline {baseline():.3f} s"
    )
    if args.before:
        before(max_bytes, args.run_cap, args.flag_s_per_mb)
    flagged: list[str] = []
    summary: list[tuple[str, str, float, float]] = []
    current = ""
    for module, shape, hostile, maker, params in CURVES:
        if args.module and module not in args.module:
            continue
        if module != current:
            current = module
            limit = catalogue()[module].max_input_bytes
            print(f"{module} (max_input_bytes {limit})")
        label = f"{'hostile' if hostile else 'normal'}: {shape}"
        points = curve(module, maker, params, max_bytes, args.run_cap)
        last, growth, flag = report(label, points, args.flag_s_per_mb)
        summary.append((module, label, last, growth))
        if flag:
            flagged.append(f"{module} {label}")
    print("summary (CPU s/MB at the largest size, growth from the smallest timed size):")
    for module, label, last, growth in summary:
        print(f"  {module:<17} {label:<42} {last:>7.3f} s/MB  x{growth:.2f}")
    print(f"load at the end {os.getloadavg()[0]:.1f}")
    print("flagged: " + ("; ".join(flagged) if flagged else "none"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
