"""Every table of the system, in one list: the dev stack, tests and infra/ create them from it.

Adding a model = defining it and listing it here; infra's tables are generated from this list.
"""

from __future__ import annotations

from pynamodb.models import Model

from chalicelib.dal import (
    admission_models,
    auth_models,
    models,
    realtime_models,
    route_health_models,
)

ALL_MODELS: list[type[Model]] = [
    models.User,
    models.UserEmail,
    models.Project,
    models.ProjectMember,
    models.Task,
    models.Activity,
    models.File,
    models.IdempotencyRecord,
    models.ProjectPurge,
    realtime_models.Connection,
    realtime_models.Subscription,
    auth_models.RefreshToken,
    auth_models.RefreshFamily,
    auth_models.LoginThrottle,
    auth_models.WsTicket,
    auth_models.ApiKey,
    route_health_models.RouteHealth,
    admission_models.Slot,
]


def create_all_tables() -> None:
    """Create every missing table (dev stack and tests; the cloud uses infra/)."""
    for model in ALL_MODELS:
        if not model.exists():
            model.create_table(wait=True)
