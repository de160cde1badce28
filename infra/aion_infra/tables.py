"""DynamoDB table definitions generated from the pynamodb models (the one source of truth).

``chalicelib.dal.registry.ALL_MODELS`` lists every model; each model's ``_get_schema()`` is
what ``create_table`` sends in the dev stack and tests, so the cloud tables get exactly the
same keys, attribute types and indexes. A model with a ``TTLAttribute`` gets TTL on it.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any

from aion_infra.paths import REPO_ROOT

if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))


@dataclass(frozen=True)
class Key:
    name: str
    type: str  # DynamoDB scalar type: S, N or B


@dataclass(frozen=True)
class IndexSpec:
    name: str
    partition_key: Key
    sort_key: Key | None
    projection: str  # ALL | KEYS_ONLY | INCLUDE
    non_key_attributes: tuple[str, ...] = ()


@dataclass(frozen=True)
class TableSpec:
    short_name: str  # the part after the stage prefix, e.g. "tasks"
    model_name: str
    partition_key: Key
    sort_key: Key | None
    global_indexes: tuple[IndexSpec, ...]
    local_indexes: tuple[IndexSpec, ...]
    ttl_attribute: str | None

    def physical_name(self, prefix: str) -> str:
        return f"{prefix}{self.short_name}"


def _keys(key_schema: list[dict[str, str]], types: dict[str, str]) -> tuple[Key, Key | None]:
    hash_key = next(k["AttributeName"] for k in key_schema if k["KeyType"] == "HASH")
    range_key = next((k["AttributeName"] for k in key_schema if k["KeyType"] == "RANGE"), None)
    return (
        Key(hash_key, types[hash_key]),
        Key(range_key, types[range_key]) if range_key else None,
    )


def _index(raw: dict[str, Any], types: dict[str, str]) -> IndexSpec:
    partition_key, sort_key = _keys(raw["key_schema"], types)
    projection = raw["projection"]
    return IndexSpec(
        name=raw["index_name"],
        partition_key=partition_key,
        sort_key=sort_key,
        projection=projection["ProjectionType"],
        non_key_attributes=tuple(projection.get("NonKeyAttributes", ())),
    )


def spec_for(model: Any, prefix: str) -> TableSpec:
    """One model's table; ``prefix`` is the table prefix the models were imported with."""
    full_name: str = model.Meta.table_name
    if not full_name.startswith(prefix):
        raise ValueError(f"{model.__name__}: table {full_name!r} lacks the prefix {prefix!r}")
    schema = model._get_schema()
    types = {d["AttributeName"]: d["AttributeType"] for d in schema["attribute_definitions"]}
    for index in [*schema["global_secondary_indexes"], *schema["local_secondary_indexes"]]:
        types.update(
            {d["AttributeName"]: d["AttributeType"] for d in index["attribute_definitions"]}
        )
    partition_key, sort_key = _keys(schema["key_schema"], types)
    ttl = model._ttl_attribute()
    return TableSpec(
        short_name=full_name[len(prefix) :],
        model_name=model.__name__,
        partition_key=partition_key,
        sort_key=sort_key,
        global_indexes=tuple(_index(i, types) for i in schema["global_secondary_indexes"]),
        local_indexes=tuple(_index(i, types) for i in schema["local_secondary_indexes"]),
        ttl_attribute=ttl.attr_name if ttl is not None else None,
    )


def table_specs() -> list[TableSpec]:
    """Every table of the system, in registry order."""
    from chalicelib.config import get_settings
    from chalicelib.dal.registry import ALL_MODELS

    prefix = get_settings().table_prefix
    specs = [spec_for(model, prefix) for model in ALL_MODELS]
    names = [s.short_name for s in specs]
    duplicates = {n for n in names if names.count(n) > 1}
    if duplicates:
        raise ValueError(f"two models share a table: {sorted(duplicates)}")
    return specs
