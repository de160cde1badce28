"""The classifier's data, artifact and accuracy. The held-out split (one example in five, by a
hash of its text) is never trained on; the fresh sets (``fresh_1.jsonl``, ``fresh_2.jsonl``) were
written before the model they judge was tuned and never used for tuning. The floors sit a
little under what the committed model reaches, so a regression fails the suite and a retrain
with honest data does not. Behaviour tests never use training rows as their examples (a
classifier scores those 1.000): checked here."""

from __future__ import annotations

import ast
import json
from collections import Counter
from pathlib import Path

import pytest

from chalicelib.router import RouteRequest, RouteState, decide
from chalicelib.router.catalog import LLM_MODULE, MODULE_NAMES
from chalicelib.router.classifier import MODEL_PATH, LinearModel, load_model
from router_training.train import (
    DATA_DIR,
    TrainConfig,
    digest_of,
    evaluate,
    load_examples,
    split,
    train_linear,
)

FRESH_PATH = DATA_DIR / "fresh_1.jsonl"
FRESH_2_PATH = DATA_DIR / "fresh_2.jsonl"
ROOT = Path(__file__).resolve().parents[2]
# Tests whose assertions are about how requests are routed.
BEHAVIOUR_TESTS = (
    "tests/unit/test_router_decision.py",
    "tests/unit/test_router_routing.py",
    "tests/integration/test_api_router.py",
    "tests/integration/test_router_executor.py",
    "tests/e2e/test_dispatch_e2e.py",
)
HELDOUT_CLASSIFIER_FLOOR = 0.88  # reached: 0.935 (231 examples)
HELDOUT_DECISION_FLOOR = 0.91  # reached: 0.957 (classifier + rules + capability filter)
FRESH_DECISION_FLOOR = 0.92  # reached: 0.98 (100 examples)
# fresh_2 (201 rows): the target of the issue, 0.96 module accuracy and macro-F1; reached 0.975
# and 0.976 at its first measurement, 0.980 / 0.982 after fixing the "the word count" split.
FRESH_2_MODULE_FLOOR = 0.96
FRESH_2_DECISION_FLOOR = 0.95  # target, reasonCode and computed values; reached 0.975-0.981
ALL_UP = RouteState(frozenset(MODULE_NAMES) - {LLM_MODULE}, llm_available=True)


@pytest.fixture(scope="module")
def examples():
    return load_examples()


def _string_literals(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    }


def test_behaviour_tests_do_not_use_training_rows(examples) -> None:
    train, _ = split(examples)
    training = {ex.instruction.strip().lower() for ex in train}
    memorised = []
    for name in BEHAVIOUR_TESTS:
        for text in _string_literals(ROOT / name):
            # (Single words are parameter values and word lists far more often than requests.)
            if len(text.split()) < 2 or text.strip().lower() not in training:
                continue
            # A request settled by a rule never reaches the classifier: nothing memorised.
            if decide(RouteRequest(text), ALL_UP).decided_by != "rule":
                memorised.append((name, text))
    assert memorised == [], "use held-out, fresh or new requests in behaviour tests"


def test_fresh_rows_are_never_training_rows(examples) -> None:
    labelled = {ex.instruction.strip().lower() for ex in examples}
    for path in (FRESH_PATH, FRESH_2_PATH):
        fresh = {ex.instruction.strip().lower() for ex in load_examples(path)}
        assert fresh.isdisjoint(labelled), path.name


def test_labelled_set_covers_every_module_with_variety(examples) -> None:
    counts = Counter(ex.module for ex in examples)
    assert set(counts) == set(MODULE_NAMES)
    assert min(counts.values()) >= 40
    assert counts[LLM_MODULE] >= 2 * max(c for m, c in counts.items() if m != LLM_MODULE)
    texts = [ex.instruction.lower().strip() for ex in examples]
    assert len(texts) == len(set(texts)), "duplicate instructions"


