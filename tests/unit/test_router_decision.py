"""The decision function, rule by rule: the intent (pinned, rules, classifier, the threshold),
then whether it can run (input missing or mismatched, parameters it does not offer, route
health). Instructions here are not training rows (``test_router_model`` checks that), or are
decided by rules alone."""

from __future__ import annotations

import json
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.router import CONFIDENCE_THRESHOLD, RouteDecision, RouteRequest, RouteState, decide
from chalicelib.router.catalog import LLM_MODULE, MODULE_NAMES, MODULES
from chalicelib.router.shapes import describe_input
from chalicelib.shared.arithmetic import evaluate

EXECUTOR_MODULES = frozenset(m for m in MODULE_NAMES if m != LLM_MODULE)
ALL_UP = RouteState(EXECUTOR_MODULES, llm_available=True)
NO_LLM = RouteState(EXECUTOR_MODULES, llm_available=False)
EXECUTOR_DOWN = RouteState(frozenset(), llm_available=True)
NOTHING = RouteState(frozenset(), llm_available=False)

ARTICLE = (
    "The harbour board met on Monday to review the ferry timetable. Members argued about "
    "night crossings and ticket prices. After three hours, a trial of later sailings was agreed. "
    "The mayor welcomed the plan. Residents said fares are still too high."
)
CSV = "name,age,city\nAna,34,Lisbon\nBen,,Porto\n"
JSON_INPUT = {"users": [{"name": "ana", "age": 34}, {"name": "ben", "age": 41}]}


def route(
    instruction: str, input_value: object = None, state: RouteState = ALL_UP, **kwargs: object
) -> RouteDecision:
    return decide(RouteRequest(instruction, input_value, **kwargs), state)  # type: ignore[arg-type]


def test_decision_has_the_design_shape_plus_stage_and_evidence() -> None:
    body = route("boil this down for me", ARTICLE).as_dict()
    assert set(body) == {
        "target",
        "module",
        "params",
        "confidence",
        "reason",
        "reasonCode",
        "alternatives",
        "decidedBy",
        "micros",
        "stage",
        "evidence",
        "inlineInput",
    }
    assert (body["target"], body["module"], body["decidedBy"]) == (
        "executor",
        "text.summarize",
        "classifier",
    )
    assert body["reasonCode"] is None
    assert isinstance(body["micros"], int)
    assert body["micros"] >= 0
    assert all(set(a) == {"module", "score"} for a in body["alternatives"])
    json.dumps(body)  # storable on the task as is


def test_the_person_value_is_part_of_the_contract() -> None:
    decided = route("2 + 2").model_copy(update={"decided_by": "person"})
    assert RouteDecision.model_validate(decided.as_dict()).decided_by == "person"


# --- the requests: the intent is kept whether or not it can run ----------------------


def test_summary_without_its_text_waits_for_the_text() -> None:
    d = route("Give me the gist of this report in two sentences.")
    assert (d.module, d.target, d.reason_code) == ("text.summarize", "review", "input_missing")
    assert d.params == {"sentences": 2}
    assert d.stage == "capability"


def test_extraction_from_a_message_that_is_not_there() -> None:
    d = route("Pull the phone numbers out of the message below")
    assert (d.module, d.target, d.reason_code) == ("text.extract", "review", "input_missing")
    assert d.params == {"kinds": ["phones"]}
    assert d.inline_input is None


def test_hash_of_a_document_that_is_not_attached() -> None:
    d = route("What's the SHA-1 of the uploaded document?")
    assert (d.module, d.target, d.reason_code) == ("crypto.hash", "review", "input_missing")
    assert d.params == {"algorithm": "sha1"}


