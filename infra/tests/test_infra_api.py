"""The api stacks: Chalice's functions configured from functions.py, queue, APIs, alarms."""

from __future__ import annotations

import re
from typing import Any

import pytest
from aion_infra.functions import FUNCTIONS
from aion_infra.stacks.api import DISPATCH_MAX_RECEIVES
from aws_cdk.assertions import Match, Template
from conftest import CONTEXT, STAGES, Synth, render, resources_of

SPECS = {f.logical_id: f for f in FUNCTIONS}
APP_PY = (__import__("conftest").REPO_ROOT / "app.py").read_text(encoding="utf-8")


def _defined_in_app(handler: str) -> bool:
    if handler == "api_handler":
        return True
    return re.search(rf"^def {handler}\(", APP_PY, re.MULTILINE) is not None


def _functions(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return resources_of(template, "AWS::Serverless::Function")


@pytest.mark.parametrize("stage", STAGES)
def test_every_handler_of_app_py_is_deployed_with_its_settings(synth: Synth, stage: str) -> None:
    functions = _functions(synth.template(stage, "api"))
    expected = {f.logical_id for f in FUNCTIONS if _defined_in_app(f.handler)}
    assert set(functions) == expected
    for logical_id, fn in functions.items():
        spec, props = SPECS[logical_id], fn["Properties"]
        assert props["Runtime"] == "python3.12"
        assert props["Tracing"] == "Active"
        assert props["FunctionName"] == f"aion-{stage}-{spec.handler.replace('_', '-')}"
        assert props["MemorySize"] == spec.memory_mb
        assert props["Timeout"] == spec.timeout_s
        assert props["Layers"] == [{"Ref": "ManagedLayer"}]
        assert ("VpcConfig" in props) == spec.in_vpc, logical_id


@pytest.mark.parametrize("stage", STAGES)
def test_environment_names_secrets_by_arn_only(synth: Synth, stage: str) -> None:
    for logical_id, fn in _functions(synth.template(stage, "api")).items():
        spec, env = SPECS[logical_id], fn["Properties"]["Environment"]["Variables"]
        assert "AION_JWT_SECRET" not in env
        assert "AION_BRIDGE_TOKEN" not in env
        assert env["AION_TABLE_PREFIX"] == f"aion-{stage}-"
        assert env["AION_DISPATCH_QUEUE_NAME"] == f"aion-{stage}-dispatch"
        assert env["AION_EXECUTOR_TARGET"] == f"executor.aion-{stage}.internal:50051"
        assert env["AION_WS_STAGE"] == "api"
        assert render(env["AION_CORS_ORIGIN"]).startswith("https://${Import:aion-")
        assert ("AION_JWT_SECRET_ARN" in env) == spec.jwt_secret, logical_id
        assert ("AION_BRIDGE_TOKEN_ARN" in env) == spec.bridge_token, logical_id
        assert ("AION_LLM_API_KEY_ARN" in env) == spec.llm, logical_id
        assert env["AION_BEDROCK_MODEL_ID"] == CONTEXT["bedrockModelId"]
        if spec.manages_connections:
            assert env["AION_WS_API_ID"] == {"Ref": "WebsocketAPI"}
            assert render(env["AION_WS_MANAGEMENT_ENDPOINT"]).startswith("https://${WebsocketAPI}")


@pytest.mark.parametrize("stage", STAGES)
def test_dispatch_queue_dlq_and_event_source(synth: Synth, stage: str) -> None:
    template = synth.template(stage, "api")
    assertions = Template.from_json(template)
    dispatch_timeout = SPECS["Dispatch"].timeout_s
    assertions.has_resource_properties(
        "AWS::SQS::Queue",
        {
            "QueueName": f"aion-{stage}-dispatch",
            "VisibilityTimeout": 6 * dispatch_timeout,
            "SqsManagedSseEnabled": True,
            "RedrivePolicy": {
                "deadLetterTargetArn": Match.any_value(),
                "maxReceiveCount": DISPATCH_MAX_RECEIVES,
            },
        },
    )
    assertions.has_resource_properties(
        "AWS::SQS::Queue",
        {"QueueName": f"aion-{stage}-dispatch-dlq", "MessageRetentionPeriod": 1209600},
    )
    assertions.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "MetricName": "ApproximateNumberOfMessagesVisible",
            "Threshold": 1,
            "AlarmActions": Match.any_value(),
        },
    )
    functions = _functions(template)
    if "Dispatch" not in functions:
        pytest.skip("app.py has no dispatch handler yet")
    props = functions["Dispatch"]["Properties"]
    (event,) = props["Events"].values()
    assert event["Type"] == "SQS"
    assert render(event["Properties"]["Queue"]).startswith("${DispatchQueue")
    assert event["Properties"]["ScalingConfig"]["MaximumConcurrency"] >= 2
    assert props["Environment"]["Variables"]["AION_DISPATCH_MAX_RECEIVES"] == str(
        DISPATCH_MAX_RECEIVES
    )
    # The dispatcher's role and policies exist before the function and its event source.
    depends = set(functions["Dispatch"].get("DependsOn", []))
    assert any(d.startswith("PolicyDispatch") for d in depends)
    assert any(d.startswith("RoleDispatchDefaultPolicy") for d in depends)  # VPC statements


