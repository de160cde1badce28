"""WebSocket connections and their subscriptions.

Key layout (no Scan anywhere):
- ``Connection``: one item per open socket, keyed by the API Gateway connection id.
- ``Subscription``: partition = topic (``task#<id>``, ``project#<id>`` or ``user#<id>``), sort =
  connection id. Publishing an event is one Query per topic. ``user#<id>`` rows mark a user's
  scope-all connections (``{"action": "subscribe", "scope": "all"}``): a project the user
  creates or joins later is granted to exactly those (one Query). The ``by-connection`` GSI
  (keys only) turns the cleanup of one connection into one Query on its id plus a batch delete.
- ``Connection.by_user`` (GSI, keys only): a user's open sockets, to close them when their
  sessions are revoked (password or role change).
- ``Subscription.by_user_project`` (GSI, keys only, sparse on ``project_id``): a user's
  subscriptions within one project - its topic and its tasks' topics - so removing a member
  drops them with one Query. ``project_id`` is the project the topic belongs to.
Both carry a TTL: API Gateway closes a socket after 2 h at the latest and ``$disconnect`` is
best effort, so DynamoDB removes what a lost ``$disconnect`` left behind.
"""

from __future__ import annotations

from pynamodb.attributes import NumberAttribute, TTLAttribute, UnicodeAttribute
from pynamodb.indexes import GlobalSecondaryIndex, KeysOnlyProjection
from pynamodb.models import Model

from chalicelib.dal.base import TableMeta, table_name

# API Gateway's hard limit on a WebSocket connection's lifetime, plus a margin.
CONNECTION_TTL_SECONDS = 2 * 60 * 60 + 5 * 60


def task_topic(task_id: str) -> str:
    return f"task#{task_id}"


def project_topic(project_id: str) -> str:
    return f"project#{project_id}"


def scope_topic(user_id: str) -> str:
    """The topic of a user's scope-all connections (rows without a project)."""
    return f"user#{user_id}"


class ConnectionsByUser(GlobalSecondaryIndex["Connection"]):
    class Meta:
        index_name = "by-user"
        projection = KeysOnlyProjection()

    user_id = UnicodeAttribute(hash_key=True)


class Connection(Model):
    class Meta(TableMeta):
        table_name = table_name("ws-connections")

    connection_id = UnicodeAttribute(hash_key=True)
    user_id = UnicodeAttribute()
    role = UnicodeAttribute()
    connected_at = NumberAttribute()  # epoch seconds; young sockets get a grace period on 410
    expires_at = TTLAttribute()

    by_user = ConnectionsByUser()


class SubscriptionsByConnection(GlobalSecondaryIndex["Subscription"]):
    class Meta:
        index_name = "by-connection"
        projection = KeysOnlyProjection()

    connection_id = UnicodeAttribute(hash_key=True)
    topic = UnicodeAttribute(range_key=True)


class SubscriptionsByUserProject(GlobalSecondaryIndex["Subscription"]):
    class Meta:
        index_name = "by-user-project"
        projection = KeysOnlyProjection()

    user_id = UnicodeAttribute(hash_key=True)
    project_id = UnicodeAttribute(range_key=True)


class Subscription(Model):
    class Meta(TableMeta):
        table_name = table_name("ws-subscriptions")

    topic = UnicodeAttribute(hash_key=True)  # task#<id> | project#<id> | user#<id>
    connection_id = UnicodeAttribute(range_key=True)
    user_id = UnicodeAttribute()
    # The project of the topic (the task's project for task#; none for user#); rows written
    # before this field existed lack it and only age out (TTL, at most 2 h).
    project_id = UnicodeAttribute(null=True)
    created_at = NumberAttribute()
    expires_at = TTLAttribute()

    by_connection = SubscriptionsByConnection()
    by_user_project = SubscriptionsByUserProject()
