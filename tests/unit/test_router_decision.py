"""The decision function, stage by stage: pinned, rules, classifier, capability and health
filters, confidence threshold, fallback."""

from __future__ import annotations

import json

import pytest

from chalicelib.router import CONFIDENCE_THRESHOLD, RouteDecision, RouteRequest, RouteState, decide
from chalicelib.router.catalog import LLM_MODULE, MODULE_NAMES

EXECUTOR_MODULES = frozenset(m for m in MODULE_NAMES if m != LLM_MODULE)
ALL_UP = RouteState(EXECUTOR_MODULES, llm_available=True)
NO_LLM = RouteState(EXECUTOR_MODULES, llm_available=False)
EXECUTOR_DOWN = RouteState(frozenset(), llm_available=True)
NOTHING = RouteState(frozenset(), llm_available=False)

ARTICLE = (
    "The city council met on Tuesday to discuss the new budget. Members argued about road "
    "repairs and school funding. After four hours, a compromise was reached. The mayor praised "
    "the result. Critics said the plan ignores public transport."
)
CSV = "name,age,city\nAna,34,Lisbon\nBen,,Porto\n"
JSON_INPUT = {"users": [{"name": "ana", "age": 34}, {"name": "ben", "age": 41}]}


def route(
    instruction: str, input_value: object = None, state: RouteState = ALL_UP, **kwargs: object
) -> RouteDecision:
    return decide(RouteRequest(instruction, input_value, **kwargs), state)  # type: ignore[arg-type]


def test_decision_has_the_design_shape_plus_stage_and_evidence() -> None:
    body = route("summarize this", ARTICLE).as_dict()
    for key in (
        "target",
        "module",
        "params",
        "confidence",
        "reason",
        "alternatives",
        "decidedBy",
        "micros",
        "stage",
        "evidence",
    ):
        assert key in body
    assert body["target"] == "executor"
    assert body["module"] == "text.summarize"
    assert body["decidedBy"] == "classifier"
    assert isinstance(body["micros"], int)
    assert body["micros"] >= 0
    assert all(set(a) == {"module", "score"} for a in body["alternatives"])
    json.dumps(body)  # storable on the task as is


# --- pinned -----------------------------------------------------------------------------


def test_pinned_module_skips_classification_and_keeps_inferred_params() -> None:
    d = route("sha-512 please, it is a poem about summaries", "x", module="crypto.hash")
    assert (d.target, d.module, d.decided_by, d.stage) == (
        "executor",
        "crypto.hash",
        "pinned",
        "pinned",
    )
    assert d.params == {"algorithm": "sha512"}
    assert d.confidence == 1.0


def test_pinned_params_win_over_inferred_ones() -> None:
    d = route("sha-512 it", "x", module="crypto.hash", params={"algorithm": "md5"})
    assert d.params["algorithm"] == "md5"


def test_pinned_executor_module_while_executor_down_goes_to_review() -> None:
    d = route("hash it", "x", EXECUTOR_DOWN, module="crypto.hash")
    assert (d.target, d.module, d.decided_by) == ("review", "crypto.hash", "pinned")
    assert "unavailable" in d.reason


def test_pinned_llm_without_llm_goes_to_review() -> None:
    d = route("write a poem", None, NO_LLM, module=LLM_MODULE)
    assert (d.target, d.module) == ("review", LLM_MODULE)
    assert "no LLM route" in d.reason


def test_pinned_module_the_executor_does_not_offer() -> None:
    d = route("do it", "x", NO_LLM, module="image.resize")
    assert d.target == "review"
    assert "does not offer" in d.reason


def test_pinned_module_the_executor_offers_beyond_the_static_catalogue() -> None:
    state = RouteState(EXECUTOR_MODULES | {"image.resize"}, False)
    d = route("do it", "x", state, module="image.resize")
    assert (d.target, d.module) == ("executor", "image.resize")


# --- rules -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "instruction",
    [
        "2+2",
        "(3 + 4) * 5",
        "what is 12 x 12?",
        "calculate 2^10",
        "1024 / 8 =",
        "what is fifty plus twelve",
    ],
)
def test_pure_arithmetic_is_a_rule(instruction: str) -> None:
    d = route(instruction)
    assert (d.module, d.decided_by, d.stage) == ("math.evaluate", "rule", "rules")
    assert d.evidence["rule"] == "arithmetic"
    assert "expression" in d.params


@pytest.mark.parametrize(
    "instruction",
    [
        "sha256",
        "md5 of this",
        "give me the sha-1 hash",
        "checksum please",
        "compute the SHA-512 digest",
    ],
)
def test_bare_hashing_request_is_a_rule(instruction: str) -> None:
    d = route(instruction, ARTICLE)
    assert (d.module, d.decided_by) == ("crypto.hash", "rule")


def test_named_module_is_a_rule() -> None:
    d = route("use text.stats on this please", ARTICLE)
    assert (d.module, d.decided_by, d.evidence["rule"]) == ("text.stats", "rule", "named_module")


