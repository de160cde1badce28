"""Inference of the offline-trained text classifier: a linear model over ``features.extract``.

The artifact (``data/model.json``) is plain JSON written by ``python -m chalicelib.router.train``:
labels, a bias per label and, per feature, one weight per label. Scoring is dictionary look-ups
and column sums, so a decision costs microseconds and needs no numeric library.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from chalicelib.router.features import extract, word_features

MODEL_PATH = Path(__file__).parent / "data" / "model.json"


@dataclass(frozen=True)
class Scored:
    probabilities: list[tuple[str, float]]  # best first
    words: list[str]  # the instruction's words, for explanations


class LinearModel:
    def __init__(
        self,
        labels: list[str],
        bias: list[float],
        weights: dict[str, list[float]],
        temperature: float = 1.0,
    ) -> None:
        self.labels = list(labels)
        self.bias = list(bias)
        # Tuples: immutable, compact, and fast to unpack in the column sum.
        self.weights: dict[str, tuple[float, ...]] = {k: tuple(v) for k, v in weights.items()}
        self.temperature = temperature

    @classmethod
    def from_artifact(cls, artifact: dict) -> LinearModel:
        return cls(
            artifact["labels"],
            artifact["bias"],
            artifact["weights"],
            float(artifact.get("temperature", 1.0)),
        )

    def raw_scores(self, feats: list[str]) -> list[float]:
        get = self.weights.get
        rows = [row for row in map(get, feats) if row is not None]
        if not rows:
            return list(self.bias)
        # Features are L2-normalised presence values: each present feature weighs 1/sqrt(n).
        scale = 1.0 / math.sqrt(len(feats))
        columns = zip(*rows, strict=True)
        return [b + scale * sum(col) for b, col in zip(self.bias, columns, strict=True)]

    def probabilities(self, feats: list[str]) -> list[tuple[str, float]]:
        scores = self.raw_scores(feats)
        t = self.temperature
        top = max(scores)
        exps = [math.exp((s - top) / t) for s in scores]
        total = sum(exps)
        ranked = sorted(zip(exps, self.labels, strict=True), reverse=True)
        return [(label, e / total) for e, label in ranked]

    def score(self, instruction: str, input_kind: str) -> Scored:
        feats, toks = extract(instruction, input_kind)
        return Scored(self.probabilities(feats), toks)

    def word_weights(self, toks: list[str], label: str, limit: int = 5) -> list[tuple[str, float]]:
        """The words that pushed hardest towards ``label``.

        Rows are centred at training (each sums to zero), so a weight is directly how much a
        feature favours ``label`` over the average label.
        """
        k = self.labels.index(label)
        get = self.weights.get
        pushes: dict[str, float] = {}
        for tok in dict.fromkeys(toks):
            total = 0.0
            for feat in word_features(tok):
                row = get(feat)
                if row is not None:
                    total += row[k]
            if total > 0:
                pushes[tok] = total
        best = sorted(pushes.items(), key=lambda pair: pair[1], reverse=True)[:limit]
        return [(tok, round(weight, 3)) for tok, weight in best]


@lru_cache(maxsize=1)
def load_model(path: str = str(MODEL_PATH)) -> LinearModel:
    """The committed artifact, read once per process (cold start: a few milliseconds)."""
    with open(path, encoding="utf-8") as fh:
        return LinearModel.from_artifact(json.load(fh))
