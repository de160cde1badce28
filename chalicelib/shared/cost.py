"""What a module call is expected to cost, from the module and the size of its input.

Every executor module runs in time linear in its input (``benchmarks/module_scaling.py`` prints
each curve), so a call's cost is a fixed part plus a rate per MB. The rates below are the worst
curve of each module on that benchmark (hostile inputs included), about doubled for a loaded
machine. A call expected to take at most ``SHORT_SECONDS`` is *short*: the dispatcher lets it
pass the long lane's cap and the executor keeps a worker free for such calls, so a trivial task
never waits behind long ones. Modules not listed (an LLM, modules added to the executor later,
the tests' instrumented modules) are long: nothing bounds them.

Shared by the dispatcher (Lambda) and the executor image: standard library only.
"""

from __future__ import annotations

from dataclasses import dataclass

MB = 1_000_000
# A call expected to end within this many seconds is short.
SHORT_SECONDS = 1.0

SHORT = "short"
LONG = "long"


@dataclass(frozen=True)
class ModuleCost:
    fixed_seconds: float
    seconds_per_mb: float


# Measured worst curves (CPU s/MB on 2 shared cores), doubled; math.evaluate's work is bounded
# by its grammar's guards, not by its (at most 64 KiB) input.
MODULE_COSTS: dict[str, ModuleCost] = {
    "text.stats": ModuleCost(0.05, 0.5),
    "text.summarize": ModuleCost(0.05, 1.0),
    "text.extract": ModuleCost(0.05, 1.6),
    "text.sentiment": ModuleCost(0.1, 1.7),
    "data.csv_profile": ModuleCost(0.1, 1.0),
    "data.json_query": ModuleCost(0.05, 0.4),
    "crypto.hash": ModuleCost(0.01, 0.05),
    "math.evaluate": ModuleCost(0.3, 0.0),
}


def expected_seconds(module: str, input_bytes: int) -> float | None:
    """The expected duration of ``module`` on ``input_bytes``; None when nothing bounds it."""
    cost = MODULE_COSTS.get(module)
    if cost is None:
        return None
    return cost.fixed_seconds + cost.seconds_per_mb * max(0, input_bytes) / MB


def lane(module: str, input_bytes: int) -> str:
    """``SHORT`` or ``LONG``: which lane a call of ``module`` on ``input_bytes`` runs in."""
    seconds = expected_seconds(module, input_bytes)
    return SHORT if seconds is not None and seconds <= SHORT_SECONDS else LONG
