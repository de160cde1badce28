"""Projects over HTTP: CRUD, membership, visibility, If-Match."""

from __future__ import annotations

from tests.integration.conftest import ApiClient


def test_create_get_and_list_by_membership(api: ApiClient) -> None:
    alice, bob, admin = api.user(), api.user(), api.user("admin")
    created = api.post("/projects", {"name": "Apollo", "description": "moon"}, who=alice)
    assert created.status == 201
    project = created.body
    assert project["ownerId"] == alice.id
    assert project["memberIds"] == [alice.id]
    other = api.project(bob, name="Gemini")
    assert [p["id"] for p in api.get("/projects", who=alice).body["items"]] == [project["id"]]
    assert [p["id"] for p in api.get("/projects", who=bob).body["items"]] == [other["id"]]
    everything = [p["id"] for p in api.get("/projects", who=admin).body["items"]]
    assert everything == [project["id"], other["id"]]
    assert api.get(f"/projects/{project['id']}", who=bob).status == 404
    assert api.get(f"/projects/{project['id']}", who=admin).status == 200


def test_list_projects_pagination(api: ApiClient) -> None:
    alice = api.user()
    ids = {api.project(alice, name=f"p{i}")["id"] for i in range(5)}
    seen, cursor = [], None
    for _ in range(5):
        suffix = f"&cursor={cursor}" if cursor else ""
        page = api.get(f"/projects?limit=2{suffix}", who=alice).body
        seen += [p["id"] for p in page["items"]]
        cursor = page["nextCursor"]
        if not cursor:
            break
    assert set(seen) == ids
    assert len(seen) == 5


def test_members_are_added_and_removed_by_the_owner(api: ApiClient) -> None:
    alice, bob, carol = api.user(), api.user(), api.user()
    project = api.project(alice)
    path = f"/projects/{project['id']}/members"
    added = api.put(f"{path}/{bob.id}", who=alice)
    assert added.status == 200
    assert added.body["memberIds"] == [alice.id, bob.id]
    assert api.put(f"{path}/{bob.id}", who=alice).body["memberIds"] == [alice.id, bob.id]
    assert [p["id"] for p in api.get("/projects", who=bob).body["items"]] == [project["id"]]
    # A member can see but not manage membership; unknown users are 404.
    assert api.put(f"{path}/{carol.id}", who=bob).status == 403
    assert api.put(f"{path}/usr_missing", who=alice).status == 404
    assert api.delete(f"{path}/{alice.id}", who=alice).error_code == "owner_required"
    removed = api.delete(f"{path}/{bob.id}", who=alice)
    assert removed.status == 200
    assert removed.body["memberIds"] == [alice.id]
    assert api.get(f"/projects/{project['id']}", who=bob).status == 404
    assert api.get("/projects", who=bob).body["items"] == []


def test_a_removed_member_stops_receiving_the_projects_events(api: ApiClient) -> None:
    from datetime import timedelta

    from chalicelib.dal.realtime_models import Subscription, project_topic

    alice, bob = api.user(), api.user()
    project = api.project(alice, bob)
    other = api.project(bob)
    topic = project_topic(project["id"])
    for topic_, connection_id, user in (
        (topic, "conn-bob", bob.id),
        (topic, "conn-alice", alice.id),
        (project_topic(other["id"]), "conn-bob", bob.id),
    ):
        Subscription(
            topic_,
            connection_id,
            user_id=user,
            created_at=0,
            expires_at=timedelta(hours=1),
        ).save()
    assert api.delete(f"/projects/{project['id']}/members/{bob.id}", who=alice).status == 200
    assert [s.connection_id for s in Subscription.query(topic)] == ["conn-alice"]
    # Bob's subscription to his own project stays.
    assert [s.connection_id for s in Subscription.query(project_topic(other["id"]))] == ["conn-bob"]


def test_patch_project_if_match(api: ApiClient) -> None:
    alice, bob = api.user(), api.user()
    project = api.project(alice, bob)
    path = f"/projects/{project['id']}"
    version = project["version"]
    assert api.patch(path, {"name": "X"}, who=bob).status == 428
    reply = api.patch(path, {"name": "Renamed"}, who=bob, headers={"If-Match": f'"{version}"'})
    assert reply.status == 200
    assert reply.body["name"] == "Renamed"
    assert reply.body["version"] == version + 1
    assert api.patch(path, {"name": "Y"}, who=bob, headers={"If-Match": str(version)}).status == 412
    assert (
        api.patch(path, {"name": ""}, who=bob, headers={"If-Match": str(version + 1)}).status == 400
    )


def test_delete_project_owner_only(api: ApiClient) -> None:
    alice, bob = api.user(), api.user()
    project = api.project(alice, bob)
    path = f"/projects/{project['id']}"
    assert api.delete(path, who=bob).status == 403
    assert api.delete(path, who=alice).status == 204
    assert api.get(path, who=alice).status == 404
    assert api.get("/projects", who=bob).body["items"] == []