def test_csv_without_instruction_is_profiled() -> None:
    d = route("", CSV)
    assert (d.module, d.decided_by) == ("data.csv_profile", "rule")


def test_short_instruction_over_an_arithmetic_input() -> None:
    d = route("do the math", "1200 * 0.07")
    assert (d.module, d.decided_by) == ("math.evaluate", "rule")
    assert d.params["expression"] == "1200 * 0.07"


def test_rule_whose_module_cannot_run_falls_through_to_the_classifier() -> None:
    d = route("use data.json_query", "plain words, not json")
    assert d.module != "data.json_query"
    assert d.evidence["ruleSkipped"]["rule"] == "named_module"


def test_misleading_words_do_not_trigger_rules() -> None:
    # "sha256" appears, but this is a request for writing, not for a digest.
    d = route("compose an ode to the sha256 algorithm")
    assert d.module == LLM_MODULE
    assert d.decided_by != "rule"


# --- classifier ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("instruction", "input_value", "module"),
    [
        ("how many words does this have", ARTICLE, "text.stats"),
        ("give me the gist in two sentences", ARTICLE, "text.summarize"),
        ("pull out every email address", "write to a@b.io or c@d.org", "text.extract"),
        ("is this review positive or negative?", "I loved it, great value", "text.sentiment"),
        ("what are the column types and nulls", CSV, "data.csv_profile"),
        ("get the names of the users", JSON_INPUT, "data.json_query"),
        ("write a haiku about autumn leaves", None, LLM_MODULE),
        ("explain how photosynthesis works", None, LLM_MODULE),
        ("sumarize this artcle pls", ARTICLE, "text.summarize"),  # typos
    ],
)
def test_classifier_picks_the_module(instruction: str, input_value: object, module: str) -> None:
    d = route(instruction, input_value)
    assert d.module == module
    assert d.decided_by == "classifier"
    assert d.confidence >= CONFIDENCE_THRESHOLD


def test_classifier_explains_itself() -> None:
    d = route("count the words in this essay", ARTICLE)
    words = [w["word"] for w in d.evidence["words"]]
    assert "count" in words or "words" in words
    assert all(w["weight"] > 0 for w in d.evidence["words"])
    assert d.alternatives
    assert d.alternatives[0].module != d.module
    assert d.alternatives[0].score <= d.confidence
    assert "classified as text.stats" in d.reason


# --- capability filter -------------------------------------------------------------------


def test_summary_of_general_knowledge_without_input_is_generative() -> None:
    d = route("summarize the history of the roman empire")
    assert d.module == LLM_MODULE
    assert d.target == "llm"


def test_json_query_needs_json_input() -> None:
    d = route("get the names of the users", "ana and ben are users")
    assert d.module != "data.json_query"


def test_summary_of_csv_is_not_an_extractive_summary() -> None:
    d = route("summarize this", CSV)
    assert d.module != "text.summarize"
    skipped = {f["module"] for f in d.evidence.get("filtered", [])}
    assert "text.summarize" in skipped or d.module == "data.csv_profile"


def test_confidence_is_conditioned_on_modules_that_can_run() -> None:
    from chalicelib.router.classifier import load_model

    d = route("what is the mean price", JSON_INPUT)
    filtered = {f["module"] for f in d.evidence["filtered"]}
    assert "data.csv_profile" in filtered
    raw = dict(load_model().score("what is the mean price", "json").probabilities)
    expected = raw[d.module] / (1 - sum(raw[m] for m in filtered))
    assert d.confidence == pytest.approx(expected, abs=1e-3)
    assert d.confidence > raw[d.module]


def test_math_needs_an_expression() -> None:
    d = route("calculate the thing we talked about")
    assert d.module != "math.evaluate"


# --- inline data ----------------------------------------------------------------------------


def test_inline_data_after_a_colon_becomes_the_input() -> None:
    d = route("sentiment: I absolutely love this phone, best purchase ever")
    assert d.module == "text.sentiment"
    assert d.inline_input == "I absolutely love this phone, best purchase ever"
    assert d.evidence["inlineInput"] is True


def test_quoted_inline_data_for_hashing() -> None:
    d = route('sha256 of "abc"')
    assert (d.module, d.params, d.inline_input) == ("crypto.hash", {"algorithm": "sha256"}, "abc")


def test_inline_json_is_queried() -> None:
    d = route('get the ids from [{"id": 7}, {"id": 9}]')
    assert d.module == "data.json_query"
    assert d.params["expression"] == "[*].id"
    assert json.loads(d.inline_input or "") == [{"id": 7}, {"id": 9}]


def test_no_inline_input_when_the_task_has_input() -> None:
    assert route("summarize: the text below", ARTICLE).inline_input is None


