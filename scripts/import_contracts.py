"""An import-linter contract type the built-in ones cannot express: "these modules import only
those modules" (a whitelist), optionally "and of everything else only the standard library".

Used by pyproject.toml's [tool.importlinter] for chalicelib.shared (pure stdlib, copied into the
executor image) and for executor_container (of chalicelib, only chalicelib.shared).
"""

from __future__ import annotations

import sys
from typing import Any

from importlinter import Contract, ContractCheck, fields, output


class ImportsOnlyContract(Contract):
    """Every module in ``source_modules`` (and below) imports, among the root packages, only
    ``allowed_modules`` (and below); with ``stdlib_only``, no third-party package at all.

    Configuration options:
        - source_modules:  the packages the contract is about.
        - allowed_modules: the internal packages they may import (list themselves here).
        - stdlib_only:     "true" to refuse every import outside the root packages but the
                           standard library.
    """

    type_name = "imports_only"

    source_modules = fields.ListField(subfield=fields.ModuleField())
    allowed_modules = fields.ListField(subfield=fields.ModuleField())
    stdlib_only = fields.BooleanField(required=False, default=False)

    def check(self, graph: Any, verbose: bool) -> ContractCheck:
        roots = {name.split(".")[0] for name in graph.modules if not graph.is_module_squashed(name)}
        allowed = [m.name for m in self.allowed_modules]
        stdlib_only = str(self.stdlib_only).lower() == "true"
        violations: list[dict[str, Any]] = []
        for source in self.source_modules:
            importers = {source.name} | graph.find_descendants(source.name)
            for importer in sorted(importers):
                for imported in sorted(graph.find_modules_directly_imported_by(importer)):
                    top = imported.split(".")[0]
                    if top in roots:
                        ok = any(imported == a or imported.startswith(a + ".") for a in allowed)
                    else:
                        ok = not stdlib_only or top in sys.stdlib_module_names
                    if ok:
                        continue
                    details = graph.get_import_details(importer=importer, imported=imported)
                    lines = tuple(d["line_number"] for d in details)
                    violations.append({"importer": importer, "imported": imported, "lines": lines})
                    output.verbose_print(verbose, f"{importer} -> {imported} (l. {lines})")
        return ContractCheck(kept=not violations, metadata={"violations": violations})

    def render_broken_contract(self, check: ContractCheck) -> None:
        for v in check.metadata["violations"]:
            lines = ", ".join(str(n) for n in v["lines"])
            output.print_error(f"{v['importer']} imports {v['imported']} (l. {lines})")
            output.new_line()
