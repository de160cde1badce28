"""Routing as the API and the dispatcher use it: route state from the breakers and the
executor's catalogue, decisions for tasks, explanations without a task, and the catalogue.

    explain(instruction, input, params, module) -> decision dict      (POST /router/explain)
    catalog() -> {"routes": [...], "modules": [...], "source"}        (GET /router/catalog)
    route_for_task(task) -> RouteDecision                              (the dispatcher)
    record_route_outcome(route, ok)                                    (after every attempt)
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from chalicelib import executor_client, llm
from chalicelib.config import get_settings
from chalicelib.errors import ValidationFailed
from chalicelib.logic import route_health
from chalicelib.models.router import CatalogOut, ModuleOut, RouteOut
from chalicelib.router import RouteDecision, RouteRequest, RouteState, decide
from chalicelib.router.catalog import CATALOGUE, LLM_MODULE, MODULES, ROUTE_EXECUTOR, ROUTE_LLM
from chalicelib.shared.caches import on_reset

if TYPE_CHECKING:
    from chalicelib.executor_client import ModuleInfo

log = logging.getLogger(__name__)

CATALOGUE_TTL_S = 60.0
# After a failed ListModules, wait this long before asking again (a down executor is not
# hammered by every request).
CATALOGUE_RETRY_S = 10.0
LIST_MODULES_TIMEOUT_S = 2.0
MAX_INSTRUCTION_CHARS = 20_000  # as for tasks (chalicelib.models.tasks.Instruction)


class TaskLike(Protocol):
    # Read-only members, so a pynamodb Task (attributes are descriptors) fits.
    @property
    def instruction(self) -> str | None: ...
    @property
    def input(self) -> Any: ...
    @property
    def params(self) -> dict[str, Any] | None: ...
    @property
    def module(self) -> str | None: ...


@dataclass(frozen=True)
class ExecutorCatalogue:
    reachable: bool
    modules: tuple[ModuleInfo, ...]  # as the executor describes them (ListModules)
    fetched_at: float
    error: str = ""

    @property
    def names(self) -> frozenset[str]:
        return frozenset(m.name for m in self.modules)


_catalogue: ExecutorCatalogue | None = None
_catalogue_lock = threading.Lock()


def executor_catalogue(now: float | None = None) -> ExecutorCatalogue:
    """The executor's modules, cached for a minute (ten seconds after a failure)."""
    global _catalogue
    now = time.monotonic() if now is None else now
    cached = _catalogue
    if cached is not None:
        ttl = CATALOGUE_TTL_S if cached.reachable else CATALOGUE_RETRY_S
        if now - cached.fetched_at < ttl:
            return cached
    with _catalogue_lock:
        cached = _catalogue
        if cached is not None:
            ttl = CATALOGUE_TTL_S if cached.reachable else CATALOGUE_RETRY_S
            if now - cached.fetched_at < ttl:
                return cached
        _catalogue = _fetch_catalogue(now)
        return _catalogue


def _fetch_catalogue(now: float) -> ExecutorCatalogue:

    if not get_settings().executor_target:
        return ExecutorCatalogue(False, (), now, "no executor is configured")
    try:
        infos = executor_client.get_executor_client().list_modules(timeout_s=LIST_MODULES_TIMEOUT_S)
    except Exception as exc:  # unreachable, refused, misconfigured: all mean "down for now"
        log.warning("executor catalogue unavailable: %s", type(exc).__name__)
        return ExecutorCatalogue(False, (), now, "the executor did not answer ListModules")
    modules = tuple(info for info in infos if info.name != LLM_MODULE)
    return ExecutorCatalogue(True, modules, now)


@on_reset
def reset_catalogue() -> None:
    """Forget the cached catalogue (tests; after a deploy)."""
    global _catalogue
    with _catalogue_lock:
        _catalogue = None


# --- route state --------------------------------------------------------------------------


def _store() -> Any:
    return route_health.get_store()


def _llm_configured() -> bool:
    return llm.llm_configured()


def route_state() -> tuple[RouteState, dict[str, str]]:
    """What the router may use now, and each route's breaker state as people should see it."""
    store = _store()
    views = {ROUTE_EXECUTOR: store.view(ROUTE_EXECUTOR), ROUTE_LLM: store.view(ROUTE_LLM)}
    executor_ok = store.allows(ROUTE_EXECUTOR)
    modules = executor_catalogue().names if executor_ok else frozenset()
    llm_ok = _llm_configured() and store.allows(ROUTE_LLM)
    return RouteState(executor_modules=modules, llm_available=llm_ok), views


def _request(
    instruction: str | None, input_value: Any, params: dict[str, Any] | None, module: str | None
) -> RouteRequest:
    return RouteRequest(instruction or "", input_value, dict(params or {}), module or None)


# --- the dispatcher's entry points -----------------------------------------------------


