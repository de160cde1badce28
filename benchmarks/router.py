"""Router benchmark: how well and how fast the router decides, next to a keyword-rule baseline
measured in the same run.

Quality (on the project's labelled set, ``router_training/data/labelled.jsonl``):
  * stratified k-fold cross-validation: each fold's model is trained from scratch on the other
    folds and judged on this one, for the classifier alone and for the whole decision function
    (rules + classifier + capability filter);
  * the committed model on the held-out split and on ``fresh_1.jsonl`` (requests written after the
    model was built and never used for tuning);
  * the keyword-rule baseline on the same examples.
Speed:
  * decision cost per request in microseconds of CPU time (``process_time``), p50/p99 over
    every labelled request. Each request is decided ``--repeats`` times and its median kept, so
    a busy machine's scheduling does not pass for the router's own cost; the wall-clock p99 of
    all samples is printed too, and a reference loop calibrates how fast this machine is now;
  * cold start: a fresh interpreter importing the router and loading the model (also after
    pydantic is already imported, as it is in the API Lambda).
Target: decision p99 <= 100 us.

    .venv/bin/python benchmarks/router.py [--folds 5] [--repeats 7] [--json]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from chalicelib.router import RouteRequest, RouteState, decide  # noqa: E402
from chalicelib.router.catalog import LLM_MODULE, MODULE_NAMES  # noqa: E402
from chalicelib.router.classifier import LinearModel, load_model  # noqa: E402
from router_training.train import (  # noqa: E402
    DATA_DIR,
    Example,
    TrainConfig,
    load_examples,
    split,
    train_linear,
)

ALL_UP = RouteState(frozenset(MODULE_NAMES) - {LLM_MODULE}, llm_available=True)
TARGET_P99_US = 100.0

# --- the baseline: ordered keyword rules, the usual first attempt at a router ---------------

_BASELINE_RULES: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (module, re.compile(pattern, re.I))
    for module, pattern in (
        ("crypto.hash", r"\b(hash|sha-?\d*|md5|checksum|digest)\b"),
        ("math.evaluate", r"\d\s*[-+*/x^%]\s*\d|\b(calculate|compute|evaluate|percent)\b"),
        ("data.json_query", r"\b(json|jmespath|query)\b"),
        ("data.csv_profile", r"\b(csv|columns?|table|spreadsheet|dataset|rows)\b"),
        ("text.sentiment", r"\b(sentiment|positive|negative|feel|tone|mood)\b"),
        ("text.extract", r"\b(extract|emails?|urls?|links?|phones?|hashtags?|mentions?|dates)\b"),
        ("text.summarize", r"\b(summar\w*|tl;?dr|gist|key points|shorten|condense)\b"),
        ("text.stats", r"\b(count|how many|words|characters|length|reading time|lines)\b"),
    )
)


def baseline(instruction: str) -> str:
    for module, pattern in _BASELINE_RULES:
        if pattern.search(instruction):
            return module
    return LLM_MODULE


# --- quality ---------------------------------------------------------------------------------


def scores(pairs: Sequence[tuple[str, str]]) -> dict[str, float]:
    """Accuracy and macro-F1 over (gold, predicted) pairs."""
    correct = sum(1 for gold, guess in pairs if gold == guess)
    f1s = []
    for label in MODULE_NAMES:
        tp = sum(1 for g, p in pairs if g == label and p == label)
        fp = sum(1 for g, p in pairs if g != label and p == label)
        fn = sum(1 for g, p in pairs if g == label and p != label)
        if tp + fp + fn:
            f1s.append(2 * tp / (2 * tp + fp + fn))
    return {"accuracy": correct / len(pairs), "macroF1": sum(f1s) / len(f1s)}


def folds_of(examples: Sequence[Example], k: int) -> list[int]:
    """Stratified: each module's examples, in a fixed hashed order, dealt round-robin."""
    by_label: dict[str, list[int]] = defaultdict(list)
    order = sorted(
        range(len(examples)),
        key=lambda i: hashlib.sha256(examples[i].instruction.encode()).digest(),
    )
    for i in order:
        by_label[examples[i].module].append(i)
    fold = [0] * len(examples)
    for members in by_label.values():
        for n, i in enumerate(members):
            fold[i] = n % k
    return fold


