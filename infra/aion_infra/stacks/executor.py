"""The gRPC executor on Fargate, in its own VPC.

Network choice: private subnets with NAT gateways (one in dev, one per AZ in prod) plus free
gateway endpoints for DynamoDB and S3. NAT rather than interface endpoints because the
dispatcher must also reach the WebSocket management API (an execute-api interface endpoint
with private DNS would capture *all* execute-api hostnames, including the public ones the
console uses), Bedrock or an OpenAI-compatible LLM endpoint, and the image registry;
DynamoDB and S3, the bulk of the traffic, skip the NAT through the gateway endpoints.

Discovery: Cloud Map private DNS (``executor.<namespace>``, A records of healthy tasks), so
the dispatcher's gRPC channel resolves every task and no load balancer is paid for; ECS
keeps the records in step with container health.
"""

from __future__ import annotations

from pathlib import Path

from aws_cdk import CfnOutput, Duration, IgnoreMode, RemovalPolicy, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr_assets as ecr_assets
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_servicediscovery as servicediscovery
from aws_cdk import aws_sns as sns
from constructs import Construct

from aion_infra.functions import FINAL_FILES_PREFIX
from aion_infra.nag import suppress
from aion_infra.paths import EXECUTOR_DIR, REPO_ROOT
from aion_infra.settings import StageSettings

EXECUTOR_PORT = 50051
# The executor drains in-flight streams for this long after SIGTERM; Fargate must wait longer
# before SIGKILL (stopTimeout, at most 120 s).
EXECUTOR_GRACE_SECONDS = 25
STOP_TIMEOUT_SECONDS = EXECUTOR_GRACE_SECONDS + 5
SERVER_MEMORY_MIB = 256  # the gRPC server process itself, outside the workers' caps

# The image's own gRPC health probe (executor_container/healthcheck.py).
HEALTH_CHECK = ["CMD", "python", "-m", "executor_container.healthcheck", "--timeout", "3"]


def _ignore_patterns(path: Path) -> list[str]:
    """The patterns of a .dockerignore file (comments and blank lines dropped)."""
    lines = (line.strip() for line in path.read_text(encoding="utf-8").splitlines())
    return [line for line in lines if line and not line.startswith("#")]


