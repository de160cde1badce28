"""A stale write that also changes the email must read as a version conflict, not a fault."""

from __future__ import annotations

import pytest

from chalicelib.auth.principal import Principal
from chalicelib.errors import Conflict, PreconditionFailed
from chalicelib.logic import users
from chalicelib.models.users import UserCreate, UserUpdate

ADMIN = Principal(user_id="usr_admin", role="admin")


def _create(email: str) -> str:
    data = UserCreate(email=email, name="Ada", password="correct horse battery")
    return users.create_user(data).id


def test_stale_version_with_email_change_is_412(aws: None, monkeypatch) -> None:
    user_id = _create("ada@example.com")
    stale = users.get_user(user_id)
    users.update_user(ADMIN, user_id, UserUpdate(name="Ada L."), version=stale.version)
    # The next call reads the item before the other writer's update landed.
    monkeypatch.setattr(users, "get_user", lambda _id: stale)
    with pytest.raises(PreconditionFailed):
        users.update_user(
            ADMIN, user_id, UserUpdate(email="ada2@example.com"), version=stale.version
        )


def test_email_change_to_a_taken_email_is_409(aws: None) -> None:
    _create("taken@example.com")
    user_id = _create("bob@example.com")
    version = users.get_user(user_id).version
    with pytest.raises(Conflict) as caught:
        users.update_user(ADMIN, user_id, UserUpdate(email="TAKEN@example.com"), version=version)
    assert caught.value.status == 409
