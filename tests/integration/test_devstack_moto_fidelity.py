"""The dev stack's moto enforces what AWS enforces where plain moto is laxer.

Against the very child process the dev stack runs (``devstack.moto_server``):
- S3 presigned POST: the signed policy's conditions (key, type, size range, every field named,
  expiry, signature) - plain moto stores whatever the form says;
- DynamoDB: a write that would pass 400 KB (as DynamoDB counts) fails with ValidationException
  and changes nothing - plain moto half-applies an UpdateItem.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
import requests
from botocore.config import Config
from botocore.exceptions import ClientError

from devstack.moto_backend import MotoServer
from devstack.moto_server import MAX_ITEM_BYTES, item_size

REGION = "us-east-1"
BUCKET = "fidelity-files"
TABLE = "fidelity-items"


@pytest.fixture(scope="module")
def moto() -> Iterator[MotoServer]:
    server = MotoServer()
    server.start(dict(os.environ))
    yield server
    server.stop()


def _session() -> boto3.session.Session:
    # The dev stack's fake credentials: the ones its moto verifies POST signatures with.
    return boto3.session.Session(
        aws_access_key_id="devstack", aws_secret_access_key="devstack", region_name=REGION
    )


@pytest.fixture(scope="module")
def s3(moto: MotoServer) -> Any:
    # Signed like the product's client (chalicelib.aws_clients): SigV4, path style.
    config = Config(signature_version="s3v4", s3={"addressing_style": "path"})
    client = _session().client("s3", endpoint_url=moto.url, config=config)
    client.create_bucket(Bucket=BUCKET)
    return client


@pytest.fixture(scope="module")
def dynamodb(moto: MotoServer) -> Any:
    client = _session().client("dynamodb", endpoint_url=moto.url)
    client.create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return client


# ------------------------------------------------------------------------------ S3 POST policy

TAGGING = (
    "<Tagging><TagSet><Tag><Key>aion-state</Key><Value>pending</Value></Tag></TagSet></Tagging>"
)


def _form(s3: Any, key: str, size: int, expires_in: int = 300) -> dict[str, Any]:
    """A form shaped like the product's (chalicelib.logic.files)."""
    return s3.generate_presigned_post(
        Bucket=BUCKET,
        Key=key,
        Fields={"Content-Type": "text/plain", "tagging": TAGGING},
        Conditions=[
            {"Content-Type": "text/plain"},
            {"tagging": TAGGING},
            ["content-length-range", size, size],
        ],
        ExpiresIn=expires_in,
    )


def _post(form: dict[str, Any], body: bytes, **changes: str | None) -> requests.Response:
    fields = dict(form["fields"])
    for name, value in changes.items():
        name = name.replace("_", "-") if name != "Content_Type" else "Content-Type"
        if value is None:
            fields.pop(name, None)
        else:
            fields[name] = value
    return requests.post(
        form["url"], data=fields, files={"file": ("f.txt", body, "text/plain")}, timeout=10
    )


def _error_code(reply: requests.Response) -> str:
    return reply.text.split("<Code>")[1].split("</Code>")[0]


def test_a_form_as_signed_stores_the_file_with_its_tags(s3: Any) -> None:
    form = _form(s3, "uploads/p1/f1", 5)
    reply = _post(form, b"hello")
    assert reply.status_code == 204, reply.text
    stored = s3.get_object(Bucket=BUCKET, Key="uploads/p1/f1")
    assert stored["Body"].read() == b"hello"
    assert stored["ContentType"] == "text/plain"
    tags = s3.get_object_tagging(Bucket=BUCKET, Key="uploads/p1/f1")["TagSet"]
    assert tags == [{"Key": "aion-state", "Value": "pending"}]


