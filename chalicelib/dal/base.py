"""What every table shares: region, on-demand billing, prefixed names.

The endpoint comes from botocore's own ``AWS_ENDPOINT_URL`` (the dev stack points it at moto
server), so nothing here knows about the dev stack.
"""

from __future__ import annotations

from pynamodb.constants import PAY_PER_REQUEST_BILLING_MODE

from chalicelib.config import get_settings, table_name


class TableMeta:
    """Base for every model's ``Meta``: subclass it and set ``table_name``."""

    region = get_settings().region
    billing_mode = PAY_PER_REQUEST_BILLING_MODE
    # Lambda reuses the connection across invocations; keep retries short on the request path.
    max_retry_attempts = 3
    connect_timeout_seconds = 2
    read_timeout_seconds = 5


__all__ = ["TableMeta", "table_name"]