@pytest.mark.parametrize(
    ("instruction", "expected"),
    [
        ("What's 18% gratuity on a $54.20 bill?", Fraction(18, 100) * Fraction("54.20")),
        ("37 is what percentage of 250?", Fraction(37, 250) * 100),
        ("Sales grew from 3.4k to 4.1k, by what percent?", Fraction(4100 - 3400, 3400) * 100),
    ],
)
def test_word_problems_run_with_the_expression_shown(instruction: str, expected: Fraction) -> None:
    d = route(instruction)
    assert (d.module, d.target, d.reason_code, d.decided_by) == (
        "math.evaluate",
        "executor",
        None,
        "rule",
    )
    assert d.evidence["rule"] == "word_problem"
    # The expression a person sees is what the executor computes: checked against exact
    # rational arithmetic, not against the router's own code.
    assert evaluate(d.params["expression"]) == pytest.approx(float(expected), rel=1e-12)
    # And the person is told what it comes to.
    (note,) = d.evidence["notes"]
    shown, _, value = note.partition(" = ")
    assert shown == d.params["expression"]
    assert float(value) == pytest.approx(float(expected), rel=1e-4)  # rounded for people


def test_a_description_after_a_colon_is_not_data() -> None:
    d = route("Analyze this CSV: data types and missing values")
    assert (d.module, d.target, d.reason_code) == ("data.csv_profile", "review", "input_missing")
    assert d.inline_input is None
    assert "inlineInput" not in d.evidence


def test_a_deterministic_module_without_data_never_goes_to_the_llm() -> None:
    for instruction in (
        "compute the md5 of the installer I attached",
        "what's the reading time of my speech",
        "profile the spreadsheet I exported",
    ):
        d = route(instruction, state=ALL_UP)
        assert d.target == "review", d
        assert d.reason_code == "input_missing"
        assert d.module != LLM_MODULE


# --- pinned ---------------------------------------------------------------------------------


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


def test_pinned_module_without_its_input_waits_for_it() -> None:
    d = route("go", None, module="data.csv_profile")
    assert (d.target, d.module, d.decided_by, d.reason_code) == (
        "review",
        "data.csv_profile",
        "pinned",
        "input_missing",
    )
    d = route("go", "just words", module="data.csv_profile")
    assert (d.target, d.reason_code) == ("review", "input_mismatch")


def test_pinned_executor_module_while_executor_down_goes_to_review() -> None:
    d = route("hash it", "x", EXECUTOR_DOWN, module="crypto.hash")
    assert (d.target, d.module, d.decided_by, d.reason_code, d.stage) == (
        "review",
        "crypto.hash",
        "pinned",
        "route_unavailable",
        "health",
    )
    assert "unavailable" in d.reason


def test_pinned_llm_without_llm_goes_to_review() -> None:
    d = route("write a sonnet", None, NO_LLM, module=LLM_MODULE)
    assert (d.target, d.module, d.reason_code) == ("review", LLM_MODULE, "route_unavailable")
    assert "no LLM route" in d.reason


def test_pinned_module_the_executor_does_not_offer() -> None:
    d = route("do it", "x", NO_LLM, module="image.resize")
    assert (d.target, d.reason_code) == ("review", "route_unavailable")
    assert "does not offer" in d.reason


def test_pinned_module_the_executor_offers_beyond_the_static_catalogue() -> None:
    state = RouteState(EXECUTOR_MODULES | {"image.resize"}, False)
    d = route("do it", "x", state, module="image.resize")
    assert (d.target, d.module, d.reason_code) == ("executor", "image.resize", None)


# --- rules ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("instruction", "value"),
    [
        ("2+2", 4),
        ("(3 + 4) * 5", 35),
        ("what is 12 x 12?", 144),
        ("calculate 2^10", 1024),
        ("1024 / 8 =", 128),
        ("what is fifty plus twelve", 62),
        ("what's 2.5M divided by 500", 5000),
        ("£12.50 times 4", 50),
    ],
)
def test_pure_arithmetic_is_a_rule(instruction: str, value: float) -> None:
    d = route(instruction)
    assert (d.module, d.decided_by, d.stage, d.target) == (
        "math.evaluate",
        "rule",
        "rules",
        "executor",
    )
    assert d.evidence["rule"] == "arithmetic"
    assert evaluate(d.params["expression"]) == pytest.approx(value)