def test_digest_the_executor_does_not_offer_goes_to_review() -> None:
    d = route("sha3-256 of this", ARTICLE)
    assert (d.target, d.module, d.stage) == ("review", "crypto.hash", "capability")
    assert "does not offer sha3_256" in d.reason
    d = route("sha3-256 of this", ARTICLE, module="crypto.hash")
    assert (d.target, d.stage) == ("review", "capability")
    # An explicit parameter replaces what the words seemed to ask for.
    d = route("sha3-256 of this", ARTICLE, params={"algorithm": "sha256"})
    assert (d.target, d.params) == ("executor", {"algorithm": "sha256"})


def test_json_question_without_a_readable_expression() -> None:
    d = route("which fields does each object have", JSON_INPUT)
    assert (d.target, d.module, d.stage) == ("llm", "data.json_query", "capability")
    assert "no JMESPath expression" in d.reason
    d = route("which fields does each object have", JSON_INPUT, NO_LLM)
    assert (d.target, d.module) == ("review", "data.json_query")
    d = route("which fields does each object have", JSON_INPUT, params={"expression": "keys(@)"})
    assert (d.target, d.params) == ("executor", {"expression": "keys(@)"})


# --- health filter -------------------------------------------------------------------------


def test_executor_down_sends_exact_modules_to_review() -> None:
    d = route("hash it with sha256", ARTICLE, EXECUTOR_DOWN)
    assert (d.target, d.module, d.stage) == ("review", "crypto.hash", "health")
    assert "executor route is unavailable" in d.reason


def test_executor_down_lets_the_llm_stand_in_for_language_modules() -> None:
    d = route("summarize this article", ARTICLE, EXECUTOR_DOWN)
    assert (d.target, d.module, d.stage) == ("llm", "text.summarize", "health")
    assert "LLM stands in" in d.reason


def test_nothing_available_means_review_with_the_best_module() -> None:
    d = route("summarize this article", ARTICLE, NOTHING)
    assert (d.target, d.module, d.decided_by) == ("review", "text.summarize", "fallback")


def test_generative_request_without_llm_goes_to_review_with_the_reason() -> None:
    d = route("write a limerick about databases", None, NO_LLM)
    assert (d.target, d.module, d.decided_by) == ("review", LLM_MODULE, "fallback")
    assert "no LLM route" in d.reason


def test_module_missing_from_the_executor_goes_to_review() -> None:
    state = RouteState(EXECUTOR_MODULES - {"text.stats"}, False)
    d = route("how many words are in this", ARTICLE, state)
    assert (d.target, d.module) == ("review", "text.stats")
    assert "does not offer text.stats" in d.reason


# --- threshold and fallback --------------------------------------------------------------


def test_low_confidence_falls_back_to_the_llm() -> None:
    d = route("hmm", "some words here")
    assert d.confidence < CONFIDENCE_THRESHOLD or d.module == LLM_MODULE
    if d.decided_by == "fallback":
        assert (d.target, d.module, d.stage) == ("llm", LLM_MODULE, "threshold")
        assert "low confidence" in d.reason


def test_low_confidence_without_llm_goes_to_review(monkeypatch: pytest.MonkeyPatch) -> None:
    from chalicelib.router import decision

    monkeypatch.setattr(decision, "CONFIDENCE_THRESHOLD", 1.01)
    d = route("count the words", ARTICLE, NO_LLM)
    assert (d.target, d.decided_by, d.stage) == ("review", "fallback", "threshold")
    assert d.module == "text.stats"  # still the best fitting module
    d = route("count the words", ARTICLE, ALL_UP)
    assert (d.target, d.module, d.stage) == ("llm", LLM_MODULE, "threshold")
    assert d.alternatives[0].module == "text.stats"


def test_decisions_are_deterministic() -> None:
    a = route("extract the dates", "due 2024-03-01").as_dict()
    b = route("extract the dates", "due 2024-03-01").as_dict()
    a.pop("micros"), b.pop("micros")
    assert a == b


def test_large_inputs_stay_cheap() -> None:
    big = ("word " * 200_000).strip()
    d = route("count the words", big)
    assert d.module == "text.stats"
    assert d.micros < 1_000_000  # a bound on work, not a speed target (see benchmarks/router.py)


# --- robustness ----------------------------------------------------------------------------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=150, deadline=None)
@given(
    instruction=st.text(max_size=200),
    input_value=_JSON,
    state=st.sampled_from([ALL_UP, NO_LLM, EXECUTOR_DOWN, NOTHING]),
)
def test_any_task_gets_a_valid_decision(
    instruction: str, input_value: object, state: RouteState
) -> None:
    d = route(instruction, input_value, state)
    assert d.module in MODULE_NAMES
    assert d.target in ("executor", "llm", "review")
    if d.target == "executor":
        assert d.module in state.executor_modules
    if d.target == "llm":
        assert state.llm_available
    assert 0.0 <= d.confidence <= 1.0
    json.dumps(d.as_dict())