def cross_validate(examples: Sequence[Example], k: int) -> dict[str, dict[str, float]]:
    fold = folds_of(examples, k)
    classifier_pairs: list[tuple[str, str]] = []
    decision_pairs: list[tuple[str, str]] = []
    baseline_pairs: list[tuple[str, str]] = []
    for f in range(k):
        train = [ex for ex, g in zip(examples, fold, strict=True) if g != f]
        test = [ex for ex, g in zip(examples, fold, strict=True) if g == f]
        model = LinearModel.from_artifact(train_linear(train, TrainConfig()))
        for ex in test:
            classifier_pairs.append((ex.module, model.probabilities(ex.features())[0][0]))
            decided = decide(RouteRequest(ex.instruction, ex.input), ALL_UP, model)
            decision_pairs.append((ex.module, decided.module))
            baseline_pairs.append((ex.module, baseline(ex.instruction)))
    return {
        "classifier": scores(classifier_pairs),
        "decision": scores(decision_pairs),
        "baseline": scores(baseline_pairs),
    }


def committed_model_quality(examples: Sequence[Example]) -> dict[str, dict[str, float]]:
    _, heldout = split(examples)
    fresh = load_examples(DATA_DIR / "fresh_1.jsonl")
    out = {}
    for name, items in (("heldout", heldout), ("fresh", fresh)):
        out[name] = scores(
            [
                (ex.module, decide(RouteRequest(ex.instruction, ex.input), ALL_UP).module)
                for ex in items
            ]
        )
        out[name + "Baseline"] = scores([(ex.module, baseline(ex.instruction)) for ex in items])
        out[name]["n"] = len(items)
    return out


# --- speed ---------------------------------------------------------------------------------


def latencies(
    fn: Callable[[Example], object], examples: Sequence[Example], repeats: int
) -> tuple[list[float], list[float]]:
    """(per-request median CPU microseconds, every wall-clock sample in microseconds)."""
    for ex in examples:  # warm: caches, first-use imports
        fn(ex)
    medians, samples = [], []
    for ex in examples:
        runs = []
        for _ in range(repeats):
            wall = time.perf_counter_ns()
            cpu = time.process_time_ns()
            fn(ex)
            runs.append((time.process_time_ns() - cpu) / 1000)
            samples.append((time.perf_counter_ns() - wall) / 1000)
        medians.append(statistics.median(runs))
    return medians, samples


def reference_loop_us() -> float:
    """CPU microseconds of ``sum(range(1000))`` here and now, measured like the decisions (a
    median of single runs); about 9 us on an idle x86 core."""
    runs = []
    for _ in range(1000):
        cpu = time.process_time_ns()
        sum(range(1000))
        runs.append((time.process_time_ns() - cpu) / 1000)
    return statistics.median(runs)