@pytest.mark.parametrize(
    "instruction",
    ["sha256", "md5 of this", "give me the sha-1 hash", "checksum please", "the SHA-512 digest"],
)
def test_bare_hashing_request_is_a_rule(instruction: str) -> None:
    d = route(instruction, ARTICLE)
    assert (d.module, d.decided_by, d.target) == ("crypto.hash", "rule", "executor")


def test_named_module_is_a_rule() -> None:
    d = route("use text.stats on this please", ARTICLE)
    assert (d.module, d.decided_by, d.evidence["rule"]) == ("text.stats", "rule", "named_module")


def test_a_named_module_that_cannot_read_the_input_is_kept_and_waits() -> None:
    # Never a substitute module that happens to accept the input.
    d = route("use data.json_query", "plain words, not json")
    assert (d.module, d.decided_by, d.target, d.reason_code) == (
        "data.json_query",
        "rule",
        "review",
        "input_mismatch",
    )
    assert "not JSON" in d.reason


def test_csv_without_instruction_is_profiled() -> None:
    d = route("", CSV)
    assert (d.module, d.decided_by, d.target) == ("data.csv_profile", "rule", "executor")


def test_short_instruction_over_an_arithmetic_input() -> None:
    d = route("do the math", "1200 * 0.07")
    assert (d.module, d.decided_by) == ("math.evaluate", "rule")
    assert d.params["expression"] == "1200 * 0.07"


def test_a_percentage_inside_another_kind_of_request_is_not_a_word_problem() -> None:
    d = route("write a short story about a waiter who got a 20% tip on a $40 bill")
    assert d.evidence.get("rule") != "word_problem"
    assert d.module == LLM_MODULE


def test_misleading_words_do_not_trigger_rules() -> None:
    d = route("compose a sea shanty about the sha256 algorithm")
    assert d.module == LLM_MODULE
    assert d.decided_by != "rule"


# --- classifier -----------------------------------------------------------------------------


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
    assert (d.target, d.reason_code) == ("llm" if module == LLM_MODULE else "executor", None)


def test_classifier_explains_itself() -> None:
    d = route("count the words in this essay", ARTICLE)
    words = [w["word"] for w in d.evidence["words"]]
    assert "count" in words or "words" in words
    assert all(w["weight"] > 0 for w in d.evidence["words"])
    assert d.alternatives
    assert d.alternatives[0].module != d.module
    assert d.alternatives[0].score <= d.confidence
    assert "classified as text.stats" in d.reason


def test_a_summary_of_general_knowledge_is_open_ended() -> None:
    d = route("summarize the history of the byzantine empire")
    assert (d.module, d.target) == (LLM_MODULE, "llm")


# --- can it run: the input ----------------------------------------------------------------


def test_json_query_over_text_is_a_mismatch_not_another_module() -> None:
    d = route("get the names of the users", "ana and ben are users")
    assert (d.module, d.target, d.reason_code) == ("data.json_query", "review", "input_mismatch")


def test_csv_profile_over_json_is_a_mismatch() -> None:
    d = route("what are the column types and nulls", JSON_INPUT)
    assert (d.module, d.target, d.reason_code) == ("data.csv_profile", "review", "input_mismatch")


def test_prose_module_over_csv_is_a_mismatch() -> None:
    d = route("summarize", CSV, module="text.summarize")
    assert (d.target, d.reason_code) == ("review", "input_mismatch")
    assert "CSV, not prose" in d.reason


def test_math_without_an_expression() -> None:
    d = route("add up the figures in my notes")
    assert (d.module, d.target, d.reason_code) == ("math.evaluate", "review", "input_missing")
    d = route("do the math", "there is no arithmetic in here", module="math.evaluate")
    assert (d.target, d.reason_code) == ("review", "input_mismatch")
    # An explicit expression is enough.
    d = route("do the math", None, module="math.evaluate", params={"expression": "6 * 7"})
    assert (d.target, d.params) == ("executor", {"expression": "6 * 7"})


