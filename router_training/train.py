"""Train the router's classifier from the labelled set kept in the repo; write a JSON artifact.

    make router-model                          # train on the training split, write model.json
    python -m router_training.train --cv 5     # also print cross-validated accuracy / macro-F1

The held-out split (one example in five, chosen by a hash of its text) is never trained on; the
test suite evaluates the committed artifact on it. Pure Python, deterministic (seeded), no
network, no pickle.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import random
import sys
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from chalicelib.router.catalog import MODULE_NAMES
from chalicelib.router.classifier import MODEL_PATH, LinearModel
from chalicelib.router.features import extract
from chalicelib.router.params import classification_view

DATA_DIR = Path(__file__).parent / "data"
DATA_PATH = DATA_DIR / "labelled.jsonl"
HELDOUT_BUCKETS = 5  # one example in five is held out
# Features whose weights barely differ between labels decide nothing: dropping them keeps the
# artifact small (cold start) at no measurable accuracy cost.
MIN_WEIGHT_SPREAD = 0.05


@dataclass(frozen=True)
class Example:
    instruction: str
    input: object
    module: str

    def features(self) -> list[str]:
        # The same view the decision function classifies: inline data split off the request.
        request, shape, _data = classification_view(self.instruction, self.input)
        return extract(request, shape.kind)[0]


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 25
    learning_rate: float = 0.3
    l2: float = 1e-5
    min_df: int = 1
    seed: int = 7
    temperature: float = 1.0


def labelled_paths() -> list[Path]:
    """The labelled set: ``labelled.jsonl`` (the first 1,163 requests) and its additions."""
    return sorted(DATA_DIR.glob("labelled*.jsonl"))


def load_examples(*paths: Path) -> list[Example]:
    """The examples of ``paths`` (default: the whole labelled set)."""
    examples = []
    for path in paths or labelled_paths():
        with open(path, encoding="utf-8") as fh:
            for n, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                row = json.loads(line)
                if row["module"] not in MODULE_NAMES:
                    raise ValueError(f"{path.name}:{n}: unknown module {row['module']!r}")
                examples.append(Example(row["instruction"], row.get("input"), row["module"]))
    return examples


def is_heldout(example: Example) -> bool:
    digest = hashlib.sha256(example.instruction.encode()).digest()
    return digest[0] % HELDOUT_BUCKETS == 0


def split(examples: Sequence[Example]) -> tuple[list[Example], list[Example]]:
    train = [ex for ex in examples if not is_heldout(ex)]
    heldout = [ex for ex in examples if is_heldout(ex)]
    return train, heldout


def digest_of(examples: Sequence[Example]) -> str:
    blob = "\n".join(sorted(f"{ex.module}\t{ex.instruction}" for ex in examples))
    return hashlib.sha256(blob.encode()).hexdigest()


def train_linear(examples: Sequence[Example], config: TrainConfig = TrainConfig()) -> dict:
    """Multinomial logistic regression, SGD with Adagrad steps and L2, over normalised features."""
    labels = list(MODULE_NAMES)
    index = {label: k for k, label in enumerate(labels)}
    n_labels = len(labels)
    rows = [(ex.features(), index[ex.module]) for ex in examples]
    df = Counter(f for feats, _ in rows for f in set(feats))
    keep = {f for f, n in df.items() if n >= config.min_df}
    data = [([f for f in feats if f in keep], y, 1.0 / math.sqrt(len(feats))) for feats, y in rows]

    weights: dict[str, list[float]] = defaultdict(lambda: [0.0] * n_labels)
    grad_sq: dict[str, list[float]] = defaultdict(lambda: [1e-8] * n_labels)
    bias = [0.0] * n_labels
    bias_sq = [1e-8] * n_labels
    rng = random.Random(config.seed)  # noqa: S311 - a seeded shuffle, not security
    lr = config.learning_rate
    for _epoch in range(config.epochs):
        rng.shuffle(data)
        for feats, y, value in data:
            scores = list(bias)
            for f in feats:
                for k, w in enumerate(weights[f]):
                    scores[k] += w * value
            top = max(scores)
            exps = [math.exp(s - top) for s in scores]
            total = sum(exps)
            grads = [e / total for e in exps]
            grads[y] -= 1.0
            for k, g in enumerate(grads):
                bias_sq[k] += g * g
                bias[k] -= lr * g / math.sqrt(bias_sq[k])
            for f in feats:
                w_row, g_row = weights[f], grad_sq[f]
                for k, g in enumerate(grads):
                    step = g * value + config.l2 * w_row[k]
                    g_row[k] += step * step
                    w_row[k] -= lr * step / math.sqrt(g_row[k])
    return {
        "kind": "logistic_regression",
        "labels": labels,
        "bias": [round(b, 4) for b in bias],
        # Centred rows: adding a constant to every label's weight leaves the softmax unchanged,
        # and centred weights read directly as "favours this label over the others".
        "weights": {
            f: [round(w - sum(row) / n_labels, 3) for w in row]
            for f, row in sorted(weights.items())
            if max(row) - min(row) >= MIN_WEIGHT_SPREAD
        },
        "temperature": config.temperature,
    }


def predict(model: LinearModel, example: Example) -> str:
    return model.probabilities(example.features())[0][0]


def evaluate(model: LinearModel, examples: Sequence[Example]) -> dict:
    """Accuracy and macro-F1 (mean over labels of per-label F1)."""
    pairs = [(ex.module, predict(model, ex)) for ex in examples]
    correct = sum(1 for gold, guess in pairs if gold == guess)
    f1s = []
    for label in model.labels:
        tp = sum(1 for g, p in pairs if g == label and p == label)
        fp = sum(1 for g, p in pairs if g != label and p == label)
        fn = sum(1 for g, p in pairs if g == label and p != label)
        if tp + fp + fn == 0:
            continue
        f1s.append(2 * tp / (2 * tp + fp + fn))
    return {
        "n": len(pairs),
        "accuracy": correct / len(pairs) if pairs else 0.0,
        "macroF1": sum(f1s) / len(f1s) if f1s else 0.0,
        "errors": [(g, p) for g, p in pairs if g != p],
    }


def cross_validate(
    examples: Sequence[Example],
    folds: int = 5,
    config: TrainConfig = TrainConfig(),
    trainer=train_linear,
) -> dict:
    """Stratified k-fold: each label's examples are dealt round-robin into the folds."""
    by_label: dict[str, list[Example]] = defaultdict(list)
    for ex in sorted(examples, key=lambda e: hashlib.sha256(e.instruction.encode()).digest()):
        by_label[ex.module].append(ex)
    fold_of: dict[int, int] = {}
    for group in by_label.values():
        for i, ex in enumerate(group):
            fold_of[id(ex)] = i % folds
    accs, f1s = [], []
    for fold in range(folds):
        train = [ex for ex in examples if fold_of[id(ex)] != fold]
        test = [ex for ex in examples if fold_of[id(ex)] == fold]
        model = LinearModel.from_artifact(trainer(train, config))
        result = evaluate(model, test)
        accs.append(result["accuracy"])
        f1s.append(result["macroF1"])
    return {"folds": folds, "accuracy": sum(accs) / folds, "macroF1": sum(f1s) / folds}


