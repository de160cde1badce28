"""The caller's API keys: create (the key is in that answer only), list, revoke.

A key may not manage keys (``api_key=False``): only a login session can. Logic imports are
deferred (inside handlers) for the cold start: see ``chalicelib.api``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.api.rest import NEXT_PAGE, RESPONSE_ID, ApiBlueprint, Call, M, link

if TYPE_CHECKING:
    from chalicelib.models.api_keys import ApiKeyCreated, ApiKeyList

bp = ApiBlueprint(__name__)


@bp.endpoint(
    "POST",
    "/api-keys",
    name="createApiKey",
    summary="Create an API key (its text is in this answer only)",
    description=(
        "The key acts as you wherever an access token works, with your current role. Store "
        "it now: only its digest is kept, and it is never shown again."
    ),
    tags=("api-keys",),
    api_key=False,
    body=M("api_keys:ApiKeyCreate"),
    response=M("api_keys:ApiKeyCreated"),
    status=201,
    errors=(409,),
    links=(link("revokeApiKey", {"path.key_id": RESPONSE_ID}),),
)
def create_api_key(call: Call) -> ApiKeyCreated:
    from chalicelib.logic import api_keys  # deferred: cold start (see chalicelib.api)

    return api_keys.create_key(call.user, call.body)


@bp.endpoint(
    "GET",
    "/api-keys",
    name="listApiKeys",
    summary="Your API keys, newest first (never their text)",
    tags=("api-keys",),
    api_key=False,
    query=M("base:ListQuery"),
    response=M("api_keys:ApiKeyList"),
    links=(link("listApiKeys", NEXT_PAGE),),
)
def list_api_keys(call: Call) -> ApiKeyList:
    from chalicelib.logic import api_keys  # deferred: cold start (see chalicelib.api)

    return api_keys.list_keys(call.user, limit=call.query.limit, cursor=call.query.cursor)


@bp.endpoint(
    "DELETE",
    "/api-keys/{key_id}",
    name="revokeApiKey",
    summary="Revoke one of your API keys; it stops working at once",
    tags=("api-keys",),
    api_key=False,
    status=204,
)
def revoke_api_key(call: Call) -> None:
    from chalicelib.logic import api_keys  # deferred: cold start (see chalicelib.api)

    api_keys.revoke_key(call.user, call.path("key_id"))