def test_an_expression_the_executor_refuses_is_never_promised() -> None:
    # The router checks with the executor's own grammar and limits.
    d = route("round(2**9999, -10**18)")
    assert d.target == "review"
    assert "expression" not in d.params
    d = route("what's 9^9^9", module="math.evaluate")
    assert (d.target, d.reason_code) == ("review", "input_mismatch")


def test_digest_the_executor_does_not_offer_goes_to_review() -> None:
    d = route("sha3-256 of this", ARTICLE)
    assert (d.target, d.module, d.stage, d.reason_code) == (
        "review",
        "crypto.hash",
        "capability",
        "input_mismatch",
    )
    assert "does not offer sha3_256" in d.reason
    d = route("sha3-256 of this", ARTICLE, module="crypto.hash")
    assert (d.target, d.reason_code) == ("review", "input_mismatch")
    # An explicit parameter replaces what the words seemed to ask for.
    d = route("sha3-256 of this", ARTICLE, params={"algorithm": "sha256"})
    assert (d.target, d.params, d.reason_code) == ("executor", {"algorithm": "sha256"}, None)


def test_json_question_without_a_readable_expression() -> None:
    question = "which keys does every record carry"
    d = route(question, JSON_INPUT)
    assert (d.target, d.module, d.stage, d.reason_code) == (
        "llm",
        "data.json_query",
        "capability",
        None,
    )
    assert "no JMESPath expression" in d.reason
    d = route(question, JSON_INPUT, NO_LLM)
    assert (d.target, d.module, d.reason_code) == ("review", "data.json_query", "low_confidence")
    d = route(question, JSON_INPUT, params={"expression": "keys(@)"})
    assert (d.target, d.params) == ("executor", {"expression": "keys(@)"})


# --- inline data ---------------------------------------------------------------------------


def test_prose_after_a_colon_is_the_input() -> None:
    d = route("tone check: the delivery was late again and nobody called me back")
    assert d.module == "text.sentiment"
    assert d.inline_input == "the delivery was late again and nobody called me back"
    assert d.evidence["inlineInput"] is True
    assert d.target == "executor"


def test_quoted_inline_data_for_hashing() -> None:
    d = route('sha256 of "abc"')
    assert (d.module, d.params, d.inline_input) == ("crypto.hash", {"algorithm": "sha256"}, "abc")


def test_inline_json_is_queried() -> None:
    d = route('get the ids from [{"id": 7}, {"id": 9}]')
    assert d.module == "data.json_query"
    assert d.params["expression"] == "[*].id"
    assert json.loads(d.inline_input or "") == [{"id": 7}, {"id": 9}]


def test_data_on_the_lines_after_the_request() -> None:
    d = route("profile this table\nregion,units\nNorth,4\nSouth,\n")
    assert (d.module, d.target) == ("data.csv_profile", "executor")
    assert d.inline_input == "region,units\nNorth,4\nSouth,"


def test_no_inline_input_when_the_task_has_input() -> None:
    assert route("summarize: the text below", ARTICLE).inline_input is None


# --- can it run: route health ---------------------------------------------------------------


def test_executor_down_sends_exact_modules_to_review() -> None:
    d = route("hash it with sha256", ARTICLE, EXECUTOR_DOWN)
    assert (d.target, d.module, d.stage, d.reason_code) == (
        "review",
        "crypto.hash",
        "health",
        "route_unavailable",
    )
    assert "executor route is unavailable" in d.reason


def test_executor_down_lets_the_llm_stand_in_for_language_modules_with_their_text() -> None:
    d = route("boil this down for me", ARTICLE, EXECUTOR_DOWN)
    assert (d.target, d.module, d.stage, d.reason_code) == ("llm", "text.summarize", "health", None)
    assert "LLM stands in" in d.reason
    # Without the text, the LLM would invent it: a person gets it instead.
    d = route("boil down the attached memo for me", None, EXECUTOR_DOWN)
    assert (d.target, d.reason_code) == ("review", "input_missing")


