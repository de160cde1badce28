"""``aion``: the command line of AION.

Exit status: 0 completed (or done), 1 failed (or any other error), 2 usage or auth error,
3 needs_review, 4 canceled, 130 stopped with Ctrl-C. Errors are one sentence on stderr;
``--json`` puts only JSON on stdout.
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from aion_client._version import __version__
from aion_client.client import Client
from aion_client.errors import (
    AionError,
    ApiError,
    AuthenticationError,
    ConfigurationError,
    sentence,
)
from aion_client.models import ApiModel, Project, Task
from aion_client.settings import ENV_URL, LoginStore, env

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_NEEDS_REVIEW = 3
EXIT_CANCELED = 4
EXIT_INTERRUPTED = 130
EXIT_BY_STATUS = {
    "completed": EXIT_OK,
    "failed": EXIT_FAILED,
    "needs_review": EXIT_NEEDS_REVIEW,
    "canceled": EXIT_CANCELED,
}
DEFAULT_URL = "http://127.0.0.1:8000/api"
DEFAULT_PROJECT = "default"
_USAGE_STATUSES = frozenset({400, 401, 403, 413, 428})


# ------------------------------------------------------------------------ output


def stdout_console() -> Console:
    # Off a terminal, a wide fixed width: tables are not folded to 80 columns in a pipe.
    probe = Console(file=sys.stdout)
    return Console(
        file=sys.stdout,
        highlight=False,
        width=None if probe.is_terminal else 200,
    )


def stderr_console() -> Console:
    return Console(file=sys.stderr, highlight=False, soft_wrap=True)


def say(message: str) -> None:
    """A note for people, on stderr (stdout stays the command's output)."""
    stderr_console().print(message, markup=False)


def print_json(data: Any) -> None:
    click.echo(json.dumps(_plain(data), indent=2, ensure_ascii=False))


def _plain(data: Any) -> Any:
    if isinstance(data, ApiModel):
        return data.to_api()
    if isinstance(data, list):
        return [_plain(item) for item in data]
    if isinstance(data, dict):
        return {key: _plain(value) for key, value in data.items()}
    return data


def one_line(text: str) -> str:
    return " ".join(str(text).split())


def exit_code_for(error: AionError) -> int:
    if isinstance(error, ConfigurationError | AuthenticationError):
        return EXIT_USAGE
    if isinstance(error, ApiError) and error.status in _USAGE_STATUSES:
        return EXIT_USAGE
    return EXIT_FAILED


def error_sentence(error: AionError) -> str:
    text = sentence(error.message)
    if isinstance(error, ApiError) and error.code:
        text += f" [{error.code}]"
    if isinstance(error, AuthenticationError):
        text += " Run aion login, or check AION_API_KEY."
    return f"Error: {text}"


# ------------------------------------------------------------------------ the command group


class AionGroup(click.Group):
    """Turns every SDK error into one sentence on stderr and the exit status it means."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except AionError as exc:
            click.echo(error_sentence(exc), err=True)
            ctx.exit(exit_code_for(exc))
        except KeyboardInterrupt:
            click.echo("Interrupted.", err=True)
            ctx.exit(EXIT_INTERRUPTED)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except OSError as exc:  # a local file or stream
            where = f" ({exc.filename})" if exc.filename else ""
            click.echo(f"Error: {sentence((exc.strerror or str(exc)) + where)}", err=True)
            ctx.exit(EXIT_FAILED)
        except Exception as exc:
            if env("AION_DEBUG"):
                raise
            # Not an API answer nor a local file: a bug, still told in one sentence.
            detail = one_line(str(exc)) or "no detail"
            click.echo(
                f"Error: {type(exc).__name__}: {detail} (AION_DEBUG=1 shows where).", err=True
            )
            ctx.exit(EXIT_FAILED)


class State:
    def __init__(self, url: str | None) -> None:
        self.url = url
        self._client: Client | None = None

    def client(self) -> Client:
        if self._client is None:
            self._client = Client(self.url)
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()


pass_state = click.make_pass_decorator(State)


def json_option(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON only (on stdout).")(
        func
    )


def project_option(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--project",
        "-p",
        metavar="NAME_OR_ID",
        help="The project (default: AION_PROJECT, or your only project).",
    )(func)


@click.group(cls=AionGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--url",
    metavar="URL",
    help=f"API base URL (default: {ENV_URL}, else the one you logged in to).",
)
@click.version_option(__version__, prog_name="aion")
@click.pass_context
def cli(ctx: click.Context, url: str | None) -> None:
    """AION from the command line: run tasks and watch them live, manage projects, reviews
    and API keys.

    Set AION_URL and AION_API_KEY, or run `aion login` once.
    """
    state = State(url)
    ctx.obj = state
    ctx.call_on_close(state.close)


def main() -> None:
    cli.main(prog_name="aion")


# ------------------------------------------------------------------------ login


@cli.command()
@click.option("--email", metavar="EMAIL", help="Default: AION_EMAIL, else asked.")
@click.option(
    "--password",
    metavar="PASSWORD",
    help="Default: AION_PASSWORD, else asked (hidden). A flag shows in the process list.",
)
@click.option("--ws-url", metavar="URL", help="The WebSocket URL, if not beside the API.")
@json_option
@pass_state
def login(
    state: State, email: str | None, password: str | None, ws_url: str | None, as_json: bool
) -> None:
    """Log in with email and password; the session is kept in your config directory."""
    store = LoginStore()
    url = state.url or env(ENV_URL)
    if not url:
        current = store.load()
        url = click.prompt("API URL", default=current.url if current else DEFAULT_URL)
    email = email or env("AION_EMAIL") or click.prompt("Email")
    password = password or env("AION_PASSWORD") or click.prompt("Password", hide_input=True)
    client = Client.login(url, email, password, store=store, ws_url=ws_url)
    with client:
        me = client.me()
    if as_json:
        print_json({"url": client.url, "user": me, "credentialsFile": str(store.path)})
        return
    say(f"Logged in to {client.url} as {me.email} ({me.role}). Session kept in {store.path}.")


@cli.command()
@json_option
@pass_state
def logout(state: State, as_json: bool) -> None:
    """End the stored login session."""
    store = LoginStore()
    url = state.url or env(ENV_URL)
    stored = store.load(url)
    if stored is None:
        raise ConfigurationError("You are not logged in" + (f" to {url}." if url else "."))
    client = Client(stored.url, store=store)
    with client:
        client.logout()
    if as_json:
        print_json({"url": stored.url, "loggedOut": True})
        return
    say(f"Logged out of {stored.url}.")


# ------------------------------------------------------------------------ projects


@cli.group()
def projects() -> None:
    """List and create projects."""


@projects.command("list")
@json_option
@pass_state
def projects_list(state: State, as_json: bool) -> None:
    """Projects you belong to."""
    items = list(state.client().projects.list())
    if as_json:
        print_json(items)
        return
    if not items:
        say("You have no projects yet; create one with: aion projects create NAME")
        return
    table = Table(box=None, header_style="bold", pad_edge=False)
    for header in ("ID", "NAME", "MEMBERS", "CREATED"):
        table.add_column(header, no_wrap=header != "NAME")
    for project in items:
        table.add_row(
            project.id,
            escape(project.name),
            str(len(project.member_ids)),
            escape(project.created_at or ""),
        )
    stdout_console().print(table)


@projects.command("create")
@click.argument("name")
@click.option("--description", default="", help="What the project is for.")
@json_option
@pass_state
def projects_create(state: State, name: str, description: str, as_json: bool) -> None:
    """Create a project (you own it)."""
    project = state.client().projects.create(name, description=description)
    if as_json:
        print_json(project)
        return
    stdout_console().print(f"Created project {escape(project.name)} ({project.id}).")


def resolve_project(client: Client, ref: str | None, *, create: bool = False) -> Project:
    """The project named by --project, else AION_PROJECT, else the caller's only one (with
    ``create``: a new "default" project when the caller has none)."""
    if ref:
        return client.projects.resolve(ref)
    had_none = not client.project and next(iter(client.projects.list()), None) is None
    try:
        project = client.projects.default(create_if_none=DEFAULT_PROJECT if create else None)
    except ConfigurationError as exc:
        raise ConfigurationError(
            f"{exc.message.rstrip('.')}: choose one with --project NAME_OR_ID or AION_PROJECT "
            "(see aion projects list)."
        ) from exc
    if had_none and create:
        say(f"Created project {project.name} ({project.id}) for your tasks.")
    return project


# ------------------------------------------------------------------------ run and watch


def parse_value(text: str) -> Any:
    """JSON when the text is valid JSON (numbers, true, objects...), else the text itself."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def parse_params(pairs: Iterable[str]) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"{pair!r} is not KEY=VALUE.", param_hint="--param")
        params[key.strip()] = parse_value(value)
    return params


