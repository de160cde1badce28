"""Users: creation with unique email (one transaction), updates with optimistic locking,
disabling (and re-enabling).

Users are disabled, never deleted: a deleted user would leave projects without an owner and
tasks, activity and files naming someone unknown, while disabling cuts every access at once
(sessions, sockets, API keys; tokens and tickets are refused) and can be undone."""

from __future__ import annotations

from pynamodb.exceptions import TransactWriteError
from pynamodb.expressions.update import Action

from chalicelib.auth.emails import normalize_email
from chalicelib.auth.passwords import hash_password
from chalicelib.auth.principal import Principal
from chalicelib.clock import now_iso
from chalicelib.dal.models import KIND_USER, User, UserEmail
from chalicelib.dal.transactions import failed_conditions, failed_tables, transact_write
from chalicelib.errors import Conflict, NotFound, PreconditionFailed
from chalicelib.ids import new_id
from chalicelib.logic.api_keys import revoke_user_keys
from chalicelib.logic.paging import query_page
from chalicelib.logic.sessions import revoke_user_sessions
from chalicelib.models.users import UserCreate, UserList, UserOut, UserUpdate


def user_out(user: User) -> UserOut:
    return UserOut(
        id=user.id,
        email=user.email,
        name=user.name,
        # A string attribute, written from the Role literal.
        role=user.role,  # type: ignore[arg-type]
        disabled=bool(user.disabled),
        created_at=user.created_at,
        updated_at=user.updated_at,
        version=user.version or 0,
    )


def _email_taken() -> Conflict:
    return Conflict("A user with this email already exists.", code="email_taken")


def get_user(user_id: str) -> User:
    try:
        return User.get(user_id)
    except User.DoesNotExist:
        raise NotFound("User not found.", code="user_not_found") from None


def me(principal: Principal) -> UserOut:
    return user_out(get_user(principal.user_id))


def create_user(data: UserCreate) -> UserOut:

    now = now_iso()
    user = User(
        id=new_id("usr"),
        kind=KIND_USER,
        email=normalize_email(data.email),
        name=data.name,
        role=data.role,
        password_hash=hash_password(data.password),
        created_at=now,
        updated_at=now,
    )
    claim = UserEmail(email=user.email, user_id=user.id)
    try:
        with transact_write() as tx:
            tx.save(user)  # version unset -> conditional on the item not existing
            tx.save(claim, condition=UserEmail.email.does_not_exist())
    except TransactWriteError as exc:
        if any(failed_conditions(exc)):
            raise _email_taken() from exc
        raise
    return user_out(user)


def list_users(*, limit: int | None, cursor: str | None) -> UserList:
    items, next_cursor = query_page(
        lambda **kw: User.by_created.query(KIND_USER, **kw),
        scope="users",
        limit=limit,
        cursor=cursor,
    )
    return UserList(items=[user_out(u) for u in items], next_cursor=next_cursor)


def update_user(actor: Principal, user_id: str, data: UserUpdate, *, version: int) -> UserOut:
    """An admin's edit of a user. Disabling ends everything the user holds: sessions, sockets
    and API keys; a role or password change ends their sessions and sockets."""
    user = get_user(user_id)
    fields = data.model_fields_set
    # Also when already disabled: ending what they hold again is harmless (and finishes a
    # revocation an earlier call could not complete).
    disabling = "disabled" in fields and data.disabled is True
    if disabling and actor.user_id == user_id:
        raise Conflict("You cannot disable your own account.", code="cannot_disable_self")
    if user.version != version:
        raise PreconditionFailed(
            "The user changed since you read it.", details={"version": user.version}
        )
    actions: list[Action] = []
    new_email = normalize_email(data.email) if "email" in fields and data.email else None
    if "name" in fields and data.name is not None:
        actions.append(User.name.set(data.name))
    if "role" in fields and data.role is not None:
        actions.append(User.role.set(data.role))
    if "disabled" in fields and data.disabled is not None:
        actions.append(User.disabled.set(data.disabled))
    if "password" in fields and data.password is not None:
        actions.append(User.password_hash.set(hash_password(data.password)))
    email_changes = new_email is not None and new_email != user.email
    if email_changes and new_email is not None:
        actions.append(User.email.set(new_email))
    actions.append(User.updated_at.set(now_iso()))
    try:
        with transact_write() as tx:
            # pynamodb adds "version = <read version>" and "version + 1" to the update.
            tx.update(user, actions=actions)
            if email_changes:
                tx.save(
                    UserEmail(email=new_email, user_id=user.id),
                    condition=UserEmail.email.does_not_exist(),
                )
                tx.delete(
                    UserEmail(email=user.email, user_id=user.id),
                    condition=UserEmail.user_id == user.id,
                )
    except TransactWriteError as exc:
        failed = failed_tables(tx, exc)
        if User.Meta.table_name in failed:
            raise PreconditionFailed("The user changed since you read it.") from exc
        if UserEmail.Meta.table_name in failed:
            raise _email_taken() from exc
        raise
    if {"password", "role"} & fields or disabling:
        # Sessions opened with the old password or role end now; access tokens carry no rights
        # of their own (each request reads the current role and whether the user is disabled).
        revoke_user_sessions(user_id)
    if disabling:
        revoke_user_keys(user_id)
    return user_out(get_user(user_id))


def ensure_admin(
    email: str, *, password: str | None, name: str = "Administrator"
) -> tuple[UserOut, bool]:
    """Create the admin if the email is free, else promote/reset it. Returns (user, created)."""
    normalized = normalize_email(email)
    try:
        claim = UserEmail.get(normalized)
    except UserEmail.DoesNotExist:
        claim = None
    if claim is None:
        if not password:
            raise ValueError("a password is needed to create a new admin")
        created = create_user(
            UserCreate(email=normalized, name=name, password=password, role="admin")
        )
        return created, True
    user = get_user(claim.user_id)
    # Also the way back in when every admin was disabled or demoted.
    actions: list[Action] = [
        User.role.set("admin"),
        User.disabled.set(False),
        User.updated_at.set(now_iso()),
    ]
    if password:
        actions.append(User.password_hash.set(hash_password(password)))
    user.update(actions=actions)
    return user_out(user), False
