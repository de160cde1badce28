"""The mutation score of each mutated module, from mutmut's results (``make mutation``).

Reads ``mutants/**/*.py.meta`` (mutmut's exit code per mutant) and prints, per module, how
many mutants the tests killed out of all it made. A mutant counts as killed when a test failed
(or timed out) with it in place; "no tests" and "survived" count against the score. Exits 1
when a module is below ``--min`` percent.

    python -m scripts.mutation_score [--min 85] [--survivors]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

# mutmut's exit codes (mutmut.stats.status_by_exit_code).
KILLED = {1, 3, 36, -24, 24, 152, 255, 37}  # a test failed, timed out, or the type check caught it
SURVIVED = {0}
NO_TESTS = {5, 33}
SKIPPED = {34}


def module_of(mutant: str) -> str:
    """``chalicelib.auth.tokens.x_decode__mutmut_3`` -> ``chalicelib.auth.tokens``."""
    head = mutant.split("__mutmut_")[0]
    parts = head.split(".")
    while parts and (parts[-1].startswith(("x_", "x\u01c1")) or "\u01c1" in parts[-1]):
        parts.pop()
    return ".".join(parts)


def load(root: Path) -> dict[str, dict[str, int]]:
    """{module: {mutant: exit code}} for every mutant mutmut checked."""
    results: dict[str, dict[str, int]] = {}
    for meta in sorted(root.glob("**/*.py.meta")):
        codes = json.loads(meta.read_text())["exit_code_by_key"]
        for mutant, code in codes.items():
            results.setdefault(module_of(mutant), {})[mutant] = code
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path("mutants"))
    parser.add_argument("--min", type=float, default=0.0, help="lowest acceptable score, %%")
    parser.add_argument("--survivors", action="store_true", help="list the surviving mutants")
    args = parser.parse_args(argv)

    results = load(args.root)
    if not results:
        print(f"no mutmut results under {args.root}/ (run `make mutation`)", file=sys.stderr)
        return 1
    unchecked = [m for codes in results.values() for m, c in codes.items() if c is None]
    width = max(len(name) for name in results)
    print(f"{'module':<{width}}  killed  survived  no tests  total   score")
    failing = []
    for module, codes in sorted(results.items()):
        counts = Counter(
            "killed"
            if code in KILLED
            else "survived"
            if code in SURVIVED
            else "no_tests"
            if code in NO_TESTS
            else "skipped"
            if code in SKIPPED
            else "other"
            for code in codes.values()
        )
        total = len(codes) - counts["skipped"]
        score = 100.0 * counts["killed"] / total if total else 100.0
        print(
            f"{module:<{width}}  {counts['killed']:>6}  {counts['survived']:>8}  "
            f"{counts['no_tests']:>8}  {total:>5}  {score:5.1f}%"
        )
        if score < args.min:
            failing.append(module)
        if args.survivors:
            for mutant, code in sorted(codes.items()):
                if code in SURVIVED or code in NO_TESTS:
                    status = "survived" if code in SURVIVED else "no tests"
                    print(f"    {status}: {mutant}")
    if unchecked:
        print(f"{len(unchecked)} mutants were not checked (an interrupted run?)", file=sys.stderr)
        return 1
    if failing:
        print(f"below {args.min:.0f}%: {', '.join(failing)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