def pct(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def cold_start(runs: int) -> dict[str, float]:
    """Milliseconds, in a fresh interpreter: import the router, load the model, first decision."""
    probe = (
        "import time, json\n"
        "t0 = time.perf_counter()\n"
        "from chalicelib.router import RouteRequest, RouteState, decide\n"
        "from chalicelib.router.classifier import load_model\n"
        "t1 = time.perf_counter()\n"
        "load_model()\n"
        "t2 = time.perf_counter()\n"
        "decide(RouteRequest('count the words', 'a b c'), RouteState(frozenset({'text.stats'})))\n"
        "t3 = time.perf_counter()\n"
        "print(json.dumps([t1 - t0, t2 - t1, t3 - t2]))\n"
    )
    base_probe = (
        "import time, json\nt0 = time.perf_counter()\nimport re\n"
        "p = re.compile(r'\\b(count|words)\\b')\np.search('count the words')\n"
        "print(json.dumps([time.perf_counter() - t0]))\n"
    )
    # The API Lambda has pydantic's BaseModel machinery loaded already (every request model).
    after_pydantic_probe = probe.replace(
        "t0 = time.perf_counter()\n",
        "from pydantic import BaseModel, ConfigDict, Field\n"
        "class _Warm(BaseModel):\n    x: int = 0\n"
        "t0 = time.perf_counter()\n",
        1,
    )
    imports, loads, firsts, bases, after = [], [], [], [], []
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-c", probe],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        )
        a, b, c = json.loads(out.stdout)
        imports.append(a * 1000)
        loads.append(b * 1000)
        firsts.append(c * 1000)
        out = subprocess.run(
            [sys.executable, "-c", base_probe],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        )
        bases.append(json.loads(out.stdout)[0] * 1000)
        out = subprocess.run(
            [sys.executable, "-c", after_pydantic_probe],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        )
        after.append(json.loads(out.stdout)[0] * 1000)
    return {
        "importMs": statistics.median(imports),
        "importAfterPydanticMs": statistics.median(after),
        "modelLoadMs": statistics.median(loads),
        "firstDecisionMs": statistics.median(firsts),
        "baselineMs": statistics.median(bases),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--cold-runs", type=int, default=3)
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    args = parser.parse_args()

    examples = load_examples()
    started = time.monotonic()
    cv = cross_validate(examples, args.folds)
    cv_seconds = time.monotonic() - started
    committed = committed_model_quality(examples)

    load_model()
    requests = {id(ex): RouteRequest(ex.instruction, ex.input) for ex in examples}
    router_med, router_all = latencies(
        lambda ex: decide(requests[id(ex)], ALL_UP), examples, args.repeats
    )
    base_med, _base_all = latencies(lambda ex: baseline(ex.instruction), examples, args.repeats)
    cold = cold_start(args.cold_runs)
    reference = reference_loop_us()

    summary = {
        "examples": len(examples),
        "crossValidation": {"folds": args.folds, "seconds": round(cv_seconds, 1), **cv},
        "committedModel": committed,
        "latencyUs": {
            "router": {
                "p50": pct(router_med, 0.5),
                "p99": pct(router_med, 0.99),
                "rawP99": pct(router_all, 0.99),
            },
            "baseline": {"p50": pct(base_med, 0.5), "p99": pct(base_med, 0.99)},
            "targetP99": TARGET_P99_US,
            "referenceLoopUs": reference,
        },
        "coldStartMs": cold,
    }
    if args.json:
        sys.stdout.write(json.dumps(summary, indent=2) + "\n")
        return
    _report(summary)


def _report(s: dict) -> None:
    cv = s["crossValidation"]
    lines = [
        f"router benchmark: {s['examples']} labelled examples, {cv['folds']}-fold CV "
        f"({cv['seconds']} s)",
        "",
        f"{'quality':<34}{'accuracy':>10}{'macro-F1':>10}",
    ]
    for name, key in (
        ("CV decision (router)", "decision"),
        ("CV classifier alone", "classifier"),
        ("CV keyword baseline", "baseline"),
    ):
        lines.append(f"{name:<34}{cv[key]['accuracy']:>10.3f}{cv[key]['macroF1']:>10.3f}")
    c = s["committedModel"]
    for name, key in (
        ("held-out, committed model", "heldout"),
        ("held-out, keyword baseline", "heldoutBaseline"),
        ("fresh set, committed model", "fresh"),
        ("fresh set, keyword baseline", "freshBaseline"),
    ):
        lines.append(f"{name:<34}{c[key]['accuracy']:>10.3f}{c[key]['macroF1']:>10.3f}")
    ratio = cv["decision"]["accuracy"] / max(cv["baseline"]["accuracy"], 1e-9)
    lines.append(f"accuracy ratio router / baseline (CV): {ratio:.2f}x")
    lat = s["latencyUs"]
    r, b = lat["router"], lat["baseline"]
    lines += [
        "",
        f"decision cost (CPU us, per-request median of repeats): router p50 {r['p50']:.1f} "
        f"p99 {r['p99']:.1f} (wall-clock p99 of all samples {r['rawP99']:.1f}); "
        f"baseline p50 {b['p50']:.1f} p99 {b['p99']:.1f}",
        f"machine speed now: sum(range(1000)) takes {lat['referenceLoopUs']:.1f} us "
        "(about 9 us on an idle x86 core)",
        f"latency ratio router / baseline: p50 {r['p50'] / max(b['p50'], 1e-9):.1f}x, "
        f"p99 {r['p99'] / max(b['p99'], 1e-9):.1f}x",
        f"target p99 <= {lat['targetP99']:.0f} us: "
        + ("met" if r["p99"] <= lat["targetP99"] else "NOT met"),
    ]
    cold = s["coldStartMs"]
    lines += [
        "",
        f"cold start (ms, fresh interpreter): import {cold['importMs']:.1f} "
        f"({cold['importAfterPydanticMs']:.1f} once pydantic is loaded, as in the API Lambda) "
        f"+ model load {cold['modelLoadMs']:.1f} + first decision "
        f"{cold['firstDecisionMs']:.1f}; keyword baseline {cold['baselineMs']:.2f}",
    ]
    sys.stdout.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