def read_input(text: str | None) -> str | None:
    if text == "-":
        return sys.stdin.read()
    return text


def param_option(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--param",
        "params",
        multiple=True,
        metavar="KEY=VALUE",
        help="A module parameter; VALUE is JSON when it parses as JSON, else text. Repeatable.",
    )(func)


@cli.command()
@click.argument("instruction")
@click.option("--input", "input_text", metavar="TEXT", help="The task's input ('-': stdin).")
@click.option(
    "--file",
    "file_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Upload this file and make it the task's input.",
)
@project_option
@click.option("--module", metavar="MODULE", help="Run this module (skips classification).")
@param_option
@click.option("--title", help="A title (default: from the instruction).")
@click.option(
    "--priority", type=click.Choice(["low", "normal", "high", "urgent"]), help="Priority."
)
@click.option("--no-watch", is_flag=True, help="Create the task and return at once.")
@click.option("--cancel", is_flag=True, help="Ctrl-C cancels the task instead of leaving it.")
@json_option
@pass_state
def run(
    state: State,
    instruction: str,
    input_text: str | None,
    file_path: Path | None,
    project: str | None,
    module: str | None,
    params: tuple[str, ...],
    title: str | None,
    priority: str | None,
    no_watch: bool,
    cancel: bool,
    as_json: bool,
) -> None:
    """Run a task and watch it live to its end (exit 0 completed, 1 failed, 3 needs review,
    4 canceled)."""
    if input_text is not None and file_path is not None:
        raise click.UsageError("Give --input or --file, not both.")
    parsed = parse_params(params)
    client = state.client()
    chosen = resolve_project(client, project, create=True)
    if file_path is not None and not as_json:
        say(f"Uploading {file_path.name} ({file_path.stat().st_size:,} bytes)...")
    task = client.tasks.create(
        instruction,
        project=chosen,
        input=read_input(input_text),
        file=file_path,
        module=module,
        params=parsed or None,
        title=title,
        priority=priority,
    )
    if no_watch:
        if as_json:
            print_json(task)
            return
        stdout_console().print(
            f"Created task {task.id} ({task.status}). Follow it with: aion tasks watch {task.id}"
        )
        return
    follow(client, task, as_json=as_json, cancel_on_interrupt=cancel)


