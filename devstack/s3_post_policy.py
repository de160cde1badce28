"""S3 browser-based uploads (presigned POST) checked the way S3 checks them.

moto stores whatever a POST form carries: a ``key`` changed to another project's object, a file
larger than ``content-length-range``, a ``Content-Type`` other than the signed one - S3 refuses
each. Here, before moto stores anything, the form is checked as S3 documents it
(docs.aws.amazon.com/AmazonS3/latest/API/sigv4-HTTPPOSTConstructPolicy.html):

- the policy is signed (SigV4 ``AWS4-HMAC-SHA256``, or SigV2) with a secret this moto knows -
  the dev stack's fake credentials and those in its environment; an unknown key is
  ``InvalidAccessKeyId``, a wrong signature ``SignatureDoesNotMatch`` (403);
- the policy has not expired, every condition holds (``{"field": v}``, ``["eq", "$f", v]``,
  ``["starts-with", "$f", prefix]``, the bucket) - else 403 ``AccessDenied``, "Invalid according
  to Policy: Policy Condition failed: [...]";
- every form field is named by a condition (except ``policy``, ``x-amz-signature``, ``file`` and
  ``x-ignore-*``) - else 403 "Extra input fields";
- ``content-length-range`` bounds the file - else 400 ``EntityTooLarge`` / ``EntityTooSmall``;
- a form without a policy is anonymous: 403 on these private buckets.

And like S3 (unlike moto) the form's ``tagging`` field tags the object. Only the dev stack's
moto process imports this.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import hashlib
import hmac
import json
import os
import uuid
import xml.etree.ElementTree as ElementTree
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape

from devstack.env import FAKE_ACCESS_KEY, FAKE_SECRET_KEY

# Fields a policy does not have to name (S3's list; the last two are SigV2's).
_EXEMPT = {"policy", "x-amz-signature", "file", "signature", "awsaccesskeyid"}


@dataclass(frozen=True)
class Refusal:
    status: int
    code: str
    message: str

    def xml(self) -> str:
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<Error><Code>{self.code}</Code><Message>{escape(self.message)}</Message>"
            f"<RequestId>{uuid.uuid4().hex[:16].upper()}</RequestId></Error>"
        )


def known_credentials(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """Access key -> secret this moto can verify signatures with."""
    env = os.environ if env is None else env
    known = {FAKE_ACCESS_KEY: FAKE_SECRET_KEY}
    key, secret = env.get("AWS_ACCESS_KEY_ID"), env.get("AWS_SECRET_ACCESS_KEY")
    if key and secret:
        known[key] = secret
    return known


def _signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    key = ("AWS4" + secret).encode()
    for part in (date, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def _denied(message: str) -> Refusal:
    return Refusal(403, "AccessDenied", message)


def _condition_failed(condition: Any) -> Refusal:
    return _denied(
        "Invalid according to Policy: Policy Condition failed: "
        + json.dumps(condition, separators=(", ", ": "))
    )


def check_form(
    fields: Mapping[str, str],
    *,
    bucket: str,
    file_size: int,
    credentials: Mapping[str, str],
    now: datetime.datetime | None = None,
) -> Refusal | None:
    """Why S3 would refuse this POST form, or None when it would store the file."""
    lowered = {name.lower(): value for name, value in fields.items()}
    policy_b64 = lowered.get("policy")
    if not policy_b64:
        return _denied("Access Denied")
    refusal = _check_signature(lowered, policy_b64, credentials)
    if refusal is not None:
        return refusal
    try:
        policy = json.loads(base64.b64decode(policy_b64, validate=True))
        conditions = policy["conditions"]
        expiration = datetime.datetime.fromisoformat(policy["expiration"].replace("Z", "+00:00"))
    except (binascii.Error, ValueError, KeyError, TypeError, AttributeError):
        return Refusal(400, "InvalidPolicyDocument", "Invalid Policy: Invalid JSON.")
    if not isinstance(conditions, list):
        return Refusal(400, "InvalidPolicyDocument", "Invalid Policy: Invalid 'conditions'.")
    if (now or datetime.datetime.now(datetime.UTC)) >= expiration:
        return _denied("Invalid according to Policy: Policy expired.")
    named: set[str] = set()
    for condition in conditions:
        refusal = _check_condition(condition, lowered, bucket, file_size, named)
        if refusal is not None:
            return refusal
    extra = sorted(
        name
        for name in lowered
        if name not in _EXEMPT and not name.startswith("x-ignore-") and name not in named
    )
    if extra:
        return _denied(f"Invalid according to Policy: Extra input fields: {', '.join(extra)}")
    return None


_UNKNOWN_KEY = Refusal(
    403, "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records."
)
_BAD_SIGNATURE = Refusal(
    403,
    "SignatureDoesNotMatch",
    "The request signature we calculated does not match the signature you provided. "
    "Check your key and signing method.",
)


def _check_signature(
    fields: Mapping[str, str], policy_b64: str, credentials: Mapping[str, str]
) -> Refusal | None:
    """SigV4 (x-amz-signature over the policy) or SigV2 (signature, AWSAccessKeyId)."""
    if "x-amz-signature" in fields:
        if fields.get("x-amz-algorithm") != "AWS4-HMAC-SHA256":
            return Refusal(400, "InvalidArgument", "x-amz-algorithm must be AWS4-HMAC-SHA256")
        credential = fields.get("x-amz-credential", "").split("/")
        if len(credential) != 5 or credential[4] != "aws4_request":
            return Refusal(400, "InvalidArgument", "x-amz-credential is malformed")
        access_key, date, region, service, _ = credential
        secret = credentials.get(access_key)
        if secret is None:
            return _UNKNOWN_KEY
        expected = hmac.new(
            _signing_key(secret, date, region, service), policy_b64.encode(), hashlib.sha256
        ).hexdigest()
        given = fields["x-amz-signature"]
    elif "signature" in fields:
        secret = credentials.get(fields.get("awsaccesskeyid", ""))
        if secret is None:
            return _UNKNOWN_KEY
        digest = hmac.new(secret.encode(), policy_b64.encode(), hashlib.sha1).digest()
        expected, given = base64.b64encode(digest).decode(), fields["signature"]
    else:
        return _denied("Access Denied")
    return None if hmac.compare_digest(expected, given) else _BAD_SIGNATURE


def _check_condition(
    condition: Any, fields: Mapping[str, str], bucket: str, size: int, named: set[str]
) -> Refusal | None:
    if isinstance(condition, dict):
        if len(condition) != 1:
            return Refusal(400, "InvalidPolicyDocument", "Invalid Policy: Invalid Condition.")
        name, value = next(iter(condition.items()))
        condition_list: list[Any] = ["eq", f"${name}", value]
    elif isinstance(condition, list) and len(condition) == 3:
        condition_list = condition
    else:
        return Refusal(400, "InvalidPolicyDocument", "Invalid Policy: Invalid Condition.")
    op = str(condition_list[0]).lower()
    if op == "content-length-range":
        low, high = int(condition_list[1]), int(condition_list[2])
        if size > high:
            return Refusal(
                400, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size"
            )
        if size < low:
            return Refusal(
                400,
                "EntityTooSmall",
                "Your proposed upload is smaller than the minimum allowed size",
            )
        return None
    target = str(condition_list[1])
    if op not in ("eq", "starts-with") or not target.startswith("$"):
        return Refusal(400, "InvalidPolicyDocument", "Invalid Policy: Invalid Condition.")
    name = target[1:].lower()
    actual = bucket if name == "bucket" else fields.get(name)
    named.add(name)
    wanted = str(condition_list[2])
    # S3 names a failed condition in its list form: ["eq", "$key", "..."].
    if actual is None:
        return _condition_failed([op, target, wanted])
    if op == "eq" and actual != wanted:
        return _condition_failed([op, target, wanted])
    if op == "starts-with" and not actual.startswith(wanted):
        return _condition_failed([op, target, wanted])
    return None


def _tags_of(tagging_xml: str) -> dict[str, str]:
    try:
        root = ElementTree.fromstring(tagging_xml)  # noqa: S314 (signed by the app, size-bound)
    except ElementTree.ParseError:
        return {}
    tags = {}
    for tag in root.iter():
        if tag.tag.rsplit("}", 1)[-1] == "Tag":
            values = {child.tag.rsplit("}", 1)[-1]: child.text or "" for child in tag}
            if "Key" in values:
                tags[values["Key"]] = values.get("Value", "")
    return tags


def install(credentials: Mapping[str, str] | None = None) -> None:
    """Check POST forms in moto's S3 (idempotent)."""
    from moto.s3.responses import S3Response

    original = S3Response._bucket_response_post
    if getattr(original, "checks_policy", False):
        return
    known = dict(credentials) if credentials is not None else known_credentials()

    def bucket_response_post(self: Any, request: Any, bucket_name: str) -> Any:
        self.path = self._get_path(request)
        form = getattr(self, "form_data", None)
        if self.is_delete_keys() or not form:
            return original(self, request, bucket_name)
        fields = {name: form.get(name) for name in form}
        body = self.body.encode() if isinstance(self.body, str) else bytes(self.body or b"")
        refusal = check_form(fields, bucket=bucket_name, file_size=len(body), credentials=known)
        if refusal is not None:
            return refusal.status, {"Content-Type": "application/xml"}, refusal.xml()
        result = original(self, request, bucket_name)
        tagging = next((v for k, v in fields.items() if k.lower() == "tagging"), None)
        key_name = next((v for k, v in fields.items() if k.lower() == "key"), None)
        if tagging and key_name:
            stored = self.backend.get_object(bucket_name, key_name)
            if stored is not None:
                self.backend.put_object_tagging(stored, _tags_of(tagging))
        return result

    bucket_response_post.checks_policy = True  # type: ignore[attr-defined]
    S3Response._bucket_response_post = bucket_response_post  # type: ignore[method-assign]
