"""How well routing decisions match labelled requests, by row group.

A row is ``{"instruction", "input"?, "module", "group"?, "target"?, "reasonCode"?, "value"?,
"params"?}``. Groups: ``instruction_only`` (no data at all: open-ended, or the data is missing or
only described), ``input`` (the task carries its data, as input or written into the
instruction) and ``word_problem`` (arithmetic in words). Rows written before groups existed get
one from their shape (see ``group_of``). ``target``/``reasonCode`` are what the decision should
say with every route up; ``value`` is what the inferred expression must compute.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chalicelib.router.catalog import MODULE_NAMES
from chalicelib.shared.arithmetic import value_or_none

GROUPS = ("instruction_only", "input", "word_problem")
_LEAD_IN = re.compile(
    r"^\s*(?:please\s+)?(?:what\s+is|what's|whats|how\s+much\s+is|calculate|compute|evaluate|"
    r"solve|calc)\b",
    re.I,
)
_WORDS = re.compile(r"[a-df-z][a-z]+", re.I)  # words ("e" alone may be an exponent)


@dataclass(frozen=True)
class Row:
    instruction: str
    input: Any
    module: str
    group: str
    target: str | None = None
    reason_code: str | None = None
    value: float | None = None
    params: dict[str, Any] = field(default_factory=dict)


def group_of(raw: dict[str, Any]) -> str:
    """The row's group: as written, or from its shape for rows that predate groups (where a
    data module's row without input always carries its data in the instruction)."""
    if raw.get("group"):
        return str(raw["group"])
    if raw.get("input") not in (None, ""):
        return "input"
    if raw["module"] == "math.evaluate":
        rest = _LEAD_IN.sub("", raw["instruction"])
        return "word_problem" if _WORDS.search(rest) else "input"
    return "instruction_only" if raw["module"] == "llm.generate" else "input"


def load_rows(path: Path) -> list[Row]:
    rows = []
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            raw = json.loads(line)
            if raw["module"] not in MODULE_NAMES:
                raise ValueError(f"{path.name}:{n}: unknown module {raw['module']!r}")
            group = group_of(raw)
            if group not in GROUPS:
                raise ValueError(f"{path.name}:{n}: unknown group {group!r}")
            rows.append(
                Row(
                    raw["instruction"],
                    raw.get("input"),
                    raw["module"],
                    group,
                    raw.get("target"),
                    raw.get("reasonCode"),
                    raw.get("value"),
                    raw.get("params") or {},
                )
            )
    return rows


def scores(pairs: Sequence[tuple[str, str]]) -> dict[str, float]:
    """Accuracy and macro-F1 (the mean over labels of per-label F1) of (gold, predicted)."""
    if not pairs:
        return {"n": 0, "accuracy": 0.0, "macroF1": 0.0}
    correct = sum(1 for gold, guess in pairs if gold == guess)
    f1s = []
    for label in MODULE_NAMES:
        tp = sum(1 for g, p in pairs if g == label and p == label)
        fp = sum(1 for g, p in pairs if g != label and p == label)
        fn = sum(1 for g, p in pairs if g == label and p != label)
        if tp + fp + fn:
            f1s.append(2 * tp / (2 * tp + fp + fn))
    return {"n": len(pairs), "accuracy": correct / len(pairs), "macroF1": sum(f1s) / len(f1s)}


def _same_value(got: Any, want: float) -> bool:
    return isinstance(got, (int, float)) and math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-9)


def assess(rows: Iterable[Row], decide: Callable[[Row], dict[str, Any]]) -> dict[str, Any]:
    """Module accuracy and macro-F1, overall and per group; the confusion pairs; and, where the
    rows say, target, reasonCode, inferred params and computed values. ``decide`` returns the
    decision as the API shows it (camelCase)."""
    pairs: list[tuple[str, str]] = []
    by_group: dict[str, list[tuple[str, str]]] = {g: [] for g in GROUPS}
    checks: dict[str, list[bool]] = {"target": [], "reasonCode": [], "params": [], "value": []}
    wrong: list[dict[str, Any]] = []
    for row in rows:
        decision = decide(row)
        pair = (row.module, decision["module"])
        pairs.append(pair)
        by_group[row.group].append(pair)
        ok = {}
        if row.target is not None:
            ok["target"] = decision["target"] == row.target
        if row.reason_code is not None:
            ok["reasonCode"] = decision.get("reasonCode") == row.reason_code
        if row.params:
            got = decision.get("params") or {}
            ok["params"] = all(got.get(k) == v for k, v in row.params.items())
        if row.value is not None:
            expression = (decision.get("params") or {}).get("expression")
            value = value_or_none(expression) if isinstance(expression, str) else None
            ok["value"] = decision["target"] == "executor" and _same_value(value, row.value)
        for key, passed in ok.items():
            checks[key].append(passed)
        if pair[0] != pair[1] or not all(ok.values()):
            wrong.append(
                {
                    "instruction": row.instruction,
                    "gold": row.module,
                    "got": decision["module"],
                    "target": decision["target"],
                    "reasonCode": decision.get("reasonCode"),
                    "expression": (decision.get("params") or {}).get("expression"),
                    "failed": sorted(k for k, v in ok.items() if not v),
                }
            )
    return {
        **scores(pairs),
        "groups": {g: scores(p) for g, p in by_group.items() if p},
        "checks": {k: {"n": len(v), "accuracy": sum(v) / len(v)} for k, v in checks.items() if v},
        "confusion": Counter(f"{g} -> {p}" for g, p in pairs if g != p).most_common(),
        "wrong": wrong,
    }
