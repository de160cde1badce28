"""Least privilege: one role per function, each with only what functions.py says it calls."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from aion_infra.functions import ALL_TABLES, FUNCTIONS, FunctionSpec
from conftest import STAGES, Synth, render, resources_of


def _statements(doc: dict[str, Any]) -> Iterator[dict[str, Any]]:
    statements = doc.get("Statement", [])
    yield from statements if isinstance(statements, list) else [statements]


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _role_id(fn: dict[str, Any]) -> str:
    return fn["Properties"]["Role"]["Fn::GetAtt"][0]


def _role_statements(template: dict[str, Any], role_id: str) -> list[dict[str, Any]]:
    """Every statement of every policy attached to the role (inline Policy resources)."""
    found: list[dict[str, Any]] = []
    for policy in resources_of(template, "AWS::IAM::Policy").values():
        roles = [r.get("Ref") for r in policy["Properties"].get("Roles", [])]
        if role_id in roles:
            found.extend(_statements(policy["Properties"]["PolicyDocument"]))
    role = template["Resources"][role_id]["Properties"]
    for inline in role.get("Policies", []):
        found.extend(_statements(inline["PolicyDocument"]))
    assert not role.get("ManagedPolicyArns"), f"{role_id} has managed policies"
    return found


def _actions(statements: list[dict[str, Any]]) -> set[str]:
    return {a for s in statements for a in _as_list(s["Action"])}


def _functions(synth: Synth, stage: str) -> dict[str, tuple[FunctionSpec, list[dict[str, Any]]]]:
    template = synth.template(stage, "api")
    present = resources_of(template, "AWS::Serverless::Function")
    specs = {f.logical_id: f for f in FUNCTIONS}
    return {
        logical_id: (specs[logical_id], _role_statements(template, _role_id(fn)))
        for logical_id, fn in present.items()
    }


def _flat(value: Any) -> str:
    """Resources (a string, an intrinsic or a list of them) as one text."""
    return " ".join(render(v) for v in _as_list(value))


_TABLE_ARN = re.compile(r":table/aion-(?:dev|prod)-([a-z0-9-]+?)(/index/\*)?$")


def _tables_in(statements: list[dict[str, Any]], action: str) -> set[str]:
    names = set()
    for statement in statements:
        if action in _as_list(statement["Action"]):
            for resource in _as_list(statement["Resource"]):
                match = _TABLE_ARN.search(render(resource))
                assert match, render(resource)
                names.add(match.group(1))
    return names


@pytest.mark.parametrize("stage", STAGES)
def test_no_template_grants_wildcard_actions(synth: Synth, stage: str) -> None:
    for name, template in synth.templates():
        if f"aion-{stage}-" not in name:
            continue
        for policy_type in ("AWS::IAM::Policy", "AWS::IAM::Role", "AWS::IAM::ManagedPolicy"):
            for logical_id, resource in resources_of(template, policy_type).items():
                props = resource["Properties"]
                docs = [props.get("PolicyDocument")] + [
                    p["PolicyDocument"] for p in props.get("Policies", [])
                ]
                for doc in filter(None, docs):
                    for statement in _statements(doc):
                        for action in _as_list(statement.get("Action", [])):
                            assert action != "*", f"{name} {logical_id}"
                            assert not action.endswith(":*"), f"{name} {logical_id}: {action}"


@pytest.mark.parametrize("stage", STAGES)
def test_each_function_has_its_own_role(synth: Synth, stage: str) -> None:
    functions = resources_of(synth.template(stage, "api"), "AWS::Serverless::Function")
    roles = [_role_id(fn) for fn in functions.values()]
    assert len(set(roles)) == len(roles) == len(functions)
    assert {"APIHandler"} <= set(functions)


@pytest.mark.parametrize("stage", STAGES)
def test_dynamodb_actions_are_explicit_and_scoped_to_the_named_tables(
    synth: Synth, stage: str
) -> None:
    from aion_infra.tables import table_specs

    every_table = {s.short_name for s in table_specs()}
    for logical_id, (spec, statements) in _functions(synth, stage).items():
        dynamo = [
            s
            for s in statements
            if any(a.startswith("dynamodb:") for a in _as_list(s["Action"]))
            and _as_list(s["Action"]) != ["dynamodb:DescribeTable"]
        ]
        actions = _actions(dynamo)
        assert "dynamodb:Scan" not in actions, logical_id
        assert not any("*" in a for a in actions), logical_id
        wanted_rw = every_table if spec.tables_rw == ALL_TABLES else set(spec.tables_rw)
        assert _tables_in(dynamo, "dynamodb:GetItem") == wanted_rw | set(spec.tables_ro), logical_id
        assert _tables_in(dynamo, "dynamodb:PutItem") == wanted_rw, logical_id
        assert _tables_in(dynamo, "dynamodb:UpdateItem") == wanted_rw, logical_id


@pytest.mark.parametrize("stage", STAGES)
def test_websocket_management_only_where_needed(synth: Synth, stage: str) -> None:
    for logical_id, (spec, statements) in _functions(synth, stage).items():
        manage = [s for s in statements if "execute-api:ManageConnections" in _as_list(s["Action"])]
        assert bool(manage) == spec.manages_connections, logical_id
        for statement in manage:
            assert "@connections/*" in _flat(statement["Resource"])
            assert "WebsocketAPI" in _flat(statement["Resource"])  # this API, not any API


@pytest.mark.parametrize("stage", STAGES)
def test_queue_secrets_and_bucket_grants_follow_the_function_table(
    synth: Synth, stage: str
) -> None:
    functions = _functions(synth, stage)
    assert "Dispatch" in functions or not any(
        f.consumes_queue for f in FUNCTIONS if f.logical_id in functions
    )
    for logical_id, (spec, statements) in functions.items():
        actions = _actions(statements)
        assert ("sqs:SendMessage" in actions) == spec.sends_to_queue, logical_id
        assert ("sqs:ReceiveMessage" in actions) == spec.consumes_queue, logical_id
        secrets = [
            s for s in statements if "secretsmanager:GetSecretValue" in _as_list(s["Action"])
        ]
        text = _flat([s["Resource"] for s in secrets])
        assert ("JwtSecret" in text) == spec.jwt_secret, logical_id
        assert ("BridgeToken" in text) == spec.bridge_token, logical_id
        s3 = [s for s in statements if any(a.startswith("s3:") for a in _as_list(s["Action"]))]
        assert len(s3) == len(spec.files), logical_id
        for statement in s3:
            resources = _flat(statement["Resource"])
            assert any(f"/{g.prefix}*" in resources for g in spec.files), (logical_id, resources)
        ec2 = {a for a in actions if a.startswith("ec2:")}
        assert bool(ec2) == spec.in_vpc, logical_id
        assert ("aion/llm-AbCdEf" in text) == spec.llm, logical_id
        bedrock = [s for s in statements if "bedrock:InvokeModel" in _as_list(s["Action"])]
        assert bool(bedrock) == spec.llm, logical_id
        for statement in bedrock:
            resources = _flat(statement["Resource"])
            assert "inference-profile/us.anthropic.claude-3-5-haiku-20241022-v1:0" in resources
            assert "foundation-model/anthropic.claude-3-5-haiku-20241022-v1:0" in resources
            assert "foundation-model/*" not in resources


def test_the_dispatcher_and_rest_can_manage_websockets_and_ws_disconnect_cannot(
    synth: Synth,
) -> None:
    functions = _functions(synth, "dev")
    assert "execute-api:ManageConnections" in _actions(functions["Dispatch"][1])
    # REST posts a task's first event and closes a user's sockets when their sessions are
    # revoked (DELETE @connections/{id}): the stage/*/ wildcard covers POST and DELETE.
    assert "execute-api:ManageConnections" in _actions(functions["APIHandler"][1])
    assert "execute-api:ManageConnections" not in _actions(functions["WebsocketDisconnect"][1])


@pytest.mark.parametrize("stage", STAGES)
def test_only_the_rest_handler_tags_objects_and_only_upload_keys(synth: Synth, stage: str) -> None:
    """Presigned uploads are stored tagged (the POST needs PutObjectTagging) and completion
    copies them to files/ tagged ready: the REST handler's job, on those keys only."""
    taggers = {}
    for logical_id, (_spec, statements) in _functions(synth, stage).items():
        tagging = [s for s in statements if "s3:PutObjectTagging" in _as_list(s["Action"])]
        if tagging:
            taggers[logical_id] = sorted(
                "/".join(render(r).split("/")[-2:])
                for s in tagging
                for r in _as_list(s["Resource"])
            )
    assert taggers == {"APIHandler": ["files/*", "tasks/*", "uploads/*"]}
