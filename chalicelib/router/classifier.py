"""Inference of the offline-trained text classifier: a linear model over ``features.extract``.

The artifact (``model.json``) is plain JSON written offline by ``router_training/train.py``:
labels, a bias per label and, per feature, one weight per label. Scoring is dictionary look-ups
and column sums, so a decision costs microseconds and needs no numeric library.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from chalicelib.router.features import bigrams, shape_features, word_features, words

MODEL_PATH = Path(__file__).parent / "model.json"
# Distinct words whose summed weight rows a model keeps (about 100 bytes each); when full the
# cache starts over, so unusual traffic cannot grow it without bound.
_WORD_CACHE_SIZE = 20_000


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
        # word -> (how many features it contributes, the sum of their weight rows or None).
        self._word_rows: dict[str, tuple[int, tuple[float, ...] | None]] = {}

    @classmethod
    def from_artifact(cls, artifact: dict) -> LinearModel:
        return cls(
            artifact["labels"],
            artifact["bias"],
            artifact["weights"],
            float(artifact.get("temperature", 1.0)),
        )

    def raw_scores(self, feats: list[str]) -> list[float]:
        rows = [row for row in map(self.weights.get, feats) if row is not None]
        return self._combine(rows, len(feats))

    def _combine(self, rows: list[tuple[float, ...]], n_feats: int) -> list[float]:
        if not rows:
            return list(self.bias)
        # Features are L2-normalised presence values: each present feature weighs 1/sqrt(n).
        scale = 1.0 / math.sqrt(n_feats)
        columns = zip(*rows, strict=True)
        return [b + scale * sum(col) for b, col in zip(self.bias, columns, strict=True)]

    def _word_row(self, word: str) -> tuple[int, tuple[float, ...] | None]:
        """(feature count, summed weight rows) of one word: a word's n-grams are looked up once
        per process instead of once per request."""
        hit = self._word_rows.get(word)
        if hit is None:
            feats = word_features(word)
            rows = [row for row in map(self.weights.get, feats) if row is not None]
            hit = (len(feats), tuple(map(sum, zip(*rows, strict=True))) if rows else None)
            if len(self._word_rows) >= _WORD_CACHE_SIZE:
                self._word_rows.clear()
            self._word_rows[word] = hit
        return hit

    def probabilities(self, feats: list[str]) -> list[tuple[str, float]]:
        return self._ranked(self.raw_scores(feats))

    def _ranked(self, scores: list[float]) -> list[tuple[str, float]]:
        t = self.temperature
        top = max(scores)
        exps = [math.exp((s - top) / t) for s in scores]
        total = sum(exps)
        ranked = sorted(zip(exps, self.labels, strict=True), reverse=True)
        return [(label, e / total) for e, label in ranked]

    def score(self, instruction: str, input_kind: str) -> Scored:
        """``probabilities(extract(...))``, with each word's features summed from the word cache
        (the same features and weights; only the order of the float additions differs)."""
        toks = words(instruction)
        get = self.weights.get
        shape = shape_features(instruction, input_kind, toks)
        pairs = bigrams(toks)
        rows = [row for row in map(get, shape) if row is not None]
        n_feats = len(shape) + len(pairs)
        cached = self._word_rows.get
        for tok in toks:
            count, row = cached(tok) or self._word_row(tok)
            n_feats += count
            if row is not None:
                rows.append(row)
        rows.extend(row for row in map(get, pairs) if row is not None)
        return Scored(self._ranked(self._combine(rows, n_feats)), toks)

    def word_weights(self, toks: list[str], label: str, limit: int = 5) -> list[tuple[str, float]]:
        """The words that pushed hardest towards ``label``.

        Rows are centred at training (each sums to zero), so a weight is directly how much a
        feature favours ``label`` over the average label.
        """
        k = self.labels.index(label)
        pushes: dict[str, float] = {}
        cached = self._word_rows.get
        for tok in dict.fromkeys(toks):
            row = (cached(tok) or self._word_row(tok))[1]
            if row is not None and row[k] > 0:
                pushes[tok] = row[k]
        best = sorted(pushes.items(), key=lambda pair: pair[1], reverse=True)[:limit]
        return [(tok, round(weight, 3)) for tok, weight in best]


@lru_cache(maxsize=1)
def load_model(path: str = str(MODEL_PATH)) -> LinearModel:
    """The committed artifact, read once per process (cold start: a few milliseconds)."""
    with open(path, encoding="utf-8") as fh:
        return LinearModel.from_artifact(json.load(fh))
