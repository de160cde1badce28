"""The module registry: what a module is, and the catalogue of all of them.

A module is one file in ``executor_container/modules/`` that defines ``MODULE = ModuleSpec(...)``.
Discovery imports every file of that package, so adding a module is adding one file. Extra
files can be named in ``AION_EXECUTOR_EXTRA_MODULES`` (comma-separated dotted paths); such a
file may define ``MODULES = [...]`` instead (the tests add their misbehaving modules so).
"""

from __future__ import annotations

import codecs
import importlib
import os
import pkgutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict

from chalicelib.shared.caches import process_cache
from chalicelib.shared.failures import Failure

MiB = 1024 * 1024
EXTRA_MODULES_ENV = "AION_EXECUTOR_EXTRA_MODULES"


class NoParams(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ModuleError(Failure):
    """A module refusing its input: ends the call with an ``error`` event (not a crash).

    Permanent unless ``retryable`` (the shared retry taxonomy, ``chalicelib.shared.failures``).
    """

    def __init__(self, code: str, message: str, *, retryable: bool = False) -> None:
        super().__init__(message, code=code, retryable=retryable)


class InvalidInput(ModuleError):
    def __init__(self, message: str) -> None:
        super().__init__("invalid_input", message)


class ModuleInput(Protocol):
    """The call's input, whatever way it arrived (text, bytes, S3 object or nothing)."""

    @property
    def size(self) -> int: ...

    def chunks(self, size: int = MiB) -> Iterator[bytes]: ...

    def data(self) -> bytes: ...

    def text(self) -> str: ...


class ModuleContext(Protocol):
    def progress(self, fraction: float, message: str = "") -> None: ...

    def log(self, message: str, level: str = "info") -> None: ...


RunFunction = Callable[[ModuleInput, Any, ModuleContext], dict[str, Any]]


@dataclass(frozen=True)
class ModuleSpec:
    name: str
    description: str
    run: RunFunction
    params: type[BaseModel] = NoParams
    version: str = "1.0.0"
    max_input_bytes: int = 4 * MiB
    timeout_seconds: float = 30.0
    cpu_seconds: float = 30.0
    # Imports heavy libraries once per worker, before its first call.
    warm: Callable[[], object] | None = None
    params_schema: dict[str, Any] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "params_schema", self.params.model_json_schema())


def decode_utf8(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"input is not valid UTF-8 (byte {exc.start})") from exc


def iter_text(source: ModuleInput, chunk_bytes: int = 4 * MiB) -> Iterator[tuple[str, int]]:
    """Decode the input chunk by chunk: yields (text, bytes consumed so far)."""
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    done = 0
    try:
        for block in source.chunks(chunk_bytes):
            done += len(block)
            yield decoder.decode(block, final=False), done
        yield decoder.decode(b"", final=True), done
    except UnicodeDecodeError as exc:
        raise InvalidInput("input is not valid UTF-8") from exc


def _module_files() -> Iterator[str]:
    from executor_container import modules

    for info in pkgutil.iter_modules(modules.__path__):
        if not info.name.startswith("_"):
            yield f"{modules.__name__}.{info.name}"
    for extra in os.environ.get(EXTRA_MODULES_ENV, "").split(","):
        if extra.strip():
            yield extra.strip()


@process_cache
def catalogue() -> dict[str, ModuleSpec]:
    """Every registered module by name (sorted)."""
    found: dict[str, ModuleSpec] = {}
    for dotted in _module_files():
        loaded = importlib.import_module(dotted)
        specs = getattr(loaded, "MODULES", None) or [getattr(loaded, "MODULE", None)]
        for spec in specs:
            if not isinstance(spec, ModuleSpec):
                raise RuntimeError(f"{dotted} defines no MODULE = ModuleSpec(...)")
            if spec.name in found:
                raise RuntimeError(f"module {spec.name} is registered twice")
            found[spec.name] = spec
    return dict(sorted(found.items()))
