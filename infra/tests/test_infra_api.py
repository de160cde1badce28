"""The api stacks: Chalice's functions configured from functions.py, queue, APIs, alarms."""

from __future__ import annotations

import functools
import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from aion_infra.functions import FUNCTIONS, app_functions
from aion_infra.stacks.api import API_REFERENCE_PATH, DISPATCH_MAX_RECEIVES, gateway_responses
from aws_cdk.assertions import Match, Template
from conftest import CONTEXT, REPO_ROOT, STAGES, Synth, render, resources_of

SPECS = {f.logical_id: f for f in FUNCTIONS}


@functools.cache
def _app_functions() -> dict[str, str]:
    """{handler: kind} as the Chalice app object registered them (not app.py's text)."""
    return app_functions(_lambda_app().app)


def _lambda_app() -> ModuleType:
    """The repo's app.py as the module ``app`` (the one a Lambda imports).

    Loaded by path when the process has not imported it yet: on this sys.path ``import app``
    finds infra/app.py (the CDK app). Never loaded twice: a Chalice blueprint registers once.
    """
    path = REPO_ROOT / "app.py"
    loaded = sys.modules.get("app")
    if loaded is not None and Path(loaded.__file__ or "").resolve() == path:
        return loaded
    if str(REPO_ROOT) not in sys.path:
        sys.path.insert(0, str(REPO_ROOT))
    spec = importlib.util.spec_from_file_location("app", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["app"] = module
    spec.loader.exec_module(module)
    return module


def test_infra_knows_every_function_of_the_app_and_no_other() -> None:
    assert _app_functions() == {f.handler: f.kind for f in FUNCTIONS}


def _functions(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return resources_of(template, "AWS::Serverless::Function")


@pytest.mark.parametrize("stage", STAGES)
def test_every_handler_of_app_py_is_deployed_with_its_settings(synth: Synth, stage: str) -> None:
    functions = _functions(synth.template(stage, "api"))
    by_handler = {f.handler: f.logical_id for f in FUNCTIONS}
    assert set(functions) == {by_handler[handler] for handler in _app_functions()}
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


@pytest.mark.parametrize("stage", STAGES)
def test_gateway_answers_in_the_error_envelope_with_cors(synth: Synth, stage: str) -> None:
    """An unknown path or method is 404 in AION's envelope (not 403 "Missing Authentication
    Token"); every other gateway-level error keeps its status, in the envelope, with CORS."""
    body = synth.template(stage, "api")["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]
    responses = body["x-amazon-apigateway-gateway-responses"]
    assert set(responses) == {"MISSING_AUTHENTICATION_TOKEN", "DEFAULT_4XX", "DEFAULT_5XX"}
    missing = responses["MISSING_AUTHENTICATION_TOKEN"]
    assert missing["statusCode"] == 404
    envelope = json.loads(missing["responseTemplates"]["application/json"])
    assert envelope == {"error": {"code": "not_found", "message": "No such resource or method."}}
    for name in ("DEFAULT_4XX", "DEFAULT_5XX"):
        assert "statusCode" not in responses[name]  # the gateway's own status stays
        template = responses[name]["responseTemplates"]["application/json"]
        assert '"code": "$context.error.responseType.toLowerCase()"' in template
        assert '"message": $context.error.messageString' in template
    for response in responses.values():
        headers = response["responseParameters"]
        # The console's origin, quoted as API Gateway wants a static header value.
        origin = render(headers["gatewayresponse.header.Access-Control-Allow-Origin"])
        assert origin.startswith("'https://${Import:aion-")
        assert origin.endswith("'")
        assert headers["gatewayresponse.header.Vary"] == "'Origin'"


def test_gateway_error_template_is_json_once_api_gateway_fills_it() -> None:
    """What API Gateway's VTL does to the template, done by hand: the result parses as JSON."""
    template = gateway_responses("https://console.example")["DEFAULT_4XX"]["responseTemplates"]
    filled = (
        template["application/json"]
        .replace("$context.error.responseType.toLowerCase()", "throttled")
        .replace("$context.error.messageString", json.dumps("Too Many Requests"))
    )
    assert json.loads(filled) == {"error": {"code": "throttled", "message": "Too Many Requests"}}


@pytest.mark.parametrize("stage", STAGES)
def test_only_the_rest_handler_redirects_docs_to_the_console(synth: Synth, stage: str) -> None:
    for logical_id, fn in _functions(synth.template(stage, "api")).items():
        env = fn["Properties"]["Environment"]["Variables"]
        if SPECS[logical_id].kind == "rest":
            url = render(env["AION_DOCS_URL"])
            assert url.startswith("https://${Import:aion-")
            assert url.endswith(API_REFERENCE_PATH)
        else:
            assert "AION_DOCS_URL" not in env, logical_id