def test_artifact_is_plain_json_trained_on_the_current_training_split(examples) -> None:
    artifact = json.loads(MODEL_PATH.read_text(encoding="utf-8"))
    assert artifact["labels"] == list(MODULE_NAMES)
    train, heldout = split(examples)
    assert artifact["training"]["trainDigest"] == digest_of(train), (
        "model.json is stale: run `make router-model`"
    )
    assert artifact["training"]["heldout"] == len(heldout)
    assert MODEL_PATH.stat().st_size < 1_000_000  # small enough to load in milliseconds


def test_committed_artifact_is_exactly_what_training_writes(tmp_path) -> None:
    # Training is deterministic: retraining must reproduce the shipped artifact byte for byte,
    # so the model cannot drift from the data, the features or the trainer.
    from router_training.train import main

    out = tmp_path / "model.json"
    main(["--out", str(out)])
    assert out.read_bytes() == MODEL_PATH.read_bytes(), "model.json is stale: make router-model"


def test_weights_rows_are_centred() -> None:
    model = load_model()
    sample = list(model.weights.values())[:200]
    assert all(abs(sum(row)) < 0.01 for row in sample)


def test_heldout_accuracy_of_the_classifier(examples) -> None:
    _, heldout = split(examples)
    result = evaluate(load_model(), heldout)
    assert result["accuracy"] >= HELDOUT_CLASSIFIER_FLOOR, result["errors"]
    assert result["macroF1"] >= HELDOUT_CLASSIFIER_FLOOR


def _decision_accuracy(items) -> tuple[float, list]:
    wrong = []
    for ex in items:
        d = decide(RouteRequest(ex.instruction, ex.input), ALL_UP)
        if d.module != ex.module:
            wrong.append((ex.instruction, ex.module, d.module))
    return 1 - len(wrong) / len(items), wrong


def test_heldout_accuracy_of_the_whole_decision(examples) -> None:
    _, heldout = split(examples)
    accuracy, wrong = _decision_accuracy(heldout)
    assert accuracy >= HELDOUT_DECISION_FLOOR, wrong


def test_fresh_requests_never_used_for_tuning() -> None:
    fresh = load_examples(FRESH_PATH)
    assert len(fresh) >= 90
    accuracy, wrong = _decision_accuracy(fresh)
    assert accuracy >= FRESH_DECISION_FLOOR, wrong


def test_fresh_2_instruction_only_rows_and_word_problems() -> None:
    from router_training.evaluation import assess, load_rows

    result = assess(
        load_rows(FRESH_2_PATH),
        lambda row: decide(RouteRequest(row.instruction, row.input), ALL_UP).as_dict(),
    )
    assert result["n"] >= 200
    assert result["accuracy"] >= FRESH_2_MODULE_FLOOR, result["wrong"]
    assert result["macroF1"] >= FRESH_2_MODULE_FLOOR, result["confusion"]
    for group in ("instruction_only", "input", "word_problem"):
        assert result["groups"][group]["n"] >= 40
    for check in ("target", "reasonCode", "value"):
        assert result["checks"][check]["accuracy"] >= FRESH_2_DECISION_FLOOR, result["wrong"]


def test_training_is_deterministic_and_learns(examples) -> None:
    sample = examples[::6]
    config = TrainConfig(epochs=4)
    a = train_linear(sample, config)
    b = train_linear(sample, config)
    assert a == b
    model = LinearModel.from_artifact(a)
    assert evaluate(model, sample)["accuracy"] > 0.8  # it fits what it saw


def test_scoring_by_cached_word_rows_matches_the_training_features(examples) -> None:
    # score() sums each word's weight rows once per process; it must rank and weigh exactly as
    # probabilities(extract(...)) does (training's view), up to float rounding.
    from chalicelib.router.features import extract
    from chalicelib.router.params import classification_view

    model = load_model()
    for ex in examples[::5]:
        request, shape, _ = classification_view(ex.instruction, ex.input)
        expected = model.probabilities(extract(request, shape.kind)[0])
        got = model.score(request, shape.kind).probabilities
        assert [label for label, _ in got] == [label for label, _ in expected]
        assert all(abs(p - q) < 1e-9 for (_, p), (_, q) in zip(got, expected, strict=True))
