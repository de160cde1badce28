"""The caller (/me) and user management (admin).

Logic imports are deferred (inside handlers) for the cold start: see ``chalicelib.api``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.api.rest import AUTH_ADMIN, ApiBlueprint, Call, M

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
    body=M("users:UserCreate"),
    response=M("users:UserOut"),
    status=201,
    errors=(409,),
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
    query=M("base:ListQuery"),
    response=M("users:UserList"),
)
def list_users(call: Call) -> UserList:
    from chalicelib.logic import users  # deferred: cold start (see chalicelib.api)

    return users.list_users(limit=call.query.limit, cursor=call.query.cursor)


@bp.endpoint(
    "PATCH",
    "/users/{user_id}",
    name="updateUser",
    summary="Update a user",
    tags=("users",),
    auth=AUTH_ADMIN,
    body=M("users:UserUpdate"),
    response=M("users:UserOut"),
    if_match=True,
    errors=(409,),
)
def update_user(call: Call) -> UserOut:
    from chalicelib.logic import users  # deferred: cold start (see chalicelib.api)

    return users.update_user(call.path("user_id"), call.body, version=call.if_match)