def test_a_key_changed_to_another_object_is_refused_and_the_object_untouched(s3: Any) -> None:
    s3.put_object(Bucket=BUCKET, Key="files/p2/victim", Body=b"ready file of p2")
    form = _form(s3, "uploads/p1/f2", 5)
    reply = _post(form, b"evil!", key="files/p2/victim")
    assert reply.status_code == 403
    assert _error_code(reply) == "AccessDenied"
    assert "Policy Condition failed" in reply.text
    assert '"$key"' in reply.text
    body = s3.get_object(Bucket=BUCKET, Key="files/p2/victim")["Body"].read()
    assert body == b"ready file of p2"


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [(b"123456", 400, "EntityTooLarge"), (b"1234", 400, "EntityTooSmall")],
)
def test_content_length_range_bounds_the_file(s3: Any, body: bytes, status: int, code: str) -> None:
    form = _form(s3, f"uploads/p1/size-{len(body)}", 5)
    reply = _post(form, body)
    assert reply.status_code == status
    assert _error_code(reply) == code
    with pytest.raises(ClientError):
        s3.head_object(Bucket=BUCKET, Key=f"uploads/p1/size-{len(body)}")


def test_other_signed_fields_and_unsigned_extra_fields_are_refused(s3: Any) -> None:
    form = _form(s3, "uploads/p1/f3", 5)
    changed_type = _post(form, b"hello", Content_Type="text/html")
    assert changed_type.status_code == 403
    assert "Policy Condition failed" in changed_type.text
    no_tag = _post(form, b"hello", tagging=None)
    assert no_tag.status_code == 403
    extra = _post(form, b"hello", x_amz_meta_owner="someone-else")
    assert extra.status_code == 403
    assert "Extra input fields: x-amz-meta-owner" in extra.text
    with pytest.raises(ClientError):
        s3.head_object(Bucket=BUCKET, Key="uploads/p1/f3")


def test_a_rewritten_policy_an_unknown_key_a_missing_policy_or_an_old_one_are_refused(
    s3: Any,
) -> None:
    form = _form(s3, "uploads/p1/f4", 5)
    policy = json.loads(base64.b64decode(form["fields"]["policy"]))
    policy["conditions"] = [c for c in policy["conditions"] if "key" not in json.dumps(c)]
    forged = base64.b64encode(json.dumps(policy).encode()).decode()
    assert _error_code(_post(form, b"hello", policy=forged)) == "SignatureDoesNotMatch"

    credential = form["fields"]["x-amz-credential"].replace("devstack/", "someone/", 1)
    assert _error_code(_post(form, b"hello", x_amz_credential=credential)) == ("InvalidAccessKeyId")
    anonymous = _post(form, b"hello", policy=None, x_amz_signature=None)
    assert anonymous.status_code == 403

    expired = _post(_form(s3, "uploads/p1/f5", 5, expires_in=-60), b"hello")
    assert expired.status_code == 403
    assert "Policy expired" in expired.text


def test_sigv2_forms_are_checked_too(moto: MotoServer, s3: Any) -> None:
    v2 = _session().client("s3", endpoint_url=moto.url)  # boto3's default here: SigV2 forms
    form = v2.generate_presigned_post(
        Bucket=BUCKET, Key="uploads/v2/f", Conditions=[["content-length-range", 1, 10]]
    )
    assert "signature" in form["fields"]
    assert _post(form, b"ok").status_code == 204
    assert _post(form, b"ok", key="uploads/v2/other").status_code == 403
    assert _error_code(_post(form, b"ok", signature="AAAA")) == "SignatureDoesNotMatch"


# ------------------------------------------------------------------------------ DynamoDB size


def _get(dynamodb: Any, pk: str) -> dict[str, Any] | None:
    return dynamodb.get_item(TableName=TABLE, Key={"pk": {"S": pk}}, ConsistentRead=True).get(
        "Item"
    )


def test_item_size_is_counted_as_dynamodb_counts_it() -> None:
    # UTF-8 bytes of names and strings; numbers by significant digits; 3 bytes per list/map
    # plus 1 per element; booleans and nulls 1.
    assert item_size({"pk": {"S": "中"}}) == 2 + 3
    assert item_size({"n": {"N": "123.4500"}}) == 1 + 4  # 5 significant digits
    assert item_size({"m": {"M": {"ab": {"BOOL": True}}}}) == 1 + 3 + 2 + 1 + 1
    assert item_size({"l": {"L": [{"NULL": True}, {"S": "xy"}]}}) == 1 + 3 + 2 + 3
    assert item_size({"b": {"B": base64.b64encode(b"1234").decode()}}) == 1 + 4