class ExecutorStack(Stack):
    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        settings: StageSettings,
        files_bucket: s3.IBucket,
        bridge_token: secretsmanager.ISecret,
        alarm_topic: sns.ITopic,
        **kw: object,
    ) -> None:
        super().__init__(scope, id, **kw)
        self.vpc = ec2.Vpc(
            self,
            "Vpc",
            max_azs=2,
            nat_gateways=settings.nat_gateways,
            subnet_configuration=[
                ec2.SubnetConfiguration(name="public", subnet_type=ec2.SubnetType.PUBLIC),
                ec2.SubnetConfiguration(
                    name="private", subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS
                ),
            ],
            gateway_endpoints={
                "DynamoDb": ec2.GatewayVpcEndpointOptions(
                    service=ec2.GatewayVpcEndpointAwsService.DYNAMODB
                ),
                "S3": ec2.GatewayVpcEndpointOptions(service=ec2.GatewayVpcEndpointAwsService.S3),
            },
        )
        flow_logs = logs.LogGroup(
            self,
            "FlowLogs",
            retention=settings.log_retention,
            removal_policy=RemovalPolicy.DESTROY,
        )
        self.vpc.add_flow_log(
            "FlowLog",
            destination=ec2.FlowLogDestination.to_cloud_watch_logs(flow_logs),
            traffic_type=ec2.FlowLogTrafficType.REJECT,
        )

        # Functions that call the executor carry this group; the executor admits only it.
        self.client_security_group = ec2.SecurityGroup(
            self,
            "ExecutorClients",
            vpc=self.vpc,
            description="AION Lambdas that call the executor (dispatcher, REST health/catalogue)",
            allow_all_outbound=True,
        )
        self.executor_security_group = ec2.SecurityGroup(
            self,
            "Executor",
            vpc=self.vpc,
            description="AION executor tasks: gRPC from the executor clients only",
            allow_all_outbound=True,
        )
        self.executor_security_group.add_ingress_rule(
            self.client_security_group,
            ec2.Port.tcp(EXECUTOR_PORT),
            "gRPC from the dispatcher and REST functions",
        )

        self.namespace = servicediscovery.PrivateDnsNamespace(
            self, "Namespace", name=f"aion-{settings.stage}.internal", vpc=self.vpc
        )
        self.cluster = ecs.Cluster(
            self,
            "Cluster",
            vpc=self.vpc,
            container_insights_v2=ecs.ContainerInsights.ENABLED,
        )

        # Staged into cdk.out at synth (a copy of the build context, no Docker needed);
        # built and pushed by `cdk deploy`. The context is the repository root narrowed by the
        # Dockerfile's own ignore file: the executor plus chalicelib/shared/.
        image = ecr_assets.DockerImageAsset(
            self,
            "Image",
            directory=str(REPO_ROOT),
            file="executor_container/Dockerfile",
            platform=ecr_assets.Platform.LINUX_AMD64,
            ignore_mode=IgnoreMode.DOCKER,
            exclude=_ignore_patterns(EXECUTOR_DIR / "Dockerfile.dockerignore"),
        )

        task = ecs.FargateTaskDefinition(
            self,
            "Task",
            cpu=settings.executor_cpu,
            memory_limit_mib=settings.executor_memory_mib,
            runtime_platform=ecs.RuntimePlatform(
                cpu_architecture=ecs.CpuArchitecture.X86_64,
                operating_system_family=ecs.OperatingSystemFamily.LINUX,
            ),
        )
        # Inputs by reference (input_ref): ready files only, never upload or result keys.
        files_bucket.grant_read(task.task_role, f"{FINAL_FILES_PREFIX}*")
        log_group = logs.LogGroup(
            self,
            "Logs",
            retention=settings.log_retention,
            removal_policy=RemovalPolicy.DESTROY,
        )
        workers = settings.executor_workers
        worker_memory_mb = (settings.executor_memory_mib - SERVER_MEMORY_MIB) // workers
        # The root filesystem is read-only; modules may still need scratch space.
        task.add_volume(name="scratch")
        container = task.add_container(
            "executor",
            image=ecs.ContainerImage.from_docker_image_asset(image),
            essential=True,
            port_mappings=[
                ecs.PortMapping(
                    container_port=EXECUTOR_PORT, protocol=ecs.Protocol.TCP, name="grpc"
                )
            ],
            environment={
                "AION_EXECUTOR_HOST": "0.0.0.0",  # noqa: S104 - inside the task's own ENI
                "AION_EXECUTOR_PORT": str(EXECUTOR_PORT),
                "AION_EXECUTOR_GRACE_SECONDS": str(EXECUTOR_GRACE_SECONDS),
                "AION_EXECUTOR_REFLECTION": "0",
                # Sized to the task, not to the host the microVM reports: one worker process
                # per half vCPU, each capped so all of them fit beside the server.
                "AION_EXECUTOR_WORKERS": str(workers),
                "AION_EXECUTOR_WORKER_MEMORY_MB": str(worker_memory_mb),
                "AION_FILES_BUCKET": files_bucket.bucket_name,
            },
            # Injected by ECS from Secrets Manager at start; the task definition holds the ARN.
            secrets={"AION_BRIDGE_TOKEN": ecs.Secret.from_secrets_manager(bridge_token)},
            logging=ecs.LogDrivers.aws_logs(stream_prefix="executor", log_group=log_group),
            health_check=ecs.HealthCheck(
                command=HEALTH_CHECK,
                interval=Duration.seconds(15),
                timeout=Duration.seconds(5),
                retries=3,
                start_period=Duration.seconds(20),
            ),
            stop_timeout=Duration.seconds(STOP_TIMEOUT_SECONDS),
            readonly_root_filesystem=True,
            user="10001",
        )
        container.add_mount_points(
            ecs.MountPoint(container_path="/tmp", source_volume="scratch", read_only=False)  # noqa: S108
        )

        self.service = ecs.FargateService(
            self,
            "Service",
            cluster=self.cluster,
            task_definition=task,
            desired_count=settings.executor_min_tasks,
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
            security_groups=[self.executor_security_group],
            assign_public_ip=False,
            circuit_breaker=ecs.DeploymentCircuitBreaker(enable=True, rollback=True),
            min_healthy_percent=100,
            max_healthy_percent=200,
            enable_execute_command=False,
            cloud_map_options=ecs.CloudMapOptions(
                name="executor",
                cloud_map_namespace=self.namespace,
                dns_record_type=servicediscovery.DnsRecordType.A,
                dns_ttl=Duration.seconds(10),
                container_port=EXECUTOR_PORT,
            ),
        )
        scaling = self.service.auto_scale_task_count(
            min_capacity=settings.executor_min_tasks, max_capacity=settings.executor_max_tasks
        )
        scaling.scale_on_cpu_utilization(
            "Cpu",
            target_utilization_percent=60,
            scale_in_cooldown=Duration.seconds(120),
            scale_out_cooldown=Duration.seconds(30),
        )

        self.target = f"executor.{self.namespace.namespace_name}:{EXECUTOR_PORT}"

        # Executor health: fewer running tasks than the minimum for 3 minutes.
        running = cloudwatch.Metric(
            namespace="ECS/ContainerInsights",
            metric_name="RunningTaskCount",
            dimensions_map={
                "ClusterName": self.cluster.cluster_name,
                "ServiceName": self.service.service_name,
            },
            statistic="Minimum",
            period=Duration.minutes(1),
        )
        alarm = cloudwatch.Alarm(
            self,
            "ExecutorUnhealthy",
            alarm_description="Fewer healthy executor tasks than the stage's minimum",
            metric=running,
            threshold=settings.executor_min_tasks,
            comparison_operator=cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
            evaluation_periods=3,
            treat_missing_data=cloudwatch.TreatMissingData.BREACHING,
        )
        alarm.add_alarm_action(cw_actions.SnsAction(alarm_topic))

        suppress(
            task,
            "ECS2",
            "Only non-secret settings are plain environment variables; the bridge token comes "
            "from Secrets Manager through the container's secrets.",
        )
        suppress(
            task.execution_role,
            "IAM5",
            "CDK's grants for pulling the image: ecr:GetAuthorizationToken has no resource-level "
            "permissions.",
            applies_to=["Resource::*"],
        )
        suppress(
            task,
            "IAM5",
            "Grants CDK generates for the bucket's objects (s3:GetObject*, List* on <bucket>/*): "
            "the executor reads task inputs by key under that bucket only.",
            applies_to_regex=[r"/^(Action::s3:.*|Resource::.*Files.*\.Arn.*\/\*)$/"],
        )

        CfnOutput(self, "ExecutorTarget", value=self.target)
        CfnOutput(self, "ClusterName", value=self.cluster.cluster_name)
        CfnOutput(self, "ServiceName", value=self.service.service_name)
        CfnOutput(self, "VpcId", value=self.vpc.vpc_id)


def grant_lambda_vpc_access(role: iam.IRole) -> None:
    """ENI management for a function in the VPC (what AWSLambdaVPCAccessExecutionRole grants)."""
    role.add_to_principal_policy(
        iam.PolicyStatement(
            actions=[
                "ec2:CreateNetworkInterface",
                "ec2:DescribeNetworkInterfaces",
                "ec2:DescribeSubnets",
                "ec2:DeleteNetworkInterface",
                "ec2:AssignPrivateIpAddresses",
                "ec2:UnassignPrivateIpAddresses",
            ],
            resources=["*"],
        )
    )
