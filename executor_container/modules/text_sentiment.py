"""text.sentiment: polarity with VADER, whose lexicon ships inside its package."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from executor_container.registry import MiB, ModuleContext, ModuleInput, ModuleSpec
from executor_container.textutil import split_sentences

# VADER's own thresholds for a positive / negative compound score.
THRESHOLD = 0.05
# Both polarities present and roughly cancelling out: "mixed" rather than "neutral".
MIXED_MAX_SCORE = 0.3
PROGRESS_EVERY = 2000


@lru_cache(maxsize=1)
def analyzer() -> Any:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


def label_for(score: float, positive: int, negative: int) -> str:
    if positive and negative and abs(score) < MIXED_MAX_SCORE:
        return "mixed"
    if score >= THRESHOLD:
        return "positive"
    if score <= -THRESHOLD:
        return "negative"
    return "neutral"


def run(source: ModuleInput, params: Any, ctx: ModuleContext) -> dict[str, Any]:
    sentences = split_sentences(source.text())
    scorer = analyzer()
    compounds: list[float] = []
    for index, sentence in enumerate(sentences, 1):
        compounds.append(scorer.polarity_scores(sentence)["compound"])
        if index % PROGRESS_EVERY == 0:
            ctx.progress(index / len(sentences), f"scored {index} of {len(sentences)} sentences")
    score = round(sum(compounds) / len(compounds), 4) if compounds else 0.0
    positive = sum(c >= THRESHOLD for c in compounds)
    negative = sum(c <= -THRESHOLD for c in compounds)
    return {
        "label": label_for(score, positive, negative),
        "score": score,
        "sentences": len(compounds),
        "positiveSentences": positive,
        "negativeSentences": negative,
    }


MODULE = ModuleSpec(
    name="text.sentiment",
    description="Polarity (positive, negative, neutral or mixed) from the VADER lexicon.",
    run=run,
    max_input_bytes=8 * MiB,
    timeout_seconds=60.0,
    cpu_seconds=60.0,
    warm=analyzer,
)
