"""Console hosting (web), its upload (site), and the files bucket."""

from __future__ import annotations

from typing import Any

import pytest
from aion_infra.stacks.site import config_js
from aws_cdk.assertions import Match, Template
from conftest import STAGES, Synth, render, resources_of


def _public_access_blocked(bucket: dict[str, Any]) -> bool:
    return bucket["Properties"]["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }


def _tls_only(template: dict[str, Any], bucket_id: str) -> bool:
    for policy in resources_of(template, "AWS::S3::BucketPolicy").values():
        if policy["Properties"]["Bucket"] == {"Ref": bucket_id}:
            for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
                if statement["Effect"] == "Deny" and statement.get("Condition") == {
                    "Bool": {"aws:SecureTransport": "false"}
                }:
                    return True
    return False


@pytest.mark.parametrize("stage", STAGES)
def test_buckets_private_encrypted_tls_only(synth: Synth, stage: str) -> None:
    for part in ("web", "data"):
        template = synth.template(stage, part)
        for bucket_id, bucket in resources_of(template, "AWS::S3::Bucket").items():
            assert _public_access_blocked(bucket), bucket_id
            assert bucket["Properties"]["BucketEncryption"], bucket_id
            assert _tls_only(template, bucket_id), bucket_id


@pytest.mark.parametrize("stage", STAGES)
def test_console_behind_cloudfront_with_oac_and_security_headers(synth: Synth, stage: str) -> None:
    template = synth.template(stage, "web")
    assertions = Template.from_json(template)
    assertions.resource_count_is("AWS::CloudFront::OriginAccessControl", 1)
    assertions.has_resource_properties(
        "AWS::CloudFront::Distribution",
        {
            "DistributionConfig": Match.object_like(
                {
                    "DefaultRootObject": "index.html",
                    "DefaultCacheBehavior": Match.object_like(
                        {
                            "ViewerProtocolPolicy": "redirect-to-https",
                            "ResponseHeadersPolicyId": Match.any_value(),
                        }
                    ),
                    "Logging": Match.any_value(),
                }
            )
        },
    )
    (policy,) = resources_of(template, "AWS::CloudFront::ResponseHeadersPolicy").values()
    headers = policy["Properties"]["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"]
    csp = render(headers["ContentSecurityPolicy"]["ContentSecurityPolicy"])
    assert "default-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert "{API_ORIGIN}" not in csp
    assert "{WS_ORIGIN}" not in csp
    assert "{UPLOAD_ORIGIN}" not in csp
    assert "wss://*.execute-api." in csp
    assert f"https://aion-{stage}-files-" in csp
    assert headers["StrictTransportSecurity"]["AccessControlMaxAgeSec"] >= 31536000
    assert headers["FrameOptions"]["FrameOption"] == "DENY"
    assert headers["ContentTypeOptions"]["Override"] is True


@pytest.mark.parametrize("stage", STAGES)
def test_files_bucket_cors_is_the_console_and_uploads_expire(synth: Synth, stage: str) -> None:
    template = synth.template(stage, "data")
    files = [
        b
        for b in resources_of(template, "AWS::S3::Bucket").values()
        if render(b["Properties"].get("BucketName", "")).startswith(f"aion-{stage}-files-")
    ]
    (bucket,) = files
    (rule,) = bucket["Properties"]["CorsConfiguration"]["CorsRules"]
    (origin,) = rule["AllowedOrigins"]
    assert render(origin).startswith("https://${Import:aion-")
    assert "*" not in render(origin)
    lifecycle = bucket["Properties"]["LifecycleConfiguration"]["Rules"]
    assert any(
        r.get("AbortIncompleteMultipartUpload", {}).get("DaysAfterInitiation") == 1
        for r in lifecycle
    )
    # Abandoned presigned uploads: stored tagged pending, expired a day later.
    (expiring,) = [r for r in lifecycle if r.get("TagFilters")]
    assert expiring["TagFilters"] == [{"Key": "aion-state", "Value": "pending"}]
    assert expiring["ExpirationInDays"] == 1
    assert expiring["Status"] == "Enabled"
    assert "Prefix" not in expiring  # tasks/ and uploads/ alike
    assert bucket["Properties"]["LoggingConfiguration"]


@pytest.mark.parametrize("stage", STAGES)
def test_site_uploads_frontend_with_generated_config(synth: Synth, stage: str) -> None:
    template = synth.template(stage, "site")
    props = _deployment(template, "/")
    assert len(props["SourceObjectKeys"]) == 2  # frontend/ + config.js
    assert props["Prune"] is True
    # Pruning the console must not delete the API reference, which has its own deployment.
    assert props["Exclude"] == ["docs/*"]
    assert props["DistributionPaths"] == ["/*"]
    markers = render(props.get("SourceMarkers", []))
    assert "RestAPI" in markers


def _deployment(template: dict[str, Any], prefix: str) -> dict[str, Any]:
    (props,) = [
        d["Properties"]
        for d in resources_of(template, "Custom::CDKBucketDeployment").values()
        if d["Properties"].get("DestinationBucketKeyPrefix", "/") == prefix
    ]
    return props


@pytest.mark.parametrize("stage", STAGES)
def test_site_uploads_the_api_reference_next_to_the_console(synth: Synth, stage: str) -> None:
    """GET /docs on AWS redirects to docs/index.html: Swagger UI's two files from the package,
    the page's own two, and the page naming the deployed API's /openapi.json."""
    from aion_infra.stacks.site import api_reference

    reference = api_reference()
    props = _deployment(synth.template(stage, "site"), "docs/")
    assert props["Prune"] is True
    assert props["DistributionPaths"] == ["/docs/*"]
    staged = [
        synth.outdir / f"asset.{key.removesuffix('.zip')}" for key in props["SourceObjectKeys"]
    ]
    files = {p.name: p for d in staged for p in d.iterdir()}
    assert set(files) == {"index.html", *reference.VENDOR_FILES, *reference.OWN_FILES}
    for name in (*reference.VENDOR_FILES, *reference.OWN_FILES):
        assert files[name].read_bytes() == reference.files()[name].read_bytes(), name
    page = files["index.html"].read_text(encoding="utf-8")
    assert '<script src="swagger-ui-bundle.js"></script>' in page
    (url,) = __import__("re").findall(r'data-openapi-url="([^"]+)"', page)
    assert url.endswith("/openapi.json")
    # The API's URL is filled in at deploy time from the api stack's RestAPI.
    assert "RestAPI" in render(props["SourceMarkers"])


def test_config_js_is_the_module_the_console_imports() -> None:
    text = config_js("https://api.example/api", "wss://ws.example/api", "1.2.3")
    assert text == (
        'export default {"apiUrl": "https://api.example/api", '
        '"wsUrl": "wss://ws.example/api", "version": "1.2.3"};\n'
    )


def test_the_expired_tag_is_the_one_the_app_uploads_with() -> None:
    from aion_infra.stacks.data import UPLOAD_PENDING, UPLOAD_STATE_TAG

    from chalicelib.logic import files

    assert (UPLOAD_STATE_TAG, UPLOAD_PENDING) == (files.STATE_TAG, files.PENDING)
    assert f"<Key>{UPLOAD_STATE_TAG}</Key><Value>{UPLOAD_PENDING}</Value>" in files.PENDING_TAGGING
