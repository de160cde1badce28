"""Users over HTTP: /me, admin create/list/update, email uniqueness, If-Match."""

from __future__ import annotations

from tests.integration.conftest import ApiClient


def test_me_returns_the_caller_without_secrets(api: ApiClient) -> None:
    alice = api.user(name="Alice")
    reply = api.get("/me", who=alice)
    assert reply.status == 200
    assert reply.body["id"] == alice.id
    assert reply.body["email"] == alice.email
    assert reply.body["role"] == "member"
    assert "password" not in str(reply.body).lower()


def test_admin_creates_user_and_email_is_unique_case_insensitively(api: ApiClient) -> None:
    admin = api.user("admin")
    body = {"email": "New.Person@Example.test", "name": "New", "password": "long-enough-pw"}
    created = api.post("/users", body, who=admin)
    assert created.status == 201
    assert created.body["email"] == "new.person@example.test"
    assert created.body["role"] == "member"
    assert created.body["version"] == 1
    dup = api.post("/users", {**body, "email": " NEW.person@example.test "}, who=admin)
    assert dup.status in (400, 409)
    dup = api.post("/users", {**body, "email": "NEW.person@example.test"}, who=admin)
    assert dup.status == 409
    assert dup.error_code == "email_taken"


def test_user_create_validation(api: ApiClient) -> None:
    admin = api.user("admin")
    bad = {"email": "not-an-email", "name": "X", "password": "long-enough-pw"}
    reply = api.post("/users", bad, who=admin)
    assert reply.status == 400
    assert reply.body["error"]["details"][0]["field"] == "email"
    short = api.post("/users", {**bad, "email": "a@b.io", "password": "short"}, who=admin)
    assert short.body["error"]["details"][0]["field"] == "password"
    role = api.post("/users", {**bad, "email": "a@b.io", "role": "root"}, who=admin)
    assert role.body["error"]["details"][0]["field"] == "role"


def test_list_users_pages_oldest_first(api: ApiClient) -> None:
    admin = api.user("admin")
    others = [api.user() for _ in range(4)]
    page1 = api.get("/users?limit=3", who=admin).body
    assert len(page1["items"]) == 3
    page2 = api.get(f"/users?limit=3&cursor={page1['nextCursor']}", who=admin).body
    ids = [u["id"] for u in page1["items"] + page2["items"]]
    assert ids == [admin.id] + [o.id for o in others]
    assert page2["nextCursor"] is None
    assert api.get("/users?cursor=garbage", who=admin).error_code == "invalid_cursor"
    assert api.get("/users?sort=name", who=admin).status == 400


def test_patch_user_with_if_match_and_email_change(api: ApiClient) -> None:
    admin = api.user("admin")
    bob, carol = api.user(), api.user()
    path = f"/users/{bob.id}"
    assert api.patch(path, {"name": "Bobby"}, who=admin).status == 428
    assert api.patch(path, {"name": "Bobby"}, who=admin, headers={"If-Match": "9"}).status == 412
    reply = api.patch(
        path,
        {"name": "Bobby", "role": "admin", "email": "bob@new.test"},
        who=admin,
        headers={"If-Match": "1"},
    )
    assert reply.status == 200
    assert reply.body["name"] == "Bobby"
    assert reply.body["role"] == "admin"
    assert reply.body["email"] == "bob@new.test"
    assert reply.body["version"] == 2
    taken = api.patch(path, {"email": carol.email}, who=admin, headers={"If-Match": "2"})
    assert taken.status == 409
    assert taken.error_code == "email_taken"
    # The old address is free again, the new one is taken.
    free = api.post(
        "/users", {"email": bob.email, "name": "Re", "password": "long-enough-pw"}, who=admin
    )
    assert free.status == 201
    clash = api.post(
        "/users", {"email": "bob@new.test", "name": "Re", "password": "long-enough-pw"}, who=admin
    )
    assert clash.status == 409
    assert (
        api.patch("/users/usr_nobody", {"name": "x"}, who=admin, headers={"If-Match": "1"}).status
        == 404
    )


def test_password_change_is_hashed(api: ApiClient) -> None:
    from chalicelib.auth.passwords import verify_password
    from chalicelib.dal.models import User

    admin = api.user("admin")
    bob = api.user()
    reply = api.patch(
        f"/users/{bob.id}", {"password": "brand-new-secret"}, who=admin, headers={"If-Match": "1"}
    )
    assert reply.status == 200
    stored = User.get(bob.id).password_hash
    assert "brand-new-secret" not in stored
    assert verify_password(stored, "brand-new-secret")
