"""The function table itself (no synth): names that exist, unknown handlers refused."""

from __future__ import annotations

import pytest
from aion_infra.functions import ALL_TABLES, FUNCTIONS, specs_for
from aion_infra.tables import table_specs


def test_every_table_a_function_names_is_a_model_table() -> None:
    tables = {spec.short_name for spec in table_specs()}
    for spec in FUNCTIONS:
        named = set(spec.tables_ro) | (
            set() if spec.tables_rw == ALL_TABLES else set(spec.tables_rw)
        )
        assert named <= tables, (spec.handler, named - tables)


def test_handlers_and_resource_ids_are_unique() -> None:
    assert (
        len({f.handler for f in FUNCTIONS})
        == len({f.logical_id for f in FUNCTIONS})
        == len(FUNCTIONS)
    )


def test_the_agreed_handlers_are_all_described() -> None:
    assert {f.handler for f in FUNCTIONS} == {
        "api_handler",
        "ws_connect",
        "ws_message",
        "ws_disconnect",
        "dispatch",
        "sweep",
    }


def test_an_unknown_function_from_app_py_is_refused() -> None:
    assert set(specs_for(["APIHandler", "Dispatch"])) == {"APIHandler", "Dispatch"}
    with pytest.raises(ValueError, match="Reindex"):
        specs_for(["APIHandler", "Reindex"])


def test_nobody_but_the_rest_handler_gets_every_table() -> None:
    assert [f.handler for f in FUNCTIONS if f.tables_rw == ALL_TABLES] == ["api_handler"]


def _grants(handler: str, action: str) -> set[str]:
    (spec,) = [f for f in FUNCTIONS if f.handler == handler]
    return {g.prefix for g in spec.files if action in g.actions}


def test_every_key_prefix_the_app_uploads_to_is_granted() -> None:
    """The keys chalicelib/logic/files.py builds: the REST handler presigns uploads, copies the
    checked ones to the final prefix and deletes the rest; the dispatcher reads only final
    keys (never an upload key a still-valid form could overwrite); only the REST handler tags.
    Inputs too large for the task item live under chalicelib/logic/input_store.py's prefix."""
    import re

    from aion_infra.functions import FINAL_FILES_PREFIX
    from aion_infra.paths import REPO_ROOT

    source = (REPO_ROOT / "chalicelib" / "logic" / "files.py").read_text(encoding="utf-8")
    uploads = set(re.findall(r'key=f"([a-z]+/)', source))
    assert uploads == {"tasks/", "uploads/"}
    (final,) = re.findall(r'^FINAL_PREFIX = "([a-z]+/)"$', source, flags=re.M)
    assert final == FINAL_FILES_PREFIX
    assert final not in uploads  # no upload form is ever issued for the final prefix
    stored = (REPO_ROOT / "chalicelib" / "logic" / "input_store.py").read_text(encoding="utf-8")
    (inputs,) = set(re.findall(r'return f"([a-z]+/)\{task_id\}/"', stored))
    assert _grants("api_handler", "s3:PutObjectTagging") == {*uploads, final}
    assert _grants("api_handler", "s3:PutObject") == {*uploads, final, inputs}
    # Deleting a task or a project (its first purge batch) also removes large results.
    assert _grants("api_handler", "s3:DeleteObject") == {*uploads, final, "results/", inputs}
    assert _grants("api_handler", "s3:GetObject") == {*uploads, final, "results/", inputs}
    # The dispatcher reads large inputs, and moves one out of an item too large to end.
    assert _grants("dispatch", "s3:GetObject") == {final, inputs}
    assert _grants("dispatch", "s3:PutObject") == {"results/", inputs}
    readers = {
        f.handler
        for f in FUNCTIONS
        if any(final == g.prefix and "s3:GetObject" in g.actions for g in f.files)
    }
    assert readers == {"api_handler", "dispatch"}
    # The sweeper continues project purges: it deletes objects by key, and moves the input of
    # a task too large to end out of its item (nothing else).
    (sweep,) = [f for f in FUNCTIONS if f.handler == "sweep"]
    assert {a for g in sweep.files for a in g.actions} == {"s3:DeleteObject", "s3:PutObject"}
    assert _grants("sweep", "s3:DeleteObject") == {*uploads, final, "results/", inputs}
    assert _grants("sweep", "s3:PutObject") == {inputs}
    taggers = {
        f.handler for f in FUNCTIONS if any("s3:PutObjectTagging" in g.actions for g in f.files)
    }
    assert taggers == {"api_handler"}
