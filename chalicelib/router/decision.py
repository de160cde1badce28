"""The decision function: a task and the routes' health in, an explained route decision out.

Two questions, in order. What does the request ask for (the intent: ``module``)? A pinned
module, else a high-precision rule, else the classifier; below the confidence threshold the
request is one the router cannot place, which is the LLM's (``llm.generate``). Can that module
run now (``target``)? Its input (nothing missing, the right kind, parameters it offers), then
its route's health. When it cannot, the target is ``review`` with a ``reason_code``; the module
stays the intent, never a substitute that happens to accept the input, and a deterministic
module without its data never goes to the LLM. Pure: no I/O, no clock but the duration it
reports.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from chalicelib.router.catalog import (
    LLM_MODULE,
    MODULE_NAMES,
    MODULES,
    ROUTE_EXECUTOR,
    ROUTE_LLM,
    ROUTE_REVIEW,
    route_of,
)
from chalicelib.router.classifier import LinearModel, load_model
from chalicelib.router.models import (
    DecidedBy,
    ReasonCode,
    RouteDecision,
    RouteRequest,
    RouteState,
    Stage,
)
from chalicelib.router.params import Inferred, classification_view, expression_params, infer
from chalicelib.router.rules import match
from chalicelib.router.shapes import KIND_CSV, KIND_EMPTY, KIND_FILE, KIND_JSON, InputShape

# Below this probability the classifier's pick is not trusted: the request is one the router
# cannot place, and goes to the LLM (or, without one, to a person). Chosen by cross-validation
# of the whole decision on the labelled set; the fresh sets played no part.
CONFIDENCE_THRESHOLD = 0.35
_ALTERNATIVES = 3
_STATIC_NAMES = frozenset(MODULE_NAMES)
_DIGIT = re.compile(r"\d")
Fields = dict[str, Any]
# Builds the decision's fields from (target, reason, stage, reason code).
_Decide = Callable[..., Fields]

INPUT_MISSING: ReasonCode = "input_missing"
INPUT_MISMATCH: ReasonCode = "input_mismatch"
ROUTE_UNAVAILABLE: ReasonCode = "route_unavailable"
LOW_CONFIDENCE: ReasonCode = "low_confidence"


def decide(
    request: RouteRequest, state: RouteState, model: LinearModel | None = None
) -> RouteDecision:
    """Route one task. ``model`` defaults to the committed artifact (benchmarks pass others)."""
    started = time.perf_counter_ns()
    fields = _decide(request, state, model)
    fields["micros"] = (time.perf_counter_ns() - started) // 1000
    return RouteDecision(**fields)


@dataclass(frozen=True)
class _Task:
    """The task as the stages see it: request words, input shape, inline data, explicit params."""

    instruction: str
    shape: InputShape
    inline: str | None
    params: dict[str, Any]


@dataclass
class _Intent:
    """What the request asks for, and how that was decided."""

    module: str
    confidence: float
    decided_by: DecidedBy
    stage: Stage
    why: str
    alternatives: list[tuple[str, float]] = field(default_factory=list)
    # True when the classifier could not place the request (the LLM's by default).
    uncertain: bool = False
    # Parameters already read while deciding the intent (a word problem's expression).
    inferred: Inferred | None = None


def _decide(request: RouteRequest, state: RouteState, model: LinearModel | None) -> Fields:
    instruction, shape, data = classification_view(
        (request.instruction or "").strip(), request.input
    )
    evidence: dict[str, Any] = {"inputKind": shape.kind}
    if data is not None:
        # The data rides in the instruction: classify the request part, treat the rest as input.
        evidence["inlineInput"] = True
    task = _Task(instruction, shape, data, request.params)
    if request.module:
        intent = _Intent(request.module, 1.0, "pinned", "pinned", f"pinned to {request.module}")
    else:
        known = _STATIC_NAMES | set(state.executor_modules)
        hit = match(instruction, shape, known)
        if hit is not None:
            evidence["rule"] = hit.rule
            intent = _Intent(hit.module, 1.0, "rule", "rules", hit.reason)
            if hit.found is not None:
                intent.inferred = expression_params(*hit.found)
        else:
            intent = _classified(task, model or load_model(), evidence)
    return _routed(task, state, intent, evidence)


def _classified(task: _Task, model: LinearModel, evidence: dict[str, Any]) -> _Intent:
    scored = model.score(task.instruction, task.shape.kind)
    ranked = scored.probabilities
    module, probability = ranked[0]
    evidence["threshold"] = CONFIDENCE_THRESHOLD
    evidence["words"] = [
        {"word": w, "weight": s} for w, s in model.word_weights(scored.words, module)
    ]
    if probability < CONFIDENCE_THRESHOLD and module != LLM_MODULE:
        return _Intent(
            LLM_MODULE,
            probability,
            "fallback",
            "threshold",
            f"low confidence: {module} at {probability:.0%} is below "
            f"{CONFIDENCE_THRESHOLD:.0%}; a request the router cannot place is the LLM's",
            [(m, p) for m, p in ranked if m != LLM_MODULE][:_ALTERNATIVES],
            uncertain=True,
        )
    return _Intent(
        module,
        probability,
        "classifier",
        "classifier",
        f"classified as {module} ({probability:.0%})",
        ranked[1 : _ALTERNATIVES + 1],
    )


def _routed(task: _Task, state: RouteState, intent: _Intent, evidence: dict[str, Any]) -> Fields:
    """The intent is settled; its input, then its route's health, decide the target."""
    module = intent.module
    inferred = intent.inferred or infer(module, task.instruction, task.shape)
    if inferred.notes:
        evidence["notes"] = inferred.notes
    params = {**inferred.params, **task.params}

    def decision(target: str, why: str, stage: Stage, code: ReasonCode | None = None) -> Fields:
        return _decision(task, intent, target, params, why, stage, code, evidence)

    if problem := _input_problem(module, task, params):
        code, what = problem
        return decision(
            ROUTE_REVIEW, f"{intent.why}; {what}, so a person decides", "capability", code
        )
    if inferred.unsupported and not _explicitly_set(inferred, task):
        return _unsupported(module, inferred.unsupported, state, decision)

    if route_of(module) == ROUTE_LLM:
        if state.llm_available:
            return decision(ROUTE_LLM, intent.why, intent.stage)
        why = f"{intent.why}; no LLM route is configured or healthy, so a person decides"
        if intent.uncertain:
            return decision(ROUTE_REVIEW, why, "threshold", LOW_CONFIDENCE)
        return decision(ROUTE_REVIEW, why, "health", ROUTE_UNAVAILABLE)
    if module in state.executor_modules:
        return decision(ROUTE_EXECUTOR, intent.why, intent.stage)
    if not state.executor_modules:
        down = "the executor route is unavailable"
    else:
        down = f"the executor does not offer {module}"
    spec = MODULES.get(module)
    if spec is not None and spec.llm_substitutable and state.llm_available:
        # A language task with its text: the LLM can do it (more loosely) while the executor
        # cannot. Exact modules (hashes, arithmetic, parsers) never fall back to the LLM.
        return decision(ROUTE_LLM, f"{intent.why}; {down}, so the LLM stands in", "health")
    return decision(
        ROUTE_REVIEW, f"{intent.why}; {down}, so a person decides", "health", ROUTE_UNAVAILABLE
    )


