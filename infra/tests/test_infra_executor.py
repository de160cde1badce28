"""The executor stacks: VPC, Fargate service, discovery, security groups, scaling, logs."""

from __future__ import annotations

import json

import pytest
from aion_infra.stacks.executor import EXECUTOR_GRACE_SECONDS, EXECUTOR_PORT
from aws_cdk.assertions import Match, Template
from conftest import STAGES, Synth, render, resources_of


@pytest.mark.parametrize("stage", STAGES)
def test_vpc_two_azs_private_subnets_and_gateway_endpoints(synth: Synth, stage: str) -> None:
    template = synth.template(stage, "executor")
    subnets = resources_of(template, "AWS::EC2::Subnet").values()
    public = [s for s in subnets if s["Properties"].get("MapPublicIpOnLaunch")]
    assert len(subnets) == 4
    assert len(public) == 2
    nat = resources_of(template, "AWS::EC2::NatGateway")
    assert len(nat) == (2 if stage == "prod" else 1)
    endpoints = {
        render(e["Properties"]["ServiceName"]).rsplit(".", 1)[-1]
        for e in resources_of(template, "AWS::EC2::VPCEndpoint").values()
    }
    assert endpoints == {"dynamodb", "s3"}
    assert resources_of(template, "AWS::EC2::FlowLog")


@pytest.mark.parametrize("stage", STAGES)
def test_executor_accepts_grpc_only_from_its_clients(synth: Synth, stage: str) -> None:
    template = synth.template(stage, "executor")
    ingress = list(resources_of(template, "AWS::EC2::SecurityGroupIngress").values())
    assert len(ingress) == 1
    rule = ingress[0]["Properties"]
    assert (rule["FromPort"], rule["ToPort"], rule["IpProtocol"]) == (
        EXECUTOR_PORT,
        EXECUTOR_PORT,
        "tcp",
    )
    assert render(rule["SourceSecurityGroupId"]).startswith("${ExecutorClients")
    assert render(rule["GroupId"]).startswith("${Executor")
    for group in resources_of(template, "AWS::EC2::SecurityGroup").values():
        assert not group["Properties"].get("SecurityGroupIngress")


@pytest.mark.parametrize("stage", STAGES)
def test_fargate_service_task_and_discovery(synth: Synth, stage: str) -> None:
    template = synth.template(stage, "executor")
    assertions = Template.from_json(template)
    assertions.has_resource_properties(
        "AWS::ECS::Service",
        {
            "LaunchType": "FARGATE",
            "NetworkConfiguration": {
                "AwsvpcConfiguration": Match.object_like({"AssignPublicIp": "DISABLED"})
            },
            "DeploymentConfiguration": Match.object_like(
                {"DeploymentCircuitBreaker": {"Enable": True, "Rollback": True}}
            ),
            "ServiceRegistries": Match.any_value(),
        },
    )
    assertions.has_resource_properties(
        "AWS::ServiceDiscovery::PrivateDnsNamespace", {"Name": f"aion-{stage}.internal"}
    )
    assertions.has_resource_properties(
        "AWS::ServiceDiscovery::Service",
        {
            "Name": "executor",
            "DnsConfig": Match.object_like({"DnsRecords": [{"TTL": 10, "Type": "A"}]}),
        },
    )
    assertions.has_resource_properties(
        "AWS::ECS::Cluster",
        {"ClusterSettings": [{"Name": "containerInsights", "Value": "enabled"}]},
    )
    (task,) = resources_of(template, "AWS::ECS::TaskDefinition").values()
    (container,) = task["Properties"]["ContainerDefinitions"]
    assert container["PortMappings"][0]["ContainerPort"] == EXECUTOR_PORT
    assert container["StopTimeout"] > EXECUTOR_GRACE_SECONDS
    env = {e["Name"]: e["Value"] for e in container["Environment"]}
    assert env["AION_EXECUTOR_GRACE_SECONDS"] == str(EXECUTOR_GRACE_SECONDS)
    assert "AION_BRIDGE_TOKEN" not in env
    # The workers' memory caps add up to less than the task's memory.
    task_memory = int(task["Properties"]["Memory"])
    workers = int(env["AION_EXECUTOR_WORKERS"])
    assert workers >= 1
    assert workers * int(env["AION_EXECUTOR_WORKER_MEMORY_MB"]) < task_memory
    (secret,) = container["Secrets"]
    assert secret["Name"] == "AION_BRIDGE_TOKEN"
    assert "BridgeToken" in render(secret["ValueFrom"])
    assert container["HealthCheck"]["Command"][:4] == [
        "CMD",
        "python",
        "-m",
        "executor_container.healthcheck",
    ]
    assert container["LogConfiguration"]["LogDriver"] == "awslogs"
    assert container["ReadonlyRootFilesystem"] is True


