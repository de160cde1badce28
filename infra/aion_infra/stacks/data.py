"""State: the DynamoDB tables (generated from the models), the files bucket, the secrets and
the alarm topic. Retained in prod, removed with the stack in dev."""

from __future__ import annotations

from aws_cdk import CfnOutput, Duration, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from aion_infra.nag import suppress
from aion_infra.settings import StageSettings
from aion_infra.stacks.web import files_bucket_name
from aion_infra.tables import IndexSpec, Key, TableSpec, table_specs

# The tag every presigned upload is stored with until completion re-tags it (the app's side:
# chalicelib/logic/files.py STATE_TAG/PENDING; infra/tests check that both say the same).
UPLOAD_STATE_TAG = "aion-state"
UPLOAD_PENDING = "pending"

_TYPES = {
    "S": dynamodb.AttributeType.STRING,
    "N": dynamodb.AttributeType.NUMBER,
    "B": dynamodb.AttributeType.BINARY,
}
_PROJECTIONS = {
    "ALL": dynamodb.ProjectionType.ALL,
    "KEYS_ONLY": dynamodb.ProjectionType.KEYS_ONLY,
    "INCLUDE": dynamodb.ProjectionType.INCLUDE,
}


def _attr(key: Key | None) -> dynamodb.Attribute | None:
    return dynamodb.Attribute(name=key.name, type=_TYPES[key.type]) if key else None


class DataStack(Stack):
    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        settings: StageSettings,
        console_origin: str,
        logs_bucket: s3.IBucket,
        **kw: object,
    ) -> None:
        super().__init__(scope, id, **kw)
        self.settings = settings
        self.table_specs: list[TableSpec] = table_specs()
        self.tables: dict[str, dynamodb.Table] = {
            spec.short_name: self._table(spec) for spec in self.table_specs
        }

        # Task inputs and results too large to inline; uploads by presigned POST from the console.
        self.files_bucket = s3.Bucket(
            self,
            "Files",
            bucket_name=files_bucket_name(settings),
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            versioned=False,
            cors=[
                s3.CorsRule(
                    allowed_origins=[console_origin],
                    allowed_methods=[s3.HttpMethods.POST, s3.HttpMethods.GET, s3.HttpMethods.HEAD],
                    allowed_headers=["*"],
                    exposed_headers=["ETag"],
                    max_age=3000,
                )
            ],
            lifecycle_rules=[
                # Uploads that never finished leave parts behind; only this rule removes them.
                s3.LifecycleRule(
                    id="abort-incomplete-uploads",
                    abort_incomplete_multipart_upload_after=Duration.days(1),
                ),
                # The presigned POST stores every upload tagged pending; completion re-tags it
                # ready (or deletes it). Whatever is still pending a day later was abandoned.
                s3.LifecycleRule(
                    id="expire-abandoned-uploads",
                    tag_filters={UPLOAD_STATE_TAG: UPLOAD_PENDING},
                    expiration=Duration.days(1),
                ),
            ],
            server_access_logs_bucket=logs_bucket,
            server_access_logs_prefix="files-bucket/",
            removal_policy=settings.removal_policy,
            auto_delete_objects=not settings.retain_data,
        )

        # Generated once at deploy; read at runtime through their ARNs (never in plain env).
        self.jwt_secret = secretsmanager.Secret(
            self,
            "JwtSecret",
            secret_name=f"aion/{settings.stage}/jwt-signing-key",
            description="HS256 signing key(s) for AION access tokens (plain key or rotation JSON)",
            generate_secret_string=secretsmanager.SecretStringGenerator(
                password_length=64, exclude_punctuation=True
            ),
            removal_policy=settings.removal_policy,
        )
        self.bridge_token = secretsmanager.Secret(
            self,
            "BridgeToken",
            secret_name=f"aion/{settings.stage}/bridge-token",
            description="Shared token of the executor and external telemetry workers",
            generate_secret_string=secretsmanager.SecretStringGenerator(
                password_length=48, exclude_punctuation=True
            ),
            removal_policy=settings.removal_policy,
        )
        for secret in (self.jwt_secret, self.bridge_token):
            suppress(
                secret,
                "SMG4",
                "Rotation is manual by design: the JWT secret takes a JSON key set so old and new "
                "keys overlap (see chalicelib/secrets.py); the functions pick up a new value "
                "within their cache age. A rotation Lambda would cut sessions off.",
            )

        self.alarm_topic = sns.Topic(
            self, "Alarms", topic_name=f"{settings.prefix}alarms", enforce_ssl=True
        )
        self.alarm_topic.add_to_resource_policy(
            iam.PolicyStatement(
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["sns:Publish"],
                resources=[self.alarm_topic.topic_arn],
                conditions={"StringEquals": {"aws:SourceAccount": self.account}},
            )
        )
        if settings.alarm_email:
            self.alarm_topic.add_subscription(subscriptions.EmailSubscription(settings.alarm_email))

        CfnOutput(self, "TablePrefix", value=settings.prefix)
        CfnOutput(self, "FilesBucketName", value=self.files_bucket.bucket_name)
        CfnOutput(self, "JwtSecretArn", value=self.jwt_secret.secret_arn)
        CfnOutput(self, "BridgeTokenSecretArn", value=self.bridge_token.secret_arn)
        CfnOutput(self, "AlarmTopicArn", value=self.alarm_topic.topic_arn)

    def _table(self, spec: TableSpec) -> dynamodb.Table:
        table = dynamodb.Table(
            self,
            f"Table{spec.model_name}",
            table_name=spec.physical_name(self.settings.prefix),
            partition_key=_attr(spec.partition_key),
            sort_key=_attr(spec.sort_key),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            encryption=dynamodb.TableEncryption.AWS_MANAGED,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            time_to_live_attribute=spec.ttl_attribute,
            deletion_protection=self.settings.retain_data,
            removal_policy=self.settings.removal_policy,
        )
        for index in spec.global_indexes:
            table.add_global_secondary_index(**self._index_props(index))
        for index in spec.local_indexes:
            props = self._index_props(index)
            props.pop("partition_key")
            table.add_local_secondary_index(**props)
        return table

    @staticmethod
    def _index_props(index: IndexSpec) -> dict[str, object]:
        props: dict[str, object] = {
            "index_name": index.name,
            "partition_key": _attr(index.partition_key),
            "sort_key": _attr(index.sort_key),
            "projection_type": _PROJECTIONS[index.projection],
        }
        if index.non_key_attributes:
            props["non_key_attributes"] = list(index.non_key_attributes)
        return props
