"""What people see: the live view of a running task, plain lines off a terminal, results.

Results are rendered by module: a table for ``data.csv_profile``, the text itself for
summaries and generated text, key/value rows for the rest.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    Progress,
    SpinnerColumn,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from aion_client.models import RouteDecision, Task, TelemetryEvent

STATUS_STYLES = {
    "queued": "dim",
    "running": "cyan",
    "completed": "green",
    "failed": "red",
    "canceled": "yellow",
    "needs_review": "magenta",
}
_MAX_CELL = 80


def status_text(status: str) -> str:
    style = STATUS_STYLES.get(status, "white")
    return f"[{style}]{escape(status)}[/]"


def route_text(route: RouteDecision | dict[str, Any] | None) -> str:
    """``text.summarize via executor, 93%``."""
    if route is None:
        return ""
    if isinstance(route, dict):
        route = RouteDecision.model_validate(route)
    if not route.module and not route.target:
        return ""
    text = f"{route.module or '?'} via {route.target or '?'}"
    if route.confidence is not None:
        text += f", {round(route.confidence * 100)}%"
    return text


def clock(at: str) -> str:
    """The time of day of an ISO timestamp (the date adds nothing while watching)."""
    try:
        return datetime.fromisoformat(at.replace("Z", "+00:00")).astimezone().strftime("%H:%M:%S")
    except ValueError:
        return at[:8]


def event_line(event: TelemetryEvent) -> str:
    """One timeline line, plain text."""
    line = f"{clock(event.at)}  {event.status:<12} {event.kind:<8} {event.message}"
    if event.progress is not None and event.kind == "progress":
        line += f" ({round(event.progress * 100)}%)"
    return line.rstrip()


# ------------------------------------------------------------------------ following a task


class PlainView:
    """Off a terminal: one plain line per event."""

    def __init__(self, console: Console) -> None:
        self.console = console

    def __enter__(self) -> PlainView:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def update(self, event: TelemetryEvent) -> None:
        self.console.print(event_line(event), markup=False, highlight=False, soft_wrap=True)


class LiveView:
    """On a terminal: a progress bar (status, route, progress, elapsed) under the timeline."""

    def __init__(self, console: Console, task: Task) -> None:
        self.console = console
        self.status = task.status
        self.route = route_text(task.route)
        self.progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            TaskProgressColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=False,
        )
        self.bar = self.progress.add_task(self._description(), total=None)

    def __enter__(self) -> LiveView:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def _description(self) -> str:
        text = status_text(self.status)
        if self.route:
            text += f" · {escape(self.route)}"
        return text

    def update(self, event: TelemetryEvent) -> None:
        if event.kind == "routed" and isinstance(event.data, dict):
            self.route = route_text(event.data) or self.route
        if event.status:
            self.status = event.status
        changes: dict[str, Any] = {"description": self._description()}
        if event.progress is not None:
            changes.update(total=100, completed=round(event.progress * 100, 1))
        if event.kind == "status" and event.status == "completed":
            changes.update(total=100, completed=100)
        self.progress.update(self.bar, **changes)
        style = STATUS_STYLES.get(event.status, "white")
        self.progress.console.print(
            f"[dim]{clock(event.at)}[/]  [{style}]{event.status:<12}[/] "
            f"[bold]{event.kind:<8}[/] {escape(event.message)}"
            + (
                f" [dim]({round(event.progress * 100)}%)[/]"
                if event.progress is not None and event.kind == "progress"
                else ""
            ),
            highlight=False,
        )

    def finish(self, task: Task) -> None:
        self.status = task.status
        self.route = route_text(task.route) or self.route
        changes: dict[str, Any] = {"description": self._description()}
        if task.status == "completed":
            changes.update(total=100, completed=100)
        self.progress.update(self.bar, **changes)
        self.progress.refresh()


# ------------------------------------------------------------------------ results


def render_result(console: Console, task: Task) -> None:
    """A completed task's result, for people."""
    module = task.module or (task.route.module if task.route else None)
    result = task.result
    if result is None:
        if task.result_ref:
            console.print(
                "The result is too large to show here; it is kept in storage "
                f"({escape(task.result_ref)}).",
            )
        else:
            console.print("[dim](no result)[/]")
        return
    if module == "data.csv_profile" and isinstance(result, dict) and "columns" in result:
        console.print(csv_profile_table(result))
        return
    if isinstance(result, dict):
        text = _text_result(module, result)
        if text is not None:
            console.print(text, markup=False, highlight=False, soft_wrap=True)
            return
        console.print(key_value_table(result.items()))
        return
    if isinstance(result, str):
        console.print(result, markup=False, highlight=False, soft_wrap=True)
        return
    console.print(json.dumps(result, indent=2, ensure_ascii=False), markup=False)


