"""text.sentiment and text.summarize on hostile input: VADER's linear helpers score exactly
as upstream VADER does, and an unbounded "sentence" is scored and summarised in pieces."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from executor_container.modules import text_sentiment, text_summarize
from executor_container.textutil import MAX_SENTENCE_WORDS, split_sentences
from tests.unit.test_executor_modules import BytesInput, Progress

UPSTREAM = SentimentIntensityAnalyzer()

# Words that reach every rule the replaced helpers implement: lexicon words, negations,
# boosters, "but", "least", the idioms and special cases, capitals, emoticons.
VOCABULARY = [
    "good", "GOOD", "Great", "bad", "awful", "love", "hate", "nice", "terrible", "fun",
    "not", "isn't", "never", "no", "nor", "or", "without", "doubt", "so", "this", "least",
    "at", "very", "extremely", "kind", "of", "sort", "barely", "but", "BUT", "the", "shit",
    "bomb", "bad", "ass", "yeah", "right", "cut", "mustard", "hand", "to", "mouth", "kiss",
    "death", "bus", "stop", "food", "service", "was", "is", ":)", ":(", "!", "?", "wow!!",
]  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(VOCABULARY), min_size=1, max_size=40))
def test_linear_helpers_score_exactly_as_upstream(words: list[str]) -> None:
    sentence = " ".join(words)
    assert text_sentiment.analyzer().polarity_scores(sentence) == UPSTREAM.polarity_scores(sentence)


def test_repeated_equal_scores_around_but_keep_upstream_quirks() -> None:
    # Upstream rescales the first score equal to each one (list.index): duplicates matter.
    sentence = "good good good bad bad but good good great great good bad"
    assert text_sentiment.analyzer().polarity_scores(sentence) == UPSTREAM.polarity_scores(sentence)


def test_a_text_without_sentence_breaks_is_scored_in_bounded_pieces() -> None:
    text = "the food was good but the service was awful " * 3_000  # no sentence break
    result = text_sentiment.run(BytesInput(text.encode()), None, Progress())
    words = text.split()
    pieces = [
        " ".join(words[start : start + MAX_SENTENCE_WORDS])
        for start in range(0, len(words), MAX_SENTENCE_WORDS)
    ]
    compounds = [UPSTREAM.polarity_scores(piece)["compound"] for piece in pieces]
    assert result["sentences"] == len(pieces) == -(-len(words) // MAX_SENTENCE_WORDS)
    assert result["score"] == round(sum(compounds) / len(compounds), 4)
    assert result["positiveSentences"] == sum(c >= 0.05 for c in compounds)
    assert result["negativeSentences"] == sum(c <= -0.05 for c in compounds)


def test_sentences_up_to_the_cap_are_left_as_they_are() -> None:
    text = "Short one. " + " ".join(["word"] * MAX_SENTENCE_WORDS) + ". Last!"
    assert split_sentences(text, max_words=MAX_SENTENCE_WORDS) == split_sentences(text)
    longer = " ".join(f"w{n}" for n in range(2 * MAX_SENTENCE_WORDS + 3))
    pieces = split_sentences(longer, max_words=MAX_SENTENCE_WORDS)
    assert [len(p.split()) for p in pieces] == [MAX_SENTENCE_WORDS, MAX_SENTENCE_WORDS, 3]
    assert " ".join(pieces) == longer


def test_summary_of_one_endless_sentence_is_bounded() -> None:
    text = " ".join(f"topic{n % 97} solar power" for n in range(40_000))  # ~1 MB, no break
    chosen, total = text_summarize.summarize(text, 3)
    assert total == -(-3 * 40_000 // MAX_SENTENCE_WORDS)
    assert len(chosen) == 3
    assert all(len(sentence.split()) <= MAX_SENTENCE_WORDS for sentence in chosen)
