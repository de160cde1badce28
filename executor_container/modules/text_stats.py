"""text.stats: characters, words, lines, sentences, reading time and the most used words."""

from __future__ import annotations

import math
import re
from collections import Counter
from typing import Any

from executor_container.registry import MiB, ModuleContext, ModuleInput, ModuleSpec, iter_text
from executor_container.textutil import HAS_WORD_RE, STOPWORDS, WORD_RE

WORDS_PER_MINUTE = 200
TOP_WORDS = 10
# The sentence breaks of textutil.SENTENCE_BREAK_RE, but the end mark is part of the match
# instead of a look-behind. Counting only asks whether a piece holds a word character, and
# ".!?" are not word characters, so the counts are the same; the regex engine can then skip
# ahead to the next ".!?" or newline instead of trying the look-behind at every position
# (the split runs ~1.6x faster; the whole module ~10% on 20 MB of prose).
SENTENCE_END_RE = re.compile(r"[.!?]\s+|\n[ \t\r\f\v]*\n\s*")


def _unfinished_word(text: str) -> str:
    """The non-whitespace tail of ``text`` (all of it when it has no whitespace).

    ``rsplit`` finds it from the end in C; walking back in Python, and re-joining the tail
    to every following chunk, made a text without whitespace quadratic.
    """
    if not text or text[-1].isspace():
        return ""
    return text.rsplit(None, 1)[-1]


class _Counts:
    def __init__(self) -> None:
        self.characters = 0
        self.newlines = 0
        self.tokens: Counter[str] = Counter()
        self.sentences = 0
        self.in_sentence = False  # the current sentence has words and has not ended yet
        self.last_char = ""

    def add(self, text: str) -> None:
        if not text:
            return
        self.characters += len(text)
        self.newlines += text.count("\n")
        self.last_char = text[-1]
        # Whitespace-separated tokens counted in C; words are normalised per distinct token.
        self.tokens.update(text.split())
        # A break ends a sentence when the piece before it has a word; the last piece's
        # state carries over to the next chunk.
        found = list(map(HAS_WORD_RE.search, SENTENCE_END_RE.split(text)))
        first = self.in_sentence or found[0] is not None
        if len(found) == 1:
            self.in_sentence = first
            return
        self.sentences += first + (len(found) - 2) - found[1:-1].count(None)
        self.in_sentence = found[-1] is not None

    def result(self) -> dict[str, Any]:
        words = sum(self.tokens.values())
        top: Counter[str] = Counter()
        for token, count in self.tokens.items():
            for word in WORD_RE.findall(token.lower()):
                if len(word) > 1 and word not in STOPWORDS:
                    top[word] += count
        ranked = sorted(top.items(), key=lambda item: (-item[1], item[0]))[:TOP_WORDS]
        lines = self.newlines + (1 if self.characters and self.last_char != "\n" else 0)
        return {
            "characters": self.characters,
            "words": words,
            "lines": lines,
            "sentences": self.sentences + self.in_sentence,
            "readingTimeSeconds": math.ceil(words * 60 / WORDS_PER_MINUTE),
            "topWords": [{"word": word, "count": count} for word, count in ranked],
        }


def run(source: ModuleInput, params: Any, ctx: ModuleContext) -> dict[str, Any]:
    counts = _Counts()
    total = max(source.size, 1)
    # The last word of a chunk may go on in the next one: its pieces wait here, joined
    # once the word ends (or the text does).
    pending: list[str] = []
    for text, done in iter_text(source):
        tail = _unfinished_word(text)
        if len(tail) == len(text):
            pending.append(text)
        else:
            counts.add("".join(pending) + text[: len(text) - len(tail)])
            pending = [tail]
        if done < total:
            ctx.progress(done / total, f"read {done // MiB} of {total // MiB} MB")
    counts.add("".join(pending))
    return counts.result()


MODULE = ModuleSpec(
    name="text.stats",
    description="Counts characters, words, lines and sentences; reading time; top words.",
    run=run,
    max_input_bytes=256 * MiB,
    timeout_seconds=120.0,
    cpu_seconds=120.0,
)
