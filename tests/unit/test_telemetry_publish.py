"""Fan-out: every subscriber of the task or its project gets the event once; 410 cleans up."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta

import boto3
import pytest
from botocore.stub import Stubber

from chalicelib.clock import now_epoch
from chalicelib.dal.realtime_models import Connection, Subscription, project_topic, task_topic
from chalicelib.logic import connections, fanout
from chalicelib.models.tasks import TelemetryEvent
from tests.unit.realtime_fakes import (
    Realtime,
    RecordingManagementClient,
    realtime,
    seed_project,
    seed_task,
)

__all__ = ["realtime"]


def _connect(cid: str, *, age: int = 60, topics: tuple[str, ...] = ()) -> None:
    Connection(
        cid,
        user_id="usr_1",
        role="member",
        connected_at=now_epoch() - age,
        expires_at=timedelta(hours=2),
    ).save()
    for topic in topics:
        Subscription(
            topic, cid, user_id="usr_1", created_at=now_epoch(), expires_at=timedelta(hours=2)
        ).save()


def _event(task_id: str, project_id: str) -> TelemetryEvent:
    return TelemetryEvent(
        task_id=task_id,
        project_id=project_id,
        seq=2,
        kind="log",
        status="running",
        message="m",
        at="2026-01-01T00:00:00.000Z",
        actor="a",
    )


def test_publish_reaches_task_and_project_subscribers_once(realtime: Realtime) -> None:
    task = seed_task(seed_project())
    _connect("c-task", topics=(task_topic(task.id),))
    _connect("c-project", topics=(project_topic(task.project_id),))
    _connect("c-both", topics=(task_topic(task.id), project_topic(task.project_id)))
    _connect("c-other", topics=(task_topic("tsk_other"),))
    event = _event(task.id, task.project_id)
    report = fanout.publish(event)
    assert report.sent == 3
    assert sorted(cid for cid, _ in realtime.mgmt.posts) == ["c-both", "c-project", "c-task"]
    assert realtime.mgmt.messages_to("c-both") == [event.to_wire()]


def test_fanout_posts_to_many_connections_in_parallel(realtime: Realtime) -> None:
    task = seed_task(seed_project())
    ids = [f"c-{i}" for i in range(60)]
    with Subscription.batch_write() as batch:
        for cid in ids:
            batch.save(
                Subscription(
                    task_topic(task.id),
                    cid,
                    user_id="u",
                    created_at=now_epoch(),
                    expires_at=timedelta(hours=2),
                )
            )
    report = fanout.publish(_event(task.id, task.project_id))
    assert (report.connections, report.sent, report.failed) == (60, 60, 0)
    assert sorted(cid for cid, _ in realtime.mgmt.posts) == sorted(ids)


def test_gone_connection_is_deleted_with_its_subscriptions(realtime: Realtime) -> None:
    task = seed_task(seed_project())
    _connect("c-live", topics=(task_topic(task.id),))
    _connect("c-dead", topics=(task_topic(task.id), project_topic("prj_x")))
    realtime.mgmt.gone.add("c-dead")
    report = fanout.publish(_event(task.id, task.project_id))
    assert (report.sent, report.gone) == (1, 1)
    with pytest.raises(Connection.DoesNotExist):
        Connection.get("c-dead")
    assert list(Subscription.by_connection.query("c-dead")) == []
    assert Connection.get("c-live").user_id == "usr_1"
    assert [s.connection_id for s in Subscription.query(task_topic(task.id))] == ["c-live"]


def test_young_connection_survives_a_410(realtime: Realtime) -> None:
    """A post before $connect returned is answered 410 by API Gateway: not a dead socket."""
    task = seed_task(seed_project())
    _connect("c-new", age=0, topics=(task_topic(task.id),))
    realtime.mgmt.gone.add("c-new")
    assert fanout.publish(_event(task.id, task.project_id)).gone == 1
    assert Connection.get("c-new").user_id == "usr_1"


def _stubbed_client(monkeypatch: pytest.MonkeyPatch) -> Stubber:
    client = boto3.client(
        "apigatewaymanagementapi",
        endpoint_url="http://127.0.0.1:9/ws-mgmt",
        region_name="us-east-1",
    )
    monkeypatch.setattr(connections, "_client", client)
    return Stubber(client)


def test_gone_exception_from_botocore_deletes_connection(
    realtime: Realtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    task = seed_task(seed_project())
    _connect("c-gone", topics=(task_topic(task.id),))
    stubber = _stubbed_client(monkeypatch)
    stubber.add_client_error(
        "post_to_connection",
        service_error_code="GoneException",
        http_status_code=410,
        expected_params={"ConnectionId": "c-gone", "Data": stubber_any()},
    )
    with stubber:
        report = fanout.publish(_event(task.id, task.project_id))
    stubber.assert_no_pending_responses()
    assert report.gone == 1
    with pytest.raises(Connection.DoesNotExist):
        Connection.get("c-gone")


def test_throttling_is_retried_with_backoff(
    realtime: Realtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    task = seed_task(seed_project())
    _connect("c-1", topics=(task_topic(task.id),))
    sleeps: list[float] = []
    monkeypatch.setattr(fanout.time, "sleep", sleeps.append)
    stubber = _stubbed_client(monkeypatch)
    stubber.add_client_error(
        "post_to_connection", service_error_code="LimitExceededException", http_status_code=429
    )
    stubber.add_client_error(
        "post_to_connection", service_error_code="LimitExceededException", http_status_code=429
    )
    stubber.add_response("post_to_connection", {})
    with stubber:
        report = fanout.publish(_event(task.id, task.project_id))
    stubber.assert_no_pending_responses()
    assert (report.sent, report.failed) == (1, 0)
    assert len(sleeps) == 2
    assert all(0 <= s <= 1.0 for s in sleeps)
    assert Connection.get("c-1")


def test_other_errors_count_as_failed_and_keep_the_connection(
    realtime: Realtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    task = seed_task(seed_project())
    _connect("c-1", topics=(task_topic(task.id),))
    stubber = _stubbed_client(monkeypatch)
    stubber.add_client_error(
        "post_to_connection", service_error_code="ForbiddenException", http_status_code=403
    )
    with stubber:
        report = fanout.publish(_event(task.id, task.project_id))
    assert (report.sent, report.failed, report.gone) == (0, 1, 0)
    assert Connection.get("c-1")


def test_one_client_is_built_once_from_settings(
    realtime: Realtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    connections.reset_management_client()
    first = connections.management_client()
    assert first is connections.management_client()
    assert first.meta.endpoint_url == "http://127.0.0.1:9/ws-mgmt"


def test_endpoint_from_api_id_when_no_explicit_endpoint(
    monkeypatch: pytest.MonkeyPatch, reset_caches: Callable[[], None]
) -> None:
    monkeypatch.delenv("AION_WS_MANAGEMENT_ENDPOINT", raising=False)
    monkeypatch.setenv("AION_WS_API_ID", "abc123")
    monkeypatch.setenv("AION_WS_STAGE", "ws")
    reset_caches()
    assert (
        connections.management_endpoint() == "https://abc123.execute-api.us-east-1.amazonaws.com/ws"
    )


def test_no_websocket_api_configured_publishes_nothing(
    realtime: Realtime, monkeypatch: pytest.MonkeyPatch, reset_caches: Callable[[], None]
) -> None:
    task = seed_task(seed_project())
    _connect("c-1", topics=(task_topic(task.id),))
    monkeypatch.delenv("AION_WS_MANAGEMENT_ENDPOINT")
    monkeypatch.delenv("AION_WS_API_ID", raising=False)
    reset_caches()  # the settings, and the management client made from them
    report = fanout.publish(_event(task.id, task.project_id))
    assert (report.connections, report.sent) == (1, 0)


def stubber_any() -> object:
    from botocore.stub import ANY

    return ANY


def test_recording_client_payload_is_compact_json(realtime: Realtime) -> None:
    assert isinstance(realtime.mgmt, RecordingManagementClient)
    fanout.post_many(["c-9"], {"type": "pong"})
    assert realtime.mgmt.posts == [
        ("c-9", json.dumps({"type": "pong"}, separators=(",", ":")).encode())
    ]


def test_leaving_a_project_drops_only_that_users_subscriptions(realtime: Realtime) -> None:
    topic = project_topic("prj_1")
    for cid, user in (("c-a", "usr_a"), ("c-a2", "usr_a"), ("c-b", "usr_b")):
        Subscription(
            topic, cid, user_id=user, created_at=now_epoch(), expires_at=timedelta(hours=2)
        ).save()
    assert connections.drop_project_subscriptions("prj_1", "usr_a") == 2
    assert [s.connection_id for s in Subscription.query(topic)] == ["c-b"]
