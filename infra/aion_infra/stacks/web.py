"""Console hosting: a private S3 bucket behind CloudFront (origin access control) with a
response-headers policy. Comes first: its domain is the CORS origin of the API and the files
bucket. The console's files and config.js are uploaded later by the site stack."""

from __future__ import annotations

from aws_cdk import Aws, CfnOutput, Duration, RemovalPolicy, Stack
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_s3 as s3
from constructs import Construct

from aion_infra.nag import suppress
from aion_infra.paths import FRONTEND_DIR
from aion_infra.settings import StageSettings


def files_bucket_name(settings: StageSettings) -> str:
    """Deterministic, so the console's CSP can name the upload origin before the bucket exists."""
    return f"{settings.prefix}files-{Aws.ACCOUNT_ID}-{Aws.REGION}"


def content_security_policy(settings: StageSettings) -> str:
    """frontend/csp.txt with its {API_ORIGIN}, {WS_ORIGIN} and {UPLOAD_ORIGIN} fields filled in.

    The API ids are only known after the api stack, which itself needs this stack's domain
    (CORS), so the API origins are the region's API Gateway hosts; uploads go to the files
    bucket by name (virtual-hosted style, global and regional endpoints).
    """
    lines = (FRONTEND_DIR / "csp.txt").read_text(encoding="utf-8").splitlines()
    policy = " ".join(line.strip() for line in lines if line.strip() and not line.startswith("#"))
    bucket = files_bucket_name(settings)
    return (
        policy.replace("{API_ORIGIN}", f"https://*.execute-api.{Aws.REGION}.{Aws.URL_SUFFIX}")
        .replace("{WS_ORIGIN}", f"wss://*.execute-api.{Aws.REGION}.{Aws.URL_SUFFIX}")
        .replace(
            "{UPLOAD_ORIGIN}",
            f"https://{bucket}.s3.{Aws.URL_SUFFIX} https://{bucket}.s3.{Aws.REGION}.{Aws.URL_SUFFIX}",
        )
    )


class WebStack(Stack):
    def __init__(self, scope: Construct, id: str, *, settings: StageSettings, **kw: object) -> None:
        super().__init__(scope, id, **kw)
        removal = RemovalPolicy.RETAIN if settings.retain_data else RemovalPolicy.DESTROY

        # Server access logs of every bucket and CloudFront's standard logs (which need ACLs).
        self.logs_bucket = s3.Bucket(
            self,
            "AccessLogs",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.OBJECT_WRITER,
            lifecycle_rules=[
                s3.LifecycleRule(expiration=Duration.days(365 if settings.retain_data else 30))
            ],
            removal_policy=removal,
            auto_delete_objects=not settings.retain_data,
        )

        self.console_bucket = s3.Bucket(
            self,
            "Console",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            server_access_logs_bucket=self.logs_bucket,
            server_access_logs_prefix="console-bucket/",
            removal_policy=RemovalPolicy.DESTROY,  # build output only: the site stack re-uploads it
            auto_delete_objects=True,
        )

        headers = cloudfront.ResponseHeadersPolicy(
            self,
            "SecurityHeaders",
            response_headers_policy_name=f"{settings.prefix}console-security-headers",
            comment="AION console: CSP, HSTS, frame, content-type and referrer options",
            security_headers_behavior=cloudfront.ResponseSecurityHeadersBehavior(
                content_security_policy=cloudfront.ResponseHeadersContentSecurityPolicy(
                    content_security_policy=content_security_policy(settings), override=True
                ),
                strict_transport_security=cloudfront.ResponseHeadersStrictTransportSecurity(
                    access_control_max_age=Duration.days(365),
                    include_subdomains=True,
                    preload=False,
                    override=True,
                ),
                frame_options=cloudfront.ResponseHeadersFrameOptions(
                    frame_option=cloudfront.HeadersFrameOption.DENY, override=True
                ),
                content_type_options=cloudfront.ResponseHeadersContentTypeOptions(override=True),
                referrer_policy=cloudfront.ResponseHeadersReferrerPolicy(
                    referrer_policy=cloudfront.HeadersReferrerPolicy.NO_REFERRER, override=True
                ),
            ),
        )

        self.distribution = cloudfront.Distribution(
            self,
            "Distribution",
            comment=f"AION console ({settings.stage})",
            default_root_object="index.html",
            default_behavior=cloudfront.BehaviorOptions(
                origin=origins.S3BucketOrigin.with_origin_access_control(self.console_bucket),
                viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
                response_headers_policy=headers,
                cache_policy=cloudfront.CachePolicy.CACHING_OPTIMIZED,
                allowed_methods=cloudfront.AllowedMethods.ALLOW_GET_HEAD,
                compress=True,
            ),
            http_version=cloudfront.HttpVersion.HTTP2_AND_3,
            minimum_protocol_version=cloudfront.SecurityPolicyProtocol.TLS_V1_2_2021,
            price_class=cloudfront.PriceClass.PRICE_CLASS_100,
            enable_logging=True,
            log_bucket=self.logs_bucket,
            log_file_prefix="cloudfront/",
        )
        suppress(
            self.distribution,
            "CFR1",
            "The console is for the organisation's users wherever they are; no geo restriction.",
        )
        suppress(
            self.distribution,
            "CFR2",
            "A static console without server-side logic; the API has its own throttling. Attach "
            "a WAF web ACL per account policy if required.",
        )
        suppress(
            self.distribution,
            "CFR4",
            "No custom domain: the default *.cloudfront.net certificate cannot pin TLSv1.2; "
            "minimum_protocol_version applies once a domain and certificate are added.",
        )

        self.console_origin = f"https://{self.distribution.distribution_domain_name}"
        CfnOutput(self, "ConsoleUrl", value=self.console_origin, description="The AION console")
        CfnOutput(self, "ConsoleBucketName", value=self.console_bucket.bucket_name)
        CfnOutput(self, "DistributionId", value=self.distribution.distribution_id)
