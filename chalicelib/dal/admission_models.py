"""Places of the dispatcher's concurrency scopes (``chalicelib.logic.admission``).

A scope (``user#<id>``, ``project#<id>``, ``lane#long``) has ``cap`` places, one item each
(``index`` 0..cap-1). A run holds a place by writing its lease owner into it, conditional on
the place being free (absent, or its ``expires_at`` past); it renews ``expires_at`` with its
task's lease and deletes the item when it ends. A run that dies frees its places when their
lease expires: nothing is kept in memory, so every Lambda sees the same counts.
"""

from __future__ import annotations

from pynamodb.attributes import NumberAttribute, TTLAttribute, UnicodeAttribute
from pynamodb.models import Model

from chalicelib.dal.base import TableMeta, table_name


class Slot(Model):
    class Meta(TableMeta):
        table_name = table_name("slots")

    scope = UnicodeAttribute(hash_key=True)
    index = NumberAttribute(range_key=True)
    holder = UnicodeAttribute()  # the lease owner of the run holding the place
    task_id = UnicodeAttribute()
    expires_at = NumberAttribute()  # epoch seconds: past, the place is free again
    # DynamoDB deletes places forgotten by runs that died (a day after they expired).
    ttl = TTLAttribute(null=True)
