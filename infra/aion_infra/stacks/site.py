"""Uploads frontend/ to the console bucket with a config.js built from the API's outputs, and
invalidates CloudFront. Last in line: it needs the API and WebSocket URLs."""

from __future__ import annotations

import json

from aws_cdk import Stack
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_deployment as s3deploy
from constructs import Construct

from aion_infra.nag import suppress
from aion_infra.paths import FRONTEND_DIR
from aion_infra.settings import StageSettings


def config_js(api_url: str, ws_url: str, version: str) -> str:
    """The module frontend/js/settings.js imports (``export default {apiUrl, wsUrl}``)."""
    body = json.dumps({"apiUrl": api_url, "wsUrl": ws_url, "version": version})
    return f"export default {body};\n"


class SiteStack(Stack):
    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        settings: StageSettings,
        console_bucket: s3.IBucket,
        distribution: cloudfront.IDistribution,
        api_url: str,
        ws_url: str,
        version: str,
        **kw: object,
    ) -> None:
        super().__init__(scope, id, **kw)
        s3deploy.BucketDeployment(
            self,
            "Console",
            destination_bucket=console_bucket,
            sources=[
                s3deploy.Source.asset(
                    str(FRONTEND_DIR),
                    exclude=["csp.txt", "config.js", "**/*.test.*", "node_modules"],
                ),
                # Deploy-time values: the URLs are resolved by CloudFormation, not at synth.
                s3deploy.Source.data("config.js", config_js(api_url, ws_url, version)),
            ],
            distribution=distribution,
            distribution_paths=["/*"],
            prune=True,
            memory_limit=512,
        )
        # CDK's BucketDeployment runs a provider Lambda (a singleton of this stack).
        for child in self.node.children:
            if child.node.id.startswith("Custom::CDKBucketDeployment"):
                suppress(
                    child,
                    "IAM4",
                    "CDK's BucketDeployment provider logs through AWSLambdaBasicExecutionRole.",
                    applies_to=[
                        "Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
                        "AWSLambdaBasicExecutionRole"
                    ],
                )
                suppress(
                    child,
                    "IAM5",
                    "CDK's BucketDeployment grants: read its staged asset, write and delete the "
                    "console bucket's objects, invalidate this distribution.",
                    applies_to_regex=[r"/^(Action::s3:.*|Resource::.*|Action::cloudfront:.*)$/"],
                )
                suppress(
                    child,
                    "L1",
                    "CDK pins the BucketDeployment provider's runtime; it is not our code.",
                )
        self.settings = settings
