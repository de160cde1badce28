"""moto ignores CopyObject's preconditions; S3 enforces them (412 PreconditionFailed):
``x-amz-copy-source-if-match`` (the source's ETag) and ``If-None-Match: *`` (the destination
must not exist). This fixture makes moto enforce both, so completion's race handling is tested
against the behaviour S3 documents rather than silently passing."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote, urlparse

import pytest


@pytest.fixture
def s3_copy_conditions(monkeypatch: pytest.MonkeyPatch) -> None:
    from moto.s3.exceptions import PreconditionFailed
    from moto.s3.responses import S3Response

    original = S3Response.copy_object

    def copy_object(self: S3Response) -> Any:
        source = urlparse(str(self.headers.get("x-amz-copy-source")))
        src_bucket, src_key = unquote(source.path).lstrip("/").split("/", 1)
        wanted = self.headers.get("x-amz-copy-source-if-match")
        if wanted is not None:
            current = self.backend.get_object(src_bucket, src_key)
            if current is not None and current.etag.strip('"') != wanted.strip('"'):
                raise PreconditionFailed("x-amz-copy-source-If-Match")
        destination = self.backend.get_object(self.bucket_name, self.parse_key_name())
        if self.headers.get("If-None-Match") == "*" and destination is not None:
            raise PreconditionFailed("If-None-Match")
        return original(self)

    monkeypatch.setattr(S3Response, "copy_object", copy_object)
