"""Which review decisions the dispatcher waits out (a configured route that is down) and which
it stores as the task's verdict (``needs_review`` with the decision and its reasonCode)."""

from __future__ import annotations

import json

import pytest

from chalicelib.dal.models import Task
from chalicelib.logic import dispatch
from chalicelib.logic.dispatch_run import RoutePlan
from tests.unit.realtime_fakes import (
    Realtime,
    activity_of,
    decision,
    install_fakes,
    realtime,
    seed_project,
    seed_task,
)

__all__ = ["realtime"]


def _body(task: Task) -> str:
    return json.dumps({"taskId": task.id, "attempt": 1})


@pytest.mark.parametrize(
    ("module", "stage", "code", "llm_configured", "down"),
    [
        # The reason code decides, whatever stage reached it.
        ("text.stats", "health", "route_unavailable", True, True),
        ("text.stats", "capability", "route_unavailable", True, True),
        ("text.summarize", "health", "input_missing", True, False),
        ("text.summarize", "capability", "input_mismatch", True, False),
        ("llm.generate", "threshold", "low_confidence", True, False),
        # "No LLM configured" is a verdict; a configured LLM that is down is an outage.
        ("llm.generate", "health", "route_unavailable", False, False),
        ("llm.generate", "health", "route_unavailable", True, True),
        # Decisions stored before reason codes: the stage says it.
        ("text.stats", "health", None, True, True),
        ("text.stats", "threshold", None, True, False),
        ("llm.generate", "health", None, False, False),
    ],
)
def test_route_down_reads_the_reason_code(
    monkeypatch: pytest.MonkeyPatch,
    module: str,
    stage: str,
    code: str | None,
    llm_configured: bool,
    down: bool,
) -> None:
    install_fakes(monkeypatch, llm_configured=llm_configured)
    plan = RoutePlan.of(decision(module, target="review", stage=stage, reason_code=code))
    assert plan.reason_code == code
    assert plan.route_down() is down


def test_a_runnable_decision_is_never_route_down(monkeypatch: pytest.MonkeyPatch) -> None:
    install_fakes(monkeypatch)
    assert not RoutePlan.of(decision(stage="health")).route_down()


def test_an_outage_is_retried_and_a_verdict_is_stored_with_its_reason_code(
    realtime: Realtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    down = decision(
        "text.stats",
        target="review",
        stage="capability",
        reason_code="route_unavailable",
        reason="the executor route is unavailable",
    )
    install_fakes(monkeypatch, route=down)
    task = seed_task(seed_project())
    with pytest.raises(dispatch.RetryLater):
        dispatch.handle_message(_body(task), receive_count=1)
    assert Task.get(task.id).status == "queued"

    verdict = decision(
        "text.summarize",
        target="review",
        stage="health",  # a stage that alone would look like an outage
        reason_code="input_missing",
        reason="text.summarize needs data and the task carries none",
    )
    install_fakes(monkeypatch, route=verdict)
    outcome = dispatch.handle_message(_body(task), receive_count=1)
    assert outcome.status == "needs_review"
    stored = Task.get(task.id)
    assert stored.route["reasonCode"] == "input_missing"
    assert stored.route["module"] == "text.summarize"
    routed = [a for a in activity_of(task.id) if a.kind == "routed"][-1]
    assert routed.data["reasonCode"] == "input_missing"
