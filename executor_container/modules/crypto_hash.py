"""crypto.hash: a digest of text, bytes or an S3 object, streamed in chunks."""

from __future__ import annotations

import hashlib
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from executor_container.registry import MiB, ModuleContext, ModuleInput, ModuleSpec

PROGRESS_EVERY_BYTES = 64 * MiB


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid")
    algorithm: Literal["sha256", "sha1", "md5", "sha512", "blake2b"] = "sha256"


def run(source: ModuleInput, params: Params, ctx: ModuleContext) -> dict[str, Any]:
    # md5/sha1 are offered for checksums, not security.
    digest = hashlib.new(params.algorithm, usedforsecurity=False)
    total = source.size
    done = next_report = 0
    for chunk in source.chunks(MiB):
        digest.update(chunk)
        done += len(chunk)
        if done >= next_report + PROGRESS_EVERY_BYTES and done < total:
            next_report = done
            ctx.progress(done / total, f"hashed {done // MiB} of {total // MiB} MB")
    return {"algorithm": params.algorithm, "hexdigest": digest.hexdigest(), "bytes": done}


MODULE = ModuleSpec(
    name="crypto.hash",
    description="sha256, sha1, md5, sha512 or blake2b digest of the input.",
    run=run,
    params=Params,
    max_input_bytes=5 * 1024 * MiB,
    timeout_seconds=300.0,
    cpu_seconds=300.0,
)