def _unsupported(module: str, why: str, state: RouteState, decision: _Decide) -> Fields:
    """The right module, asked for something it cannot do as worded."""
    if module == "data.json_query":
        # The JSON is there but the question could not be written as a JMESPath expression:
        # the LLM may read the question with the data; else a person writes the expression.
        if state.llm_available:
            return decision(ROUTE_LLM, f"{why}, so the LLM answers", "capability")
        return decision(ROUTE_REVIEW, f"{why}, so a person decides", "capability", LOW_CONFIDENCE)
    # E.g. a digest crypto.hash does not offer: no reading of the input makes it one.
    return decision(ROUTE_REVIEW, f"{why}, so a person decides", "capability", INPUT_MISMATCH)


def _explicitly_set(inferred: Inferred, task: _Task) -> bool:
    """Explicit task params replace what the instruction seemed to ask for (or missed)."""
    if any(key in task.params for key in inferred.params):
        return True
    return bool(task.params.get("expression"))


def _needs(module: str) -> str:
    spec = MODULES.get(module)
    # A module the static catalogue does not describe: the executor judges its input.
    return spec.needs if spec else "none"


def _input_problem(
    module: str, task: _Task, params: dict[str, Any]
) -> tuple[ReasonCode, str] | None:
    """(reason code, what is wrong) when the task does not carry what ``module`` reads."""
    needs = _needs(module)
    kind = task.shape.kind
    if needs == "none":
        return None
    if needs == "expression":
        if params.get("expression") or kind == KIND_FILE:  # the executor reads a file itself
            return None
        if kind != KIND_EMPTY:
            return INPUT_MISMATCH, "the input holds no arithmetic expression"
        if _DIGIT.search(task.instruction):
            return INPUT_MISMATCH, "no arithmetic expression could be read from the instruction"
        return INPUT_MISSING, "there is nothing to compute: no expression or numbers"
    if kind == KIND_EMPTY:
        return INPUT_MISSING, f"{module} needs data and the task carries none"
    if needs == "json" and kind not in (KIND_JSON, KIND_FILE):
        return INPUT_MISMATCH, "the input is not JSON"
    if needs == "csv" and kind not in (KIND_CSV, KIND_FILE):
        return INPUT_MISMATCH, "the input is not CSV"
    if needs == "prose" and kind in (KIND_JSON, KIND_CSV):
        return INPUT_MISMATCH, f"the input is {kind.upper()}, not prose"
    return None


def _decision(
    task: _Task,
    intent: _Intent,
    target: str,
    params: dict[str, Any],
    reason: str,
    stage: Stage,
    reason_code: ReasonCode | None,
    evidence: dict[str, Any],
) -> Fields:
    """The decision's fields; ``decide`` adds the duration and builds the model once."""
    return {
        "target": target,
        "module": intent.module,
        "params": params,
        "confidence": round(intent.confidence, 4),
        "reason": reason,
        "reason_code": reason_code,
        # Plain dicts: pydantic builds the Alternatives in one validation pass (cheaper).
        "alternatives": [
            {"module": m, "score": round(p, 4)} for m, p in intent.alternatives[:_ALTERNATIVES]
        ],
        "decided_by": intent.decided_by,
        "stage": stage,
        "evidence": evidence,
        "inline_input": task.inline,
    }


__all__ = [
    "CONFIDENCE_THRESHOLD",
    "INPUT_MISMATCH",
    "INPUT_MISSING",
    "LOW_CONFIDENCE",
    "ROUTE_UNAVAILABLE",
    "decide",
]
