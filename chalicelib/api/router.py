"""The router: explain a would-be task's route, and the catalogue of routes and modules
(chalicelib/router, chalicelib/logic/routing.py).

Logic imports are deferred (inside handlers) for the cold start: see ``chalicelib.api``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalicelib.api.rest import ApiBlueprint, Call, M

if TYPE_CHECKING:
    from chalicelib.models.router import CatalogOut

bp = ApiBlueprint(__name__)


@bp.endpoint(
    "POST",
    "/router/explain",
    name="explainRoute",
    summary="The route decision for an instruction and input, without creating a task",
    tags=("router",),
    body=M("router:ExplainRequest"),
    response=M("router:RouteDecisionOut"),
    errors=(400,),
    description=(
        "Runs the router as it would run for a task now (same route health): pinned module, "
        "rules, classifier, capability and health filters, confidence threshold, fallback."
    ),
)
def explain_route(call: Call) -> Any:
    from chalicelib.logic import routing  # deferred: cold start (see chalicelib.api)

    body = call.body
    return routing.explain(body.instruction, body.input, body.params, body.module)


@bp.endpoint(
    "GET",
    "/router/catalog",
    name="getRouterCatalog",
    summary="Routes with their health, and the modules they run",
    tags=("router",),
    response=M("router:CatalogOut"),
)
def router_catalog(call: Call) -> CatalogOut:
    from chalicelib.logic import routing  # deferred: cold start (see chalicelib.api)

    return routing.catalog()