def follow(client: Client, task: Task, *, as_json: bool, cancel_on_interrupt: bool) -> None:
    """Watch a task to its end, show the outcome, exit with the status it ended in."""
    from aion_client.cli.render import LiveView, PlainView

    console = stdout_console()
    view: LiveView | PlainView | None = None
    if not as_json:
        view = LiveView(console, task) if console.is_terminal else PlainView(console)
    try:
        with view if view is not None else contextlib.nullcontext():
            for event in client.tasks.watch(task.id):
                if view is not None:
                    view.update(event)
            final = client.tasks.get(task.id)
            if isinstance(view, LiveView):
                view.finish(final)
    except KeyboardInterrupt:
        if not cancel_on_interrupt:
            say(
                f"Stopped watching task {task.id}; it goes on. "
                f"Resume with: aion tasks watch {task.id}"
            )
            click.get_current_context().exit(EXIT_INTERRUPTED)
        canceled = client.tasks.cancel(task.id)
        if not canceled.is_finished:
            say(f"Cancel requested for task {task.id}; waiting for it to stop.")
        follow(client, canceled, as_json=as_json, cancel_on_interrupt=False)
        return
    outcome(final, as_json=as_json, console=console)


def outcome(task: Task, *, as_json: bool, console: Console | None = None) -> None:
    """Show how a task ended and exit with the matching status."""
    from aion_client.cli.render import render_result

    if as_json:
        print_json(task)
    elif task.status == "completed":
        render_result(console or stdout_console(), task)
    else:
        say(outcome_sentence(task))
    click.get_current_context().exit(EXIT_BY_STATUS.get(task.status, EXIT_OK))


def outcome_sentence(task: Task) -> str:
    if task.status == "failed":
        error = task.error or {}
        code = error.get("code") or "failed"
        message = sentence(error.get("message") or "no reason given")
        return f"Task {task.id} failed ({code}): {message}"
    if task.status == "canceled":
        return f"Task {task.id} was canceled."
    if task.status == "needs_review":
        route = task.route
        why = sentence(route.reason if route and route.reason else "no route can take it now")
        code = f" ({route.reason_code})" if route and route.reason_code else ""
        return (
            f"Task {task.id} needs review{code}: {why} "
            f"Act on it with: aion review answer|run|input|reject {task.id}"
        )
    return f"Task {task.id} is {task.status}."


# ------------------------------------------------------------------------ tasks


@cli.group()
def tasks() -> None:
    """List, show, watch, cancel and retry tasks."""


