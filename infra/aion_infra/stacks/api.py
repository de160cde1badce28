"""The Chalice app (REST API, WebSocket API, dispatcher, sweeper), the dispatch queue, one IAM
role per function, API throttling and logging, and the alarms of the request path."""

from __future__ import annotations

import json
from typing import Any

from aws_cdk import ArnFormat, Aws, CfnOutput, CfnResource, Duration, RemovalPolicy, Stack
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_apigatewayv2 as apigatewayv2
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from aion_infra.chalice_app import package_chalice_app
from aion_infra.functions import ALL_TABLES, FUNCTIONS, FunctionSpec, specs_for
from aion_infra.nag import suppress
from aion_infra.settings import StageSettings
from aion_infra.stacks.executor import grant_lambda_vpc_access
from aion_infra.tables import TableSpec

API_STAGE = "api"  # REST and WebSocket stage name (the dev stack serves the same paths under /api)
DISPATCH_MAX_RECEIVES = 5  # SQS redrive; the dispatcher reads the same number (env)
READ_ACTIONS = (
    "dynamodb:GetItem",
    "dynamodb:BatchGetItem",
    "dynamodb:Query",
    "dynamodb:ConditionCheckItem",
)
WRITE_ACTIONS = (
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:BatchWriteItem",
)
_ACCESS_LOG_FORMAT = json.dumps(
    {
        "requestId": "$context.requestId",
        "ip": "$context.identity.sourceIp",
        "requestTime": "$context.requestTime",
        "method": "$context.httpMethod",
        "path": "$context.resourcePath",
        "routeKey": "$context.routeKey",
        "status": "$context.status",
        "latencyMs": "$context.responseLatency",
        "integrationError": "$context.integrationErrorMessage",
    }
)


# Where the site stack uploads the API reference page, relative to the console's origin.
API_REFERENCE_PATH = "/docs/index.html"
# API Gateway's own answers in AION's error envelope ({"error": {"code", "message"}}). An
# unknown path, or a method a path does not have, is MISSING_AUTHENTICATION_TOKEN (403 "Missing
# Authentication Token" by default): 404 here, as the API answers for what does not exist.
# Other gateway-level failures keep their status; the code is the response type in snake case
# (throttled, request_too_large, integration_timeout, ...), the message API Gateway's own.
_NOT_FOUND_TEMPLATE = json.dumps(
    {"error": {"code": "not_found", "message": "No such resource or method."}}
)
_GATEWAY_ERROR_TEMPLATE = (
    '{"error": {"code": "$context.error.responseType.toLowerCase()", '
    '"message": $context.error.messageString}}'
)


def gateway_responses(cors_origin: str) -> dict[str, Any]:
    """``x-amazon-apigateway-gateway-responses``: envelope bodies with the console's CORS
    headers, so the console can read a gateway error as it reads the API's own."""
    headers = {
        "gatewayresponse.header.Access-Control-Allow-Origin": f"'{cors_origin}'",
        "gatewayresponse.header.Access-Control-Expose-Headers": "'Retry-After'",
        "gatewayresponse.header.Vary": "'Origin'",
    }

    def response(template: str, status: int | None = None) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "responseParameters": dict(headers),
            "responseTemplates": {"application/json": template},
        }
        if status is not None:
            entry["statusCode"] = status
        return entry

    return {
        "MISSING_AUTHENTICATION_TOKEN": response(_NOT_FOUND_TEMPLATE, 404),
        "DEFAULT_4XX": response(_GATEWAY_ERROR_TEMPLATE),
        "DEFAULT_5XX": response(_GATEWAY_ERROR_TEMPLATE),
    }


