"""scripts/create_admin: creates once, then promotes/resets without duplicating."""

from __future__ import annotations

import pytest

from scripts.create_admin import main


@pytest.fixture(autouse=True)
def no_dev_stack_here(tmp_path: object, monkeypatch: pytest.MonkeyPatch) -> None:
    """A dev stack running in this checkout must not become these tests' target."""
    monkeypatch.setenv("AION_DEV_STATE_DIR", str(tmp_path))
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)


def test_create_admin_is_idempotent(aws: None, capsys: pytest.CaptureFixture[str]) -> None:
    from chalicelib.auth.passwords import verify_password
    from chalicelib.dal.models import KIND_USER, User

    assert main(["--email", "Boss@Example.test"]) == 0
    out = capsys.readouterr().out
    assert "created admin boss@example.test" in out
    generated = out.split("password: ")[1].strip()
    users = list(User.by_created.query(KIND_USER))
    assert [(u.email, u.role) for u in users] == [("boss@example.test", "admin")]
    assert verify_password(users[0].password_hash, generated)

    assert main(["--email", "boss@example.test"]) == 0
    out = capsys.readouterr().out
    assert "updated admin" in out
    assert "password:" not in out
    assert verify_password(User.get(users[0].id).password_hash, generated)

    assert main(["--email", "boss@example.test", "--password", "a-new-password"]) == 0
    assert verify_password(User.get(users[0].id).password_hash, "a-new-password")
    assert len(list(User.by_created.query(KIND_USER))) == 1


def test_create_admin_promotes_an_existing_member(aws: None) -> None:
    from chalicelib.dal.models import User
    from chalicelib.logic.users import create_user
    from chalicelib.models.users import UserCreate

    member = create_user(
        UserCreate(email="m@example.test", name="M", password="member-pass", role="member")
    )
    assert main(["--email", "m@example.test"]) == 0
    assert User.get(member.id).role == "admin"


def test_create_admin_rejects_bad_arguments(aws: None) -> None:
    with pytest.raises(SystemExit):
        main(["--email", "nope"])
    with pytest.raises(SystemExit):
        main(["--email", "a@b.io", "--password", "short"])
