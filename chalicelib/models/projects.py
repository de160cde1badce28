"""Projects and their members."""

from __future__ import annotations

from typing import Annotated

from pydantic import StringConstraints

from chalicelib.models.base import ApiModel, RequestModel

ProjectName = Annotated[str, StringConstraints(min_length=1, max_length=120)]
Description = Annotated[str, StringConstraints(max_length=2000)]


class ProjectOut(ApiModel):
    id: str
    name: str
    description: str
    owner_id: str
    member_ids: list[str]
    created_at: str
    updated_at: str
    version: int


class ProjectList(ApiModel):
    items: list[ProjectOut]
    next_cursor: str | None


class ProjectCreate(RequestModel):
    name: ProjectName
    description: Description = ""


class ProjectUpdate(RequestModel):
    name: ProjectName | None = None
    description: Description | None = None
