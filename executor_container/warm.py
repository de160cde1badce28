"""Imported once by the forkserver: loads every module and its heavy libraries (polars,
the VADER lexicon) so each forked worker starts warm in milliseconds."""

from __future__ import annotations

from executor_container.registry import catalogue

for _spec in catalogue().values():
    if _spec.warm is not None:
        _spec.warm()
