"""The decision function: a task and the routes' health in, an explained route decision out.

Stages, in order: pinned module -> rules -> classifier -> capability filter (does the module
have what it needs: an expression, JSON, CSV, some text?) -> health filter (is its route up?) ->
confidence threshold -> fallback (``llm`` when available, else ``review``, which the dispatcher
turns into ``needs_review``). Pure: no I/O, no clock but the duration it reports.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
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
from chalicelib.router.models import RouteDecision, RouteRequest, RouteState
from chalicelib.router.params import Inferred, classification_view, infer
from chalicelib.router.rules import RuleHit, match
from chalicelib.router.shapes import KIND_CSV, KIND_EMPTY, KIND_FILE, KIND_JSON, InputShape

# Below this probability the classifier's pick is not trusted and the fallback decides.
# Chosen by 5-fold cross-validation of the whole decision on the labelled set (the held-out and
# fresh sets played no part): 0.2-0.35 score within 0.2% of each other, higher values lose
# accuracy. The high end is kept because falling back is the safe error: the LLM answers loosely
# where a wrong module would answer wrongly.
CONFIDENCE_THRESHOLD = 0.35
_ALTERNATIVES = 3
_STATIC_NAMES = frozenset(MODULE_NAMES)
Fields = dict[str, Any]


def decide(
    request: RouteRequest, state: RouteState, model: LinearModel | None = None
) -> RouteDecision:
    """Route one task. ``model`` defaults to the committed artifact (benchmarks pass others)."""
    started = time.perf_counter_ns()
    fields = _decide(request, state, model)
    fields["micros"] = (time.perf_counter_ns() - started) // 1000
    return RouteDecision(**fields)


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
        return _pinned(task, request.module, state, evidence)

    known = _STATIC_NAMES | set(state.executor_modules)
    hit = match(instruction, shape, known)
    if hit is not None:
        inferred = infer(hit.module, instruction, shape)
        missing = _missing(hit.module, task, inferred)
        if missing is None:
            evidence["rule"] = hit.rule
            _add_notes(evidence, inferred)
            return _routed(
                task, state, hit.module, 1.0, inferred, [], "rule", "rules", hit.reason, evidence
            )
        evidence["ruleSkipped"] = {"rule": hit.rule, "why": missing}

    model = model or load_model()
    scored = model.score(instruction, shape.kind)
    ranked = scored.probabilities
    filtered: list[dict[str, str]] = []
    chosen: tuple[str, float, Inferred | None] | None = None
    for module, probability in ranked:
        # Only an expression check needs the parameters; infer them once and keep them.
        early = infer(module, instruction, shape) if _needs(module) == "expression" else None
        missing = _missing(module, task, early)
        if missing is None:
            chosen = (module, probability, early)
            break
        filtered.append({"module": module, "why": missing})
    assert chosen is not None  # llm.generate needs nothing, so something always qualifies
    module, probability, early = chosen
    if filtered:
        # Modules that cannot run this task are out of the question: condition on the rest.
        excluded = sum(p for m, p in ranked if any(f["module"] == m for f in filtered))
        probability = min(1.0, probability / max(1.0 - excluded, 1e-9))
    inferred = early or infer(module, instruction, shape)
    evidence["words"] = [
        {"word": w, "weight": s} for w, s in model.word_weights(scored.words, module)
    ]
    if filtered:
        evidence["filtered"] = filtered
    evidence["threshold"] = CONFIDENCE_THRESHOLD
    _add_notes(evidence, inferred)
    alternatives = [(m, p) for m, p in ranked if m != module][:_ALTERNATIVES]
    stage = "capability" if filtered else "classifier"

    if probability < CONFIDENCE_THRESHOLD and module != LLM_MODULE:
        return _low_confidence(task, state, module, probability, inferred, alternatives, evidence)
    why = (
        f"{module} is the best fit that can run ({probability:.0%})"
        if filtered
        else f"classified as {module} ({probability:.0%})"
    )
    if filtered:
        why += "; " + "; ".join(f"not {f['module']}: {f['why']}" for f in filtered[:2])
    return _routed(
        task, state, module, probability, inferred, alternatives, "classifier", stage, why, evidence
    )


@dataclass(frozen=True)
class _Task:
    """The task as the stages see it: request words, input shape, inline data, explicit params."""

    instruction: str
    shape: InputShape
    inline: str | None
    params: dict[str, Any]


def _pinned(task: _Task, module: str, state: RouteState, evidence: dict[str, Any]) -> Fields:
    inferred = infer(module, task.instruction, task.shape)
    params = {**inferred.params, **task.params}
    _add_notes(evidence, inferred)
    inline = task.inline
    if inferred.unsupported and not _explicitly_set(inferred, task):
        return _decision(
            ROUTE_REVIEW,
            module,
            params,
            1.0,
            f"pinned to {module}, but {inferred.unsupported}",
            [],
            "pinned",
            "capability",
            evidence,
            inline,
        )
    if module == LLM_MODULE:
        if state.llm_available:
            return _decision(
                ROUTE_LLM,
                module,
                params,
                1.0,
                "pinned to the LLM module",
                [],
                "pinned",
                "pinned",
                evidence,
                inline,
            )
        return _decision(
            ROUTE_REVIEW,
            module,
            params,
            1.0,
            "pinned to the LLM module, but no LLM route is available",
            [],
            "pinned",
            "health",
            evidence,
            inline,
        )
    if module in state.executor_modules:
        return _decision(
            ROUTE_EXECUTOR,
            module,
            params,
            1.0,
            f"pinned to {module}",
            [],
            "pinned",
            "pinned",
            evidence,
            inline,
        )
    if module in MODULES or not state.executor_modules:
        why = f"pinned to {module}, but the executor route is unavailable"
    else:
        why = f"pinned to {module}, which the executor does not offer"
    return _decision(
        ROUTE_REVIEW, module, params, 1.0, why, [], "pinned", "health", evidence, inline
    )


def _routed(
    task: _Task,
    state: RouteState,
    module: str,
    probability: float,
    inferred: Inferred,
    alternatives: list[tuple[str, float]],
    decided_by: str,
    stage: str,
    why: str,
    evidence: dict[str, Any],
) -> Fields:
    """A module was chosen; the health filter decides which route (if any) runs it."""
    params = {**inferred.params, **task.params}
    inline = task.inline
    if inferred.unsupported and not _explicitly_set(inferred, task):
        # The right module, asked for something it cannot do: the LLM may read a question
        # about JSON; anything else goes to a person rather than to a guess.
        if module == "data.json_query" and state.llm_available:
            return _decision(
                ROUTE_LLM,
                module,
                params,
                probability,
                f"{why}; {inferred.unsupported}, so the LLM answers",
                alternatives,
                decided_by,
                "capability",
                evidence,
                inline,
            )
        return _decision(
            ROUTE_REVIEW,
            module,
            params,
            probability,
            f"{why}; {inferred.unsupported}",
            alternatives,
            "fallback",
            "capability",
            evidence,
            inline,
        )
    route = route_of(module)
    if route == ROUTE_LLM:
        if state.llm_available:
            return _decision(
                ROUTE_LLM,
                module,
                params,
                probability,
                why,
                alternatives,
                decided_by,
                stage,
                evidence,
                inline,
            )
        return _decision(
            ROUTE_REVIEW,
            module,
            params,
            probability,
            why + "; no LLM route is configured or healthy, so a person decides",
            alternatives,
            "fallback",
            "health",
            evidence,
            inline,
        )
    if module in state.executor_modules:
        return _decision(
            ROUTE_EXECUTOR,
            module,
            params,
            probability,
            why,
            alternatives,
            decided_by,
            stage,
            evidence,
            inline,
        )
    spec = MODULES.get(module)
    down = (
        "the executor route is unavailable"
        if not state.executor_modules
        else f"the executor does not offer {module}"
    )
    if spec is not None and spec.llm_substitutable and state.llm_available:
        return _decision(
            ROUTE_LLM,
            module,
            params,
            probability,
            f"{why}; {down}, so the LLM stands in",
            alternatives,
            decided_by,
            "health",
            evidence,
            inline,
        )
    return _decision(
        ROUTE_REVIEW,
        module,
        params,
        probability,
        f"{why}; {down}, so a person decides",
        alternatives,
        "fallback",
        "health",
        evidence,
        inline,
    )


def _low_confidence(
    task: _Task,
    state: RouteState,
    module: str,
    probability: float,
    inferred: Inferred,
    alternatives: list[tuple[str, float]],
    evidence: dict[str, Any],
) -> Fields:
    why = f"low confidence: {module} at {probability:.0%} is below {CONFIDENCE_THRESHOLD:.0%}"
    if state.llm_available:
        others = [(module, probability)] + [a for a in alternatives if a[0] != LLM_MODULE]
        return _decision(
            ROUTE_LLM,
            LLM_MODULE,
            dict(task.params),
            probability,
            why + "; the LLM takes open-ended requests",
            others[:_ALTERNATIVES],
            "fallback",
            "threshold",
            evidence,
            task.inline,
        )
    params = {**inferred.params, **task.params}
    return _decision(
        ROUTE_REVIEW,
        module,
        params,
        probability,
        why + "; no LLM route is available, so a person decides",
        alternatives,
        "fallback",
        "threshold",
        evidence,
        task.inline,
    )


def _explicitly_set(inferred: Inferred, task: _Task) -> bool:
    """Explicit task params replace what the instruction seemed to ask for (or missed)."""
    if any(key in task.params for key in inferred.params):
        return True
    return bool(task.params.get("expression"))


def _needs(module: str) -> str:
    spec = MODULES.get(module)
    return spec.needs if spec else "text"


def _missing(module: str, task: _Task, inferred: Inferred | None) -> str | None:
    """Why ``module`` cannot run this task, or None when it can (cheap checks first)."""
    needs = _needs(module)
    kind = task.shape.kind
    if needs == "none":
        return None
    if needs == "expression":
        if task.params.get("expression"):
            return None
        found = inferred or infer(module, task.instruction, task.shape)
        return None if "expression" in found.params else "no arithmetic expression found"
    if kind == KIND_EMPTY:
        return "there is no input data"
    if needs == "json":
        return None if kind in (KIND_JSON, KIND_FILE) else "the input is not JSON"
    if needs == "csv":
        return None if kind in (KIND_CSV, KIND_FILE) else "the input is not CSV"
    if needs == "prose" and kind in (KIND_JSON, KIND_CSV):
        return f"the input is {kind.upper()}, not prose"
    return None


def _add_notes(evidence: dict[str, Any], inferred: Inferred) -> None:
    if inferred.notes:
        evidence["notes"] = inferred.notes


def _decision(
    target: str,
    module: str,
    params: dict[str, Any],
    confidence: float,
    reason: str,
    alternatives: list[tuple[str, float]],
    decided_by: str,
    stage: str,
    evidence: dict[str, Any],
    inline: str | None,
) -> Fields:
    """The decision's fields; ``decide`` adds the duration and builds the model once."""
    return {
        "target": target,
        "module": module,
        "params": params,
        "confidence": round(confidence, 4),
        "reason": reason,
        # Plain dicts: pydantic builds the Alternatives in one validation pass (cheaper).
        "alternatives": [{"module": m, "score": round(p, 4)} for m, p in alternatives],
        "decided_by": decided_by,
        "stage": stage,
        "evidence": evidence,
        "inline_input": inline,
    }


__all__ = ["CONFIDENCE_THRESHOLD", "RuleHit", "decide"]
