"""No module of the Lambda code grows past 500 lines (the architecture's limit; generated
protobuf code aside): a module that long holds more than one concept."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LIMIT = 500


def test_no_chalicelib_module_is_over_500_lines() -> None:
    sizes = {
        str(path.relative_to(ROOT)): len(path.read_text(encoding="utf-8").splitlines())
        for path in (ROOT / "chalicelib").rglob("*.py")
        if "executor_proto" not in path.parts
    }
    assert len(sizes) > 50  # the tree was found
    assert {p: n for p, n in sizes.items() if n > LIMIT} == {}
    assert len((ROOT / "app.py").read_text(encoding="utf-8").splitlines()) < 300
