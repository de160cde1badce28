"""Generate the executor's Python stubs from ``proto/executor.proto`` (``make proto``).

The same stubs go to every package that imports them: the executor container ships
without ``chalicelib`` and the Lambdas ship without ``executor_container``. ``--check``
exits 1 when the committed stubs differ from what the .proto generates (a test runs it).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROTO = ROOT / "proto" / "executor.proto"
TARGETS = (ROOT / "executor_container" / "proto_gen", ROOT / "chalicelib" / "executor_proto")
INIT_TEXT = '"""Generated from proto/executor.proto by `make proto`. Do not edit."""\n'


def render() -> dict[str, str]:
    """File name -> content of the generated package."""
    from grpc_tools import protoc  # dev-only dependency (grpcio-tools)

    with tempfile.TemporaryDirectory() as out:
        include = str(Path(protoc.__file__).parent / "_proto")
        code = protoc.main(
            [
                "grpc_tools.protoc",
                f"-I{PROTO.parent}",
                f"-I{include}",
                f"--python_out={out}",
                f"--pyi_out={out}",
                f"--grpc_python_out={out}",
                str(PROTO),
            ]
        )
        if code != 0:
            raise SystemExit(f"protoc failed with exit code {code}")
        files = {p.name: p.read_text() for p in sorted(Path(out).iterdir()) if p.is_file()}
    # protoc writes a top-level import; the stubs live inside a package.
    grpc_file = "executor_pb2_grpc.py"
    files[grpc_file] = files[grpc_file].replace(
        "import executor_pb2 as executor__pb2", "from . import executor_pb2 as executor__pb2"
    )
    files["__init__.py"] = INIT_TEXT
    return files


def stale_files(files: dict[str, str]) -> list[str]:
    stale = []
    for target in TARGETS:
        for name, text in files.items():
            path = target / name
            if not path.is_file() or path.read_text() != text:
                stale.append(str(path.relative_to(ROOT)))
        if target.is_dir():
            extra = {p.name for p in target.glob("*.py*")} - set(files)
            stale.extend(str((target / n).relative_to(ROOT)) for n in sorted(extra))
    return stale


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="only report stale stubs")
    args = parser.parse_args(argv)
    files = render()
    if args.check:
        stale = stale_files(files)
        for path in stale:
            sys.stderr.write(f"out of date: {path}\n")
        return 1 if stale else 0
    for target in TARGETS:
        target.mkdir(parents=True, exist_ok=True)
        for name, text in files.items():
            (target / name).write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
