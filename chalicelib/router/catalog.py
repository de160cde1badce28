"""The module catalogue as the router sees it (README, "The executor"): names, routes, needs.

This static list is the fallback when the executor's ``ListModules`` cannot be reached, and the
label set of the classifier. Executor modules run on the "executor" route; ``llm.generate`` runs
on the "llm" route.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

# The routes a module runs on (a task that none can take goes to "review", a person).
RunRoute = Literal["executor", "llm"]
ROUTE_EXECUTOR: Final = "executor"
ROUTE_LLM: Final = "llm"
ROUTE_REVIEW: Final = "review"

LLM_MODULE = "llm.generate"


@dataclass(frozen=True)
class ModuleSpec:
    name: str
    route: RunRoute
    description: str
    # What the module needs to run: "text" (any input), "prose" (text that is not JSON/CSV),
    # "json", "csv", "expression", "none".
    needs: str
    # True when an LLM can stand in (with a looser answer) while the executor route is down.
    # Exact modules (hashes, arithmetic, parsers) never fall back to a language model.
    llm_substitutable: bool


CATALOGUE: tuple[ModuleSpec, ...] = (
    ModuleSpec(
        "text.stats", ROUTE_EXECUTOR, "Counts characters, words, lines, sentences", "text", False
    ),
    ModuleSpec("text.summarize", ROUTE_EXECUTOR, "Extractive summary of a text", "prose", True),
    ModuleSpec(
        "text.extract",
        ROUTE_EXECUTOR,
        "Finds emails, urls, phones, dates, money, hashtags, mentions",
        "text",
        True,
    ),
    ModuleSpec("text.sentiment", ROUTE_EXECUTOR, "Polarity of a text", "prose", True),
    ModuleSpec("data.csv_profile", ROUTE_EXECUTOR, "Per-column profile of CSV data", "csv", False),
    ModuleSpec("data.json_query", ROUTE_EXECUTOR, "JMESPath query over JSON", "json", False),
    ModuleSpec("crypto.hash", ROUTE_EXECUTOR, "Digest of a text or a file", "text", False),
    ModuleSpec("math.evaluate", ROUTE_EXECUTOR, "Safe arithmetic", "expression", False),
    ModuleSpec(LLM_MODULE, ROUTE_LLM, "Open-ended generation by a language model", "none", False),
)

MODULES: dict[str, ModuleSpec] = {spec.name: spec for spec in CATALOGUE}
MODULE_NAMES: tuple[str, ...] = tuple(spec.name for spec in CATALOGUE)


def route_of(module: str) -> RunRoute:
    """The route a module runs on; modules the static list does not know run on the executor."""
    spec = MODULES.get(module)
    return spec.route if spec else ROUTE_EXECUTOR