def test_sweeper_runs_every_minute(synth: Synth) -> None:
    functions = _functions(synth.template("dev", "api"))
    if "Sweep" not in functions:
        pytest.skip("app.py has no sweep handler yet")
    (event,) = functions["Sweep"]["Properties"]["Events"].values()
    assert event == {"Type": "Schedule", "Properties": {"Schedule": "rate(1 minute)"}}


@pytest.mark.parametrize("stage", STAGES)
def test_rest_api_throttled_traced_and_logged(synth: Synth, stage: str) -> None:
    rest = synth.template(stage, "api")["Resources"]["RestAPI"]["Properties"]
    assert rest["TracingEnabled"] is True
    assert rest["EndpointConfiguration"] == "REGIONAL"
    assert rest["StageName"] == "api"
    assert rest["DefinitionBody"]["info"]["title"] == f"aion-{stage}"
    (settings,) = rest["MethodSettings"]
    assert settings["ThrottlingRateLimit"] > 0
    assert settings["ThrottlingBurstLimit"] > 0
    assert settings["DataTraceEnabled"] is False
    assert "DestinationArn" in rest["AccessLogSetting"]
    Template.from_json(synth.template(stage, "api")).has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "MetricName": "5XXError",
            "Dimensions": Match.array_with([{"Name": "ApiName", "Value": f"aion-{stage}"}]),
        },
    )


@pytest.mark.parametrize("stage", STAGES)
def test_websocket_api_routes_and_stage(synth: Synth, stage: str) -> None:
    template = synth.template(stage, "api")
    if "WebsocketAPI" not in template["Resources"]:
        pytest.skip("app.py has no WebSocket handlers yet")
    routes = {
        r["Properties"]["RouteKey"]
        for r in resources_of(template, "AWS::ApiGatewayV2::Route").values()
    }
    assert routes == {"$connect", "$default", "$disconnect"}
    stage_props = template["Resources"]["WebsocketAPIStage"]["Properties"]
    assert stage_props["StageName"] == "api"
    assert stage_props["DefaultRouteSettings"]["ThrottlingRateLimit"] > 0
    assert stage_props["DefaultRouteSettings"]["DataTraceEnabled"] is False
    assert "DestinationArn" in stage_props["AccessLogSettings"]


@pytest.mark.parametrize("stage", STAGES)
def test_outputs(synth: Synth, stage: str) -> None:
    api = synth.template(stage, "api")["Outputs"]
    assert render(api["RestApiUrl"]["Value"]).startswith("https://${RestAPI}.execute-api.")
    assert render(api["RestApiUrl"]["Value"]).endswith("/api")
    assert {"DispatchQueueUrl", "DispatchDlqUrl"} <= set(api)
    if "WebsocketAPI" in synth.template(stage, "api")["Resources"]:
        assert render(api["WebSocketUrl"]["Value"]).startswith("wss://${WebsocketAPI}.execute-api.")
    assert {
        "TablePrefix",
        "FilesBucketName",
        "JwtSecretArn",
        "BridgeTokenSecretArn",
        "AlarmTopicArn",
    } <= set(synth.template(stage, "data")["Outputs"])
    assert {"ExecutorTarget", "ClusterName", "ServiceName", "VpcId"} <= set(
        synth.template(stage, "executor")["Outputs"]
    )
    assert {"ConsoleUrl", "ConsoleBucketName", "DistributionId"} <= set(
        synth.template(stage, "web")["Outputs"]
    )


def test_lambda_packages_fit_the_limits(synth: Synth) -> None:
    """The dependency layer and the app zip, as uploaded (50 MB is Lambda's direct-upload cap)."""
    assets = {p.name: p.stat().st_size for p in synth.outdir.glob("asset.*.zip")}
    template = synth.template("dev", "api")
    layer_key = template["Resources"]["ManagedLayer"]["Properties"]["ContentUri"]["Key"]
    code_key = template["Resources"]["APIHandler"]["Properties"]["CodeUri"]["Key"]
    layer, code = assets[f"asset.{layer_key}"], assets[f"asset.{code_key}"]
    assert layer < 50 * 1024 * 1024
    assert code < 2 * 1024 * 1024  # app.py + chalicelib only
    print(f"lambda package: layer {layer / 1e6:.1f} MB + app {code / 1e6:.2f} MB (zipped)")
