"""The committed gRPC stubs must be exactly what proto/executor.proto generates."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _generator():
    spec = importlib.util.spec_from_file_location("proto_generate", ROOT / "proto" / "generate.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_generated_stubs_match_the_proto() -> None:
    generator = _generator()
    stale = generator.stale_files(generator.render())
    assert stale == [], f"run `make proto`: {stale}"


def test_check_notices_a_hand_edited_stub(tmp_path, monkeypatch) -> None:
    generator = _generator()
    files = generator.render()
    target = tmp_path / "stubs"
    target.mkdir()
    for name, text in files.items():
        (target / name).write_text(text)
    monkeypatch.setattr(generator, "ROOT", tmp_path)
    monkeypatch.setattr(generator, "TARGETS", (target,))
    assert generator.stale_files(files) == []
    (target / "executor_pb2.py").write_text(files["executor_pb2.py"] + "# edited\n")
    assert generator.stale_files(files) == ["stubs/executor_pb2.py"]


def test_both_stub_packages_share_one_message_type() -> None:
    from chalicelib.executor_proto import executor_pb2 as client_pb2
    from executor_container.proto_gen import executor_pb2 as server_pb2

    request = server_pb2.ExecuteRequest(module="text.stats", text="hi")
    decoded = client_pb2.ExecuteRequest.FromString(request.SerializeToString())
    assert decoded.module == "text.stats"
    assert decoded.WhichOneof("input") == "text"
