"""Uploads frontend/ to the console bucket with a config.js built from the API's outputs, and
the API reference (GET /docs redirects there) under docs/; invalidates CloudFront. Last in
line: it needs the API and WebSocket URLs."""

from __future__ import annotations

import json
import sys
from types import ModuleType

from aws_cdk import Stack
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_deployment as s3deploy
from constructs import Construct

from aion_infra.nag import suppress
from aion_infra.paths import FRONTEND_DIR, REPO_ROOT
from aion_infra.settings import StageSettings


def config_js(api_url: str, ws_url: str, version: str) -> str:
    """The module frontend/js/settings.js imports (``export default {apiUrl, wsUrl}``)."""
    body = json.dumps({"apiUrl": api_url, "wsUrl": ws_url, "version": version})
    return f"export default {body};\n"


# The console bucket's prefix of the API reference page and its files.
API_REFERENCE_PREFIX = "docs/"


def api_reference() -> ModuleType:
    """chalicelib.api.reference: the page and the list of its files, as the API serves them."""
    if str(REPO_ROOT) not in sys.path:
        sys.path.insert(0, str(REPO_ROOT))
    from chalicelib.api import reference

    return reference


def only(names: tuple[str, ...]) -> list[str]:
    """Asset exclude patterns that keep exactly ``names`` of a directory."""
    return ["*", *(f"!{name}" for name in names)]


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
            # The API reference has its own deployment below: not this one's to prune.
            exclude=[f"{API_REFERENCE_PREFIX}*"],
            memory_limit=512,
        )
        # GET /docs on AWS: the Lambdas do not carry Swagger UI (their dependency layer is at
        # its size budget), so the page is served from here, under the console's CSP, and
        # reads the API's /openapi.json (an execute-api origin the CSP and CORS allow).
        reference = api_reference()
        s3deploy.BucketDeployment(
            self,
            "ApiReference",
            destination_bucket=console_bucket,
            destination_key_prefix=API_REFERENCE_PREFIX,
            sources=[
                s3deploy.Source.asset(
                    str(reference.vendor_dir()), exclude=only(reference.VENDOR_FILES)
                ),
                s3deploy.Source.asset(str(reference.HERE), exclude=only(reference.OWN_FILES)),
                s3deploy.Source.data(
                    "index.html", reference.page(openapi_url=f"{api_url}/openapi.json", assets="")
                ),
            ],
            distribution=distribution,
            distribution_paths=[f"/{API_REFERENCE_PREFIX}*"],
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