@tasks.command("list")
@project_option
@click.option(
    "--status",
    type=click.Choice(["queued", "running", "completed", "failed", "canceled", "needs_review"]),
)
@click.option("--mine", is_flag=True, help="Tasks assigned to you, across projects.")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 10_000))
@json_option
@pass_state
def tasks_list(
    state: State,
    project: str | None,
    status: str | None,
    mine: bool,
    limit: int,
    as_json: bool,
) -> None:
    """A project's tasks."""
    from itertools import islice

    from aion_client.cli.render import task_table

    client = state.client()
    if mine:
        found = client.tasks.list(status=status)
    else:
        found = client.tasks.list(project=resolve_project(client, project), status=status)
    items = list(islice(found, limit))
    if as_json:
        print_json(items)
        return
    if not items:
        say("No tasks.")
        return
    stdout_console().print(task_table(items))


@tasks.command("show")
@click.argument("task_id")
@json_option
@pass_state
def tasks_show(state: State, task_id: str, as_json: bool) -> None:
    """A task: its fields and, once completed, its result."""
    from aion_client.cli.render import render_result, task_details

    task = state.client().tasks.get(task_id)
    if as_json:
        print_json(task)
        return
    console = stdout_console()
    console.print(task_details(task))
    if task.status == "completed":
        console.print()
        render_result(console, task)


@tasks.command("watch")
@click.argument("task_id")
@click.option("--cancel", is_flag=True, help="Ctrl-C cancels the task instead of leaving it.")
@json_option
@pass_state
def tasks_watch(state: State, task_id: str, cancel: bool, as_json: bool) -> None:
    """Follow a task live to its end, like aion run."""
    client = state.client()
    follow(client, client.tasks.get(task_id), as_json=as_json, cancel_on_interrupt=cancel)


@tasks.command("cancel")
@click.argument("task_id")
@json_option
@pass_state
def tasks_cancel(state: State, task_id: str, as_json: bool) -> None:
    """Cancel a queued or running task."""
    task = state.client().tasks.cancel(task_id)
    if as_json:
        print_json(task)
        return
    if task.is_terminal:
        stdout_console().print(f"Task {task.id} is {task.status}.")
    else:
        stdout_console().print(f"Cancel requested for task {task.id} ({task.status}).")


@tasks.command("retry")
@click.argument("task_id")
@click.option("--watch", is_flag=True, help="Follow the new attempt to its end.")
@json_option
@pass_state
def tasks_retry(state: State, task_id: str, watch: bool, as_json: bool) -> None:
    """Run a failed or canceled task again."""
    client = state.client()
    task = client.tasks.retry(task_id)
    if watch:
        follow(client, task, as_json=as_json, cancel_on_interrupt=False)
        return
    if as_json:
        print_json(task)
        return
    stdout_console().print(f"Task {task.id} is {task.status} again (attempt {task.attempts}).")


# ------------------------------------------------------------------------ review


@cli.group()
def review() -> None:
    """The review queue: tasks waiting for a person."""


@review.command("list")
@project_option
@click.option("--reason", "reason_code", metavar="CODE", help="input_missing, low_confidence...")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10_000))
@json_option
@pass_state
def review_list(
    state: State, project: str | None, reason_code: str | None, limit: int, as_json: bool
) -> None:
    """Tasks in needs_review, oldest first (all your projects unless --project)."""
    from itertools import islice

    from aion_client.cli.render import task_table

    client = state.client()
    chosen = client.projects.resolve(project) if project else None
    items = list(islice(client.reviews.list(project=chosen, reason_code=reason_code), limit))
    if as_json:
        print_json(items)
        return
    if not items:
        say("Nothing waits for review.")
        return
    stdout_console().print(task_table(items, reason=True))


def _reviewed(task: Task, as_json: bool) -> None:
    if as_json:
        print_json(task)
        return
    stdout_console().print(f"Task {task.id} is now {task.status}.")


@review.command("answer")
@click.argument("task_id")
@click.argument("result")
@json_option
@pass_state
def review_answer(state: State, task_id: str, result: str, as_json: bool) -> None:
    """Complete the task with your RESULT (JSON when it parses as JSON, else text)."""
    _reviewed(state.client().reviews.answer(task_id, parse_value(result)), as_json)