def test_nothing_available_means_review_with_the_intended_module() -> None:
    d = route("boil this down for me", ARTICLE, NOTHING)
    assert (d.target, d.module, d.reason_code, d.stage) == (
        "review",
        "text.summarize",
        "route_unavailable",
        "health",
    )


def test_generative_request_without_llm_goes_to_review_with_the_reason() -> None:
    d = route("write a limerick about a tired accountant", None, NO_LLM)
    assert (d.target, d.module, d.reason_code, d.stage) == (
        "review",
        LLM_MODULE,
        "route_unavailable",
        "health",
    )
    assert "no LLM route" in d.reason


def test_module_missing_from_the_executor_goes_to_review() -> None:
    state = RouteState(EXECUTOR_MODULES - {"text.stats"}, False)
    d = route("how many words does this have", ARTICLE, state)
    assert (d.target, d.module, d.reason_code) == ("review", "text.stats", "route_unavailable")
    assert "does not offer text.stats" in d.reason


# --- the threshold ----------------------------------------------------------------------------


def test_a_request_the_router_cannot_place_is_the_llms(monkeypatch: pytest.MonkeyPatch) -> None:
    from chalicelib.router import decision

    monkeypatch.setattr(decision, "CONFIDENCE_THRESHOLD", 1.01)
    d = route("count the words", ARTICLE, ALL_UP)
    assert (d.target, d.module, d.decided_by, d.stage, d.reason_code) == (
        "llm",
        LLM_MODULE,
        "fallback",
        "threshold",
        None,
    )
    assert "low confidence" in d.reason
    assert d.alternatives[0].module == "text.stats"  # the best guess stays visible
    d = route("count the words", ARTICLE, NO_LLM)
    assert (d.target, d.module, d.stage, d.reason_code) == (
        "review",
        LLM_MODULE,
        "threshold",
        "low_confidence",
    )


def test_below_the_threshold_only_by_a_real_score() -> None:
    d = route("hmm", "some words here")
    if d.decided_by == "fallback":
        assert d.confidence < CONFIDENCE_THRESHOLD
        assert (d.module, d.stage) == (LLM_MODULE, "threshold")
    else:
        assert d.confidence >= CONFIDENCE_THRESHOLD


# --- properties ------------------------------------------------------------------------------


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


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
_VOCABULARY = [
    "summarize", "this", "count", "words", "hash", "sha1", "the", "attached", "csv", "json",
    "12", "%", "of", "40", "percent", "write", "a", "poem", "what", "is", "below:", "data",
    "types", "and", "missing", "values", "extract", "emails", "from", "my", "report",
    "sentiment", "tone", "+", "*", "3", "what", "percentage", "250", "to", "k", "$",
]  # fmt: skip
_WORDS = st.lists(st.sampled_from(_VOCABULARY), max_size=12).map(" ".join)


@settings(max_examples=300, deadline=None)
@given(
    instruction=st.one_of(st.text(max_size=200), _WORDS),
    input_value=_JSON,
    state=st.sampled_from([ALL_UP, NO_LLM, EXECUTOR_DOWN, NOTHING]),
    pinned=st.one_of(st.none(), st.sampled_from(sorted(MODULE_NAMES))),
)
def test_any_task_gets_a_decision_that_keeps_the_contract(
    instruction: str, input_value: object, state: RouteState, pinned: str | None
) -> None:
    d = route(instruction, input_value, state, module=pinned)
    assert d.module in MODULE_NAMES
    if pinned:
        assert d.module == pinned
    # A reason code exactly when a person decides.
    assert (d.reason_code is None) == (d.target != "review")
    if d.target == "executor":
        assert d.module in state.executor_modules
    if d.target == "llm":
        assert state.llm_available
        # The LLM runs open-ended requests, or stands in for a language module (or reads a
        # JSON question) with the task's data; never a deterministic module without its data.
        spec = MODULES[d.module]
        has_data = describe_input(input_value).kind != "empty" or d.inline_input is not None
        assert d.module == LLM_MODULE or (
            has_data and (spec.llm_substitutable or d.module == "data.json_query")
        )
    if d.module == "math.evaluate" and d.target == "executor" and "expression" in d.params:
        evaluate(d.params["expression"])  # whatever is promised, the executor's grammar accepts
    assert 0.0 <= d.confidence <= 1.0
    json.dumps(d.as_dict())


