"""data.csv_profile: per-column profile of a CSV (type, nulls, distinct, min, max, mean).

Polars parses and aggregates in parallel, in one pass over the columns.
"""

from __future__ import annotations

import datetime as dt
import io
import math
from typing import Any

from executor_container.registry import InvalidInput, MiB, ModuleContext, ModuleInput, ModuleSpec

INFER_SCHEMA_ROWS = 10_000
# Profiling costs about half a millisecond per column whatever the rows, and a result
# lists every column: past this width the work grows with no useful answer at the end
# (32,000 columns in 330 KB took 3.7 s to produce a result over the 1 MiB output limit).
MAX_COLUMNS = 1000


def _warm() -> None:
    import polars  # noqa: F401  (≈0.6 s: paid once per worker, not per call)


def _kind(dtype: Any) -> str:
    import polars as pl

    if dtype.is_integer():
        return "integer"
    if dtype.is_float():
        return "float"
    if dtype == pl.Boolean:
        return "boolean"
    if dtype == pl.Date:
        return "date"
    if isinstance(dtype, pl.Datetime):
        return "datetime"
    if dtype == pl.Time:
        return "time"
    if dtype in (pl.String, pl.Categorical):
        return "string"
    return str(dtype).lower()


def _plain(value: Any) -> Any:
    """A JSON-safe value: dates as ISO strings, NaN/inf as null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dt.date | dt.datetime | dt.time):
        return value.isoformat()
    return value


def profile(data: bytes, ctx: ModuleContext | None = None) -> dict[str, Any]:
    import polars as pl

    if not data.strip():
        return {"rows": 0, "columns": []}
    try:
        # The header alone first (every column read as text): refuse a too-wide CSV before
        # parsing its rows.
        width = pl.read_csv(io.BytesIO(data), n_rows=0, infer_schema_length=0).width
        if width > MAX_COLUMNS:
            raise InvalidInput(
                f"CSV has {width} columns; data.csv_profile reads at most {MAX_COLUMNS}"
            )
        frame = pl.read_csv(
            io.BytesIO(data), infer_schema_length=INFER_SCHEMA_ROWS, try_parse_dates=True
        )
    except (pl.exceptions.PolarsError, UnicodeDecodeError) as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        # Polars quotes the offending field: keep the message short whatever the input.
        raise InvalidInput(f"malformed CSV: {first_line[:200]}") from exc
    if ctx is not None:
        ctx.progress(0.6, f"parsed {frame.height} rows; profiling {frame.width} columns")
    kinds = {name: _kind(dtype) for name, dtype in frame.schema.items()}
    aggregates: list[pl.Expr] = []
    for index, name in enumerate(frame.columns):
        col = pl.col(name)
        aggregates += [col.null_count().alias(f"{index}n"), col.n_unique().alias(f"{index}d")]
        if kinds[name] in ("integer", "float", "date", "datetime", "time", "boolean"):
            aggregates += [col.min().alias(f"{index}lo"), col.max().alias(f"{index}hi")]
        if kinds[name] in ("integer", "float"):
            aggregates.append(col.mean().alias(f"{index}m"))
    stats = frame.select(aggregates).row(0, named=True) if aggregates else {}
    columns = []
    for index, name in enumerate(frame.columns):
        nulls = stats[f"{index}n"]
        # n_unique counts null as a value; "distinct" means distinct non-null values.
        distinct = stats[f"{index}d"] - (1 if nulls else 0)
        columns.append(
            {
                "name": name,
                "type": kinds[name],
                "nulls": nulls,
                "distinct": distinct,
                "min": _plain(stats.get(f"{index}lo")),
                "max": _plain(stats.get(f"{index}hi")),
                "mean": _plain(stats.get(f"{index}m")),
            }
        )
    return {"rows": frame.height, "columns": columns}


def run(source: ModuleInput, params: Any, ctx: ModuleContext) -> dict[str, Any]:
    data = source.data()
    ctx.progress(0.1, f"parsing {len(data) // 1024} KB of CSV")
    return profile(data, ctx)


MODULE = ModuleSpec(
    name="data.csv_profile",
    description="Per-column profile of a CSV: type, nulls, distinct, min, max, mean.",
    run=run,
    max_input_bytes=512 * MiB,
    timeout_seconds=120.0,
    cpu_seconds=240.0,
    warm=_warm,
)
