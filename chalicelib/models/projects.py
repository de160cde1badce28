"""Projects and their members."""

from __future__ import annotations

from typing import Annotated

from pydantic import ConfigDict, StringConstraints

from chalicelib.models.base import ApiModel, RequestModel

ProjectName = Annotated[str, StringConstraints(min_length=1, max_length=120)]
Description = Annotated[str, StringConstraints(max_length=2000)]


class ProjectOut(ApiModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "prj_9a8b7c6d5e4f30211203",
                    "name": "Quarterly reports",
                    "description": "Summaries and checks of the Q3 filings",
                    "ownerId": "usr_5f0c1e2d3b4a59687766",
                    "memberIds": ["usr_5f0c1e2d3b4a59687766", "usr_0a1b2c3d4e5f60718293"],
                    "createdAt": "2026-11-02T09:20:41.512Z",
                    "updatedAt": "2026-11-03T16:02:10.004Z",
                    "version": 3,
                }
            ]
        }
    )

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
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "Quarterly reports",
                    "description": "Summaries and checks of the Q3 filings",
                }
            ]
        }
    )

    name: ProjectName
    description: Description = ""


class ProjectUpdate(RequestModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"description": "Summaries, checks and hashes of the Q3 filings"}]
        }
    )

    name: ProjectName | None = None
    description: Description | None = None
