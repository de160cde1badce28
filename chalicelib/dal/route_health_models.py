"""Route health: one item per route ("executor", "llm") holding its circuit breaker's state.

Shared by every Lambda; writes are conditional on ``version`` (optimistic concurrency), so two
invocations recording outcomes at once never lose each other's update.
"""

from __future__ import annotations

from pynamodb.attributes import NumberAttribute, UnicodeAttribute, VersionAttribute
from pynamodb.models import Model

from chalicelib.dal.base import TableMeta, table_name


class RouteHealth(Model):
    class Meta(TableMeta):
        table_name = table_name("route-health")

    route = UnicodeAttribute(hash_key=True)
    state = UnicodeAttribute(default="closed")  # closed | open | half_open
    failures = NumberAttribute(default=0)  # consecutive
    opened_at = NumberAttribute(default=0)  # epoch seconds (float)
    cooldown_s = NumberAttribute(default=0)
    probe_started_at = NumberAttribute(default=0)
    updated_at = UnicodeAttribute(default="")
    version = VersionAttribute()
