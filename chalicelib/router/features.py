"""Text features shared by training and inference: words, word pairs, character n-grams of
each word (robust to typos), and a few shape signals (arithmetic, quotes, the input's kind).

Training (``train.py``) and inference (``classifier.py``) call the same function, so the two can
never drift apart.
"""

from __future__ import annotations

import re
from functools import lru_cache
from itertools import pairwise

# Only the start of a long instruction is read: it carries the intent and bounds the cost.
MAX_CHARS = 400
MAX_WORDS = 48
CHAR_NGRAMS = (4,)

_WORD = re.compile(r"[a-z0-9]+")
_EXPR = re.compile(r"\d\s*(?:[-+*/x\u00d7\u00f7^%]|\*\*)\s*[\d(]|\d\s*%\s*of\b")
_QUOTE = re.compile(r"\"[^\"]+\"|'[^']{2,}'|`[^`]+`|“[^”]+”")
_COLON_PAYLOAD = re.compile(r":\s*\S.{3,}", re.S)
_INLINE_JSON = re.compile(r"[{\[]\s*[\"{\[\d]")
# Words pointing at data the request is about ("this report", "the attached csv", "below"):
# without input they tell "summarize this report" (data missing) from "summarize the history of
# Rome" (open-ended).
# fmt: off
_REFER_WORDS = frozenset((
    "this", "these", "those", "attached", "attachment", "uploaded", "upload", "below",
    "following", "above", "pasted", "enclosed", "my", "our",
))
_DATA_NOUNS = frozenset((
    "file", "document", "doc", "text", "message", "email", "report", "csv", "json", "table",
    "data", "dataset", "spreadsheet", "article", "transcript", "review", "reviews", "pdf",
    "notes", "payload", "response", "passage", "letter", "essay", "memo", "draft", "post",
    "comment", "tweet", "feedback", "export", "archive", "minutes", "page", "chapter",
))
# fmt: on


def refers_to_data(toks: list[str]) -> bool:
    """True when the words point at data ("this", "the attached ...", "the report")."""
    for n, tok in enumerate(toks):
        if tok in _REFER_WORDS or (tok in _DATA_NOUNS and n and toks[n - 1] == "the"):
            return True
    return False


def words(text: str) -> list[str]:
    return _WORD.findall(text[:MAX_CHARS].lower())[:MAX_WORDS]


@lru_cache(maxsize=8192)
def word_features(word: str) -> tuple[str, ...]:
    """The features one word contributes: itself and its boundary-marked character n-grams.

    Cached: real traffic repeats words, and a warm Lambda then skips the n-gram slicing.
    """
    feats = ["w:" + word]
    if len(word) > 2 and not word.isdigit():
        padded = "<" + word + ">"
        n_chars = len(padded)
        for n in CHAR_NGRAMS:
            feats.extend("c:" + padded[i : i + n] for i in range(n_chars - n + 1))
    return tuple(feats)


def shape_features(instruction: str, input_kind: str, toks: list[str]) -> list[str]:
    head = instruction[:MAX_CHARS]
    feats = ["s:in_" + input_kind]
    if input_kind == "empty":
        feats.append("s:refers" if refers_to_data(toks) else "s:open")
    if _EXPR.search(head):
        feats.append("s:expr")
    if _QUOTE.search(head):
        feats.append("s:quote")
    if _COLON_PAYLOAD.search(head):
        feats.append("s:colon")
    if _INLINE_JSON.search(head):
        feats.append("s:inline_json")
    if "\n" in head.strip() and head.count(",") >= 2:
        feats.append("s:inline_rows")
    return feats


def bigrams(toks: list[str]) -> list[str]:
    return ["b:" + prev + "_" + tok for prev, tok in pairwise(toks)]


def extract(instruction: str, input_kind: str) -> tuple[list[str], list[str]]:
    """(features, words): every feature of the instruction, and its words for explanations.

    The classifier scores the same features grouped per word (see ``LinearModel.score``).
    """
    toks = words(instruction)
    feats = shape_features(instruction, input_kind, toks)
    for n, tok in enumerate(toks):
        feats.extend(word_features(tok))
        if n:
            feats.append("b:" + toks[n - 1] + "_" + tok)
    return feats, toks