def route_for_task(task: TaskLike) -> RouteDecision:
    """Decide a task's route. A route in its half-open window is used only by the caller that
    wins the probe; everyone else is routed as if it were still open.
    """
    state, views = route_state()
    request = _request(task.instruction, task.input, task.params, task.module)
    decision = decide(request, state)
    route = decision.target
    probing = route in (ROUTE_EXECUTOR, ROUTE_LLM) and views.get(route) == "half_open"
    if probing and not _store().claim_probe(route):
        # Another invocation holds the probe: decide again as if this route were still open.
        state = (
            RouteState(frozenset(), state.llm_available)
            if route == ROUTE_EXECUTOR
            else RouteState(state.executor_modules, False)
        )
        decision = decide(request, state)
    return decision


def record_route_outcome(route: str, ok: bool) -> None:
    """Count one attempt on ``route`` ("executor" or "llm"); other names are ignored."""
    if route not in (ROUTE_EXECUTOR, ROUTE_LLM):
        return
    _store().record(route, ok)


# --- the API's entry points -----------------------------------------------------------------


def explain(
    instruction: str | None,
    input: Any = None,
    params: dict[str, Any] | None = None,
    module: str | None = None,
) -> dict[str, Any]:
    """The decision the router would take for this task now, without creating it."""
    text = (instruction or "").strip()
    if len(text) > MAX_INSTRUCTION_CHARS:
        raise ValidationFailed(
            f"The instruction is longer than {MAX_INSTRUCTION_CHARS} characters.",
            details={"field": "instruction"},
        )
    if not text and input in (None, "", {}, []):
        raise ValidationFailed(
            "Give an instruction or an input to route.", details={"field": "instruction"}
        )
    if params is not None and not isinstance(params, dict):
        raise ValidationFailed("params must be an object.", details={"field": "params"})
    if module:
        require_known_module(module)
    state, _views = route_state()
    return decide(_request(text, input, params, module), state).as_dict()


def require_known_module(module: str) -> None:
    """Refuse (400 ``unknown_module``) a pinned module no catalogue offers.

    The static catalogue answers at once (no executor call for DESIGN.md's modules); a name
    it does not know must be offered by the executor's ``ListModules`` (cached), and when the
    executor cannot be reached the static catalogue is all there is. Checked when a task is
    created or its module edited: a task pinned to a module nobody runs would only be retried
    as "route unavailable" and end in review.
    """
    if module in MODULES:
        return
    offered = executor_catalogue().names
    if module in offered:
        return
    raise ValidationFailed(
        f"Unknown module {module!r}.",
        code="unknown_module",
        details={"field": "module", "known": sorted(set(MODULES) | set(offered))},
    )


def catalog() -> CatalogOut:
    """Routes with their health, and modules with where they run and whether they can now."""

    store = _store()
    executor_view = store.view(ROUTE_EXECUTOR)
    llm_view = store.view(ROUTE_LLM)
    cat = executor_catalogue()
    executor_available = cat.reachable and store.allows(ROUTE_EXECUTOR)
    provider = llm.provider_name()
    llm_available = provider is not None and store.allows(ROUTE_LLM)
    routes = [
        _route_entry(
            ROUTE_EXECUTOR,
            executor_available,
            executor_view,
            store,
            configured=True,
            detail=cat.error or None,
        ),
        _route_entry(
            ROUTE_LLM,
            llm_available,
            llm_view,
            store,
            configured=provider is not None,
            detail=None if provider else "no LLM provider is configured",
            provider=provider,
        ),
    ]
    modules: list[ModuleOut] = []
    described = {m.name: m for m in cat.modules}
    for spec in CATALOGUE:
        info = described.get(spec.name)
        if spec.route == ROUTE_EXECUTOR and info is not None:
            modules.append(_executor_module(info, available=executor_available))
            continue
        available = llm_available if spec.route == ROUTE_LLM else False  # executor: not offered
        modules.append(
            ModuleOut(
                name=spec.name, description=spec.description, route=spec.route, available=available
            )
        )
    static_names = {spec.name for spec in CATALOGUE}
    for name, info in sorted(described.items()):
        if name not in static_names:  # modules the executor offers beyond the static catalogue
            modules.append(_executor_module(info, available=executor_available))
    return CatalogOut(
        routes=routes, modules=modules, source="executor" if cat.reachable else "static"
    )


def _executor_module(info: ModuleInfo, *, available: bool) -> ModuleOut:
    """A module as the executor describes it (its description wins over the static one)."""
    return ModuleOut(
        name=info.name,
        description=info.description,
        route=ROUTE_EXECUTOR,
        available=available,
        params_schema=info.params_schema,
        max_input_bytes=info.max_input_bytes,
        version=info.version,
    )


def _route_entry(
    name: str,
    available: bool,
    view: str,
    store: Any,
    *,
    configured: bool,
    detail: str | None,
    provider: str | None = None,
) -> RouteOut:
    state = store.get(name)
    return RouteOut(
        name=name,  # type: ignore[arg-type]  # ROUTE_EXECUTOR or ROUTE_LLM
        available=available,
        state=view,  # type: ignore[arg-type]  # breaker.view: one of its three states
        configured=configured,
        failures=state.failures,
        retry_at=state.retry_at() if view == "open" else None,
        provider=provider or None,
        detail=detail or None,
    )