def build_artifact(examples: Sequence[Example], config: TrainConfig = TrainConfig()) -> dict:
    train, heldout = split(examples)
    artifact = train_linear(train, config)
    model = LinearModel.from_artifact(artifact)
    held = evaluate(model, heldout)
    artifact["training"] = {
        "examples": len(train),
        "heldout": len(heldout),
        "trainDigest": digest_of(train),
        "heldoutAccuracy": round(held["accuracy"], 4),
        "heldoutMacroF1": round(held["macroF1"], 4),
        "config": config.__dict__,
    }
    return artifact


def _say(line: str) -> None:
    sys.stdout.write(line + "\n")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cv", type=int, default=0, help="also run k-fold cross-validation")
    parser.add_argument("--out", default=str(MODEL_PATH))
    parser.add_argument("--epochs", type=int, default=TrainConfig.epochs)
    parser.add_argument("--dry-run", action="store_true", help="do not write the artifact")
    args = parser.parse_args(argv)
    config = TrainConfig(epochs=args.epochs)
    examples = load_examples()
    counts = Counter(ex.module for ex in examples)
    _say(f"{len(examples)} examples: " + ", ".join(f"{m}={counts[m]}" for m in MODULE_NAMES))
    artifact = build_artifact(examples, config)
    info = artifact["training"]
    _say(
        f"trained on {info['examples']}, held-out {info['heldout']}: "
        f"accuracy {info['heldoutAccuracy']:.3f}, macro-F1 {info['heldoutMacroF1']:.3f}; "
        f"{len(artifact['weights'])} features"
    )
    if args.cv:
        cv = cross_validate(examples, args.cv, config)
        _say(f"{args.cv}-fold CV: accuracy {cv['accuracy']:.3f}, macro-F1 {cv['macroF1']:.3f}")
    if not args.dry_run:
        Path(args.out).write_text(
            json.dumps(artifact, separators=(",", ":")) + "\n", encoding="utf-8"
        )
        _say(f"wrote {args.out} ({Path(args.out).stat().st_size} bytes)")


if __name__ == "__main__":
    main()