def test_the_400_kb_boundary_is_dynamodbs(dynamodb: Any) -> None:
    fill = MAX_ITEM_BYTES - len("pk") - len("edge") - len("v")
    dynamodb.put_item(TableName=TABLE, Item={"pk": {"S": "edge"}, "v": {"S": "x" * fill}})
    assert len(_get(dynamodb, "edge")["v"]["S"]) == fill
    with pytest.raises(ClientError) as too_big:
        dynamodb.put_item(
            TableName=TABLE, Item={"pk": {"S": "edge2"}, "v": {"S": "x" * (fill + 1)}}
        )
    assert too_big.value.response["Error"]["Code"] == "ValidationException"
    assert _get(dynamodb, "edge2") is None


def test_an_update_past_the_limit_changes_nothing(dynamodb: Any) -> None:
    dynamodb.put_item(
        TableName=TABLE,
        Item={"pk": {"S": "task"}, "status": {"S": "queued"}, "input": {"S": "中" * 90_000}},
    )
    before = _get(dynamodb, "task")
    with pytest.raises(ClientError) as failed:
        dynamodb.update_item(
            TableName=TABLE,
            Key={"pk": {"S": "task"}},
            # The first action fits; the second pushes the item over: both or neither.
            UpdateExpression="SET #s = :running, #r = :result",
            ExpressionAttributeNames={"#s": "status", "#r": "result"},
            ExpressionAttributeValues={
                ":running": {"S": "running"},
                ":result": {"S": "x" * 200_000},
            },
        )
    assert failed.value.response["Error"]["Code"] == "ValidationException"
    assert _get(dynamodb, "task") == before


def test_growing_a_nested_map_past_the_limit_is_refused(dynamodb: Any) -> None:
    dynamodb.put_item(
        TableName=TABLE, Item={"pk": {"S": "nested"}, "m": {"M": {"a": {"S": "x" * 300_000}}}}
    )
    before = _get(dynamodb, "nested")
    with pytest.raises(ClientError) as failed:
        dynamodb.update_item(
            TableName=TABLE,
            Key={"pk": {"S": "nested"}},
            UpdateExpression="SET m.b = :big",
            ExpressionAttributeValues={":big": {"S": "y" * 150_000}},
        )
    assert failed.value.response["Error"]["Code"] == "ValidationException"
    assert _get(dynamodb, "nested") == before


def test_an_update_of_a_missing_item_past_the_limit_creates_nothing(dynamodb: Any) -> None:
    with pytest.raises(ClientError):
        dynamodb.update_item(
            TableName=TABLE,
            Key={"pk": {"S": "ghost"}},
            UpdateExpression="SET v = :big",
            ExpressionAttributeValues={":big": {"S": "x" * 420_000}},
        )
    assert _get(dynamodb, "ghost") is None  # plain moto leaves a key-only item


def test_a_transaction_with_an_oversized_update_writes_none_of_its_items(dynamodb: Any) -> None:
    dynamodb.put_item(TableName=TABLE, Item={"pk": {"S": "tx-b"}, "v": {"S": "small"}})
    with pytest.raises(ClientError):
        dynamodb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": TABLE, "Item": {"pk": {"S": "tx-a"}}}},
                {
                    "Update": {
                        "TableName": TABLE,
                        "Key": {"pk": {"S": "tx-b"}},
                        "UpdateExpression": "SET v = :big",
                        "ExpressionAttributeValues": {":big": {"S": "x" * 420_000}},
                    }
                },
            ]
        )
    assert _get(dynamodb, "tx-a") is None
    assert _get(dynamodb, "tx-b")["v"]["S"] == "small"