@pytest.mark.parametrize("stage", STAGES)
def test_cpu_autoscaling_logs_retention_and_health_alarm(synth: Synth, stage: str) -> None:
    template = synth.template(stage, "executor")
    assertions = Template.from_json(template)
    assertions.has_resource_properties(
        "AWS::ApplicationAutoScaling::ScalingPolicy",
        {
            "TargetTrackingScalingPolicyConfiguration": Match.object_like(
                {
                    "PredefinedMetricSpecification": {
                        "PredefinedMetricType": "ECSServiceAverageCPUUtilization"
                    }
                }
            )
        },
    )
    (target,) = resources_of(template, "AWS::ApplicationAutoScaling::ScalableTarget").values()
    assert target["Properties"]["MinCapacity"] >= 1
    assert target["Properties"]["MaxCapacity"] > target["Properties"]["MinCapacity"]
    for group in resources_of(template, "AWS::Logs::LogGroup").values():
        assert group["Properties"]["RetentionInDays"] == (90 if stage == "prod" else 14)
    assertions.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {"MetricName": "RunningTaskCount", "ComparisonOperator": "LessThanThreshold"},
    )


def test_image_is_staged_not_built_at_synth(synth: Synth) -> None:
    assets = json.loads((synth.outdir / "aion-dev-executor.assets.json").read_text())
    (image,) = assets["dockerImages"].values()
    staged = synth.outdir / image["source"]["directory"]
    assert (staged / "executor_container" / "Dockerfile").is_file()
    assert (staged / "executor_container" / "healthcheck.py").is_file()
    # The shared pure-stdlib package (the arithmetic grammar) and nothing else of chalicelib.
    assert (staged / "chalicelib" / "shared" / "arithmetic.py").is_file()
    assert sorted(p.name for p in (staged / "chalicelib").iterdir()) == ["__init__.py", "shared"]
    assert sorted(p.name for p in staged.iterdir()) == ["chalicelib", "executor_container"]
    assert not list(staged.rglob("__pycache__"))
    assert image["source"].get("platform") == "linux/amd64"


@pytest.mark.parametrize("stage", STAGES)
def test_executor_reads_only_ready_files(synth: Synth, stage: str) -> None:
    """Inputs by reference are final keys (files/...): never upload keys a still-valid upload
    form could overwrite, never results; and the executor writes nothing to the bucket."""
    template = synth.template(stage, "executor")
    s3_resources, s3_actions = [], set()
    for policy in resources_of(template, "AWS::IAM::Policy").values():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            actions = statement["Action"]
            actions = [actions] if isinstance(actions, str) else actions
            if any(a.startswith("s3:") for a in actions):
                s3_actions.update(actions)
                resources = statement["Resource"]
                resources = resources if isinstance(resources, list) else [resources]
                s3_resources += [render(r) for r in resources]
    assert s3_resources
    objects = [r for r in s3_resources if r.endswith("*")]
    assert objects
    assert all(r.endswith("/files/*") for r in objects), objects
    assert not any(a.startswith(("s3:Put", "s3:Delete")) for a in s3_actions), s3_actions
