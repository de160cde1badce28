"""Builds the CDK app for one or both stages, with cdk-nag on every stack."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks

from aion_infra.settings import STAGES, settings_for
from aion_infra.stacks.api import ApiStack
from aion_infra.stacks.data import DataStack
from aion_infra.stacks.executor import ExecutorStack
from aion_infra.stacks.site import SiteStack
from aion_infra.stacks.web import WebStack


def _context(app: cdk.App, name: str) -> str:
    value = app.node.try_get_context(name)
    return str(value).strip() if value else ""


def add_stage(app: cdk.App, stage: str) -> dict[str, cdk.Stack]:
    """The five stacks of one stage, wired in deployment order."""
    settings = settings_for(stage, alarm_email=_context(app, "alarmEmail") or None)
    account, region = _context(app, "account"), _context(app, "region")
    env = cdk.Environment(account=account, region=region) if account and region else None
    common = {"env": env, "tags": {"project": "aion", "stage": stage}}

    web = WebStack(app, settings.stack_name("web"), settings=settings, **common)
    data = DataStack(
        app,
        settings.stack_name("data"),
        settings=settings,
        console_origin=web.console_origin,
        logs_bucket=web.logs_bucket,
        **common,
    )
    executor = ExecutorStack(
        app,
        settings.stack_name("executor"),
        settings=settings,
        files_bucket=data.files_bucket,
        bridge_token=data.bridge_token,
        alarm_topic=data.alarm_topic,
        **common,
    )
    api = ApiStack(
        app,
        settings.stack_name("api"),
        settings=settings,
        table_specs=data.table_specs,
        files_bucket=data.files_bucket,
        jwt_secret=data.jwt_secret,
        bridge_token=data.bridge_token,
        alarm_topic=data.alarm_topic,
        vpc=executor.vpc,
        executor_clients=executor.client_security_group,
        executor_target=executor.target,
        console_origin=web.console_origin,
        bedrock_model_id=_context(app, "bedrockModelId"),
        llm_endpoint=_context(app, "llmEndpoint"),
        llm_model=_context(app, "llmModel"),
        llm_api_key_secret_arn=_context(app, "llmApiKeySecretArn"),
        **common,
    )
    api.add_stack_dependency(data, "the functions' roles name the tables by ARN")
    site = SiteStack(
        app,
        settings.stack_name("site"),
        settings=settings,
        console_bucket=web.console_bucket,
        distribution=web.distribution,
        api_url=api.rest_api_url,
        ws_url=api.websocket_url if api.ws_api is not None else "",
        version=_context(app, "version") or "0.1.0",
        **common,
    )
    return {"web": web, "data": data, "executor": executor, "api": api, "site": site}


def build_app(outdir: str | None = None) -> cdk.App:
    app = cdk.App(outdir=outdir)
    chosen = _context(app, "stage")
    stages = [chosen] if chosen else list(STAGES)
    for stage in stages:
        add_stage(app, stage)
    cdk.Aspects.of(app).add(AwsSolutionsChecks(verbose=True, reports=True))
    return app


def failed_checks(outdir: Path) -> list[str]:
    """Unsuppressed cdk-nag findings (its CSV reports) and synth errors (stack metadata)."""
    problems: list[str] = []
    for report in sorted(outdir.glob("AwsSolutions-*-NagReport.csv")):
        with report.open(newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                if row["Compliance"] == "Non-Compliant":
                    problems.append(f"{row['Rule ID']} {row['Resource ID']}: {row['Rule Info']}")
    for metadata in sorted(outdir.glob("*.metadata.json")):
        for path, entries in json.loads(metadata.read_text(encoding="utf-8")).items():
            problems.extend(
                f"{path}: {entry['data']}"
                for entry in entries
                if entry.get("type") == "aws:cdk:error"
            )
    return problems
