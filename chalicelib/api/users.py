"""The caller (/me) and user management (admin, with a login session: never an API key).

Logic imports are deferred (inside handlers) for the cold start: see ``chalicelib.api``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.api.rest import (
    AUTH_ADMIN,
    NEXT_PAGE,
    RESPONSE_ID,
    RESPONSE_VERSION,
    ApiBlueprint,
    Call,
    M,
    link,
)

if TYPE_CHECKING:
    from chalicelib.models.users import UserList, UserOut

bp = ApiBlueprint(__name__)


@bp.endpoint(
    "GET", "/me", name="getMe", summary="The caller", tags=("users",), response=M("users:UserOut")
)
def get_me(call: Call) -> UserOut:
    from chalicelib.logic import users  # deferred: cold start (see chalicelib.api)

    return users.me(call.user)


@bp.endpoint(
    "POST",
    "/users",
    name="createUser",
    summary="Create a user",
    tags=("users",),
    auth=AUTH_ADMIN,
    api_key=False,
    body=M("users:UserCreate"),
    response=M("users:UserOut"),
    status=201,
    errors=(409,),
    links=(
        link("updateUser", {"path.user_id": RESPONSE_ID, "header.If-Match": RESPONSE_VERSION}),
        # The new user signs in with what they were given.
        link("login", body={f: f"$request.body#/{f}" for f in ("email", "password")}),
    ),
)
def create_user(call: Call) -> UserOut:
    from chalicelib.logic import users  # deferred: cold start (see chalicelib.api)

    return users.create_user(call.body)


@bp.endpoint(
    "GET",
    "/users",
    name="listUsers",
    summary="List users, oldest first",
    tags=("users",),
    auth=AUTH_ADMIN,
    api_key=False,
    query=M("base:ListQuery"),
    response=M("users:UserList"),
    links=(link("listUsers", NEXT_PAGE),),
)
def list_users(call: Call) -> UserList:
    from chalicelib.logic import users  # deferred: cold start (see chalicelib.api)

    return users.list_users(limit=call.query.limit, cursor=call.query.cursor)


@bp.endpoint(
    "PATCH",
    "/users/{user_id}",
    name="updateUser",
    summary="Update a user: name, email, password, role, or disable / re-enable them",
    description=(
        "A role or password change ends the user's sessions and sockets; disabling them also "
        "deletes their API keys, and refuses their tokens, keys and tickets at once. Admins "
        "cannot disable themselves (409 `cannot_disable_self`). Users are disabled, never "
        "deleted: their projects, tasks and history keep a valid owner and author."
    ),
    tags=("users",),
    auth=AUTH_ADMIN,
    api_key=False,
    body=M("users:UserUpdate"),
    response=M("users:UserOut"),
    if_match=True,
    errors=(409,),
)
def update_user(call: Call) -> UserOut:
    from chalicelib.logic import users  # deferred: cold start (see chalicelib.api)

    return users.update_user(call.user, call.path("user_id"), call.body, version=call.if_match)