def _text_result(module: str | None, result: dict[str, Any]) -> str | None:
    """The prose of a module whose result is prose (a summary, generated text)."""
    field = {"text.summarize": "summary", "llm.generate": "text"}.get(module or "")
    if field and isinstance(result.get(field), str):
        return result[field]
    if set(result) <= {"text"} and isinstance(result.get("text"), str):
        return result["text"]
    return None


def csv_profile_table(result: dict[str, Any]) -> Table:
    columns = [c for c in result.get("columns") or [] if isinstance(c, dict)]
    table = Table(
        title=f"{result.get('rows', '?')} rows, {len(columns)} columns", title_justify="left"
    )
    headers = ["name", "type", "nulls", "distinct", "min", "max", "mean"]
    for header in headers:
        table.add_column(header, justify="left" if header in ("name", "type") else "right")
    for column in columns:
        table.add_row(*(cell(column.get(h)) for h in headers))
    return table


def key_value_table(rows: Iterable[tuple[str, Any]]) -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    for key, value in rows:
        table.add_row(escape(str(key)), escape(cell(value, limit=None)))
    return table


def cell(value: Any, limit: int | None = _MAX_CELL) -> str:
    """A value as one short line: numbers rounded, lists joined, objects as compact JSON."""
    if value is None:
        return ""
    if isinstance(value, float):
        text = number(value)
    elif isinstance(value, str | int | bool):
        text = str(value)
    elif isinstance(value, list | dict) and not value:
        text = "(none)"
    elif isinstance(value, list) and all(isinstance(v, str | int | float) for v in value):
        text = ", ".join(number(v) if isinstance(v, float) else str(v) for v in value)
    else:
        text = json.dumps(value, ensure_ascii=False, separators=(", ", ": "))
    text = " ".join(text.split())
    if limit is not None and len(text) > limit:
        text = text[: limit - 1] + "…"
    return text


def number(value: float) -> str:
    """149999.5 -> 149999.5, 0.49961234 -> 0.4996, 6.6e-06 -> 6.6e-06, 3.0 -> 3."""
    if value == 0 or 1e-3 <= abs(value) < 1e12:
        return f"{value:.4f}".rstrip("0").rstrip(".")
    return f"{value:.4g}"


def task_table(tasks: Iterable[Task], *, reason: bool = False) -> Table:
    table = Table(box=None, header_style="bold", pad_edge=False)
    table.add_column("ID", no_wrap=True)
    table.add_column("STATUS", no_wrap=True)
    if reason:
        table.add_column("REASON", no_wrap=True)
    table.add_column("MODULE", no_wrap=True)
    table.add_column("TITLE", overflow="ellipsis", max_width=60)
    table.add_column("CREATED", no_wrap=True)
    for task in tasks:
        module = task.module or (task.route.module if task.route else None) or ""
        row = [task.id, status_text(task.status)]
        if reason:
            row.append(escape((task.route.reason_code if task.route else None) or ""))
        row += [escape(module), escape(task.title), escape(task.created_at or "")]
        table.add_row(*row)
    return table


def task_details(task: Task) -> Table:
    rows: list[tuple[str, Any]] = [
        ("id", task.id),
        ("project", task.project_id),
        ("status", task.status),
        ("title", task.title),
        ("instruction", cell(task.instruction, limit=200)),
    ]
    if task.input is not None:
        rows.append(("input", cell(task.input, limit=200)))
    if task.params:
        rows.append(("params", task.params))
    if task.route is not None:
        rows.append(("route", route_text(task.route)))
        if task.route.reason:
            rows.append(("reason", task.route.reason))
    rows += [
        ("attempts", task.attempts),
        ("created", task.created_at),
        ("started", task.started_at),
        ("finished", task.finished_at),
    ]
    if task.error:
        rows.append(("error", f"{task.error.get('code', '')}: {task.error.get('message', '')}"))
    return key_value_table((k, v) for k, v in rows if v not in (None, ""))