def test_a_classified_decision_shows_its_evidence_and_next_best() -> None:
    from chalicelib.router.classifier import load_model
    from chalicelib.router.decision import _ALTERNATIVES

    d = route("boil this down for me", ARTICLE)
    assert d.decided_by == "classifier"
    assert "micros" in d.model_fields_set  # measured, not the model's default
    assert d.evidence["threshold"] == CONFIDENCE_THRESHOLD
    assert d.evidence["inputKind"] == describe_input(ARTICLE).kind
    # The next best: the classifier's ranking after the chosen module, _ALTERNATIVES of them.
    ranked = load_model().score("boil this down for me", describe_input(ARTICLE).kind)
    expected = ranked.probabilities[1 : _ALTERNATIVES + 1]
    # Scores and confidence are kept to 4 decimal places.
    assert [(a.module, a.score) for a in d.alternatives] == [(m, round(p, 4)) for m, p in expected]
    assert d.confidence == round(ranked.probabilities[0][1], 4)
    assert len(d.alternatives) == _ALTERNATIVES


@pytest.mark.parametrize(
    ("instruction", "input_value", "module", "code", "what"),
    [
        (
            "do the math",
            "there is no arithmetic in here",
            "math.evaluate",
            "input_mismatch",
            "the input holds no arithmetic expression",
        ),
        (
            "do the math",
            None,
            "math.evaluate",
            "input_missing",
            "there is nothing to compute: no expression or numbers",
        ),
        (
            "do the math for room 7",
            None,
            "math.evaluate",
            "input_mismatch",
            "no arithmetic expression could be read from the instruction",
        ),
        (
            "query this",
            "plain words, no braces",
            "data.json_query",
            "input_mismatch",
            "the input is not JSON",
        ),
        (
            "profile this table",
            "plain words only here",
            "data.csv_profile",
            "input_mismatch",
            "the input is not CSV",
        ),
    ],
)
def test_the_reason_says_what_is_wrong_with_the_input(
    instruction: str, input_value: object, module: str, code: str, what: str
) -> None:
    d = route(instruction, input_value, module=module)
    assert (d.target, d.reason_code) == ("review", code)
    assert d.reason.endswith(f"; {what}, so a person decides"), d.reason


def test_a_module_only_the_executor_lists_needs_nothing_the_catalogue_would_ask_for() -> None:
    state = RouteState(EXECUTOR_MODULES | {"extra.module"}, llm_available=False)
    d = route("do the thing", None, state=state, module="extra.module")
    assert (d.target, d.module, d.reason_code) == ("executor", "extra.module", None)


def test_an_unavailable_route_says_so() -> None:
    d = route("hash this please", "abc", state=EXECUTOR_DOWN, module="crypto.hash")
    assert (d.target, d.reason_code) == ("review", "route_unavailable")
    assert (
        d.reason == "pinned to crypto.hash; the executor route is unavailable, so a person decides"
    )


def test_a_named_module_is_known_from_the_catalogue_or_the_executor() -> None:
    state = RouteState(EXECUTOR_MODULES | {"extra.module"}, llm_available=True)
    for name in ("extra.module", LLM_MODULE):  # only the executor lists it; only the catalogue
        d = route(f"hand this to {name} please", "some words", state=state)
        assert (d.module, d.evidence.get("rule")) == (name, "named_module"), d.reason
