"""The AI router: reads a task and decides how it runs (executor module, LLM, or a person).

``decide(RouteRequest, RouteState) -> RouteDecision`` is pure and costs microseconds; the
classifier behind it is trained offline (``make router-model``, from ``router_training/``, which
never ships) into the JSON artifact ``model.json``.
"""

from chalicelib.router.decision import CONFIDENCE_THRESHOLD, decide
from chalicelib.router.models import Alternative, RouteDecision, RouteRequest, RouteState

__all__ = [
    "CONFIDENCE_THRESHOLD",
    "Alternative",
    "RouteDecision",
    "RouteRequest",
    "RouteState",
    "decide",
]
