"""The AI router: reads a task and decides how it runs (executor module, LLM, or a person).

``decide(RouteRequest, RouteState) -> RouteDecision`` is pure and costs microseconds; the
classifier behind it is trained offline (``python -m chalicelib.router.train``) from the
labelled examples in ``data/`` into the JSON artifact ``data/model.json``.
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
