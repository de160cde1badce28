"""text.summarize: extractive summary, picking the sentences whose words matter most."""

from __future__ import annotations

import heapq
import math
from collections import Counter
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from executor_container.registry import MiB, ModuleContext, ModuleInput, ModuleSpec
from executor_container.textutil import MAX_SENTENCE_WORDS, content_words, split_sentences


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sentences: int = Field(default=3, ge=1, le=50, description="sentences in the summary")


def summarize(text: str, count: int) -> tuple[list[str], int]:
    """(chosen sentences in their original order, total sentences).

    Linear in the text: one pass to split and count words, one score per sentence; a
    sentence of more than ``MAX_SENTENCE_WORDS`` words counts as pieces of that length, so
    the summary stays a summary whatever the input.
    """
    sentences = split_sentences(text, max_words=MAX_SENTENCE_WORDS)
    if len(sentences) <= count:
        return sentences, len(sentences)
    words = [content_words(s) for s in sentences]
    frequency = Counter(w for ws in words for w in ws)
    top = max(frequency.values(), default=1)

    def score(index: int) -> float:
        # Sum of relative word frequencies, damped by length so long sentences do not win
        # on length alone.
        ws = words[index]
        return sum(frequency[w] / top for w in ws) / math.sqrt(len(ws)) if ws else 0.0

    # The ``count`` best (ties: the earlier sentence), without sorting every sentence.
    ranked = heapq.nsmallest(count, range(len(sentences)), key=lambda i: (-score(i), i))
    return [sentences[i] for i in sorted(ranked)], len(sentences)


def run(source: ModuleInput, params: Params, ctx: ModuleContext) -> dict[str, Any]:
    text = source.text()
    ctx.progress(0.3, "split into sentences")
    chosen, total = summarize(text, params.sentences)
    ctx.progress(0.9, f"picked {len(chosen)} of {total} sentences")
    return {"summary": " ".join(chosen), "sentences": chosen, "totalSentences": total}


MODULE = ModuleSpec(
    name="text.summarize",
    description="Extractive summary: the highest-scoring sentences in their original order.",
    run=run,
    params=Params,
    max_input_bytes=16 * MiB,
    timeout_seconds=60.0,
    cpu_seconds=60.0,
)
