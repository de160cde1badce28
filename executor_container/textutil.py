"""Shared text helpers: words, sentences and stop words (used by the text.* modules)."""

from __future__ import annotations

import re

# Letters only (any script), with inner apostrophes: "don't", "l'été".
WORD_RE = re.compile(r"[^\W\d_]+(?:['\u2019][^\W\d_]+)*")
# A sentence ends at ., ! or ? followed by whitespace, or at a blank line.
SENTENCE_BREAK_RE = re.compile(r"(?<=[.!?])\s+|\n[ \t\r\f\v]*\n\s*")
HAS_WORD_RE = re.compile(r"\w")
# Longer "sentences" (a text without punctuation, a list on single lines) are scored and
# summarised in pieces of this many words: far above real sentences, and it keeps the cost
# of one piece bounded whatever the input.
MAX_SENTENCE_WORDS = 500

STOPWORDS = frozenset(
    """
    a about above after again against all am an and any are as at be because been before being
    below between both but by can could did do does doing down during each few for from further
    had has have having he her here hers herself him himself his how i if in into is it its
    itself just me more most my myself no nor not now of off on once only or other our ours
    ourselves out over own same she should so some such than that the their theirs them
    themselves then there these they this those through to too under until up very was we were
    what when where which while who whom why will with would you your yours yourself yourselves
    it's i'm don't can't won't isn't aren't wasn't weren't i've you're we're they're that's
    there's let's also may might must shall us
    """.split()  # noqa: SIM905 (a word list reads better as text)
)


def split_sentences(text: str, max_words: int | None = None) -> list[str]:
    """Sentences of ``text`` (stripped), skipping pieces without any word character.

    With ``max_words``, a sentence of more words is cut into pieces of ``max_words`` words
    (joined by single spaces); shorter sentences are returned as they are.
    """
    sentences = [s.strip() for s in SENTENCE_BREAK_RE.split(text) if HAS_WORD_RE.search(s)]
    if max_words is None:
        return sentences
    # A sentence of more than max_words words has at least 2 * max_words characters.
    if all(len(s) < 2 * max_words for s in sentences):
        return sentences
    bounded: list[str] = []
    for sentence in sentences:
        words = sentence.split() if len(sentence) >= 2 * max_words else ()
        if len(words) <= max_words:
            bounded.append(sentence)
            continue
        for start in range(0, len(words), max_words):
            piece = " ".join(words[start : start + max_words])
            if HAS_WORD_RE.search(piece):
                bounded.append(piece)
    return bounded


def content_words(text: str) -> list[str]:
    """Lower-cased words that carry meaning (no stop words, no single letters)."""
    return [w for w in WORD_RE.findall(text.lower()) if len(w) > 1 and w not in STOPWORDS]
