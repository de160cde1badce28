"""docs/openapi.json: current with the route table, and every operation documented with examples."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel

import app  # noqa: F401 - registers every blueprint's routes
from chalicelib.api.rest import ROUTES, openapi_document
from chalicelib.http.openapi import MissingExample, build_document
from chalicelib.http.routes import RouteSpec, RouteTable, resolve_model
from scripts import openapi as generator

DOCUMENTED = [spec for spec in ROUTES if spec.documented]


def test_committed_document_is_current() -> None:
    assert not generator.is_stale(), "docs/openapi.json is stale: run `make openapi`"


def test_committed_document_is_the_served_one_but_for_the_version() -> None:
    import json

    committed = json.loads(generator.DOCUMENT.read_text(encoding="utf-8"))
    served = openapi_document()
    assert {k: v for k, v in committed.items() if k != "info"} == {
        k: v for k, v in served.items() if k != "info"
    }
    assert list(committed["paths"]) == sorted(committed["paths"])
    assert list(committed["components"]["schemas"]) == sorted(committed["components"]["schemas"])


@pytest.mark.parametrize("spec", DOCUMENTED, ids=[f"{s.method} {s.path}" for s in DOCUMENTED])
def test_every_operation_has_a_summary_and_examples(spec: RouteSpec) -> None:
    operation = openapi_document()["paths"][spec.path][spec.method.lower()]
    assert operation["summary"].strip()
    if spec.body is not None:
        media = operation["requestBody"]["content"]["application/json"]
        _assert_valid_example(resolve_model(spec.body), media["example"])
    success = operation["responses"][str(spec.status)]
    if spec.response is None:
        assert "content" not in success  # 202/204 without a body
    else:
        _assert_valid_example(
            resolve_model(spec.response), success["content"]["application/json"]["example"]
        )


def _assert_valid_example(model: type[BaseModel] | None, example: Any) -> None:
    assert model is not None
    assert example not in (None, {}, [])
    parsed = model.model_validate(example)  # a real instance of the documented model
    # Nothing in the example is silently dropped or renamed by the model.
    wire = parsed.to_json() if hasattr(parsed, "to_json") else parsed.model_dump(by_alias=True)
    assert {k: wire[k] for k in example} == example


def test_a_model_without_examples_is_refused() -> None:
    class Bare(BaseModel):
        name: str

    table = RouteTable()
    table.add(RouteSpec(method="GET", path="/bare", name="bare", summary="Bare", response=Bare))
    with pytest.raises(MissingExample, match=r"GET /bare: Bare\.name"):
        build_document(table, title="t", version="1")


def test_examples_compose_from_nested_models_and_field_examples() -> None:
    tokens = openapi_document()["paths"]["/auth/login"]["post"]["responses"]["200"]
    example = tokens["content"]["application/json"]["example"]
    users = openapi_document()["paths"]["/me"]["get"]["responses"]["200"]
    # TokenOut has no example of its own: its fields' examples plus UserOut's example.
    assert example["user"] == users["content"]["application/json"]["example"]
    assert example["tokenType"] == "Bearer"
    assert example["expiresIn"] == 900


def test_check_mode_fails_on_a_stale_file(tmp_path, monkeypatch) -> None:
    stale = tmp_path / "openapi.json"
    stale.write_text("{}\n", encoding="utf-8")
    monkeypatch.setattr(generator, "DOCUMENT", stale)
    assert generator.main(["--check"]) == 1
    assert generator.main([]) == 0
    assert generator.main(["--check"]) == 0