class ApiStack(Stack):
    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        settings: StageSettings,
        table_specs: list[TableSpec],
        files_bucket: s3.IBucket,
        jwt_secret: secretsmanager.ISecret,
        bridge_token: secretsmanager.ISecret,
        alarm_topic: sns.ITopic,
        vpc: ec2.IVpc,
        executor_clients: ec2.ISecurityGroup,
        executor_target: str,
        console_origin: str,
        bedrock_model_id: str = "",
        llm_endpoint: str = "",
        llm_model: str = "",
        llm_api_key_secret_arn: str = "",
        **kw: Any,
    ) -> None:
        super().__init__(scope, id, **kw)
        self.settings = settings
        self.console_origin = console_origin
        self.table_specs = {spec.short_name: spec for spec in table_specs}
        self.files_bucket = files_bucket
        self.jwt_secret = jwt_secret
        self.bridge_token = bridge_token
        self.bedrock_model_id = bedrock_model_id
        self.llm_api_key = (
            secretsmanager.Secret.from_secret_complete_arn(
                self, "LlmApiKey", llm_api_key_secret_arn
            )
            if llm_api_key_secret_arn
            else None
        )
        self.alarm_action = cw_actions.SnsAction(alarm_topic)
        dispatch_spec = next(f for f in FUNCTIONS if f.handler == "dispatch")
        self.dispatch_queue_name = f"{settings.prefix}dispatch"

        self.dlq = sqs.Queue(
            self,
            "DispatchDlq",
            queue_name=f"{settings.prefix}dispatch-dlq",
            retention_period=Duration.days(14),
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
        )
        self.queue = sqs.Queue(
            self,
            "DispatchQueue",
            queue_name=self.dispatch_queue_name,
            # AWS: at least six times the consumer's timeout, so a throttled or retried batch
            # never becomes visible while a dispatcher still works on it.
            visibility_timeout=Duration.seconds(6 * dispatch_spec.timeout_s),
            retention_period=Duration.days(4),
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            dead_letter_queue=sqs.DeadLetterQueue(
                queue=self.dlq, max_receive_count=DISPATCH_MAX_RECEIVES
            ),
        )

        self.roles: dict[str, iam.Role] = {}
        api_role = self._role(next(f for f in FUNCTIONS if f.kind == "rest"))

        common_env = {
            "AION_STAGE": settings.stage,
            "AION_TABLE_PREFIX": settings.prefix,
            "AION_FILES_BUCKET": files_bucket.bucket_name,
            "AION_DISPATCH_QUEUE_URL": self.queue.queue_url,
            # Literal, not a token: Chalice sets these while importing app.py, and the SQS
            # decorator builds its queue ARN from this name.
            "AION_DISPATCH_QUEUE_NAME": self.dispatch_queue_name,
            "AION_DISPATCH_MAX_RECEIVES": str(DISPATCH_MAX_RECEIVES),
            "AION_LONG_LANE_SLOTS": str(settings.long_lane_slots),
            "AION_LLM_LANE_SLOTS": str(settings.llm_lane_slots),
            "AION_EXECUTOR_TARGET": executor_target,
            "AION_WS_STAGE": API_STAGE,
            "AION_CORS_ORIGIN": console_origin,
            "POWERTOOLS_SERVICE_NAME": "aion",
            "POWERTOOLS_METRICS_NAMESPACE": "Aion",
            "POWERTOOLS_LOG_LEVEL": "INFO",
        }
        if bedrock_model_id:
            common_env["AION_BEDROCK_MODEL_ID"] = bedrock_model_id
        if llm_endpoint:
            common_env["AION_LLM_ENDPOINT"] = llm_endpoint
        if llm_model:
            common_env["AION_LLM_MODEL"] = llm_model

        self.chalice = package_chalice_app(
            self,
            "Chalice",
            stage_config={
                "environment_variables": common_env,
                # Roles come from this stack (one per function, below); Chalice's generated
                # policy would be one broad role for all.
                "manage_iam_role": False,
                "iam_role_arn": api_role.role_arn,
                "xray": True,
                # Dependencies in a layer keyed by requirements.txt alone: an app change
                # re-zips only app.py + chalicelib (no wheel download), and deploys are small.
                "automatic_layer": True,
                "api_gateway_stage": API_STAGE,
                "api_gateway_endpoint_type": "REGIONAL",
                "tags": {"project": "aion", "stage": settings.stage},
            },
            import_env={"AION_DISPATCH_QUEUE_NAME": self.dispatch_queue_name},
        )
        self.functions = self._present_functions()
        self.ws_api = self._resource_or_none("WebsocketAPI", "AWS::ApiGatewayV2::Api")
        for logical_id, spec in self.functions.items():
            self._configure_function(logical_id, spec, vpc, executor_clients)

        account_role = self._api_gateway_logging_role()
        self.rest_api = self._configure_rest_api(account_role)
        if self.ws_api is not None:
            self._configure_websocket_api(account_role)
        self._alarms()

        CfnOutput(
            self,
            "RestApiUrl",
            value=f"https://{self.rest_api.ref}.execute-api.{Aws.REGION}.{Aws.URL_SUFFIX}/{API_STAGE}",
            description="REST API base URL (the console's apiUrl)",
        )
        if self.ws_api is not None:
            CfnOutput(self, "WebSocketUrl", value=self.websocket_url, description="WebSocket URL")
            CfnOutput(self, "WebSocketApiId", value=self.ws_api.ref)
        CfnOutput(self, "DispatchQueueUrl", value=self.queue.queue_url)
        CfnOutput(self, "DispatchDlqUrl", value=self.dlq.queue_url)

    # --- URLs ------------------------------------------------------------------------------

    @property
    def rest_api_url(self) -> str:
        return f"https://{self.rest_api.ref}.execute-api.{Aws.REGION}.{Aws.URL_SUFFIX}/{API_STAGE}"

    @property
    def websocket_url(self) -> str:
        assert self.ws_api is not None
        return f"wss://{self.ws_api.ref}.execute-api.{Aws.REGION}.{Aws.URL_SUFFIX}/{API_STAGE}"

    # --- Chalice's resources ----------------------------------------------------------------

    def _resource_or_none(self, logical_id: str, cfn_type: str) -> CfnResource | None:
        for child in self.chalice.sam_template.node.children:
            if isinstance(child, CfnResource) and child.node.id == logical_id:
                if child.cfn_resource_type != cfn_type:
                    raise ValueError(f"{logical_id} is a {child.cfn_resource_type}, not {cfn_type}")
                return child
        return None

    def _present_functions(self) -> dict[str, FunctionSpec]:
        """The functions app.py defines today; every one must be known to functions.py."""
        return specs_for(
            [
                child.node.id
                for child in self.chalice.sam_template.node.children
                if isinstance(child, CfnResource)
                and child.cfn_resource_type == "AWS::Serverless::Function"
            ]
        )

    def _function_name(self, spec: FunctionSpec) -> str:
        return f"{self.settings.prefix}{spec.handler.replace('_', '-')}"

    def _configure_function(
        self,
        logical_id: str,
        spec: FunctionSpec,
        vpc: ec2.IVpc,
        executor_clients: ec2.ISecurityGroup,
    ) -> None:
        fn = self.chalice.get_resource(logical_id)
        role = self.roles.get(spec.handler) or self._role(spec)
        fn.add_property_override("FunctionName", self._function_name(spec))
        fn.add_property_override("Role", role.role_arn)
        fn.add_property_override("MemorySize", spec.memory_mb)
        fn.add_property_override("Timeout", spec.timeout_s)
        # Created here with a retention (Chalice's own log_retention_in_days mis-names the REST
        # handler's group); the name is what Lambda itself would use.
        logs.LogGroup(
            self,
            f"Logs{logical_id}",
            log_group_name=f"/aws/lambda/{self._function_name(spec)}",
            retention=self.settings.log_retention,
            removal_policy=RemovalPolicy.DESTROY,
        )
        if spec.in_vpc:
            fn.add_property_override(
                "VpcConfig",
                {
                    "SecurityGroupIds": [executor_clients.security_group_id],
                    "SubnetIds": vpc.select_subnets(
                        subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS
                    ).subnet_ids,
                },
            )
            grant_lambda_vpc_access(role)
        env: dict[str, str] = {}
        if spec.jwt_secret:
            env["AION_JWT_SECRET_ARN"] = self.jwt_secret.secret_arn
        if spec.bridge_token:
            env["AION_BRIDGE_TOKEN_ARN"] = self.bridge_token.secret_arn
        if spec.llm and self.llm_api_key is not None:
            env["AION_LLM_API_KEY_ARN"] = self.llm_api_key.secret_arn
        if spec.kind == "rest":
            # GET /docs: the API reference is uploaded next to the console (site stack).
            env["AION_DOCS_URL"] = f"{self.console_origin}{API_REFERENCE_PATH}"
        if spec.manages_connections and self.ws_api is not None:
            env["AION_WS_API_ID"] = self.ws_api.ref
            env["AION_WS_MANAGEMENT_ENDPOINT"] = (
                f"https://{self.ws_api.ref}.execute-api.{Aws.REGION}.{Aws.URL_SUFFIX}/{API_STAGE}"
            )
        for name, value in env.items():
            fn.add_property_override(f"Environment.Variables.{name}", value)
        if spec.consumes_queue:
            event = f"{logical_id}SqsEventSource"
            # A real reference (not Chalice's name-built ARN) so CloudFormation orders it.
            fn.add_property_override(f"Events.{event}.Properties.Queue", self.queue.queue_arn)
            fn.add_property_override(
                f"Events.{event}.Properties.ScalingConfig",
                {"MaximumConcurrency": self.settings.dispatch_max_concurrency},
            )
        policy = self._grant(spec, role)
        # The role's policies must exist before the function: Lambda checks the VPC (ENI) and
        # SQS permissions when the function and its event source mapping are created.
        fn.node.add_dependency(policy)
        default_policy = role.node.try_find_child("DefaultPolicy")  # the VPC statements
        if default_policy is not None:
            fn.node.add_dependency(default_policy)

    # --- IAM -----------------------------------------------------------------------------------

    def _role(self, spec: FunctionSpec) -> iam.Role:
        role = iam.Role(
            self,
            f"Role{spec.logical_id}",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"AION {self.settings.stage} {spec.handler}: only what it calls",
        )
        self.roles[spec.handler] = role
        return role

    def _table_arns(self, names: tuple[str, ...] | str) -> list[str]:
        chosen = sorted(self.table_specs) if names == ALL_TABLES else list(names)
        arns: list[str] = []
        for short in chosen:
            if short not in self.table_specs:
                raise ValueError(f"functions.py names a table {short!r} that no model defines")
            spec = self.table_specs[short]
            arn = self.format_arn(
                service="dynamodb",
                resource="table",
                resource_name=spec.physical_name(self.settings.prefix),
            )
            arns.append(arn)
            if spec.global_indexes or spec.local_indexes:
                arns.append(f"{arn}/index/*")
        return arns

    def _grant(self, spec: FunctionSpec, role: iam.Role) -> iam.Policy:
        name = self._function_name(spec)
        statements = [
            iam.PolicyStatement(
                sid="OwnLogs",
                actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[
                    self.format_arn(
                        service="logs",
                        resource="log-group",
                        resource_name=f"/aws/lambda/{name}:*",
                        arn_format=ArnFormat.COLON_RESOURCE_NAME,
                    )
                ],
            ),
            iam.PolicyStatement(
                sid="XRay",
                actions=["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
                resources=["*"],
            ),
        ]
        rw = self._table_arns(spec.tables_rw) if spec.tables_rw else []
        ro = self._table_arns(spec.tables_ro) if spec.tables_ro else []
        if rw:
            statements.append(
                iam.PolicyStatement(
                    sid="TablesReadWrite", actions=[*READ_ACTIONS, *WRITE_ACTIONS], resources=rw
                )
            )
        if ro:
            statements.append(
                iam.PolicyStatement(sid="TablesRead", actions=list(READ_ACTIONS), resources=ro)
            )
        if spec.kind == "rest":
            # GET /health checks DynamoDB with DescribeTable on the users table.
            statements.append(
                iam.PolicyStatement(
                    sid="HealthDescribeTable",
                    actions=["dynamodb:DescribeTable"],
                    resources=self._table_arns(("users",))[:1],
                )
            )
        if spec.sends_to_queue:
            statements.append(
                iam.PolicyStatement(
                    sid="QueueSend",
                    actions=["sqs:SendMessage", "sqs:GetQueueAttributes"],
                    resources=[self.queue.queue_arn],
                )
            )
        if spec.consumes_queue:
            statements.append(
                iam.PolicyStatement(
                    sid="QueueConsume",
                    actions=[
                        "sqs:ReceiveMessage",
                        "sqs:DeleteMessage",
                        "sqs:ChangeMessageVisibility",
                        "sqs:GetQueueAttributes",
                        "sqs:GetQueueUrl",
                    ],
                    resources=[self.queue.queue_arn],
                )
            )
        for index, grant in enumerate(spec.files):
            statements.append(
                iam.PolicyStatement(
                    sid=f"Files{index}",
                    actions=list(grant.actions),
                    resources=[self.files_bucket.arn_for_objects(f"{grant.prefix}*")],
                )
            )
        secrets = [
            s
            for s, wanted in (
                (self.jwt_secret, spec.jwt_secret),
                (self.bridge_token, spec.bridge_token),
                (self.llm_api_key, spec.llm),
            )
            if wanted and s is not None
        ]
        if secrets:
            statements.append(
                iam.PolicyStatement(
                    sid="Secrets",
                    actions=["secretsmanager:GetSecretValue"],
                    resources=[s.secret_arn for s in secrets],
                )
            )
        if spec.manages_connections and self.ws_api is not None:
            statements.append(
                iam.PolicyStatement(
                    sid="WebSocketConnections",
                    actions=["execute-api:ManageConnections"],
                    resources=[
                        self.format_arn(
                            service="execute-api",
                            resource=self.ws_api.ref,
                            resource_name=f"{API_STAGE}/*/@connections/*",
                        )
                    ],
                )
            )
        if spec.llm and self.bedrock_model_id:
            statements.append(
                iam.PolicyStatement(
                    sid="Bedrock",
                    actions=["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"],
                    resources=self._bedrock_resources(),
                )
            )
        policy = iam.Policy(self, f"Policy{spec.logical_id}", statements=statements)
        role.attach_inline_policy(policy)
        prefixes = "|".join(sorted({g.prefix.rstrip("/") for g in spec.files})) or "(?!)"
        suppress(
            policy,
            "IAM5",
            "Wildcards are scoped: the function's own log streams, X-Ray (no resource-level "
            "permissions), the indexes of the tables granted, object keys under one prefix of "
            "the files bucket, connections of this stage's WebSocket API, and for a Bedrock "
            "inference profile the one model in the regions the profile routes to.",
            applies_to_regex=[
                r"/^Resource::\*$/",
                r"/^Resource::arn:<AWS::Partition>:logs:.*:\*$/",
                r"/^Resource::arn:<AWS::Partition>:dynamodb:.*\/index\/\*$/",
                # Exactly the prefixes this function's grants name (functions.py), no others.
                rf"/^Resource::.*\.Arn>\/({prefixes})\/\*$/",
                r"/^Resource::arn:<AWS::Partition>:execute-api:.*\/@connections\/\*$/",
                r"/^Resource::arn:<AWS::Partition>:bedrock:\*::foundation-model\/.+$/",
            ],
        )
        if spec.in_vpc:
            suppress(
                role,
                "IAM5",
                "Lambda's VPC networking: ENI actions have no resource-level permissions "
                "(the statement AWSLambdaVPCAccessExecutionRole grants).",
                applies_to=["Resource::*"],
            )
        return policy

    def _bedrock_resources(self) -> list[str]:
        """The configured model only. A cross-region inference profile ("us.<model>") also
        needs the model itself in the regions the profile routes to."""
        model = self.bedrock_model_id
        geo, _, base = model.partition(".")
        if geo in {"us", "eu", "apac", "us-gov", "global"} and base:
            return [
                self.format_arn(
                    service="bedrock", resource="inference-profile", resource_name=model
                ),
                f"arn:{Aws.PARTITION}:bedrock:*::foundation-model/{base}",
            ]
        return [f"arn:{Aws.PARTITION}:bedrock:{Aws.REGION}::foundation-model/{model}"]

    # --- API Gateway ----------------------------------------------------------------------------

    def _api_gateway_logging_role(self) -> apigateway.CfnAccount:
        """API Gateway writes execution and access logs only with an account-level role."""
        role = iam.Role(
            self,
            "ApiGatewayLogsRole",
            assumed_by=iam.ServicePrincipal("apigateway.amazonaws.com"),
            managed_policies=[
                iam.ManagedPolicy.from_aws_managed_policy_name(
                    "service-role/AmazonAPIGatewayPushToCloudWatchLogs"
                )
            ],
        )
        suppress(
            role,
            "IAM4",
            "AWS's own policy for the API Gateway logging role, maintained with the service.",
            applies_to=[
                "Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"
            ],
        )
        account = apigateway.CfnAccount(
            self, "ApiGatewayAccount", cloud_watch_role_arn=role.role_arn
        )
        account.apply_removal_policy(RemovalPolicy.RETAIN)  # account-wide: other APIs rely on it
        return account

    def _access_logs(self, name: str) -> logs.LogGroup:
        return logs.LogGroup(
            self,
            name,
            retention=self.settings.log_retention,
            removal_policy=RemovalPolicy.DESTROY,
        )

    def _configure_rest_api(self, account: apigateway.CfnAccount) -> CfnResource:
        rest = self.chalice.get_resource("RestAPI")
        access_logs = self._access_logs("RestApiAccessLogs")
        rest.add_property_override("DefinitionBody.info.title", f"aion-{self.settings.stage}")
        rest.add_property_override("TracingEnabled", True)
        rest.add_property_override(
            "MethodSettings",
            [
                {
                    "ResourcePath": "/*",
                    "HttpMethod": "*",
                    "ThrottlingRateLimit": self.settings.api_rate_limit,
                    "ThrottlingBurstLimit": self.settings.api_burst_limit,
                    "MetricsEnabled": True,
                    "LoggingLevel": "ERROR",
                    "DataTraceEnabled": False,  # bodies carry passwords and tokens
                }
            ],
        )
        rest.add_property_override(
            "AccessLogSetting",
            {"DestinationArn": access_logs.log_group_arn, "Format": _ACCESS_LOG_FORMAT},
        )
        # In the definition body, so a change redeploys the stage (a separate GatewayResponse
        # resource would only take effect at the next deployment).
        rest.add_property_override(
            "DefinitionBody.x-amazon-apigateway-gateway-responses",
            gateway_responses(self.console_origin),
        )
        rest.add_resource_dependency(account)
        return rest

    def _configure_websocket_api(self, account: apigateway.CfnAccount) -> None:
        assert self.ws_api is not None
        self.ws_api.add_property_override("Name", f"aion-{self.settings.stage}-ws")
        stage = self.chalice.get_resource("WebsocketAPIStage")
        access_logs = self._access_logs("WebSocketAccessLogs")
        # Typed properties rather than raw overrides, so cdk-nag sees them too.
        assert isinstance(stage, apigatewayv2.CfnStage)
        stage.default_route_settings = apigatewayv2.CfnStage.RouteSettingsProperty(
            throttling_rate_limit=self.settings.api_rate_limit,
            throttling_burst_limit=self.settings.api_burst_limit,
            detailed_metrics_enabled=True,
            logging_level="ERROR",
            data_trace_enabled=False,
        )
        stage.access_log_settings = apigatewayv2.CfnStage.AccessLogSettingsProperty(
            destination_arn=access_logs.log_group_arn, format=_ACCESS_LOG_FORMAT
        )
        stage.add_resource_dependency(account)
        for route in ("WebsocketConnectRoute", "WebsocketMessageRoute", "WebsocketDisconnectRoute"):
            resource = self._resource_or_none(route, "AWS::ApiGatewayV2::Route")
            if resource is not None:
                suppress(
                    resource,
                    "APIG4",
                    "$connect validates the access token or single-use ticket in the handler "
                    "(Chalice has no WebSocket authorizer, aws/chalice#1457); the other routes "
                    "only exist on an authenticated connection.",
                )

    # --- Alarms ------------------------------------------------------------------------------

    def _alarm(
        self, id: str, metric: cloudwatch.IMetric, threshold: float, description: str
    ) -> None:
        alarm = cloudwatch.Alarm(
            self,
            id,
            alarm_description=description,
            metric=metric,
            threshold=threshold,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        alarm.add_alarm_action(self.alarm_action)

    def _alarms(self) -> None:
        five_minutes = Duration.minutes(5)
        self._alarm(
            "Api5xx",
            cloudwatch.Metric(
                namespace="AWS/ApiGateway",
                metric_name="5XXError",
                dimensions_map={"ApiName": f"aion-{self.settings.stage}", "Stage": API_STAGE},
                statistic="Sum",
                period=five_minutes,
            ),
            5,
            "REST API answered 5xx at least 5 times in 5 minutes",
        )
        self._alarm(
            "DispatchDlqNotEmpty",
            self.dlq.metric_approximate_number_of_messages_visible(
                period=five_minutes, statistic="Maximum"
            ),
            1,
            "Dispatch messages reached the dead-letter queue (poison or repeatedly failing tasks)",
        )
        if "Dispatch" in self.functions:
            self._alarm(
                "DispatchErrors",
                cloudwatch.Metric(
                    namespace="AWS/Lambda",
                    metric_name="Errors",
                    dimensions_map={
                        "FunctionName": self._function_name(self.functions["Dispatch"])
                    },
                    statistic="Sum",
                    period=five_minutes,
                ),
                10,
                "The dispatcher failed at least 10 times in 5 minutes (retries included)",
            )