@review.command("run")
@click.argument("task_id")
@click.argument("module")
@param_option
@click.option("--input", "input_text", metavar="TEXT", help="Replace the input ('-': stdin).")
@json_option
@pass_state
def review_run(
    state: State,
    task_id: str,
    module: str,
    params: tuple[str, ...],
    input_text: str | None,
    as_json: bool,
) -> None:
    """Queue the task again, run with MODULE."""
    kwargs: dict[str, Any] = {}
    if params:
        kwargs["params"] = parse_params(params)
    if input_text is not None:
        kwargs["input"] = read_input(input_text)
    _reviewed(state.client().reviews.run(task_id, module, **kwargs), as_json)


@review.command("input")
@click.argument("task_id")
@click.argument("text", required=False)
@click.option(
    "--file",
    "file_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Upload this file as the input.",
)
@json_option
@pass_state
def review_input(
    state: State, task_id: str, text: str | None, file_path: Path | None, as_json: bool
) -> None:
    """Give the task its input (TEXT, '-' for stdin, or --file); it is routed again."""
    if (text is None) == (file_path is None):
        raise click.UsageError("Give the input as TEXT or --file (one of them).")
    client = state.client()
    if file_path is not None:
        value: Any = client.files.upload(file_path, task=task_id).id
    else:
        value = read_input(text)
    _reviewed(client.reviews.input(task_id, value), as_json)


@review.command("reject")
@click.argument("task_id")
@click.argument("reason")
@json_option
@pass_state
def review_reject(state: State, task_id: str, reason: str, as_json: bool) -> None:
    """Fail the task, with your REASON."""
    _reviewed(state.client().reviews.reject(task_id, reason), as_json)


# ------------------------------------------------------------------------ explain


@cli.command()
@click.argument("instruction")
@click.option("--input", "input_text", metavar="TEXT", help="The input a task would carry.")
@click.option("--module", metavar="MODULE", help="Pin a module.")
@param_option
@json_option
@pass_state
def explain(
    state: State,
    instruction: str,
    input_text: str | None,
    module: str | None,
    params: tuple[str, ...],
    as_json: bool,
) -> None:
    """How the router would run INSTRUCTION, without creating a task."""
    from aion_client.cli.render import key_value_table, route_text

    decision = state.client().router.explain(
        instruction,
        input=read_input(input_text),
        params=parse_params(params) or None,
        module=module,
    )
    if as_json:
        print_json(decision)
        return
    rows: list[tuple[str, Any]] = [
        ("route", route_text(decision)),
        ("decided by", decision.decided_by),
        ("reason", decision.reason),
        ("reason code", decision.reason_code),
        ("params", decision.params or None),
        (
            "alternatives",
            ", ".join(f"{a.module} {round(a.score * 100)}%" for a in decision.alternatives),
        ),
    ]
    stdout_console().print(key_value_table((k, v) for k, v in rows if v not in (None, "")))


# ------------------------------------------------------------------------ API keys


@cli.group()
def keys() -> None:
    """Create, list and revoke API keys (a key acts as you; use AION_API_KEY)."""


@keys.command("create")
@click.argument("name")
@click.option("--expires-at", metavar="ISO_DATETIME", help="When the key stops working.")
@json_option
@pass_state
def keys_create(state: State, name: str, expires_at: str | None, as_json: bool) -> None:
    """Create a key. Its secret is printed this once (alone on stdout)."""
    created = state.client().api_keys.create(name, expires_at=expires_at)
    if as_json:
        print_json(created)
        return
    say(f"Created API key {created.name} ({created.id}). Keep the key now: it is shown once.")
    click.echo(created.key)


@keys.command("list")
@json_option
@pass_state
def keys_list(state: State, as_json: bool) -> None:
    """Your API keys (never their secrets)."""
    items = list(state.client().api_keys.list())
    if as_json:
        print_json(items)
        return
    if not items:
        say("You have no API keys.")
        return
    table = Table(box=None, header_style="bold", pad_edge=False)
    for header in ("ID", "NAME", "PREFIX", "CREATED", "EXPIRES", "LAST USED"):
        table.add_column(header, no_wrap=header != "NAME")
    for key in items:
        table.add_row(
            key.id,
            escape(key.name),
            escape(key.prefix),
            key.created_at or "",
            key.expires_at or "never",
            key.last_used_at or "never",
        )
    stdout_console().print(table)


@keys.command("revoke")
@click.argument("key_id")
@json_option
@pass_state
def keys_revoke(state: State, key_id: str, as_json: bool) -> None:
    """Revoke a key at once."""
    state.client().api_keys.revoke(key_id)
    if as_json:
        print_json({"id": key_id, "revoked": True})
        return
    stdout_console().print(f"Revoked API key {key_id}.")


if __name__ == "__main__":  # python -m aion_client.cli.main
    main()
