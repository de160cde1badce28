"""The DynamoDB tables in the data stacks are exactly the pynamodb models' tables."""

from __future__ import annotations

from typing import Any

import pytest
from aion_infra.tables import spec_for, table_specs
from conftest import STAGES, Synth, resources_of
from pynamodb.attributes import NumberAttribute, TTLAttribute, UnicodeAttribute
from pynamodb.indexes import GlobalSecondaryIndex, IncludeProjection, LocalSecondaryIndex
from pynamodb.models import Model


def _key_schema(spec_hash: str, spec_range: str | None) -> list[dict[str, str]]:
    schema = [{"AttributeName": spec_hash, "KeyType": "HASH"}]
    if spec_range:
        schema.append({"AttributeName": spec_range, "KeyType": "RANGE"})
    return schema


def _tables_by_name(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        r["Properties"]["TableName"]: r
        for r in resources_of(template, "AWS::DynamoDB::Table").values()
    }


@pytest.mark.parametrize("stage", STAGES)
def test_every_model_has_its_table_and_nothing_else(synth: Synth, stage: str) -> None:
    tables = _tables_by_name(synth.template(stage, "data"))
    from chalicelib.dal.registry import ALL_MODELS

    expected = {spec.physical_name(f"aion-{stage}-") for spec in table_specs()}
    assert len(expected) == len(ALL_MODELS)
    assert set(tables) == expected


@pytest.mark.parametrize("stage", STAGES)
def test_tables_match_the_models_keys_indexes_and_ttl(synth: Synth, stage: str) -> None:
    tables = _tables_by_name(synth.template(stage, "data"))
    for model_spec in table_specs():
        props = tables[model_spec.physical_name(f"aion-{stage}-")]["Properties"]
        pk, sk = model_spec.partition_key, model_spec.sort_key
        assert props["KeySchema"] == _key_schema(pk.name, sk.name if sk else None)

        # Every key attribute of the table and its indexes, with the model's type.
        wanted = {pk.name: pk.type, **({sk.name: sk.type} if sk else {})}
        for index in (*model_spec.global_indexes, *model_spec.local_indexes):
            wanted[index.partition_key.name] = index.partition_key.type
            if index.sort_key:
                wanted[index.sort_key.name] = index.sort_key.type
        defined = {d["AttributeName"]: d["AttributeType"] for d in props["AttributeDefinitions"]}
        assert defined == wanted, model_spec.model_name

        gsis = {g["IndexName"]: g for g in props.get("GlobalSecondaryIndexes", [])}
        assert set(gsis) == {i.name for i in model_spec.global_indexes}, model_spec.model_name
        for index in model_spec.global_indexes:
            gsi = gsis[index.name]
            assert gsi["KeySchema"] == _key_schema(
                index.partition_key.name, index.sort_key.name if index.sort_key else None
            )
            assert gsi["Projection"]["ProjectionType"] == index.projection
            assert sorted(gsi["Projection"].get("NonKeyAttributes", [])) == sorted(
                index.non_key_attributes
            )
        lsis = {i["IndexName"] for i in props.get("LocalSecondaryIndexes", [])}
        assert lsis == {i.name for i in model_spec.local_indexes}

        ttl = props.get("TimeToLiveSpecification")
        if model_spec.ttl_attribute:
            assert ttl == {"AttributeName": model_spec.ttl_attribute, "Enabled": True}
        else:
            assert ttl is None, model_spec.model_name


@pytest.mark.parametrize("stage", STAGES)
def test_tables_are_on_demand_encrypted_with_point_in_time_recovery(
    synth: Synth, stage: str
) -> None:
    for name, table in _tables_by_name(synth.template(stage, "data")).items():
        props = table["Properties"]
        assert props["BillingMode"] == "PAY_PER_REQUEST", name
        # SSEEnabled without a key = KMS with the AWS-managed key (not the default owned key).
        assert props["SSESpecification"]["SSEEnabled"] is True, name
        assert props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True


def test_prod_retains_data_and_dev_does_not(synth: Synth) -> None:
    for table in _tables_by_name(synth.template("prod", "data")).values():
        assert table["DeletionPolicy"] == "Retain"
        assert table["Properties"]["DeletionProtectionEnabled"] is True
    for table in _tables_by_name(synth.template("dev", "data")).values():
        assert table["DeletionPolicy"] == "Delete"
        assert table["Properties"].get("DeletionProtectionEnabled") in (None, False)
    prod_buckets = resources_of(synth.template("prod", "data"), "AWS::S3::Bucket")
    assert all(b["DeletionPolicy"] == "Retain" for b in prod_buckets.values())
    prod_secrets = resources_of(synth.template("prod", "data"), "AWS::SecretsManager::Secret")
    assert len(prod_secrets) == 2
    assert all(s["DeletionPolicy"] == "Retain" for s in prod_secrets.values())


# --- the generator itself, on models made up here (shapes the registry does not use yet) -----


class _ByOwner(GlobalSecondaryIndex["_Widget"]):
    class Meta:
        index_name = "by-owner"
        projection = IncludeProjection(["title"])

    owner = UnicodeAttribute(hash_key=True)
    rank = NumberAttribute(range_key=True)


class _ByCreated(LocalSecondaryIndex["_Widget"]):
    class Meta:
        index_name = "by-created"
        projection = IncludeProjection(["title"])

    id = UnicodeAttribute(hash_key=True)
    created = UnicodeAttribute(range_key=True)


class _Widget(Model):
    class Meta:
        table_name = "pre-widgets"
        region = "us-east-1"

    id = UnicodeAttribute(hash_key=True)
    part = NumberAttribute(range_key=True, attr_name="p")
    owner = UnicodeAttribute()
    rank = NumberAttribute()
    created = UnicodeAttribute()
    title = UnicodeAttribute()
    gone_at = TTLAttribute(attr_name="ttl")
    by_owner = _ByOwner()
    by_created = _ByCreated()


def test_generator_reads_keys_indexes_projections_and_ttl_from_a_model() -> None:
    spec = spec_for(_Widget, "pre-")
    assert spec.short_name == "widgets"
    assert (spec.partition_key.name, spec.partition_key.type) == ("id", "S")
    assert spec.sort_key is not None
    assert (spec.sort_key.name, spec.sort_key.type) == ("p", "N")  # the DynamoDB name
    assert spec.ttl_attribute == "ttl"
    (gsi,) = spec.global_indexes
    assert (gsi.name, gsi.projection, gsi.non_key_attributes) == ("by-owner", "INCLUDE", ("title",))
    assert gsi.sort_key is not None
    assert gsi.sort_key.type == "N"
    (lsi,) = spec.local_indexes
    assert lsi.name == "by-created"
    assert lsi.sort_key is not None
    assert lsi.sort_key.name == "created"


def test_generator_refuses_a_table_outside_the_prefix() -> None:
    with pytest.raises(ValueError, match="lacks the prefix"):
        spec_for(_Widget, "other-")
